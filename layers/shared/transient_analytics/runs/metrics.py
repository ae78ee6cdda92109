"""The metrics each run emits (Powertools Metrics, CloudWatch embedded metric format). Pure lists of values.

Namespace ``POWERTOOLS_METRICS_NAMESPACE`` and the dimensions ``service`` (the stack) and
``pipeline`` are set by the handlers; the names are the dashboard's and the alarms'.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from transient_analytics import metrics_catalog as mc
from transient_analytics.models import RecordSlotsEvent
from transient_analytics.runs.costing import RunCost
from transient_analytics.runs.plan import RunPlan
from transient_analytics.runs.planning import RunStats
from transient_analytics.runs.recording import RecordResult


@dataclass(frozen=True)
class MetricValue:
    metric: mc.CustomMetric
    value: float

    @property
    def name(self) -> str:
        return self.metric.name

    @property
    def unit(self) -> str:
        return self.metric.unit


def planning_metrics(plan: RunPlan, stats: RunStats) -> list[MetricValue]:
    """prepare_run's metrics: what was claimed and left, the lag, the quarantine, and whether a cluster is paid for."""
    values = [
        MetricValue(mc.SLOTS_CLAIMED, len(stats.claimed)),
        MetricValue(mc.SLOTS_WAITING, len(stats.waiting) + len(stats.held) + len(stats.lost_races)),
        MetricValue(mc.OLDEST_PENDING_SLOT_AGE_SECONDS, stats.lag.total_seconds()),
        MetricValue(mc.QUARANTINED_SLOTS, len(stats.quarantined)),
        MetricValue(mc.RUNS_WITHOUT_WORK, 0 if plan.work else 1),
    ]
    if plan.pipeline == "emr":
        values.append(MetricValue(mc.CLUSTERS_CREATED, 1 if plan.work else 0))
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


def recording_metrics(event: RecordSlotsEvent, result: RecordResult, cost: RunCost | None = None) -> list[MetricValue]:
    """record_slots's metrics: slots converted, failed and quarantined, rows, and each transform job's duration.

    Only what this invocation recorded counts (``result.fresh``): a retried RecordSlots does not count twice.
    """
    fresh = [r for sid, r in result.records.items() if sid in result.fresh]
    done = [r for r in fresh if r.state == "done"]
    values = [
        MetricValue(mc.SLOTS_CONVERTED, len(done)),
        MetricValue(mc.SLOTS_FAILED, sum(1 for r in fresh if r.state in ("failed", "quarantined"))),
        MetricValue(mc.SLOTS_QUARANTINED, sum(1 for r in fresh if r.state == "quarantined")),
        MetricValue(mc.ROWS_WRITTEN, sum(r.rows_written or 0 for r in done)),
        MetricValue(mc.BAD_ROWS, sum(r.bad_rows or 0 for r in done)),
    ]
    if event.pipeline == "emr":
        hidden = sum(sum((r.unlisted_values or {}).values()) for r in done)
        values.append(MetricValue(mc.UNLISTED_PARTITION_ROWS, hidden))
    if cost is not None and result.fresh:  # a retried recording does not count the run's cost twice
        values.append(MetricValue(mc.RUN_COST_USD, float(cost.total)))
        values += [MetricValue(mc.SLOT_COST_USD, float(share)) for share in cost.per_slot.values()]
    for job in event.jobs:
        start, end = _epoch((job.job or {}).get("TransformStartTime")), _epoch((job.job or {}).get("TransformEndTime"))
        if start is not None and end is not None and end >= start:
            values.append(MetricValue(mc.TRANSFORM_JOB_DURATION_SECONDS, end - start))
    return values


def add_all(metrics: Any, pipeline: str, values: list[MetricValue]) -> None:
    """Add ``values`` to a Powertools ``Metrics`` with the ``pipeline`` dimension."""
    metrics.add_dimension(name=mc.PIPELINE_DIMENSION, value=pipeline)
    for v in values:
        metrics.add_metric(name=v.name, unit=v.unit, value=v.value)
