"""record for a batch transform run: each slot's verdict is its own transform job's outcome, never a Spark report."""

from __future__ import annotations

from tests.support import load_event
from tests.unit.recording_support import NOW, SETTINGS, FakeReports, claimed_store, event
from transient_analytics.models import RecordSlotsEvent, parse_event
from transient_analytics.runs.recording import record
from transient_analytics.runs.verdicts import verdicts


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
