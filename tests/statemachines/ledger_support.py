"""Test instruments for the slot-ledger state-machine tests: landing data, a scripted Spark step, the ledger read back."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import boto3

from offline.harness import OfflineHarness
from offline.runners.emr import EMR_ADD_STEP as ADD_STEP
from offline.runners.simulated_step import SimulatedSparkStep
from transient_analytics import layout
from transient_analytics.ledger.records import SlotRecord
from transient_analytics.ledger.store import SlotLedger
from transient_analytics.slots import Pipeline, parse_slot_id


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


def records(harness: OfflineHarness, pipeline: Pipeline = "emr") -> dict[str, SlotRecord]:
    return ledger(harness).window(pipeline, "0000", "9999")


def states(harness: OfflineHarness, pipeline: Pipeline = "emr") -> dict[str, str]:
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


class ScriptedSparkStep(SimulatedSparkStep):
    """The simulated step bound to a harness (``ScriptedSparkStep(h, fail={slot}).register()``)."""

    def __init__(
        self,
        harness: OfflineHarness,
        fail: set[str] | None = None,
        crash: bool = False,
        crash_at: set[str] | None = None,
    ) -> None:
        super().__init__(region=harness.region, fail=set(fail or ()), crash=crash, crash_at=set(crash_at or ()))
        self.harness = harness

    def register(self, harness: Any = None) -> ScriptedSparkStep:
        super().register(harness or self.harness)
        return self


def at(harness: OfflineHarness, moment: datetime) -> None:
    """Both ledger functions read this clock until the harness is reset."""
    harness.freeze_clock(moment)
    harness.freeze_clock(moment, function="RecordSlotsFunction")


def hold_first_step_at(gate: Any, step: ScriptedSparkStep) -> None:
    """Register ``step`` so that the first run's Spark step waits at ``gate``; later steps run at once."""

    def held(parameters: dict[str, Any], context: Any) -> Any:
        if not step.calls and not gate.entered.is_set():
            gate.hold(context.cancelled)
        return step(parameters, context)

    step.harness.runners.register(ADD_STEP, held)
