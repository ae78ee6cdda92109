"""A simulated Spark step: what the real job reports, without Spark (a test and demo-day instrument).

It parses the step's ``spark-submit`` arguments with the job's own parser, counts each slot's
landing rows in S3 per partition value (the third column, as in the sample data), writes each
converted slot's manifest and the run report as it goes with the job's own builders
(:mod:`jobs.csv_to_parquet`), and fails the step as the job does (``States.TaskFailed``, exit 2)
when a slot in ``fail`` was part of the batch, after "committing" the others; a slot in
``crash_at`` kills the step while it is the one running, as a driver out of memory would; one in
``time_out_at`` is running when the step's timeout ends it.
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
    """``fail``: slots whose conversion fails; ``crash_at``: slots that kill the whole step while the job
    converts them (a driver out of memory: the progress report it wrote so far stays); ``crash``: the step
    dies before the job wrote anything."""

    region: str = DEFAULT_REGION
    fail: set[str] = field(default_factory=set)
    crash_at: set[str] = field(default_factory=set)
    #: Slots during whose conversion the step runs out of time (``States.Timeout``, as TimeoutSecondsPath does).
    time_out_at: set[str] = field(default_factory=set)
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
        done: list[SlotResult] = []
        for slot in args.slots:  # the job's progress report, slot by slot, as csv_to_parquet.run writes it
            rest = [SlotResult(s.slot, "running" if s is slot else "pending") for s in args.slots[len(done) :]]
            _put_report(s3, args.report, RunReport(args.run_id, (*done, *rest), final=False))
            if context.cancelled():  # the execution was stopped: the step is cancelled, the job killed here
                return {"StepId": "s-SIMULATED"}  # (a runner returns once cancelled; the engine ends ABORTED)
            if slot.slot in self.crash_at:
                raise _failed_step(f"Container killed by YARN for exceeding physical memory limits (slot {slot.slot})")
            if slot.slot in self.time_out_at:
                raise TaskFailure("States.Timeout", f"the step ran past its timeout while converting slot {slot.slot}")
            done.append(self._convert(s3, args, slot))
        report = RunReport(args.run_id, tuple(done))
        _put_report(s3, args.report, report)
        if report.failed:
            raise _failed_step(f"csv_to_parquet: error: {report.failure_line()}")
        return {"StepId": "s-SIMULATED"}

    def _convert(self, s3: Any, args: JobArgs, slot: SlotArgs) -> SlotResult:
        if slot.slot in self.fail:
            return SlotResult(slot.slot, "failed", error=f"slot {slot.slot}: 3 bad rows (limit 0)")
        bucket, prefix = parse_s3_uri(slot.input)
        # Every landing line but the header is a row; its partition value is the partition column's field
        # (counted only when the header names that column: the tests' small files often do not).
        counts: dict[str, int] = {}
        rows = 0
        for key in list_keys(s3, bucket, prefix):
            header, *lines = s3.get_object(Bucket=bucket, Key=key)["Body"].read().decode().splitlines() or [""]
            names = header.split(",")
            rows += len(lines)
            if args.partition_column not in names:
                continue
            index = names.index(args.partition_column)
            for line in lines:
                fields = line.split(",")
                value = fields[index] if len(fields) > index and fields[index] else "__HIVE_DEFAULT_PARTITION__"
                counts[value] = counts.get(value, 0) + 1
        manifest = manifest_document(args, slot, rows, rows, 0, counts)
        bucket, key = parse_s3_uri(slot.manifest_uri)
        s3.put_object(Bucket=bucket, Key=key, Body=json.dumps(manifest).encode())
        unlisted = args.unlisted(counts)
        return SlotResult(slot.slot, "converted", slot.manifest_uri, rows, rows, 0, counts, unlisted=unlisted)


def _put_report(s3: Any, uri: str, report: RunReport) -> None:
    bucket, key = parse_s3_uri(uri)
    s3.put_object(Bucket=bucket, Key=key, Body=report.to_json().encode())
