"""v1, the behaviour before the ledger, modelled by its rules: one slot per tick, a cluster per tick.

A tick converts the one slot that just closed; a tick whose predecessor still runs ends in
``SkippedOverlappingRun`` and its slot is lost; a failed slot stays unconverted until a person
acts; an empty slot still gets a cluster and a Spark step; a file landing after its slot was
converted is never converted. Its clusters are the layer's instance groups (``runs.emr_plan.instance_groups``)
priced as RecordSlots prices a cluster (``runs.cost.usage_from_cluster``, ``runs.cost.run_cost``).
"""

from __future__ import annotations

from bench.slot_day_backends import billed_minutes, cluster_responses
from bench.slot_day_model import DAY, GRID, Assumptions, Day, cluster_time, ticks
from bench.slot_day_outcome import Outcome, Tracker
from transient_analytics.runs.cost import PriceTable, run_cost, usage_from_cluster
from transient_analytics.runs.emr_plan import instance_groups
from transient_analytics.settings import PrepareRunSettings
from transient_analytics.slots import fingerprint, slot_id


def simulate_v1(a: Assumptions, day: Day, prep: PrepareRunSettings, prices: PriceTable | None = None) -> Outcome:
    """The day under v1's rules, on the clusters ``prep`` describes."""
    out, track = Outcome(backend="cluster"), Tracker(day)
    busy_until = DAY
    for t in ticks(a):
        start = GRID.start_of(t - GRID.length)
        objects = day.of_slot(start, t)
        if busy_until > t:
            if objects:
                out.notes.append(f"{slot_id(start)} lost: its tick was skipped (previous run still going)")
            continue
        rows = sum(o.rows for o in objects)
        duration = cluster_time(a, rows)
        busy_until = t + duration
        out.runs += 1
        usage = usage_from_cluster(*cluster_responses(f"j-V1{out.runs:010d}", t, busy_until, instance_groups(prep)))
        out.cost_usd += run_cost(usage, prices or PriceTable())
        cluster, vcpu, gb = billed_minutes(usage)
        out.cluster_minutes += cluster
        out.vcpu_minutes += vcpu
        out.gb_minutes += gb
        track.intervals.append((t, busy_until))
        if not objects:
            out.empty_runs += 1
        elif start == day.poison:
            out.notes.append(f"{slot_id(start)} lost: its step failed; nothing retries it")
        else:
            track.convert(slot_id(start), busy_until, fingerprint(o.ref for o in objects).digest)
    out.notes.append(f"{slot_id(day.late)}: the file landing at {day.late_at:%H:%MZ} is never converted")
    return track.finish(out)
