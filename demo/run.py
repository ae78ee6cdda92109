"""The offline twin's main job: both workflows end to end on this machine, with a report.

    python -m demo                              # make demo
    python -m demo --spark-backend serverless   # make demo SPARK_BACKEND=serverless
    python -m demo --fail-spark-step            # make demo-failure

What runs is what ``sam deploy`` ships: ``template.yaml`` and the ``.asl.json`` files,
executed by moto's Step Functions engine (:mod:`offline.harness`), with the real
handlers in-process, the real Spark job on local Spark and the real model behind the
``.sync`` tasks (:mod:`offline.runners`). The model the transform scores with is the one a
first run of the training state machine trains and promotes (as after a first deploy). The inputs
are put where a deployed stack expects them by the same code as ``make publish``
(:mod:`tools.publish`), into moto's S3.

``--fail-spark-step`` deploys the EMR pipeline with ``PartitionColumn=guild``, a column the
data does not have: the real Spark job fails, the state machine terminates the cluster and
fails with the step's error, and the "Execution Status Change" event AWS would emit is given
to ``notify_failure``, whose SNS message the report shows.

``--spark-backend serverless`` deploys with ``SparkBackend=serverless``: the same job, the same
arguments, run by ``emr-serverless:startJobRun.sync`` on the stack's application (the twin's
:class:`~offline.runners.emr_serverless.EmrServerlessRunner`, on local Spark) instead of a cluster.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import boto3

from demo.compute import spark_compute
from demo.function_logs import function_logs_to
from demo.outputs import parquet_partitions
from demo.picture import render_svg, visits_from_history
from demo.report import DemoReport, WorkflowReport, relative, render_report, state_timings
from demo.sample_query import database_name, format_result, run_sample_query, sample_query
from offline.harness import REPO_ROOT, OfflineHarness
from offline.runners.emr import EmrRunner
from offline.runners.emr_serverless import EmrServerlessRunner
from offline.runners.s3 import download_prefix, list_keys, parse_s3_uri
from offline.runners.sagemaker import TransformRunner
from offline.runners.sagemaker_training import TrainingRunner
from tools.publish import execute, plan_uploads
from transient_analytics import layout
from transient_analytics.ledger.store import SlotLedger
from transient_analytics.slots import GRIDS, slot_id

DEFAULT_OUT = REPO_ROOT / "out" / "demo"
FAILING_PARTITION_COLUMN = "guild"


class Demo:
    """One run of the twin: set up, run both workflows, report."""

    def __init__(
        self,
        out_dir: Path = DEFAULT_OUT,
        *,
        sample_rows: int = 20_000,
        fail_spark_step: bool = False,
        spark_backend: str = "cluster",
        echo: Callable[[str], None] | None = None,
    ) -> None:
        self.out_dir = out_dir
        self.sample_rows = sample_rows
        self.fail_spark_step = fail_spark_step
        self.spark_backend = spark_backend
        self.echo = echo or (lambda line: print(line, flush=True))

    def run(self) -> DemoReport:
        self.out_dir.mkdir(parents=True, exist_ok=True)
        with function_logs_to(self.out_dir / "function-logs.jsonl") as logs:
            report = self._run_all()
        report.function_log_lines = logs.lines
        report.text = render_report(report)
        (self.out_dir / "report.md").write_text(report.text)
        return report

    def _run_all(self) -> DemoReport:
        started = time.monotonic()
        parameters = {"ScheduleState": "DISABLED", "SparkBackend": self.spark_backend}
        if self.fail_spark_step:
            parameters["PartitionColumn"] = FAILING_PARTITION_COLUMN
        slot = landing_slot()
        tick = GRIDS["emr"].end_of(slot)
        self.echo(f"== transient-analytics offline demo (landing slot {slot_id(slot)}, runs at {slot_id(tick)})")
        with OfflineHarness(parameters=parameters, execution_timeout=1800.0) as harness:
            bucket = harness.stack.ref("DataBucket")
            s3 = boto3.client("s3", region_name=harness.region)
            self.echo(f"-- publishing job, schema, training code and data, inputs to s3://{bucket}/ (`make publish`)")
            plan = plan_uploads(harness.stack.stack_name, bucket, slot, sample_rows=self.sample_rows)
            done = execute(plan, s3)
            for upload in done.uploads:
                self.echo(f"   {upload.source} → s3://{bucket}/{upload.key} ({upload.size:,} bytes)")
            work = self.out_dir / "work"
            work.mkdir(parents=True, exist_ok=True)
            emr = EmrRunner(work, region=harness.region, progress=self.echo).register(harness)
            serverless = EmrServerlessRunner(work, region=harness.region, progress=self.echo).register(harness)
            # The transform scores with the model production names: a training run promotes the first one.
            transform = TransformRunner(work, region=harness.region, progress=self.echo).register(harness)
            training = TrainingRunner(work, region=harness.region, progress=self.echo).register(harness)
            runners = (emr, serverless, transform, training)
            setup_seconds = time.monotonic() - started

            workflows = [
                self._run(harness, runners, "TrainModelStateMachine", "Model training", tick),
                self._run(harness, runners, "EmrPipelineStateMachine", "EMR pipeline", tick),
                self._run(harness, runners, "BatchTransformStateMachine", "Batch transform", tick),
            ]
            ledger = SlotLedger(
                boto3.client("dynamodb", region_name=harness.region), harness.stack.ref("SlotLedgerTable")
            )
            slots = [
                (r.pipeline, r.slot, r.state, r.rows_written, r.run_id or "-")
                for pipeline in ("emr", "transform")
                for r in ledger.window(pipeline, "0", "9").values()
            ]
            compute = spark_compute(harness)
            for workflow in workflows:
                self._collect_objects(workflow, s3)
            mirror = self.out_dir / "bucket"
            shutil.rmtree(mirror, ignore_errors=True)  # an earlier run's mirror would add its rows to the query
            download_prefix(s3, bucket, layout.EMR_OUTPUT_ROOT + "/", mirror / layout.EMR_OUTPUT_ROOT)
            column = parameters.get("PartitionColumn", layout.DEFAULT_PARTITION_COLUMN)
            query = sample_query(database_name(harness.stack.stack_name), column)
            result = run_sample_query(mirror, f"{slot:%Y-%m-%d}", column=column, stack_name=harness.stack.stack_name)
        return DemoReport(
            slot=slot_id(slot),
            workflows=workflows,
            compute=compute,
            spark_backend=self.spark_backend,
            ledger=slots,
            sample_query=(query, f"{slot:%Y-%m-%d}", format_result(result, column)),
            setup_seconds=setup_seconds,
            total_seconds=time.monotonic() - started,
            function_logs=self.out_dir / "function-logs.jsonl",
        )

    def _run(
        self,
        harness: OfflineHarness,
        runners: tuple[EmrRunner, EmrServerlessRunner, TransformRunner, TrainingRunner],
        logical_id: str,
        title: str,
        tick: datetime,
    ) -> WorkflowReport:
        self.echo(f"-- {title}: starting {harness.state_machine_arn(logical_id).rsplit(':', 1)[-1]}")
        before_steps = _payload_seconds(*runners)
        started = time.monotonic()
        result = harness.run(
            logical_id,
            {"scheduled_time": f"{tick:%Y-%m-%dT%H:%M:%SZ}", "trigger": "manual"},
            name=f"demo-{logical_id[:5].lower()}-{tick:%Y%m%d%H%M}-{int(time.time())}",
        )
        wall = time.monotonic() - started
        payload = _payload_seconds(*runners) - before_steps
        definition = json.loads(
            harness.sfn.describe_state_machine(stateMachineArn=result.description["stateMachineArn"])["definition"]
        )
        picture = self.out_dir / f"{logical_id}.svg"
        picture.write_text(
            render_svg(definition, visits_from_history(result.history, definition), f"{title}: {result.status}")
        )
        workflow = WorkflowReport(
            title=title,
            logical_id=logical_id,
            result=result,
            states=state_timings(result, definition),
            picture=picture,
            wall_seconds=wall,
            payload_seconds=payload,
        )
        self.echo(f"   {title} ended {result.status} in {wall:.1f} s")
        if result.status != "SUCCEEDED":
            harness.deliver_status_change(result.arn)
            messages = harness.published()
            if messages:
                workflow.notification = {"subject": messages[-1].subject, "message": messages[-1].message}
        return workflow

    def _collect_objects(self, workflow: WorkflowReport, s3: Any) -> None:
        output = workflow.result.output or {}
        plan = output.get("plan") if isinstance(output, dict) else None
        for work in (plan or {}).get("slots") or []:
            if workflow.logical_id == "EmrPipelineStateMachine":
                for partition, rows in parquet_partitions(s3, work["output_uri"]).items():
                    workflow.objects.append(f"{work['output_uri']}{partition}/  {rows:,} rows")
                if work.get("manifest_uri"):
                    workflow.objects.append(f"{work['manifest_uri']}  (completion manifest)")
                continue
            out_bucket, prefix = parse_s3_uri(work["output_uri"])
            for key in list_keys(s3, out_bucket, prefix):
                lines = s3.get_object(Bucket=out_bucket, Key=key)["Body"].read().decode().splitlines()
                workflow.objects.append(f"s3://{out_bucket}/{key}  {len(lines):,} rows; first rows:")
                workflow.objects += [f"    {line}" for line in lines[:5]]


def _payload_seconds(
    emr: EmrRunner, serverless: EmrServerlessRunner, transform: TransformRunner, training: TrainingRunner
) -> float:
    jobs = [
        *(s.seconds for s in emr.steps),
        *(r.outcome.seconds for r in serverless.job_runs if r.outcome is not None),
        *(t.seconds for t in transform.records),
        *(t.seconds for t in training.records),
    ]
    return sum(jobs)


def landing_slot() -> datetime:
    """The 15-minute slot before the one now is in: the demo's sample lands there, and it is closed."""
    grid = GRIDS["emr"]
    return grid.start_of(datetime.now(UTC)) - grid.length


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m demo", description=__doc__.split("\n\n")[0])
    parser.add_argument("--fail-spark-step", action="store_true", help="run with a Spark step that fails")
    parser.add_argument("--rows", type=int, default=20_000, help="sample characters rows (default 20,000)")
    parser.add_argument(
        "--spark-backend",
        choices=("cluster", "serverless"),
        default="cluster",
        help="the template's SparkBackend: a transient EMR cluster (default) or EMR Serverless",
    )
    parser.add_argument("--out", type=Path, default=None, help="report folder (default out/demo or out/demo-failure)")
    args = parser.parse_args(argv)
    out = args.out or (REPO_ROOT / "out" / ("demo-failure" if args.fail_spark_step else "demo"))
    report = Demo(
        out, sample_rows=args.rows, fail_spark_step=args.fail_spark_step, spark_backend=args.spark_backend
    ).run()
    print()
    print(report.text)
    print(f"report: {relative(out / 'report.md')}")
    expected = "FAILED" if args.fail_spark_step else "SUCCEEDED"
    statuses = {w.title: w.result.status for w in report.workflows}
    emr_ok = statuses["EMR pipeline"] == expected and statuses["Batch transform"] == "SUCCEEDED"
    emr_ok = emr_ok and statuses["Model training"] == "SUCCEEDED"
    leaked = [c for c in report.compute if c.state not in ("TERMINATED", "SUCCESS", "FAILED", "CANCELLED")]
    if leaked:
        print(f"LEAKED CLUSTERS OR JOB RUNS: {leaked}", file=sys.stderr)
    return 0 if emr_ok and not leaked else 1
