"""The model kept current, offline: train, register, gate, promote for real, then score a day with the result.

    python -m demo.train        # make demo-train

What runs is what ``sam deploy`` ships: ``template.yaml`` and ``train_model.asl.json`` on the twin's
engine, with the real PrepareTraining, RegisterCandidate and ClaimProduction functions; behind
``createTrainingJob.sync`` the training runner runs the uploaded ``sourcedir.tar.gz`` in the model
environment as the scikit-learn image's toolkit does (``offline/runners/sagemaker_training.py``).
The inputs are put where a deployed stack expects them by ``make publish``'s code. Three runs on the
same data, so that the gate compares models on the same hold-out rows:

1. every configured candidate (cross-validation chooses one): no production model yet, promoted;
2. ridge alone: compared with production on the same rows, promoted if it beats it by the threshold;
3. histogram gradient boosting alone: the same comparison; a candidate that does not beat production
   waits for a person, who gets one message with both scores and the command that approves it.

Then the batch transform scores yesterday's batch (``data/abalone/batch.csv``, as ``make publish``
puts it) with the model production names, served by the transform runner in the model environment.
"""

from __future__ import annotations

import argparse
import logging
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import boto3

from demo.function_logs import function_logs_to
from demo.train_report import TrainingDemoReport, TrainingRun, render_training_report
from offline.harness import REPO_ROOT, OfflineHarness
from offline.runners.s3 import list_keys, parse_s3_uri
from offline.runners.sagemaker import TransformRunner
from offline.runners.sagemaker_training import TrainingRunner
from tools.publish import BATCH_FILENAME, BATCH_PATH, batch_day
from tools.publish_training import training_objects
from transient_analytics import layout
from transient_analytics.training.model_registry import ProductionPointer

DEFAULT_OUT = REPO_ROOT / "out" / "demo-train"
TRAIN = "TrainModelStateMachine"
#: (candidates, why): the three runs.
RUNS: tuple[tuple[str, ...], ...] = ((), ("ridge",), ("hist_gradient_boosting",))


