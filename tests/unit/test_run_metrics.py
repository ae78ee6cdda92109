"""The metrics of each run (docs/architecture.md, Metrics): names, units and values, and their EMF form."""

from datetime import UTC, datetime, timedelta

from aws_lambda_powertools import Metrics

from tests.support import load_event
from transient_analytics import metrics_catalog as mc
from transient_analytics.ledger.records import SlotRecord
from transient_analytics.models import PrepareRunEvent, RecordSlotsEvent, parse_event
from transient_analytics.runs.metrics import MetricValue, add_all, planning_metrics, recording_metrics
from transient_analytics.runs.plan import build_plan
from transient_analytics.runs.planning import RunStats
from transient_analytics.runs.recording import RecordResult
from transient_analytics.settings import PrepareRunSettings
from transient_analytics.slots import Fingerprint

SETTINGS = PrepareRunSettings(
    DATA_BUCKET="b-data", NAME_PREFIX="stack", TRANSFORM_JOB_BASE_NAME="ta-abalone", LEDGER_TABLE="ledger"
)
T = datetime(2026, 11, 25, 20, 15, tzinfo=UTC)
FP = Fingerprint("a" * 32, 1, 1)


def plan(pipeline: str, slots: int):
    name = "scheduled_emr" if pipeline == "emr" else "scheduled_transform"
    claimed = [
        (T - timedelta(days=i + 1) if pipeline == "transform" else T - timedelta(minutes=15 * (i + 1)), FP)
        for i in range(slots)
    ]
    claimed = [(s.replace(hour=0, minute=0) if pipeline == "transform" else s, fp) for s, fp in claimed]
    return build_plan(
        parse_event(load_event(f"prepare_run/{name}"), PrepareRunEvent),
        SETTINGS,
        T,
        "schedule",
        claimed,
        "",
        "ta-abalone-v1-0123abcd" if pipeline == "transform" else None,
    )


def by_name(values: list[MetricValue]) -> dict[str, tuple[str, float]]:
    return {v.name: (v.unit, v.value) for v in values}


def test_a_run_with_work_counts_claimed_waiting_lag_quarantine_and_one_cluster():
    stats = RunStats(
        claimed=["a", "b"], waiting=["c"], held=["d"], quarantined=["q"], lag=timedelta(minutes=47), lost_races=["e"]
    )
    assert by_name(planning_metrics(plan("emr", 2), stats)) == {
        "SlotsClaimed": ("Count", 2),
        "SlotsWaiting": ("Count", 3),  # over the maximum, held by another run, lost in a race
        "OldestPendingSlotAgeSeconds": ("Seconds", 2820.0),
        "QuarantinedSlots": ("Count", 1),
        "RunsWithoutWork": ("Count", 0),
        "ClustersCreated": ("Count", 1),
    }


def test_a_run_without_work_creates_no_cluster_and_counts_itself():
    stats = RunStats(claimed=[], waiting=[], held=[], quarantined=[], lag=timedelta(0))
    values = by_name(planning_metrics(plan("emr", 0), stats))
    assert values["RunsWithoutWork"] == ("Count", 1) and values["ClustersCreated"] == ("Count", 0)
    assert values["OldestPendingSlotAgeSeconds"] == ("Seconds", 0.0)


def test_transform_runs_emit_no_cluster_metric():
    stats = RunStats(claimed=["x"], waiting=[], held=[], quarantined=[], lag=timedelta(0))
    assert "ClustersCreated" not in by_name(planning_metrics(plan("transform", 1), stats))


def _recorded(slot: str, state: str, rows: int = 0, bad: int = 0, unlisted: dict[str, int] | None = None) -> SlotRecord:
    return SlotRecord(
        pipeline="emr", slot=slot, state=state, version=3, rows_written=rows, bad_rows=bad, updated_at=T,
        unlisted_values=unlisted,
    )  # fmt: skip


def test_recording_counts_converted_failed_quarantined_rows_and_transform_job_durations():
    event = parse_event(load_event("record_slots/transform"), RecordSlotsEvent)
    result = RecordResult()
    for r in (_recorded("a", "done", 100, 3), _recorded("b", "done", 20), _recorded("c", "failed")):
        result.records[r.slot] = r
        result.fresh.add(r.slot)
    result.records["q"] = _recorded("q", "quarantined")
    result.fresh.add("q")
    values = recording_metrics(event, result)
    assert by_name(values) == {
        "SlotsConverted": ("Count", 2),
        "SlotsFailed": ("Count", 2),  # failed and quarantined both failed this run
        "SlotsQuarantined": ("Count", 1),
        "RowsWritten": ("Count", 120),
        "BadRows": ("Count", 3),
        "TransformJobDurationSeconds": ("Seconds", 510.0),  # 06:01:10 -> 06:09:40; the failed job has no times
    }
    assert [v.name for v in values].count("TransformJobDurationSeconds") == 1


def test_transform_job_times_as_epoch_seconds_or_milliseconds_also_give_the_duration():
    raw = load_event("record_slots/transform")
    raw["jobs"][0]["job"].update(TransformStartTime=1_764_050_470, TransformEndTime=1_764_050_530)
    raw["jobs"][1] = {
        "slot": raw["jobs"][1]["slot"],
        "status": "converted",
        "job": {"TransformStartTime": 1_764_050_470_000, "TransformEndTime": 1_764_050_590_000},
    }
    values = recording_metrics(parse_event(raw, RecordSlotsEvent), RecordResult())
    assert [v.value for v in values if v.name == "TransformJobDurationSeconds"] == [60.0, 120.0]


def test_an_emr_run_has_no_job_durations():
    event = parse_event(load_event("record_slots/step_failed_emr"), RecordSlotsEvent)
    assert "TransformJobDurationSeconds" not in by_name(recording_metrics(event, RecordResult()))


def test_the_metrics_are_emitted_in_emf_with_the_pipeline_and_service_dimensions():
    metrics = Metrics(namespace="TransientAnalytics", service="transient-analytics-dev")
    try:
        add_all(
            metrics,
            "emr",
            [MetricValue(mc.SLOTS_CLAIMED, 2), MetricValue(mc.OLDEST_PENDING_SLOT_AGE_SECONDS, 60)],
        )
        emf = metrics.serialize_metric_set()
    finally:
        metrics.clear_metrics()
    directive = emf["_aws"]["CloudWatchMetrics"][0]
    assert directive["Namespace"] == "TransientAnalytics"
    assert sorted(directive["Dimensions"][0]) == ["pipeline", "service"]
    assert {m["Name"]: m["Unit"] for m in directive["Metrics"]} == {
        "SlotsClaimed": "Count",
        "OldestPendingSlotAgeSeconds": "Seconds",
    }
    assert (emf["pipeline"], emf["service"], emf["SlotsClaimed"]) == ("emr", "transient-analytics-dev", [2.0])


def test_a_retried_recording_counts_only_what_it_recorded_itself_and_the_rows_the_catalog_hides():
    event = parse_event(load_event("record_slots/step_succeeded_emr"), RecordSlotsEvent)
    result = RecordResult()
    result.records["a"] = _recorded("a", "done", 50, unlisted={"Druid": 7})  # recorded by an earlier attempt
    result.records["b"] = _recorded("b", "done", 10, unlisted={"Druid": 2})
    result.fresh.add("b")
    values = by_name(recording_metrics(event, result))
    assert values["SlotsConverted"] == ("Count", 1) and values["RowsWritten"] == ("Count", 10)
    assert values["UnlistedPartitionRows"] == ("Count", 2)
