"""What one EMR pipeline run cost, and each of its slots: ``cost``'s rules applied to the run.

RecordSlots reads the run's billed usage through a :class:`Meter` (the cluster's description, or
the serverless job run), prices it with the stack's :class:`~transient_analytics.runs.cost.PriceTable`
and splits it among the run's slots by their landing bytes. An estimate: it never fails the
recording (a usage AWS cannot give yet, a price not configured, an API error: the reason is
returned instead, logged, and no cost metric is emitted for the run).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from decimal import Decimal
from typing import Protocol

from botocore.exceptions import BotoCoreError, ClientError

from transient_analytics.models import RecordSlotsEvent
from transient_analytics.runs.completion import ConvertedSlot
from transient_analytics.runs.cost import (
    Architecture,
    ClusterUsage,
    CostInputError,
    MissingPrice,
    PriceTable,
    ServerlessUsage,
    run_cost,
    slot_costs,
)
from transient_analytics.settings import RecordSlotsSettings


class Meter(Protocol):
    def cluster_usage(self, cluster_id: str) -> ClusterUsage: ...
    def job_run_usage(
        self, application_id: str, job_run_id: str | None, job_name: str, architecture: Architecture
    ) -> ServerlessUsage: ...


@dataclass(frozen=True)
class RunCost:
    backend: str
    total: Decimal
    per_slot: dict[str, Decimal]
    usage: ServerlessUsage | ClusterUsage

    @property
    def per_slot_average(self) -> Decimal:
        return self.total / len(self.per_slot)


def estimate(
    event: RecordSlotsEvent, settings: RecordSlotsSettings, prices: PriceTable, meter: Meter
) -> tuple[RunCost | None, str]:
    """The run's cost and its slots' shares, or None and why not."""
    plan = event.plan
    application_id, architecture = (
        settings.EMR_SERVERLESS_APPLICATION_ID,
        Architecture(settings.SERVERLESS_ARCHITECTURE),
    )
    if event.pipeline != "emr":
        return None, "only the Spark pipeline's compute is priced"
    try:
        usage: ServerlessUsage | ClusterUsage
        if plan.backend == "serverless":
            if plan.serverless is None:
                return None, "the plan names no serverless job"
            usage = meter.job_run_usage(application_id, event.job_run_id, plan.serverless.job_name, architecture)
        elif event.cluster_id:
            usage = meter.cluster_usage(event.cluster_id)
        else:
            return None, "no cluster was started"
        total = run_cost(usage, prices)
        return RunCost(plan.backend, total, slot_costs(total, {s.slot: s.bytes for s in plan.slots}), usage), ""
    except (CostInputError, MissingPrice, ClientError, BotoCoreError, LookupError) as exc:
        return None, f"{type(exc).__name__}: {exc}"


def priced(converted: list[ConvertedSlot], cost: RunCost | None) -> list[ConvertedSlot]:
    """The completion events' slots, each with its share of the run's cost when the run was priced."""
    if cost is None:
        return converted
    return [replace(c, cost_usd=float(cost.per_slot[c.slot])) if c.slot in cost.per_slot else c for c in converted]
