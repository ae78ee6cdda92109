"""A simulated Spark step: what the real job reports, without Spark (a test and demo-day instrument).

It parses the step's ``spark-submit`` arguments with the job's own parser, counts each slot's
landing rows in S3, writes each converted slot's manifest and the run report with the job's own
builders (:mod:`jobs.csv_to_parquet`), and fails the step as the job does (``States.TaskFailed``,
exit 2) when a slot in ``fail`` was part of the batch, after "committing" the others.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import boto3

from jobs.csv_to_parquet import JobArgs, RunReport, SlotArgs, SlotResult, manifest_document, parse_args
from offline.cfn.resolver import DEFAULT_REGION
from offline.integrations import TaskContext, TaskFailure
from offline.runners.emr import EMR_ADD_STEP
from offline.runners.s3 import list_keys, parse_s3_uri


def slot_args(args: list[str]) -> list[tuple[str, str, str, str]]:
    """The ``--slot id input output fingerprint`` groups of a spark-submit command line."""
    return [(args[i + 1], args[i + 2], args[i + 3], args[i + 4]) for i, a in enumerate(args) if a == "--slot"]


def _failed_step(message: str) -> TaskFailure:
    details = {"Reason": "Unknown Error.", "Message": message}
    return TaskFailure(
        "States.TaskFailed",
        json.dumps({"Step": {"Id": "s-SIMULATED", "Status": {"State": "FAILED", "FailureDetails": details}}}),
    )


@dataclass
class SimulatedSparkStep:
    """``fail``: slots whose conversion fails; ``crash``: the step dies before writing any report."""

    region: str = DEFAULT_REGION
    fail: set[str] = field(default_factory=set)
    crash: bool = False
    #: The ``--slot`` groups of every step it ran, in order.
    calls: list[list[tuple[str, str, str, str]]] = field(default_factory=list)

    def register(self, harness: Any) -> SimulatedSparkStep:
        harness.runners.register(EMR_ADD_STEP, self)
        return self

    def __call__(self, parameters: dict[str, Any], context: TaskContext) -> Any:
        argv = [str(a) for a in parameters["Step"]["HadoopJarStep"]["Args"]]
        self.calls.append(slot_args(argv))
        if self.crash:
            raise _failed_step("Container killed by YARN for exceeding memory limits")
        args = parse_args(argv[next(i for i, a in enumerate(argv) if a.endswith(".py")) + 1 :])
        s3 = boto3.client("s3", region_name=self.region)
        report = RunReport(args.run_id, tuple(self._convert(s3, args, slot) for slot in args.slots))
        bucket, key = parse_s3_uri(args.report)
        s3.put_object(Bucket=bucket, Key=key, Body=report.to_json().encode())
        if report.failed:
            raise _failed_step(f"csv_to_parquet: error: {report.failure_line()}")
        return {"StepId": "s-SIMULATED"}

    def _convert(self, s3: Any, args: JobArgs, slot: SlotArgs) -> SlotResult:
        if slot.slot in self.fail:
            return SlotResult(slot.slot, "failed", error=f"slot {slot.slot}: 3 bad rows (limit 0)")
        bucket, prefix = parse_s3_uri(slot.input)
        # Every landing line but the header is a row.
        rows = sum(
            max(0, s3.get_object(Bucket=bucket, Key=key)["Body"].read().count(b"\n") - 1)
            for key in list_keys(s3, bucket, prefix)
        )
        manifest = manifest_document(args, slot, rows, rows, 0, {})
        bucket, key = parse_s3_uri(slot.manifest_uri)
        s3.put_object(Bucket=bucket, Key=key, Body=json.dumps(manifest).encode())
        return SlotResult(slot.slot, "converted", slot.manifest_uri, rows_read=rows, rows_written=rows)