class TrainingDemo:
    def __init__(self, out_dir: Path = DEFAULT_OUT, *, echo: Callable[[str], None] | None = None) -> None:
        self.out_dir = out_dir
        self.echo = echo or (lambda line: print(line, flush=True))

    def run(self) -> TrainingDemoReport:
        self.out_dir.mkdir(parents=True, exist_ok=True)
        # moto warns that it forwards sagemaker:createModel to its backend: that is the twin working as designed.
        logging.getLogger("moto.stepfunctions.parser").setLevel(logging.ERROR)
        logs = self.out_dir / "function-logs.jsonl"
        with function_logs_to(logs):
            report = self._run_all()
        report.function_logs = logs
        report.text = render_training_report(report)
        (self.out_dir / "report.md").write_text(report.text)
        return report

    def _run_all(self) -> TrainingDemoReport:
        started = time.monotonic()
        now = datetime.now(UTC)
        with (
            OfflineHarness(parameters={"ScheduleState": "DISABLED"}, execution_timeout=1800.0) as harness,
            tempfile.TemporaryDirectory(prefix="demo-train-", dir=self.out_dir) as work,
        ):
            s3 = boto3.client("s3", region_name=harness.region)
            bucket = harness.stack.ref("DataBucket")
            self.echo(f"== the model kept current, offline: publishing the training code and data to s3://{bucket}/")
            objects = training_objects(now)
            for source, key, content_type, body in objects:
                s3.put_object(Bucket=bucket, Key=key, Body=body, ContentType=content_type)
                self.echo(f"   {source} → s3://{bucket}/{key} ({len(body):,} bytes)")
            runner = TrainingRunner(Path(work), region=harness.region, progress=lambda line: self.echo(f"   {line}"))
            runner.register(harness)
            runs = [self._train(harness, runner, list(candidates)) for candidates in RUNS]
            current = ProductionPointer(boto3.client("dynamodb"), harness.stack.ref("ProductionModelTable")).read()
            group = harness.stack.resolve({"Fn::Sub": "${AWS::StackName}-abalone"})
            summaries = boto3.client("sagemaker").list_model_packages(ModelPackageGroupName=group)
            packages = sorted(
                (int(p["ModelPackageArn"].rsplit("/", 1)[-1]), p["ModelApprovalStatus"])
                for p in summaries["ModelPackageSummaryList"]
            )
            messages = [(m.subject, m.message) for m in harness.published()]
            threshold = float(harness.stack.resolve({"Ref": "ModelGateMinImprovement"}))
            batch_key = layout.transform_input_prefix(batch_day(now)) + BATCH_FILENAME
            s3.put_object(Bucket=bucket, Key=batch_key, Body=BATCH_PATH.read_bytes(), ContentType="text/csv")
            self.echo(f"-- batch transform of s3://{bucket}/{batch_key} with the production model")
            indented = lambda line: self.echo(f"   {line}")  # noqa: E731
            TransformRunner(Path(work), region=harness.region, progress=indented).register(harness)
            scored = harness.run(
                "BatchTransformStateMachine", {"trigger": "manual"}, name=f"demo-score-{int(time.time())}"
            )
            scored_lines = _scored_lines(s3, scored.output)
            self.echo(f"   {scored.status}")
        return TrainingDemoReport(
            data_uri=f"s3://{bucket}/{objects[1][1]}",
            threshold=threshold,
            runs=runs,
            production=(current.version, current.model_name, current.rmse) if current else None,
            packages=packages,
            messages=messages,
            scored=scored,
            scored_lines=scored_lines,
            total_seconds=time.monotonic() - started,
        )

    def _train(self, harness: OfflineHarness, runner: TrainingRunner, candidates: list[str]) -> TrainingRun:
        shown = ", ".join(candidates) or "every configured candidate"
        self.echo(f"-- training {shown}")
        jobs_before = sum(r.seconds for r in runner.records)
        started = time.monotonic()
        request: dict[str, object] = {"trigger": "manual"}
        if candidates:
            request["candidates"] = candidates
        result = harness.run(TRAIN, request, name=f"demo-train-{int(time.time() * 1000)}")
        run = TrainingRun(
            candidates=candidates or ["(all)"],
            result=result,
            wall_seconds=time.monotonic() - started,
            job_seconds=sum(r.seconds for r in runner.records) - jobs_before,
        )
        self.echo(f"   {result.status}: {run.decision}")
        return run


def _scored_lines(s3: Any, output: Any) -> list[str]:
    """The model, the output object and its first rows (each input row with its prediction appended)."""
    plan = output.get("plan") if isinstance(output, dict) else None
    if not isinstance(plan, dict) or not plan.get("slots"):
        return [f"nothing scored: {plan.get('reason') if isinstance(plan, dict) else 'no plan'}"]
    lines = [f"model {plan['transform']['model_name']}, slot {plan['slots'][0]['slot']}"]
    bucket, prefix = parse_s3_uri(plan["slots"][0]["output_uri"])
    for key in list_keys(s3, bucket, prefix):
        rows = s3.get_object(Bucket=bucket, Key=key)["Body"].read().decode().splitlines()
        lines += [f"s3://{bucket}/{key}: {len(rows):,} rows; first rows (features, then predicted rings):"]
        lines += [f"  {row}" for row in rows[:3]]
    return lines


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m demo.train", description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="report folder (default out/demo-train)")
    args = parser.parse_args(argv)
    report = TrainingDemo(args.out).run()
    print()
    print(report.text)
    succeeded = all(r.result.status == "SUCCEEDED" for r in report.runs)
    scored = report.scored is not None and report.scored.status == "SUCCEEDED"
    return 0 if succeeded and scored and report.production is not None else 1


if __name__ == "__main__":
    sys.exit(main())
