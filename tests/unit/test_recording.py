"""record: each claimed slot's verdict from the run's outcome and the Spark job's report, applied to the ledger."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.support import load_event
from transient_analytics import ledger
from transient_analytics.ledger import SlotRecord
from transient_analytics.models import RecordSlotsEvent, parse_event
from transient_analytics.recording import parse_report, record, verdicts
from transient_analytics.settings import RecordSlotsSettings
from transient_analytics.slots import Fingerprint

NOW = datetime(2026, 11, 25, 20, 41, tzinfo=UTC)
CLAIMED_AT = datetime(2026, 11, 25, 20, 16, tzinfo=UTC)
SETTINGS = RecordSlotsSettings(
    DATA_BUCKET="transient-analytics-dev-databucket",
    NAME_PREFIX="transient-analytics-dev",
    LEDGER_TABLE="ledger",
    TOPIC_ARN="arn:aws:sns:us-east-1:123456789012:transient-analytics-dev-failures",
)
S1, S2 = "2026-11-25T19:45Z", "2026-11-25T20:00Z"


class FakeLedger:
    """The ledger port in memory, with the store's conditional-write rule."""

    def __init__(self) -> None:
        self.records: dict[tuple[str, str], SlotRecord] = {}
        self.writes: list[SlotRecord] = []

    def get_many(self, pipeline: str, slots: list[str]) -> dict[str, SlotRecord]:
        return {s: self.records[(pipeline, s)] for s in slots if (pipeline, s) in self.records}

    def write(self, new: SlotRecord, expected_version: int | None) -> bool:
        current = self.records.get((new.pipeline, new.slot))
        if (current.version if current else None) != expected_version:
            return False
        self.records[(new.pipeline, new.slot)] = new
        self.writes.append(new)
        return True

    def state(self, pipeline: str, slot: str) -> SlotRecord:
        return self.records[(pipeline, slot)]


class FakeReports:
    def __init__(self, documents: dict[str, Any] | None = None) -> None:
        self.documents = documents or {}
        self.read: list[str] = []

    def read_json(self, uri: str) -> Any | None:
        self.read.append(uri)
        return self.documents.get(uri)


def event(name: str, **changes: Any) -> RecordSlotsEvent:
    raw = load_event(f"record_slots/{name}")
    raw.update(changes)
    return parse_event(raw, RecordSlotsEvent)


def claimed_store(ev: RecordSlotsEvent, holder: str | None = None, attempts: int = 0) -> FakeLedger:
    """A ledger in which ``ev``'s execution holds every slot of its plan."""
    store = FakeLedger()
    for work in ev.plan.slots:
        r = ledger.claim(
            None,
            pipeline=ev.pipeline,
            slot=work.slot,
            observed=Fingerprint(work.fingerprint, work.objects, work.bytes),
            holder=holder or ev.execution.id,
            run_id=ev.plan.run_id,
            now=CLAIMED_AT,
            lease=timedelta(hours=3),
        )
        store.records[(ev.pipeline, work.slot)] = r.model_copy(update={"attempts": attempts})
    return store


def report(ev: RecordSlotsEvent, *lines: dict[str, Any]) -> FakeReports:
    return FakeReports({ev.plan.report_uri: {"format": 1, "run_id": ev.plan.run_id, "slots": list(lines)}})


CONVERTED_S1 = {
    "slot": S1,
    "status": "converted",
    "manifest_uri": "s3://ta-dev-data/curated/characters/dt=2026-11-25/hour=19/minute=45/_manifest.json",
    "rows_read": 10,
    "rows_written": 9,
    "bad_rows": 1,
}
FAILED_S2 = {"slot": S2, "status": "failed", "error": "csv_to_parquet: error: header mismatch in part-0.csv"}


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
    taken = ledger.claim(
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


def test_transform_jobs_decide_their_own_slots_done_or_failed():
    ev = event("transform")
    store = claimed_store(ev)
    result = record(ev, SETTINGS, NOW, store, FakeReports())
    d23, d24 = "2026-11-23T00:00Z", "2026-11-24T00:00Z"
    assert (result.converted, result.failed) == ([d23], [d24])
    assert store.state("transform", d23).state == "done"
    failed = store.state("transform", d24)
    assert (
        failed.error
        == "SageMaker.AmazonSageMakerException: ClientError: See job logs: could not convert string to float: 'M'"
    )
    assert result.verdicts[d23].job["TransformJobName"] == "ta-abalone-202611230000-0357b245-0-0"


def test_a_transform_run_reads_no_spark_report_even_when_its_plan_names_one():
    raw = load_event("record_slots/transform")
    raw["plan"]["report_uri"] = f"s3://{SETTINGS.DATA_BUCKET}/runs/transform/{raw['plan']['run_id']}/report.json"
    ev = parse_event(raw, RecordSlotsEvent)
    reports = FakeReports()
    record(ev, SETTINGS, NOW, claimed_store(ev), reports)
    # a GetObject of a key that does not exist is AccessDenied without s3:ListBucket, not NoSuchKey
    assert reports.read == []


def test_a_transform_slot_the_map_did_not_report_is_failed():
    raw = load_event("record_slots/transform")
    raw["jobs"] = raw["jobs"][:1]
    v = verdicts(parse_event(raw, RecordSlotsEvent), None)
    assert v["2026-11-24T00:00Z"].verdict == "failed" and v["2026-11-24T00:00Z"].error == "no job result"
