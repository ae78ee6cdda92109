"""record_slots against moto: after prepare_run claimed slots, the run's outcome and report recorded in the ledger."""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest

from tests.functions.slots_support import BUCKET, emr_event, land, metrics_of, plan_for, records
from tests.support import EMR_STATE_MACHINE_ARN, lambda_context, load_event
from transient_analytics.errors import InvalidEventError
from transient_analytics.notify.message import backfill_command

S1, S2 = "2026-11-25T19:45Z", "2026-11-25T20:00Z"
HEADER_ERROR = "csv_to_parquet: error: header mismatch: expected name,class,level got name;class;level"


def run(prepare_run: Any, name: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """One planning call by execution ``name``: its event and the plan it got."""
    event = emr_event(name)
    return event, plan_for(prepare_run, event)


def write_report(plan: dict[str, Any], *lines: dict[str, Any]) -> None:
    bucket, key = plan["report_uri"][5:].split("/", 1)
    body = json.dumps({"format": 1, "run_id": plan["run_id"], "slots": list(lines)})
    boto3.client("s3").put_object(Bucket=bucket, Key=key, Body=body.encode())


def converted(slot: str, rows: int = 10, bad: int = 0) -> dict[str, Any]:
    manifest = f"s3://{BUCKET}/curated/characters/x/_manifest.json"
    return {
        "slot": slot,
        "status": "converted",
        "manifest_uri": manifest,
        "rows_read": rows + bad,
        "rows_written": rows,
        "bad_rows": bad,
    }


def failed(slot: str, error: str = HEADER_ERROR) -> dict[str, Any]:
    return {"slot": slot, "status": "failed", "error": error}


def record(
    module: Any, event: dict[str, Any], plan: dict[str, Any], outcome: str, error: dict | None = None
) -> dict[str, Any]:
    payload = {"pipeline": "emr", "outcome": outcome, "execution": event["execution"], "plan": plan, "error": error}
    return module.lambda_handler(payload, lambda_context())


STEP_ERROR = {"Error": "States.TaskFailed", "Cause": "csv_to_parquet: error: 1 of 2 slots failed"}


def test_after_a_step_with_a_report_every_slot_is_done_with_its_counts(prepare_run, record_slots, capsys):
    land(S1), land(S2)
    event, plan = run(prepare_run, "tick-1")
    capsys.readouterr()
    write_report(plan, converted(S1, rows=9, bad=1), converted(S2, rows=5))
    summary = record(record_slots, event, plan, "step_succeeded")
    assert (summary["converted"], summary["failed"], summary["quarantined"], summary["rows_written"]) == (2, 0, 0, 14)
    stored = records()
    assert (stored[S1].state, stored[S1].rows_read, stored[S1].rows_written, stored[S1].bad_rows) == ("done", 10, 9, 1)
    assert stored[S2].state == "done" and stored[S2].holder is None
    assert stored[S1].expires_at is not None  # TTL after DONE_RETENTION_DAYS
    emf = metrics_of(capsys)
    assert (emf["SlotsConverted"], emf["RowsWritten"], emf["BadRows"], emf["pipeline"]) == ([2.0], [14.0], [1.0], "emr")
    # nothing left to do: the next tick creates no cluster
    assert run(prepare_run, "tick-2")[1]["work"] is False


def test_a_poison_slot_fails_alone_and_the_next_run_takes_it_again(prepare_run, record_slots, clock):
    land(S1), land(S2)
    event, plan = run(prepare_run, "tick-1")
    write_report(plan, converted(S1), failed(S2))
    summary = record(record_slots, event, plan, "step_failed", STEP_ERROR)
    assert (summary["converted"], summary["failed"]) == (1, 1)
    assert f"{S2}: {HEADER_ERROR}" in summary["summary"]
    stored = records()
    assert (stored[S1].state, stored[S2].state, stored[S2].attempts, stored[S2].error) == (
        "done",
        "failed",
        1,
        HEADER_ERROR,
    )
    clock.advance(minutes=15)
    _, again = run(prepare_run, "tick-2")
    assert [s["slot"] for s in again["slots"]] == [S2]


def test_a_step_that_failed_before_the_job_wrote_a_report_releases_its_slots_naming_the_steps_error(
    prepare_run, record_slots
):
    land(S1)
    event, plan = run(prepare_run, "tick-1")
    summary = record(record_slots, event, plan, "step_failed", STEP_ERROR)
    assert (summary["failed"], summary["released"]) == (0, 1)
    r = records()[S1]
    assert (r.state, r.attempts) == ("pending", 0)
    assert r.error == (
        "not attempted: the step ended before it reached this slot "
        "(States.TaskFailed: csv_to_parquet: error: 1 of 2 slots failed)"
    )


def test_a_cluster_that_never_started_releases_its_slots_for_the_next_run_without_an_attempt(prepare_run, record_slots):
    land(S1)
    event, plan = run(prepare_run, "tick-1")
    summary = record(
        record_slots,
        event,
        plan,
        "cluster_failed",
        {"Error": "EMR.AmazonElasticMapReduceException", "Cause": "no capacity"},
    )
    assert summary["released"] == 1
    r = records()[S1]
    assert (r.state, r.attempts) == ("pending", 0)
    assert [s["slot"] for s in run(prepare_run, "tick-2")[1]["slots"]] == [S1]


def test_the_third_failure_quarantines_the_poison_slot_while_the_healthy_one_was_converted_at_once(
    prepare_run, record_slots, clock, sns_inbox
):
    land(S1), land(S2)
    run_ids = []
    for attempt in (1, 2, 3):
        event, plan = run(prepare_run, f"tick-{attempt}")
        run_ids.append(plan["run_id"])
        assert S2 in [s["slot"] for s in plan["slots"]]
        lines = [converted(S1) if s["slot"] == S1 else failed(S2) for s in plan["slots"]]
        write_report(plan, *lines)
        summary = record(record_slots, event, plan, "step_failed", STEP_ERROR)
        clock.advance(minutes=15)
        if attempt < 3:
            assert sns_inbox() == []  # a failure the next run retries is not news
    assert (summary["quarantined"], summary["failed"]) == (1, 1)
    assert (records()[S2].state, records()[S2].attempts) == ("quarantined", 3)
    assert (records()[S1].state, records()[S1].run_id) == ("done", run_ids[0])
    messages = sns_inbox()
    assert len(messages) == 1 and S2 in messages[0]["Subject"] and S1 not in messages[0]["Message"]


def test_quarantine_publishes_exactly_one_message_with_the_slot_the_last_error_and_the_release_command(
    prepare_run, record_slots, clock, sns_inbox
):
    land(S2)
    for attempt in (1, 2, 3):
        event, plan = run(prepare_run, f"tick-{attempt}")
        write_report(plan, failed(S2, f"{HEADER_ERROR} (try {attempt})"))
        record(record_slots, event, plan, "step_failed", STEP_ERROR)
        clock.advance(minutes=15)
    messages = sns_inbox()
    assert len(messages) == 1
    subject, body = messages[0]["Subject"], messages[0]["Message"]
    assert subject == f"[transient-analytics] EMR pipeline: 1 slot(s) quarantined: {S2}"
    assert f"Slot:          {S2}" in body
    assert f"Last error:    {HEADER_ERROR} (try 3)" in body
    assert backfill_command("emr", EMR_STATE_MACHINE_ARN, S2, S2) in body
    # later runs leave it alone, and say so in their metrics
    _, later = run(prepare_run, "tick-4")
    assert later["work"] is False


def test_a_quarantined_slot_does_not_hold_up_a_healthy_one(prepare_run, record_slots, clock):
    land(S2)
    for attempt in (1, 2, 3):
        event, plan = run(prepare_run, f"tick-{attempt}")
        write_report(plan, failed(S2))
        record(record_slots, event, plan, "step_failed", STEP_ERROR)
        clock.advance(minutes=15)
    land("2026-11-25T20:30Z")  # closed by now (21:01:05)
    _, plan = run(prepare_run, "tick-4")
    assert [s["slot"] for s in plan["slots"]] == ["2026-11-25T20:30Z"]


def test_a_slot_this_run_no_longer_holds_is_left_alone(prepare_run, record_slots, clock):
    land(S1)
    event, plan = run(prepare_run, "tick-1")
    clock.advance(seconds=11700)  # the lease ran out; another run took the slot
    run(prepare_run, "tick-2")
    write_report(plan, converted(S1))
    summary = record(record_slots, event, plan, "step_succeeded")
    assert (summary["converted"], summary["not_held"]) == (0, 1)
    r = records()[S1]
    assert (r.state, r.holder.rsplit(":", 1)[-1]) == ("running", "tick-2")


def test_transform_jobs_record_their_slots_done_or_failed(prepare_run, record_slots):
    s3 = boto3.client("s3")
    for day in ("2026-11-23", "2026-11-24"):
        s3.put_object(Bucket=BUCKET, Key=f"batch/abalone/input/dt={day}/batch.csv", Body=b"M,0.4\n")
    event = load_event("prepare_run/scheduled_transform")
    plan = plan_for(prepare_run, event)
    jobs = load_event("record_slots/transform")["jobs"]
    payload = {
        "pipeline": "transform",
        "outcome": "transform",
        "execution": event["execution"],
        "plan": plan,
        "jobs": jobs,
    }
    summary = record_slots.lambda_handler(payload, lambda_context())
    assert (summary["converted"], summary["failed"]) == (1, 1)
    stored = records("transform")
    assert (stored["2026-11-23T00:00Z"].state, stored["2026-11-24T00:00Z"].state) == ("done", "failed")
    assert record_slots.ports()[1].calls == {}  # no Spark report read for a transform run


def test_a_malformed_event_is_refused_naming_the_fields_before_any_aws_call(record_slots, monkeypatch):
    calls = []
    monkeypatch.setattr(record_slots, "ports", lambda: calls.append("called"))
    with pytest.raises(InvalidEventError, match=r"outcome: Input should be"):
        record_slots.lambda_handler(load_event("record_slots/malformed"), lambda_context())
    assert calls == []


@pytest.mark.parametrize("name", ["step_succeeded_emr", "step_failed_emr", "cluster_failed_emr", "transform"])
def test_the_event_fixtures_are_valid_and_change_nothing_for_slots_nobody_claimed(record_slots, name):
    summary = record_slots.lambda_handler(load_event(f"record_slots/{name}"), lambda_context())
    assert summary["not_held"] == 2 and summary["converted"] == summary["failed"] == 0
    assert records() == {} and records("transform") == {}


def test_each_converted_slot_is_announced_once_on_the_default_bus_and_a_failed_one_is_not(prepare_run, record_slots):
    # GIVEN an EventBridge rule on the default bus delivering "Slot Converted" events to a queue
    sqs, events = boto3.client("sqs"), boto3.client("events")
    queue = sqs.create_queue(QueueName="slot-converted")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    events.put_rule(
        Name="slot-converted",
        EventPattern=json.dumps({"source": ["transient-analytics"], "detail-type": ["Slot Converted"]}),
    )
    events.put_targets(Rule="slot-converted", Targets=[{"Id": "q", "Arn": queue_arn}])
    land(S1), land(S2)
    event, plan = run(prepare_run, "tick-events")
    write_report(plan, converted(S1, rows=7), failed(S2))

    # WHEN the run is recorded
    record(record_slots, event, plan, "step_failed", STEP_ERROR)

    # THEN exactly one event arrives, for the converted slot, with its manifest and rows
    bodies = [
        json.loads(m["Body"]) for m in sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10).get("Messages", [])
    ]
    assert [(b["source"], b["detail-type"]) for b in bodies] == [("transient-analytics", "Slot Converted")]
    detail = bodies[0]["detail"]
    assert (detail["pipeline"], detail["slot"], detail["rows_written"]) == ("emr", S1, 7)
    assert detail["manifest_uri"].endswith("/_manifest.json") and detail["run_id"] == plan["run_id"]
