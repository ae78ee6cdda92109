"""The metrics each run emits (Powertools Metrics, CloudWatch embedded metric format). Pure lists of values.

Namespace ``POWERTOOLS_METRICS_NAMESPACE`` and the dimensions ``service`` (the stack) and
``pipeline`` are set by the handlers; the names are the dashboard's and the alarms'.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from transient_analytics.models import RecordSlotsEvent
from transient_analytics.plan import RunPlan
from transient_analytics.planning import RunStats
from transient_analytics.recording import RecordResult

Unit = Literal["Count", "Seconds"]


@dataclass(frozen=True)
class MetricValue:
    name: str
    unit: Unit
    value: float


def planning_metrics(plan: RunPlan, stats: RunStats) -> list[MetricValue]:
    """prepare_run's metrics: what was claimed and left, the lag, the quarantine, and whether a cluster is paid for."""
    values = [
        MetricValue("SlotsClaimed", "Count", len(stats.claimed)),
        MetricValue("SlotsWaiting", "Count", len(stats.waiting) + len(stats.held) + len(stats.lost_races)),
        MetricValue("OldestPendingSlotAgeSeconds", "Seconds", stats.lag.total_seconds()),
        MetricValue("QuarantinedSlots", "Count", len(stats.quarantined)),
        MetricValue("RunsWithoutWork", "Count", 0 if plan.work else 1),
    ]
    if plan.pipeline == "emr":
        values.append(MetricValue("ClustersCreated", "Count", 1 if plan.work else 0))
    return values


def _epoch(value: Any) -> float | None:
    if isinstance(value, int | float):
        return float(value) / (1000.0 if value > 1e11 else 1.0)
    if isinstance(value, str):
        try:
            return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
        except ValueError:
            return None
    return None


def recording_metrics(event: RecordSlotsEvent, result: RecordResult) -> list[MetricValue]:
    """record_slots's metrics: slots converted, failed and quarantined, rows, and each transform job's duration."""
    values = [
        MetricValue("SlotsConverted", "Count", len(result.converted)),
        MetricValue("SlotsFailed", "Count", len(result.failed) + len(result.quarantined)),
        MetricValue("SlotsQuarantined", "Count", len(result.quarantined)),
        MetricValue("RowsWritten", "Count", result.rows_written),
        MetricValue("BadRows", "Count", result.bad_rows),
    ]
    for job in event.jobs:
        start, end = _epoch((job.job or {}).get("TransformStartTime")), _epoch((job.job or {}).get("TransformEndTime"))
        if start is not None and end is not None and end >= start:
            values.append(MetricValue("TransformJobDurationSeconds", "Seconds", end - start))
    return values


def add_all(metrics: Any, pipeline: str, values: list[MetricValue]) -> None:
    """Add ``values`` to a Powertools ``Metrics`` with the ``pipeline`` dimension."""
    metrics.add_dimension(name="pipeline", value=pipeline)
    for v in values:
        metrics.add_metric(name=v.name, unit=v.unit, value=v.value)
