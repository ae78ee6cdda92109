"""Nothing hidden, nothing held for ever, nothing told twice or never (issue 17, defects 4 and 5)."""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from tests.functions.slots_support import BUCKET, emr_event, land, metrics_of, plan_for, records
from tests.support import lambda_context
from transient_analytics.ledger.notices import NotificationNotSent

S1, S2 = "2026-11-25T19:45Z", "2026-11-25T20:00Z"
HEADER_ERROR = "csv_to_parquet: error: 3 of 5 rows do not match the schema"


def write_report(plan: dict[str, Any], *lines: dict[str, Any]) -> None:
    bucket, key = plan["report_uri"][5:].split("/", 1)
    body = json.dumps({"format": 1, "run_id": plan["run_id"], "final": True, "slots": list(lines)})
    boto3.client("s3").put_object(Bucket=bucket, Key=key, Body=body.encode())


def record(module: Any, event: dict[str, Any], plan: dict[str, Any], outcome: str) -> dict[str, Any]:
    error = {"Error": "States.TaskFailed", "Cause": HEADER_ERROR} if outcome == "step_failed" else None
    payload = {"pipeline": "emr", "outcome": outcome, "execution": event["execution"], "plan": plan, "error": error}
    return module.lambda_handler(payload, lambda_context())


def test_rows_the_catalog_cannot_show_are_counted_alarmed_and_named_in_one_notification(
    prepare_run, record_slots, sns_inbox, capsys
):
    # GIVEN a slot whose data holds a class that PartitionValues (Titan,Hunter,Warlock) does not list
    land(S2)
    event = emr_event("tick-1")
    plan = plan_for(prepare_run, event)
    assert plan["emr"]["spark_submit_args"][12:14] == ["--partition-values", "Titan,Hunter,Warlock"]
    capsys.readouterr()
    line = {"slot": S2, "status": "converted", "manifest_uri": f"s3://{BUCKET}/m/_manifest.json", "rows_read": 9, "rows_written": 9,
            "unlisted_partition_values": {"Druid": 4}}  # fmt: skip
    write_report(plan, line)
    # WHEN the run records it
    summary = record(record_slots, event, plan, "step_succeeded")
    # THEN the slot is converted (nothing dropped), the hidden rows are a metric (the alarm's), and one message
    # names the value and the parameter to change
    assert summary["converted"] == 1 and records()[S2].unlisted_values == {"Druid": 4}
    assert metrics_of(capsys)["UnlistedPartitionRows"] == [4.0]
    [message] = sns_inbox()
    assert "Druid" in message["Subject"] and "PartitionValues=Titan,Hunter,Warlock,Druid" in message["Message"]
    # AND a retried RecordSlots does not tell it again
    record(record_slots, event, plan, "step_succeeded")
    assert sns_inbox() == []


def test_a_failed_slot_whose_landing_objects_were_deleted_is_closed_and_its_day_no_longer_listed(
    prepare_run, record_slots, clock
):
    # GIVEN a slot that failed, and then its landing objects were deleted
    key = land(S1)
    event = emr_event("tick-1")
    plan = plan_for(prepare_run, event)
    write_report(plan, {"slot": S1, "status": "failed", "error": HEADER_ERROR})
    record(record_slots, event, plan, "step_failed")
    assert records()[S1].state == "failed"
    boto3.client("s3").delete_object(Bucket=BUCKET, Key=key)
    # WHEN the next runs plan (long after the lookback window, so only the ledger remembers the slot)
    clock.advance(days=3)
    assert plan_for(prepare_run, emr_event("tick-2"))["work"] is False
    # THEN the slot is closed (not open, no more listing of its day) and expires like a done record
    closed = records()[S1]
    assert (closed.state, closed.is_open) == ("vanished", False) and closed.expires_at is not None
    objects = prepare_run.ports()[0]
    before = objects.calls.get("ListObjectsV2", 0)
    plan_for(prepare_run, emr_event("tick-3"))
    listed = objects.calls.get("ListObjectsV2", 0) - before
    assert listed == 2  # the two days of the lookback window, not the vanished slot's day
    # AND if data lands in it again it is due again
    land(S1)
    assert [
        s["slot"] for s in plan_for(prepare_run, emr_event("tick-4", backfill={"from": S1, "to": S2}))["slots"]
    ] == [S1]


class _SnsDown:
    def __init__(self, times: int) -> None:
        self.left = times
        self.real = boto3.client("sns")

    def publish(self, **kwargs: Any) -> Any:
        if self.left > 0:
            self.left -= 1
            raise ClientError({"Error": {"Code": "InternalError", "Message": "SNS unavailable"}}, "Publish")
        return self.real.publish(**kwargs)


def test_a_quarantine_whose_notification_failed_is_told_by_the_retry_exactly_once(
    prepare_run, record_slots, clock, sns_inbox, monkeypatch
):
    land(S1)
    for attempt in (1, 2, 3):
        event = emr_event(f"tick-{attempt}")
        plan = plan_for(prepare_run, event)
        write_report(plan, {"slot": S1, "status": "failed", "error": HEADER_ERROR})
        if attempt == 3:
            # GIVEN SNS fails once, right after the third failure quarantined the slot
            _, _, topic, _ = record_slots.ports()
            monkeypatch.setattr(topic, "_sns", _SnsDown(times=1))
            with pytest.raises(NotificationNotSent):
                record(record_slots, event, plan, "step_failed")
            assert records()[S1].state == "quarantined" and records()[S1].owes("quarantined")
            assert sns_inbox() == []
            # WHEN Step Functions retries RecordSlots (it retries NotificationNotSent)
            summary = record(record_slots, event, plan, "step_failed")
            # THEN the quarantine is counted once, the slot not charged again, and the message sent once
            assert summary["quarantined"] == 1 and records()[S1].attempts == 3
            [message] = sns_inbox()
            assert S1 in message["Subject"]
            # AND yet another retry sends nothing more
            record(record_slots, event, plan, "step_failed")
            assert sns_inbox() == [] and not records()[S1].owes()
        else:
            record(record_slots, event, plan, "step_failed")
        clock.advance(minutes=15)
