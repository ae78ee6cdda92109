"""record: each claimed slot's verdict from the run's outcome and the Spark job's report, applied to the ledger."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests.unit.recording_support import (
    CLAIMED_AT,
    CONVERTED_S1,
    FAILED_S2,
    NOW,
    S1,
    S2,
    SETTINGS,
    FakeLedger,
    FakeReports,
    claimed_store,
    event,
    report,
)
from transient_analytics.ledger import transitions
from transient_analytics.ledger.records import SlotRecord
from transient_analytics.runs.recording import record
from transient_analytics.runs.verdicts import parse_report, verdicts
from transient_analytics.slots import Fingerprint


def test_a_cluster_that_never_started_releases_its_slots_without_counting_an_attempt():
    ev = event("cluster_failed_emr")
    store, reports = claimed_store(ev), FakeReports()
    result = record(ev, SETTINGS, NOW, store, reports)
    assert result.released == [S1, S2] and result.converted == result.failed == []
    for s in (S1, S2):
        r = store.state("emr", s)
        assert (r.state, r.attempts, r.holder) == ("pending", 0, None)
        assert r.error.startswith("not attempted: EMR.AmazonElasticMapReduceException: The requested instance type")
    assert reports.read == []  # no cluster, no report to read


def test_after_a_failed_step_the_slot_the_job_converted_is_done_and_the_other_failed():
    ev = event("step_failed_emr")
    store = claimed_store(ev)
    result = record(ev, SETTINGS, NOW, store, report(ev, CONVERTED_S1, FAILED_S2))
    assert (result.converted, result.failed, result.quarantined) == ([S1], [S2], [])
    done, failed = store.state("emr", S1), store.state("emr", S2)
    assert (done.state, done.rows_read, done.rows_written, done.bad_rows) == ("done", 10, 9, 1)
    assert (failed.state, failed.attempts, failed.error) == ("failed", 1, FAILED_S2["error"])
    assert (result.rows_written, result.bad_rows) == (9, 1)
    assert result.verdicts[S1].manifest_uri == CONVERTED_S1["manifest_uri"]
    summary = result.summary()
    assert (summary["converted"], summary["failed"], summary["rows_written"]) == (1, 1, 9)
    assert f"{S2}: csv_to_parquet: error: header mismatch" in summary["summary"]


def test_a_step_that_succeeded_records_every_slot_done_with_its_counts():
    ev = event("step_succeeded_emr")
    store = claimed_store(ev, attempts=2)
    line2 = {**CONVERTED_S1, "slot": S2, "rows_read": 0, "rows_written": 0, "bad_rows": 0}
    result = record(ev, SETTINGS, NOW, store, report(ev, CONVERTED_S1, line2))
    assert result.converted == [S1, S2]
    assert [store.state("emr", s).attempts for s in (S1, S2)] == [0, 0]
    assert store.state("emr", S2).rows_written == 0  # an empty slot is converted too


def test_a_step_that_failed_before_the_job_wrote_any_report_releases_every_slot_without_an_attempt():
    # GIVEN the step died before the job wrote its first report (spark-submit, the cluster, the job's arguments)
    ev = event("step_failed_emr")
    store = claimed_store(ev)
    # WHEN the run records its slots
    result = record(ev, SETTINGS, NOW, store, FakeReports())
    # THEN no slot is charged: the failure is not the data's
    assert result.released == [S1, S2] and result.failed == []
    for s in (S1, S2):
        r = store.state("emr", s)
        assert (r.state, r.attempts, r.crashes) == ("pending", 0, 0)
        assert r.error.startswith("not attempted: the step ended before it reached this slot (States.TaskFailed:")


RUNNING_S2 = {"slot": S2, "status": "running"}
PENDING_S2 = {"slot": S2, "status": "pending"}


def test_a_step_that_died_while_converting_a_slot_charges_that_slot_alone_and_commits_the_converted_one():
    # GIVEN the job's progress report: S1 converted, S2 running when the driver was killed
    ev = event("step_failed_emr")
    store = claimed_store(ev)
    result = record(ev, SETTINGS, NOW, store, report(ev, CONVERTED_S1, RUNNING_S2))
    assert (result.converted, result.failed, result.released) == ([S1], [S2], [])
    crashed = store.state("emr", S2)
    assert (crashed.state, crashed.attempts, crashed.crashes) == ("failed", 1, 1)
    assert crashed.error.startswith("the step died while converting this slot: States.TaskFailed:")
    assert result.verdicts[S2].crashed


def test_slots_the_step_never_started_are_released_without_an_attempt():
    ev = event("step_failed_emr")
    store = claimed_store(ev)
    running_s1 = {"slot": S1, "status": "running"}
    result = record(ev, SETTINGS, NOW, store, report(ev, running_s1, PENDING_S2))
    assert (result.failed, result.released) == ([S1], [S2])
    assert (store.state("emr", S2).state, store.state("emr", S2).attempts) == ("pending", 0)


def test_rows_under_partition_values_the_catalog_does_not_show_owe_a_notice():
    ev = event("step_succeeded_emr")
    store = claimed_store(ev)
    line = {**CONVERTED_S1, "unlisted_partition_values": {"Druid": 4}}
    line2 = {**CONVERTED_S1, "slot": S2}
    result = record(ev, SETTINGS, NOW, store, report(ev, line, line2))
    assert result.converted == [S1, S2] and result.unlisted_rows == 4
    r1, r2 = store.state("emr", S1), store.state("emr", S2)
    assert r1.unlisted_values == {"Druid": 4} and r1.owes("unlisted_values")
    assert r2.unlisted_values is None and not r2.owes()


@pytest.mark.parametrize(
    "document",
    [
        {"format": 1, "run_id": "20261125T2000Z-00000000", "slots": [CONVERTED_S1]},  # another run's report
        {"format": 1, "slots": "not a list"},
        "not an object",
    ],
    ids=["another run", "malformed", "not an object"],
)
def test_a_report_of_another_run_or_a_malformed_one_counts_as_no_report(document):
    ev = event("step_failed_emr")
    assert parse_report(document, ev.plan.run_id) is None
    result = record(ev, SETTINGS, NOW, claimed_store(ev), FakeReports({ev.plan.report_uri: document}))
    assert result.released == [S1, S2] and result.converted == result.failed == []


def test_a_step_that_succeeded_but_left_no_report_fails_its_slots_rather_than_guessing():
    ev = event("step_succeeded_emr")
    v = verdicts(ev, None)
    assert [v[s].verdict for s in (S1, S2)] == ["failed", "failed"]
    assert v[S1].error == "the Spark job reported nothing for this slot (the step ended without an error)"


def test_a_slot_a_final_report_leaves_out_is_failed_with_the_steps_error():
    ev = event("step_failed_emr")
    v = verdicts(ev, parse_report({"run_id": ev.plan.run_id, "slots": [CONVERTED_S1]}, ev.plan.run_id))
    assert (v[S1].verdict, v[S2].verdict) == ("done", "failed")
    assert v[S2].error.startswith("the Spark job reported nothing for this slot (States.TaskFailed:")


def test_the_failure_that_reaches_the_maximum_quarantines_the_slot_and_is_returned_for_the_notification():
    ev = event("step_failed_emr")
    store = claimed_store(ev, attempts=SETTINGS.MAX_SLOT_ATTEMPTS - 1)
    result = record(ev, SETTINGS, NOW, store, report(ev, CONVERTED_S1, FAILED_S2))
    assert result.converted == [S1] and result.failed == []
    assert [r.slot for r in result.quarantined] == [S2]
    q = store.state("emr", S2)
    assert (q.state, q.attempts, q.error) == ("quarantined", 3, FAILED_S2["error"])
    assert result.quarantined[0] == q
    assert result.summary()["quarantined"] == 1 and result.summary()["failed"] == 1


def test_a_slot_this_run_no_longer_holds_is_left_alone():
    ev = event("step_failed_emr")
    store = claimed_store(ev)
    # the lease of S2 ran out and another execution claimed it
    taken = transitions.claim(
        store.state("emr", S2),
        pipeline="emr",
        slot=S2,
        observed=Fingerprint("f" * 32, 1, 1),
        holder="arn:other",
        run_id="other",
        now=CLAIMED_AT + timedelta(hours=3),
        lease=timedelta(hours=3),
    )
    store.records[("emr", S2)] = taken
    result = record(ev, SETTINGS, NOW, store, report(ev, CONVERTED_S1, FAILED_S2))
    assert (result.converted, result.not_held, result.failed) == ([S1], [S2], [])
    assert store.state("emr", S2) == taken


def test_a_slot_without_a_record_is_left_alone():
    ev = event("step_failed_emr")
    store = claimed_store(ev)
    del store.records[("emr", S1)]
    first = record(ev, SETTINGS, NOW, store, report(ev, CONVERTED_S1, FAILED_S2))
    assert (first.not_held, first.failed) == ([S1], [S2])


def test_a_retried_record_writes_nothing_twice_and_returns_the_same_summary():
    # GIVEN RecordSlots recorded the run, then its answer was lost (Lambda.ServiceException) and Step Functions retries
    ev = event("step_failed_emr")
    store = claimed_store(ev, attempts=SETTINGS.MAX_SLOT_ATTEMPTS - 1)
    first = record(ev, SETTINGS, NOW, store, report(ev, CONVERTED_S1, FAILED_S2))
    writes = len(store.writes)
    # WHEN the retry records the same run
    again = record(ev, SETTINGS, NOW + timedelta(seconds=4), store, report(ev, CONVERTED_S1, FAILED_S2))
    # THEN nothing is written again, the quarantine is not counted twice, the summary is the same
    assert len(store.writes) == writes
    assert again.summary() == first.summary()
    assert (store.state("emr", S2).state, store.state("emr", S2).attempts) == ("quarantined", 3)
    assert first.fresh == {S1, S2} and again.fresh == set()


def test_a_write_that_loses_a_race_counts_the_slot_as_not_held():
    ev = event("step_succeeded_emr")
    store = claimed_store(ev)

    class Racing(FakeLedger):
        def write(self, new: SlotRecord, expected_version: int | None) -> bool:
            return False

    racing = Racing()
    racing.records = store.records
    result = record(ev, SETTINGS, NOW, racing, report(ev, CONVERTED_S1))
    assert result.not_held == [S1, S2] and result.converted == []
