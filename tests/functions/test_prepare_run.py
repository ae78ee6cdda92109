"""prepare_run against moto: landing objects in S3, the slot ledger in DynamoDB, the clock frozen at 20:16:05."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import boto3
import pytest

from tests.functions.slots_support import BUCKET, EMR_EXECUTION, emr_event, land, metrics_of, plan_for, records, store
from tests.support import lambda_context, load_event
from transient_analytics.errors import ConfigurationError, InvalidEventError
from transient_analytics.ledger import transitions
from transient_analytics.ledger.records import SlotCounts
from transient_analytics.slots import Fingerprint


def test_no_landing_data_means_no_work_and_no_claim(prepare_run, capsys):
    plan = plan_for(prepare_run, emr_event("tick-1"))
    assert plan["work"] is False
    assert (plan["slots"], plan["emr"]) == ([], None)
    assert plan["reason"] == "no new data: no landing objects in the lookback window"
    assert records() == {}
    emf = metrics_of(capsys)
    assert (emf["SlotsClaimed"], emf["RunsWithoutWork"], emf["ClustersCreated"]) == ([0.0], [1.0], [0.0])


def test_the_slot_still_filling_is_left_to_a_later_run(prepare_run):
    land("2026-11-25T20:15Z")  # the clock is at 20:16:05: this slot ends at 20:30
    assert plan_for(prepare_run, emr_event("tick-1"))["work"] is False


def test_slots_with_data_are_claimed_oldest_first_up_to_the_maximum_and_the_rest_wait(prepare_run, monkeypatch, capsys):
    monkeypatch.setenv("EMR_MAX_SLOTS_PER_RUN", "2")
    for slot in ("2026-11-25T20:00Z", "2026-11-25T19:30Z", "2026-11-25T19:45Z"):
        land(slot)
    land("2026-11-25T19:30Z", "_SUCCESS", b"")  # markers are not data
    plan = plan_for(prepare_run, emr_event("tick-1"))
    assert plan["work"] is True
    assert [s["slot"] for s in plan["slots"]] == ["2026-11-25T19:30Z", "2026-11-25T19:45Z"]
    assert plan["reason"] == "2 slot(s) claimed; 1 more left to the next run"
    assert plan["slots"][0]["objects"] == 1
    args = plan["emr"]["spark_submit_args"]
    assert args.count("--slot") == 2
    stored = records()
    assert set(stored) == {"2026-11-25T19:30Z", "2026-11-25T19:45Z"}
    assert {(r.state, r.holder) for r in stored.values()} == {("running", EMR_EXECUTION.format("tick-1"))}
    emf = metrics_of(capsys)
    assert (emf["SlotsClaimed"], emf["SlotsWaiting"], emf["ClustersCreated"]) == ([2.0], [1.0], [1.0])
    assert emf["OldestPendingSlotAgeSeconds"] == [timedelta(minutes=31, seconds=5).total_seconds()]  # 19:30 ends 19:45


def test_a_second_run_while_the_first_holds_its_slots_takes_only_the_rest_and_a_third_none(prepare_run, monkeypatch):
    monkeypatch.setenv("EMR_MAX_SLOTS_PER_RUN", "2")
    for slot in ("2026-11-25T19:30Z", "2026-11-25T19:45Z", "2026-11-25T20:00Z"):
        land(slot)
    first = plan_for(prepare_run, emr_event("tick-1"))
    second = plan_for(prepare_run, emr_event("tick-2"))
    third = plan_for(prepare_run, emr_event("tick-3"))
    assert [s["slot"] for s in first["slots"]] == ["2026-11-25T19:30Z", "2026-11-25T19:45Z"]
    assert [s["slot"] for s in second["slots"]] == ["2026-11-25T20:00Z"]
    assert third["work"] is False and third["emr"] is None
    assert third["reason"].startswith("every slot with work is held by another execution")
    holders = {s: r.holder.rsplit(":", 1)[-1] for s, r in records().items()}
    assert holders == {"2026-11-25T19:30Z": "tick-1", "2026-11-25T19:45Z": "tick-1", "2026-11-25T20:00Z": "tick-2"}


def test_a_claim_whose_lease_ran_out_is_taken_by_the_next_run(prepare_run, clock):
    land("2026-11-25T20:00Z")
    plan_for(prepare_run, emr_event("tick-1"))
    clock.advance(seconds=11700)  # EMR_CLAIM_LEASE_SECONDS: the first run died without recording
    plan = plan_for(prepare_run, emr_event("tick-2"))
    assert [s["slot"] for s in plan["slots"]] == ["2026-11-25T20:00Z"]
    assert records()["2026-11-25T20:00Z"].holder.endswith(":tick-2")


def complete_all(holder: str, now: datetime) -> None:
    s = store()
    for r in records().values():
        done = transitions.complete(
            r, holder=holder, counts=SlotCounts(rows_written=1), now=now, retention=timedelta(days=1)
        )
        assert s.write(done, r.version)


def test_late_data_in_a_done_slot_makes_it_due_again(prepare_run, clock):
    land("2026-11-25T19:45Z")
    first = plan_for(prepare_run, emr_event("tick-1"))
    complete_all(EMR_EXECUTION.format("tick-1"), clock.now)
    clock.advance(minutes=15)
    unchanged = plan_for(prepare_run, emr_event("tick-2"))
    assert unchanged["work"] is False
    assert unchanged["reason"] == "no new data: 1 slot(s) with data, all converted with these contents"
    land("2026-11-25T19:45Z", "late.csv")
    clock.advance(minutes=15)
    again = plan_for(prepare_run, emr_event("tick-3"))
    assert [s["slot"] for s in again["slots"]] == ["2026-11-25T19:45Z"]
    assert again["slots"][0]["objects"] == 2
    assert again["slots"][0]["fingerprint"] != first["slots"][0]["fingerprint"]
    # the output is the same folder: the job replaces the slot's partition, never appends beside it
    assert again["slots"][0]["output_uri"] == first["slots"][0]["output_uri"]


def test_a_backfill_range_requeues_its_slots_releases_quarantine_and_claims_them(prepare_run, record_slots, clock):
    slots = ["2026-11-25T18:00Z", "2026-11-25T18:15Z", "2026-11-25T18:30Z", "2026-11-25T18:45Z"]
    for slot in slots:
        land(slot)
    s = store()
    # 18:00 quarantined by an earlier run
    q = transitions.claim(
        None,
        pipeline="emr",
        slot=slots[0],
        observed=Fingerprint("0" * 32, 1, 1),
        holder="x",
        run_id="r",
        now=clock.now - timedelta(hours=1),
        lease=timedelta(hours=3),
    )
    assert s.write(q, None)
    assert s.write(transitions.fail(q, holder="x", error="bad", now=clock.now, max_attempts=1), q.version)
    # a scheduled run leaves 18:00 alone and converts 18:15, while 18:30 and 18:45 fail
    event = emr_event("tick-1")
    scheduled = plan_for(prepare_run, event)
    assert [w["slot"] for w in scheduled["slots"]] == slots[1:]
    bucket, key = scheduled["report_uri"][5:].split("/", 1)
    report = {"run_id": scheduled["run_id"], "slots": [{"slot": slots[1], "status": "converted"}]}
    boto3.client("s3").put_object(Bucket=bucket, Key=key, Body=json.dumps(report).encode())
    record_slots.lambda_handler(
        {"pipeline": "emr", "outcome": "step_failed", "execution": event["execution"], "plan": scheduled},
        lambda_context(),
    )
    assert [records()[x].state for x in slots] == ["quarantined", "done", "failed", "failed"]
    clock.advance(minutes=1)
    plan = plan_for(prepare_run, load_event("prepare_run/backfill_range_emr"))
    assert plan["trigger"] == "backfill"
    assert [w["slot"] for w in plan["slots"]] == slots  # the done one too: a backfill converts again
    stored = records()
    assert [(stored[x].state, stored[x].attempts) for x in slots] == [("running", 0)] * 4
    assert {stored[x].holder for x in slots} == {load_event("prepare_run/backfill_range_emr")["execution"]["id"]}


@pytest.mark.parametrize(
    ("backfill", "message"),
    [
        (
            {"from": "2026-11-25T19:00Z", "to": "2026-11-25T18:00Z"},
            r"input\.backfill\.to: must be after input\.backfill\.from",
        ),
        ({"from": "2026-10-01T00:00Z", "to": "2026-11-25T00:00Z"}, r"input\.backfill: at most 2976 slots per backfill"),
        (
            {"from": "2026-11-25T18:05Z", "to": "2026-11-25T19:00Z"},
            r"input\.backfill\.from: must be on a slot boundary",
        ),
        (
            {"from": "2026-11-25T18:00Z", "to": "2026-11-25T20:30Z"},
            r"input\.backfill\.to: must not be after the start of the current slot",
        ),
        ({"from": "yesterday", "to": "2026-11-25T19:00Z"}, r"input\.backfill\.from: must be a slot id like"),
        ({"from": "2026-11-25T18:00Z"}, r"input\.backfill\.to: Field required"),
        (
            {"from": "2026-11-25T18:00Z", "to": "2026-11-25T19:00Z", "pipeline": "emr"},
            r"input\.backfill\.pipeline: Extra inputs",
        ),
    ],
    ids=[
        "end before start",
        "wider than the limit",
        "off the boundary",
        "into the open slot",
        "malformed",
        "no end",
        "extra field",
    ],
)
def test_a_bad_backfill_range_is_refused_naming_the_field_and_the_rule_and_writes_nothing(
    prepare_run, backfill, message
):
    land("2026-11-25T18:00Z")
    event = load_event("prepare_run/backfill_range_emr")
    event["input"]["backfill"] = backfill
    with pytest.raises(InvalidEventError, match=message):
        plan_for(prepare_run, event)
    assert records() == {}


def test_a_backfill_of_a_pipeline_that_does_not_exist_is_refused(prepare_run):
    event = load_event("prepare_run/backfill_range_emr")
    event["pipeline"] = "spark"
    with pytest.raises(InvalidEventError, match=r"pipeline: Input should be 'emr' or 'transform'"):
        plan_for(prepare_run, event)


def test_a_transform_run_claims_the_closed_days_with_a_batch_file_each_with_its_job_name_prefix(prepare_run):
    s3 = boto3.client("s3")
    for day in ("2026-11-23", "2026-11-24", "2026-11-25"):  # the 25th is still filling at 20:16
        s3.put_object(Bucket=BUCKET, Key=f"batch/abalone/input/dt={day}/batch.csv", Body=b"M,0.4,0.3\n")
    plan = plan_for(prepare_run, load_event("prepare_run/scheduled_transform"))
    assert [w["slot"] for w in plan["slots"]] == ["2026-11-23T00:00Z", "2026-11-24T00:00Z"]
    assert plan["emr"] is None and plan["transform"]["instance_type"] == "ml.m5.large"
    assert [w["job_name_prefix"][:24] for w in plan["slots"]] == [
        "ta-abalone-202611230000-",
        "ta-abalone-202611240000-",
    ]
    assert set(records("transform")) == {"2026-11-23T00:00Z", "2026-11-24T00:00Z"}


def test_a_day_of_slots_costs_two_listings_two_queries_and_one_write_per_claim(prepare_run):
    """The call-count contract in runs/planning.py's docstring, for 24 h of 15-minute slots (96, over two UTC days)."""
    start = datetime(2026, 11, 24, 20, 15, tzinfo=UTC)
    for i in range(96):
        land(f"{start + timedelta(minutes=15 * i):%Y-%m-%dT%H:%MZ}")
    plan = plan_for(prepare_run, emr_event("tick-1"))
    assert len(plan["slots"]) == 8  # EMR_MAX_SLOTS_PER_RUN
    assert plan["slots"][0]["slot"] == "2026-11-24T20:15Z"
    objects, slot_ledger, _ = prepare_run.ports()
    assert objects.calls == {"ListObjectsV2": 2}  # one per UTC day the window touches
    assert slot_ledger.calls == {"Query": 2, "PutItem": 8}  # the window, the open-slots index; one write per claim
    # the next run also finds the 8 open (running) slots through the index: still two queries
    objects.calls.clear()
    slot_ledger.calls.clear()
    plan_for(prepare_run, emr_event("tick-2"))
    assert objects.calls == {"ListObjectsV2": 2}
    assert slot_ledger.calls == {"Query": 2, "PutItem": 8}


