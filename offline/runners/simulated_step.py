"""A simulated Spark step: what the real job reports, without Spark (a test and demo-day instrument).

It reads the step's own ``spark-submit`` arguments (``--run-id``, ``--report``, the ``--slot``
groups of CONTRACT: slot id, input, output, fingerprint), counts each slot's landing rows in S3,
writes each converted slot's ``_manifest.json`` and the run report exactly where the real job
writes them, and fails the step as the job does (``States.TaskFailed``, exit 2) when a slot in
``fail`` was part of the batch, after "committing" the others. The real job runs in the payload
tests, ``make demo`` and the first tick of ``make demo-day``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import boto3

from offline.integrations import TaskContext, TaskFailure
from offline.runners.emr import EMR_ADD_STEP
from offline.runners.s3 import parse_s3_uri

ADD_STEP = EMR_ADD_STEP


def slot_args(args: list[str]) -> list[tuple[str, str, str, str]]:
    """The ``--slot id input output fingerprint`` groups of a spark-submit command line."""
    return [(args[i + 1], args[i + 2], args[i + 3], args[i + 4]) for i, a in enumerate(args) if a == "--slot"]


def _failed_step(message: str) -> TaskFailure:
    cause = {
        "Step": {
            "Id": "s-SIMULATED",
            "Status": {"State": "FAILED", "FailureDetails": {"Reason": "Unknown Error.", "Message": message}},
        }
    }
    return TaskFailure("States.TaskFailed", json.dumps(cause))


@dataclass
class SimulatedSparkStep:
    """``fail``: slots whose conversion fails; ``crash``: the step dies before writing any report."""

    region: str = "us-east-1"
    fail: set[str] = field(default_factory=set)
    crash: bool = False
    #: The ``--slot`` groups of every step it ran, in order.
    calls: list[list[tuple[str, str, str, str]]] = field(default_factory=list)

    def register(self, harness: Any) -> SimulatedSparkStep:
        harness.runners.register(ADD_STEP, self)
        return self

    def _rows(self, s3: Any, input_uri: str) -> int:
        bucket, prefix = parse_s3_uri(input_uri)
        rows = 0
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
            for obj in page.get("Contents", []):
                body = s3.get_object(Bucket=bucket, Key=obj["Key"])["Body"].read()
                rows += max(0, body.count(b"\n") - 1)  # the header is not a row
        return rows

    def __call__(self, parameters: dict[str, Any], context: TaskContext) -> Any:
        args = [str(a) for a in parameters["Step"]["HadoopJarStep"]["Args"]]
        slots = slot_args(args)
        self.calls.append(slots)
        if self.crash:
            raise _failed_step("Container killed by YARN for exceeding memory limits")
        s3 = boto3.client("s3", region_name=self.region)
        run_id = args[args.index("--run-id") + 1]
        lines: list[dict[str, Any]] = []
        for sid, input_uri, output_uri, fp in slots:
            if sid in self.fail:
                lines.append(
                    {
                        "slot": sid,
                        "status": "failed",
                        "error": f"csv_to_parquet: error: slot {sid}: 3 bad rows (limit 0)",
                    }
                )
                continue
            rows = self._rows(s3, input_uri)
            manifest = {
                "format": 1,
                "pipeline": "emr",
                "slot": sid,
                "run_id": run_id,
                "input_uri": input_uri,
                "output_uri": output_uri,
                "input_fingerprint": fp,
                "rows_read": rows,
                "rows_written": rows,
                "bad_rows": 0,
                "partitions": {},
                "written_at": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            }
            bucket, prefix = parse_s3_uri(output_uri)
            s3.put_object(Bucket=bucket, Key=prefix + "_manifest.json", Body=json.dumps(manifest).encode())
            lines.append(
                {
                    "slot": sid,
                    "status": "converted",
                    "manifest_uri": output_uri + "_manifest.json",
                    "rows_read": rows,
                    "rows_written": rows,
                    "bad_rows": 0,
                }
            )
        bucket, key = parse_s3_uri(args[args.index("--report") + 1])
        s3.put_object(Bucket=bucket, Key=key, Body=json.dumps({"format": 1, "run_id": run_id, "slots": lines}).encode())
        failed = [x for x in lines if x["status"] == "failed"]
        if failed:
            detail = "; ".join(f"{x['slot']}: {x['error']}" for x in failed)
            raise _failed_step(f"csv_to_parquet: error: {len(failed)} of {len(lines)} slots failed: {detail}")
        return {"StepId": "s-SIMULATED"}
