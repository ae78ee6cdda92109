"""Test instruments for the slot-ledger state-machine tests: landing data, a scripted Spark step, the ledger read back."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import boto3

from offline import OfflineHarness, TaskContext, TaskFailure
from transient_analytics import layout
from transient_analytics.ledger import SlotRecord
from transient_analytics.ledger_store import SlotLedger
from transient_analytics.slots import parse_slot_id

ADD_STEP = "arn:aws:states:::elasticmapreduce:addStep.sync"


def put_landing(harness: OfflineHarness, slot: str, name: str = "part-0.csv", body: bytes = b"id,name\n1,a\n") -> str:
    """One landing object in an EMR slot; returns its key."""
    key = layout.emr_input_prefix(parse_slot_id(slot)) + name
    boto3.client("s3").put_object(Bucket=harness.stack.ref("DataBucket"), Key=key, Body=body)
    return key


def put_batch(harness: OfflineHarness, day_slot: str, name: str = "batch.csv", body: bytes = b"M,0.4,0.3\n") -> str:
    key = layout.transform_input_prefix(parse_slot_id(day_slot)) + name
    boto3.client("s3").put_object(Bucket=harness.stack.ref("DataBucket"), Key=key, Body=body)
    return key


def ledger(harness: OfflineHarness) -> SlotLedger:
    return SlotLedger(boto3.client("dynamodb"), harness.stack.ref("SlotLedgerTable"))


def records(harness: OfflineHarness, pipeline: str = "emr") -> dict[str, SlotRecord]:
    return ledger(harness).window(pipeline, "0000", "9999")  # type: ignore[arg-type]


def states(harness: OfflineHarness, pipeline: str = "emr") -> dict[str, str]:
    return {s: r.state for s, r in records(harness, pipeline).items()}


def clear(harness: OfflineHarness) -> None:
    """Empty the data bucket and the ledger between tests (the module shares one harness)."""
    s3 = boto3.client("s3")
    bucket = harness.stack.ref("DataBucket")
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket):
        for obj in page.get("Contents", []):
            s3.delete_object(Bucket=bucket, Key=obj["Key"])
    ddb = boto3.client("dynamodb")
    table = harness.stack.ref("SlotLedgerTable")
    for item in ddb.scan(TableName=table).get("Items", []):
        ddb.delete_item(TableName=table, Key={"pipeline": item["pipeline"], "slot": item["slot"]})


def slot_args(args: list[str]) -> list[tuple[str, str, str, str]]:
    """The ``--slot id input output fingerprint`` groups of a spark-submit command line."""
    return [tuple(args[i + 1 : i + 5]) for i, a in enumerate(args) if a == "--slot"]  # type: ignore[misc]


@dataclass
class ScriptedSparkStep:
    """Stands in for the Spark job: writes its run report (and manifests) as the job would, per a script.

    ``fail`` names slots whose conversion fails; the step then fails as the job does (exit 2 →
    States.TaskFailed), after committing the others. ``rows`` is the row count of each converted slot.
    """

    harness: OfflineHarness
    fail: set[str] = field(default_factory=set)
    crash: bool = False
    rows: int = 10
    calls: list[list[tuple[str, str, str, str]]] = field(default_factory=list)

    def register(self) -> ScriptedSparkStep:
        self.harness.runners.register(ADD_STEP, self)
        return self

    def __call__(self, parameters: dict[str, Any], context: TaskContext) -> Any:
        args = parameters["Step"]["HadoopJarStep"]["Args"]
        slots = slot_args(args)
        self.calls.append(slots)
        if self.crash:
            raise TaskFailure("States.TaskFailed", json.dumps({"Step": {"Status": {"State": "FAILED", "FailureDetails": {"Message": "Container killed by YARN for exceeding memory limits"}}}}))
        run_id = args[args.index("--run-id") + 1]
        s3 = boto3.client("s3")
        lines = []
        for sid, _inp, out, fp in slots:
            if sid in self.fail:
                lines.append({"slot": sid, "status": "failed", "error": f"csv_to_parquet: error: slot {sid}: 3 bad rows (limit 0)"})
                continue
            bucket, prefix = out[5:].split("/", 1)
            manifest = {"slot": sid, "run_id": run_id, "input_fingerprint": fp, "rows_written": self.rows}
            s3.put_object(Bucket=bucket, Key=prefix + "_manifest.json", Body=json.dumps(manifest).encode())
            lines.append({"slot": sid, "status": "converted", "manifest_uri": out + "_manifest.json", "rows_read": self.rows, "rows_written": self.rows, "bad_rows": 0})
        report_uri = args[args.index("--report") + 1]
        bucket, key = report_uri[5:].split("/", 1)
        s3.put_object(Bucket=bucket, Key=key, Body=json.dumps({"format": 1, "run_id": run_id, "slots": lines}).encode())
        failed = [x for x in lines if x["status"] == "failed"]
        if failed:
            message = f"csv_to_parquet: error: {len(failed)} of {len(lines)} slots failed: " + "; ".join(f"{x['slot']}: {x['error']}" for x in failed)
            raise TaskFailure("States.TaskFailed", json.dumps({"Step": {"Id": "s-1", "Status": {"State": "FAILED", "FailureDetails": {"Reason": "Unknown Error.", "Message": message}}}}))
        return {"StepId": "s-2ABCDEF3GHIJK"}


def at(harness: OfflineHarness, moment: datetime) -> None:
    """Both ledger functions read this clock until the harness is reset."""
    harness.freeze_clock(moment)
    harness.freeze_clock(moment, function="RecordSlotsFunction")