def test_a_backfill_adds_one_query_for_its_range_and_one_write_per_requeued_slot(prepare_run):
    for slot in ("2026-11-25T18:00Z", "2026-11-25T18:15Z", "2026-11-25T18:30Z", "2026-11-25T18:45Z"):
        land(slot)
    plan = plan_for(prepare_run, load_event("prepare_run/backfill_range_emr"))
    assert len(plan["slots"]) == 4
    objects, slot_ledger, _ = prepare_run.ports()
    assert objects.calls == {"ListObjectsV2": 2}  # the range lies in the window's days
    # the range's records, the window's, the open-slots index; 4 requeues and 4 claims
    assert slot_ledger.calls == {"Query": 3, "PutItem": 8}


def test_a_malformed_event_is_refused_naming_the_fields_before_any_aws_call(prepare_run, monkeypatch):
    calls = []
    monkeypatch.setattr(prepare_run, "ports", lambda: calls.append("called"))
    with pytest.raises(InvalidEventError, match=r"pipeline: Input should be 'emr' or 'transform'"):
        plan_for(prepare_run, load_event("prepare_run/malformed"))
    assert calls == []


def test_a_scheduled_time_beyond_the_backfill_limit_is_refused(prepare_run, clock):
    clock.advance(days=400)
    with pytest.raises(InvalidEventError, match="MAX_BACKFILL_DAYS"):
        plan_for(prepare_run, load_event("prepare_run/backfill_emr"))


def test_a_missing_environment_variable_is_named(prepare_run, monkeypatch):
    monkeypatch.delenv("LEDGER_TABLE")
    with pytest.raises(ConfigurationError, match="environment.LEDGER_TABLE: Field required"):
        plan_for(prepare_run, load_event("prepare_run/scheduled_emr"))
