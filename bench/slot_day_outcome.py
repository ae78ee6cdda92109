"""How a behaviour's day is scored: clusters, cluster-minutes, slots converted, lost or waiting, lag.

A slot counts as converted only when its final contents (late file included) were converted.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

from bench.slot_day_model import GRID, Day, minutes
from transient_analytics.slots import fingerprint, slot_id


@dataclass
class Outcome:
    """One behaviour's figures over the day."""

    clusters: int = 0
    empty_clusters: int = 0
    cluster_minutes: float = 0.0
    slots_with_data: int = 0
    converted: int = 0
    lost: int = 0
    quarantined: int = 0
    waiting: int = 0
    max_lag_minutes: float = 0.0
    most_clusters_at_once: int = 0
    max_lag_metric_minutes: float | None = None
    drain_ticks: int | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def cluster_minutes_per_slot(self) -> float:
        return self.cluster_minutes / self.slots_with_data if self.slots_with_data else 0.0


@dataclass
class Tracker:
    """When each version of a slot's contents became visible and when (if ever) it was converted."""

    day: Day
    converted: dict[str, list[tuple[datetime, str]]] = field(default_factory=dict)
    intervals: list[tuple[datetime, datetime]] = field(default_factory=list)

    def convert(self, slot: str, at: datetime, digest: str) -> None:
        self.converted.setdefault(slot, []).append((at, digest))

    def finish(self, out: Outcome, final_states: dict[str, str] | None = None) -> Outcome:
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
                    out.max_lag_minutes = max(out.max_lag_minutes, minutes(min(times) - visible))
        events = sorted([(s, 1) for s, _ in self.intervals] + [(e, -1) for _, e in self.intervals])
        running = 0
        for _, step in events:
            running += step
            out.most_clusters_at_once = max(out.most_clusters_at_once, running)
        return out
