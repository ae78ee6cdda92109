"""How a behaviour's day is scored: runs, billed compute, cost, slots converted, lost or waiting, lag.

A slot counts as converted only when its final contents (late file included) were converted. Lag is
measured per version of a slot's contents (its last file landed, at the earliest the slot's end, to
the RecordSlots that recorded it converted); the 95th percentile is the nearest rank over every
version converted (a lost slot has no lag: it is counted as lost instead).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal

from bench.slot_day_model import GRID, Day, minutes
from transient_analytics.slots import fingerprint, slot_id


def nearest_rank(values: list[float], percent: float) -> float:
    """The ``percent``-th percentile by nearest rank (the smallest value at least ``percent`` % of all reach)."""
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[max(0, math.ceil(percent / 100 * len(ordered)) - 1)]


@dataclass
class Outcome:
    """One behaviour's figures over the day."""

    backend: str = "cluster"
    runs: int = 0
    empty_runs: int = 0
    #: Serverless: job runs submitted to a stopped application (it auto-starts first).
    cold_starts: int = 0
    cluster_minutes: float = 0.0
    #: Billed: a job run's ``billedResourceUtilization``; a cluster's instances' vCPUs and memory for their minutes.
    vcpu_minutes: float = 0.0
    gb_minutes: float = 0.0
    cost_usd: Decimal = Decimal(0)
    #: Each slot's share of the runs' costs (``runs.cost.slot_costs``), summed over the runs that carried it.
    slot_cost_usd: dict[str, Decimal] = field(default_factory=dict)
    slots_with_data: int = 0
    converted: int = 0
    lost: int = 0
    quarantined: int = 0
    waiting: int = 0
    max_lag_minutes: float = 0.0
    lags: list[float] = field(default_factory=list)
    most_at_once: int = 0
    max_lag_metric_minutes: float | None = None
    drain_ticks: int | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def cluster_minutes_per_slot(self) -> float:
        return self.cluster_minutes / self.slots_with_data if self.slots_with_data else 0.0

    @property
    def cost_per_slot(self) -> Decimal:
        """The day's cost over its slots with data (lost and quarantined slots included: they were paid for)."""
        return self.cost_usd / self.slots_with_data if self.slots_with_data else Decimal(0)

    @property
    def p95_lag_minutes(self) -> float:
        return nearest_rank(self.lags, 95)


@dataclass
class Tracker:
    """When each version of a slot's contents became visible and when (if ever) it was converted."""

    day: Day
    converted: dict[str, list[tuple[datetime, str]]] = field(default_factory=dict)
    intervals: list[tuple[datetime, datetime]] = field(default_factory=list)

    def convert(self, slot: str, at: datetime, digest: str) -> None:
        self.converted.setdefault(slot, []).append((at, digest))

    def finish(self, out: Outcome, final_states: Mapping[str, str] | None = None) -> Outcome:
        end_of_time = datetime.max.replace(tzinfo=UTC)
        for start in self.day.with_data():
            sid = slot_id(start)
            objects = self.day.of_slot(start, end_of_time)
            final = fingerprint(o.ref for o in objects).digest
            # each version of the contents: visible when its last file landed (at the earliest, the slot's end)
            versions = {
                fingerprint(o.ref for o in objects if o.visible_at <= v).digest: max(v, GRID.end_of(start))
                for v in sorted({o.visible_at for o in objects})
            }
            out.slots_with_data += 1
            done = self.converted.get(sid, [])
            if any(d == final for _, d in done):
                out.converted += 1
            elif final_states and final_states.get(sid) == "quarantined":
                out.quarantined += 1
            elif final_states and final_states.get(sid) in {"pending", "failed", "running"}:
                out.waiting += 1
            else:
                out.lost += 1
            for digest, visible in versions.items():
                times = [t for t, d in done if d == digest]
                if times:
                    out.lags.append(minutes(min(times) - visible))
        out.max_lag_minutes = max(out.lags, default=0.0)
        events = sorted([(s, 1) for s, _ in self.intervals] + [(e, -1) for _, e in self.intervals])
        running = 0
        for _, step in events:
            running += step
            out.most_at_once = max(out.most_at_once, running)
        return out
