"""A simulated day of scheduled EMR ticks: today's one-slot-per-tick runs beside the slot ledger's batches.

    python -m bench.bench_slot_day [--ticks 96] [--rate 167000] [--overhead 60] [--empty-share 0.3] [--seed 7]

A discrete-event simulation (no sleeping, no AWS, no Spark): each tick at a 15-minute boundary
starts a run; a run that plans a cluster holds it for cluster start + Spark step + terminate,
with the step's time computed from the rows it converts and a locally measured rate. The
assumptions are printed first; the figures are printed side by side, never asserted.

- **v1** (the behaviour before the ledger, modelled by its rules): a tick converts the one slot
  that just closed; a tick whose predecessor still runs ends in ``SkippedOverlappingRun`` and its
  slot is lost; a failed slot stays unconverted until a person acts; an empty slot still gets a
  cluster and a Spark step; a file landing after its slot was converted is never converted.
- **ledger**: the layer's real code drives every run: ``planning.prepare_run`` (slot grid,
  landing fingerprints, ``ledger.select`` and ``ledger.claim``, the run plan) before the cluster,
  ``recording.record`` (``ledger.complete`` / ``ledger.fail``, quarantine) after it, with the
  Spark job's per-slot report (a poison slot fails, the others of its batch convert), against an
  in-memory landing listing and an in-memory ledger whose writes are conditional on the record's
  version, as the DynamoDB store's are. Only the durations and the job's outcome are simulated.
"""

from __future__ import annotations

import argparse
import heapq
import math
import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from transient_analytics import layout, planning, recording
from transient_analytics.ledger import SlotRecord
from transient_analytics.models import (
    ExecutionContext,
    PrepareRunEvent,
    RecordedPlan,
    RecordSlotsEvent,
    RunRequest,
    TaskError,
)
from transient_analytics.plan import RunPlan
from transient_analytics.settings import PrepareRunSettings, RecordSlotsSettings
from transient_analytics.slots import GRIDS, ObjectRef, Pipeline, fingerprint, parse_slot_id, slot_id

PIPELINE: Pipeline = "emr"
GRID = GRIDS[PIPELINE]
DAY = datetime(2026, 11, 25, tzinfo=UTC)
ACCOUNT = "123456789012"
STATE_MACHINE = f"arn:aws:states:us-east-1:{ACCOUNT}:stateMachine:bench-emr-pipeline"
#: README "Benchmarks": the Spark job converts 5M rows CSV → partitioned Parquet in 30 s warm on
#: this 2-core machine (local[2]): 167k rows/s. An EMR cluster of 2 m7g.xlarge core nodes is
#: faster; the local figure is the conservative one we measured.
MEASURED_ROWS_PER_SECOND = 5_000_000 / 30
BYTES_PER_ROW = 60
POISON_ERROR = "csv_to_parquet: error: header mismatch: expected 7 columns, got 3"
#: Drain: after the day, ticks go on (no new data) until the ledger has nothing left to do.
MAX_DRAIN_TICKS = 24


@dataclass(frozen=True)
class Assumptions:
    ticks: int = 96
    cluster_start: timedelta = timedelta(minutes=10)
    terminate: timedelta = timedelta(minutes=1)
    step_overhead: timedelta = timedelta(seconds=60)
    rows_per_second: float = MEASURED_ROWS_PER_SECOND
    rows_median: int = 2_000_000
    empty_share: float = 0.30
    #: An evening peak: this many slots from 3/4 of the day carry ``peak_factor`` times the rows.
    peak_slots: int = 4
    peak_factor: float = 20.0
    #: The late file lands this many ticks after its slot closed (4 h for a full day).
    late_after_ticks: int = 16
    seed: int = 7

    @property
    def late_delay(self) -> int:
        return min(self.late_after_ticks, max(2, self.ticks // 6))

    def lines(self, prep: PrepareRunSettings, rec: RecordSlotsSettings) -> list[str]:
        median_step = self.step_overhead.total_seconds() + self.rows_median / self.rows_per_second
        return [
            f"- {self.ticks} ticks every 15 minutes from {slot_id(DAY + GRID.length)}; runs convert closed slots only",
            f"- cluster start {_minutes(self.cluster_start)} min, terminate {_minutes(self.terminate)} min; "
            "cluster-minutes count from CreateCluster to terminated",
            f"- Spark step = {self.step_overhead.total_seconds():.0f} s fixed overhead + rows / "
            f"{self.rows_per_second:,.0f} rows/s (local Spark, README: 5M rows in 30 s warm); one step per cluster "
            f"converts every slot of its batch (median slot: {self.rows_median:,} rows, "
            f"{median_step:.0f} s)",
            f"- rows per slot: log-normal around {self.rows_median:,} (sigma 0.5), 1-3 files; "
            f"{self.empty_share:.0%} of slots empty; evening peak: {self.peak_slots} slots at "
            f"{self.peak_factor:g}x the rows",
            "- one poison slot (its data fails every attempt); one late file, "
            f"{self.late_delay * 15} min after its slot closed, adding 10% rows",
            f"- ledger: at most {prep.EMR_MAX_SLOTS_PER_RUN} slots per run, lookback {prep.EMR_LOOKBACK_HOURS} h, "
            f"quarantine after {rec.MAX_SLOT_ATTEMPTS} failed attempts (the settings' defaults)",
            f"- after the day, ticks go on without new data (at most {MAX_DRAIN_TICKS}) until the ledger is idle; "
            "v1 is counted over the day's ticks only",
            f"- seed {self.seed}: the same figures on every run",
        ]


def _minutes(d: timedelta) -> float:
    return d.total_seconds() / 60


# --------------------------------------------------------------------------- the day's landing data


@dataclass(frozen=True)
class LandingObject:
    ref: ObjectRef
    rows: int
    visible_at: datetime


@dataclass
class Day:
    """The landing objects of the day's slots, when each becomes visible, and which slots are special."""

    slots: list[datetime]
    objects: list[LandingObject]
    poison: datetime
    late: datetime
    late_at: datetime

    def visible(self, now: datetime) -> list[LandingObject]:
        return [o for o in self.objects if o.visible_at <= now]

    def of_slot(self, start: datetime, now: datetime) -> list[LandingObject]:
        prefix = layout.emr_input_prefix(start)
        return [o for o in self.visible(now) if o.ref.key.startswith(prefix)]

    def with_data(self) -> list[datetime]:
        return sorted({s for s in self.slots if self.of_slot(s, datetime.max.replace(tzinfo=UTC))})


def make_day(a: Assumptions) -> Day:
    rnd = random.Random(a.seed)
    slots = [DAY + i * GRID.length for i in range(a.ticks)]
    peak_first = (a.ticks * 3) // 4
    peak = set(slots[peak_first : peak_first + a.peak_slots])
    poison, late = slots[a.ticks // 4], slots[a.ticks // 3]
    keep = {poison, late, *peak}
    candidates = [s for s in slots if s not in keep]
    empty = set(rnd.sample(candidates, round(a.empty_share * len(slots))))
    objects = []
    for s in slots:
        if s in empty:
            continue
        rows = int(rnd.lognormvariate(math.log(a.rows_median), 0.5) * (a.peak_factor if s in peak else 1))
        files = rnd.randint(1, 3)
        for i in range(files):
            objects.append(_object(rnd, s, f"part-{i:03d}.csv", rows // files, GRID.end_of(s) - timedelta(minutes=1)))
    late_at = GRID.end_of(late) + a.late_delay * GRID.length
    late_rows = sum(o.rows for o in objects if o.ref.key.startswith(layout.emr_input_prefix(late))) // 10
    objects.append(_object(rnd, late, "late-000.csv", late_rows, late_at))
    return Day(slots=slots, objects=objects, poison=poison, late=late, late_at=late_at)


def _object(rnd: random.Random, slot: datetime, name: str, rows: int, visible_at: datetime) -> LandingObject:
    key = layout.emr_input_prefix(slot) + name
    return LandingObject(
        ObjectRef(key=key, etag=f"{rnd.getrandbits(128):032x}", size=rows * BYTES_PER_ROW, last_modified=visible_at),
        rows,
        visible_at,
    )


# --------------------------------------------------------------------------- results


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
                    out.max_lag_minutes = max(out.max_lag_minutes, _minutes(min(times) - visible))
        events = sorted([(s, 1) for s, _ in self.intervals] + [(e, -1) for _, e in self.intervals])
        running = 0
        for _, step in events:
            running += step
            out.most_clusters_at_once = max(out.most_clusters_at_once, running)
        return out


def cluster_time(a: Assumptions, rows: int) -> timedelta:
    step = a.step_overhead + timedelta(seconds=rows / a.rows_per_second)
    return a.cluster_start + step + a.terminate


def ticks(a: Assumptions) -> Iterator[datetime]:
    for k in range(1, a.ticks + 1):
        yield DAY + k * GRID.length


# --------------------------------------------------------------------------- v1: one slot per tick


def simulate_v1(a: Assumptions, day: Day) -> Outcome:
    out, track = Outcome(), Tracker(day)
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
        out.clusters += 1
        out.cluster_minutes += _minutes(duration)
        track.intervals.append((t, busy_until))
        if not objects:
            out.empty_clusters += 1
        elif start == day.poison:
            out.notes.append(f"{slot_id(start)} lost: its step failed; nothing retries it")
        else:
            track.convert(slot_id(start), busy_until, fingerprint(o.ref for o in objects).digest)
    out.notes.append(f"{slot_id(day.late)}: the file landing at {day.late_at:%H:%MZ} is never converted")
    return track.finish(out)


# --------------------------------------------------------------------------- ledger: the layer's code


class MemoryLanding:
    """planning.Landing over the day's objects visible at the simulation's clock."""

    def __init__(self, day: Day) -> None:
        self.day, self.now = day, DAY

    def list_prefix(self, bucket: str, prefix: str) -> list[ObjectRef]:
        return [o.ref for o in self.day.visible(self.now) if o.ref.key.startswith(prefix)]


class MemoryLedger:
    """planning.Ledger and recording.Ledger in memory: reads, and writes conditional on the version."""

    def __init__(self) -> None:
        self.records: dict[tuple[str, str], SlotRecord] = {}

    def window(self, pipeline: Pipeline, first_slot: str, last_slot: str) -> dict[str, SlotRecord]:
        return {s: r for (p, s), r in self.records.items() if p == pipeline and first_slot <= s <= last_slot}

    def open(self, pipeline: Pipeline) -> dict[str, SlotRecord]:
        return {s: r for (p, s), r in self.records.items() if p == pipeline and r.is_open}

    def get_many(self, pipeline: Pipeline, slots: list[str]) -> dict[str, SlotRecord]:
        return {s: r for s in slots if (r := self.records.get((pipeline, s))) is not None}

    def write(self, new: SlotRecord, expected_version: int | None) -> bool:
        current = self.records.get((new.pipeline, new.slot))
        if (current.version if current else None) != expected_version:
            return False
        self.records[(new.pipeline, new.slot)] = new
        return True


class Reports:
    """recording.Reports: the run report the simulated Spark job wrote."""

    def __init__(self) -> None:
        self.by_uri: dict[str, Any] = {}

    def read_json(self, uri: str) -> Any | None:
        return self.by_uri.get(uri)


def settings() -> tuple[PrepareRunSettings, RecordSlotsSettings]:
    common = {"DATA_BUCKET": "bench-data", "NAME_PREFIX": "bench", "LEDGER_TABLE": "bench-ledger"}
    prep = PrepareRunSettings.model_validate({**common, "TRANSFORM_JOB_BASE_NAME": "ta-abalone"})
    rec = RecordSlotsSettings.model_validate({**common, "TOPIC_ARN": f"arn:aws:sns:us-east-1:{ACCOUNT}:bench"})
    return prep, rec


@dataclass(order=True)
class Event:
    at: datetime
    order: int  # a run's RecordSlots before a tick at the same instant
    seq: int
    kind: str = field(compare=False)
    payload: Any = field(compare=False, default=None)


def simulate_ledger(a: Assumptions, day: Day) -> Outcome:
    prep, rec = settings()
    out, track = Outcome(max_lag_metric_minutes=0.0, drain_ticks=0), Tracker(day)
    landing, store, reports = MemoryLanding(day), MemoryLedger(), Reports()
    queue: list[Event] = []
    seq = 0

    def push(at: datetime, order: int, kind: str, payload: Any = None) -> None:
        nonlocal seq
        seq += 1
        heapq.heappush(queue, Event(at, order, seq, kind, payload))

    for t in ticks(a):
        push(t, 1, "tick")
    in_flight, last_day_tick = 0, DAY + a.ticks * GRID.length
    while queue:
        ev = heapq.heappop(queue)
        landing.now = ev.at
        if ev.kind == "record":
            in_flight -= 1
            _record(ev.payload, ev.at, store, reports, rec, track, out)
            continue
        plan, lag = _tick(ev.at, ev.seq, prep, landing, store)
        out.max_lag_metric_minutes = max(out.max_lag_metric_minutes or 0.0, _minutes(lag))
        if ev.at > last_day_tick:
            out.drain_ticks = (out.drain_ticks or 0) + 1
        if plan.work:
            rows = sum(o.rows for s in plan.slots for o in day.of_slot(parse_slot_id(s.slot), ev.at))
            objects = sum(s.objects for s in plan.slots)
            duration = cluster_time(a, rows)
            out.clusters += 1
            out.empty_clusters += 1 if objects == 0 else 0
            out.cluster_minutes += _minutes(duration)
            track.intervals.append((ev.at, ev.at + duration))
            in_flight += 1
            push(ev.at + duration, 0, "record", (plan, ev.seq))
        idle = not plan.work and in_flight == 0 and not store.open(PIPELINE).keys() - _quarantined(store)
        if ev.at >= last_day_tick and not idle and out.drain_ticks < MAX_DRAIN_TICKS:
            push(ev.at + GRID.length, 1, "tick")
    states = {s: r.state for (_, s), r in store.records.items()}
    for sid, state in sorted(states.items()):
        if state == "quarantined":
            r = store.records[(PIPELINE, sid)]
            out.notes.append(f"{sid} quarantined after {r.attempts} attempts: {r.error}")
    for sid, conversions in sorted(track.converted.items()):
        if len(conversions) > 1:
            again = ", ".join(f"{t:%H:%MZ}" for t, _ in conversions[1:])
            out.notes.append(f"{sid} converted again at {again} (its contents changed: late file), partition replaced")
    return track.finish(out, states)


def _quarantined(store: MemoryLedger) -> set[str]:
    return {s for (_, s), r in store.records.items() if r.state == "quarantined"}


def _execution(seq: int) -> ExecutionContext:
    name = f"tick-{seq:04d}"
    return ExecutionContext(
        id=f"arn:aws:states:us-east-1:{ACCOUNT}:execution:bench-emr-pipeline:{name}",
        name=name,
        state_machine_arn=STATE_MACHINE,
    )


def _tick(
    at: datetime, seq: int, prep: PrepareRunSettings, landing: MemoryLanding, store: MemoryLedger
) -> tuple[RunPlan, timedelta]:
    event = PrepareRunEvent(
        pipeline=PIPELINE, input=RunRequest(scheduled_time=at, trigger="schedule"), execution=_execution(seq)
    )
    plan, stats = planning.prepare_run(event, prep, at, landing, store)
    return plan, stats.lag


def _record(
    payload: tuple[RunPlan, int],
    at: datetime,
    store: MemoryLedger,
    reports: Reports,
    rec: RecordSlotsSettings,
    track: Tracker,
    out: Outcome,
) -> None:
    plan, seq = payload
    lines = []
    for s in plan.slots:
        if s.slot == slot_id(track.day.poison):
            lines.append({"slot": s.slot, "status": "failed", "error": POISON_ERROR})
        else:
            rows = s.bytes // BYTES_PER_ROW
            lines.append(
                {
                    "slot": s.slot,
                    "status": "converted",
                    "manifest_uri": s.manifest_uri,
                    "rows_read": rows,
                    "rows_written": rows,
                    "bad_rows": 0,
                }
            )
    assert plan.report_uri is not None
    reports.by_uri[plan.report_uri] = {"format": 1, "run_id": plan.run_id, "slots": lines}
    failed = [line for line in lines if line["status"] == "failed"]
    event = RecordSlotsEvent(
        pipeline=PIPELINE,
        outcome="step_failed" if failed else "step_succeeded",
        execution=_execution(seq),
        plan=RecordedPlan(run_id=plan.run_id, slots=plan.slots, report_uri=plan.report_uri),
        error=TaskError(Error="States.TaskFailed", Cause=POISON_ERROR) if failed else None,
    )
    result = recording.record(event, rec, at, store, reports)
    by_slot = {s.slot: s for s in plan.slots}
    for sid in result.converted:
        track.convert(sid, at, by_slot[sid].fingerprint)


# --------------------------------------------------------------------------- report


def table(v1: Outcome, new: Outcome) -> list[str]:
    def lag(o: Outcome) -> str:
        return f"{o.max_lag_minutes:.0f}" + (" (lost slots: never)" if o.lost else "")

    rows = [
        ("clusters created", str(v1.clusters), str(new.clusters)),
        ("clusters for ticks without data", str(v1.empty_clusters), str(new.empty_clusters)),
        ("cluster-minutes", f"{v1.cluster_minutes:.0f}", f"{new.cluster_minutes:.0f}"),
        (
            "cluster-minutes per slot with data",
            f"{v1.cluster_minutes_per_slot:.1f}",
            f"{new.cluster_minutes_per_slot:.1f}",
        ),
        ("slots with data", str(v1.slots_with_data), str(new.slots_with_data)),
        ("slots converted (final contents)", str(v1.converted), str(new.converted)),
        ("slots lost", str(v1.lost), str(new.lost)),
        ("slots quarantined (reported, released by backfill)", "-", str(new.quarantined)),
        ("slots still waiting at the end", "-", str(new.waiting)),
        ("maximum lag, data landed to converted (minutes)", lag(v1), lag(new)),
        ("max OldestPendingSlotAgeSeconds metric (minutes)", "-", f"{new.max_lag_metric_minutes or 0:.0f}"),
        ("most clusters at once", str(v1.most_clusters_at_once), str(new.most_clusters_at_once)),
        ("ticks after the day to finish", "-", str(new.drain_ticks)),
    ]
    width = max(len(r[0]) for r in rows)
    head = f"{'':<{width}}  {'v1 (one slot per tick)':>24}  {'ledger (batches)':>24}"
    return [head] + [f"{name:<{width}}  {a:>24}  {b:>24}" for name, a, b in rows]


def simulate(a: Assumptions) -> tuple[Outcome, Outcome]:
    day = make_day(a)
    return simulate_v1(a, day), simulate_ledger(a, day)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--ticks", type=int, default=96, help="scheduled ticks in the day (96 = 24 h)")
    parser.add_argument("--rate", type=float, default=MEASURED_ROWS_PER_SECOND, help="Spark rows per second")
    parser.add_argument("--overhead", type=float, default=60.0, help="fixed seconds per Spark step")
    parser.add_argument("--rows", type=int, default=2_000_000, help="median rows per slot with data")
    parser.add_argument("--empty-share", type=float, default=0.30, help="share of slots without data")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args(argv)
    if args.ticks < 12 or not 0 <= args.empty_share < 0.9 or args.rate <= 0 or args.rows < 1:
        parser.error("--ticks must be >= 12, --empty-share in [0, 0.9), --rate > 0, --rows >= 1")
    a = Assumptions(
        ticks=args.ticks,
        rows_per_second=args.rate,
        step_overhead=timedelta(seconds=args.overhead),
        rows_median=args.rows,
        empty_share=args.empty_share,
        seed=args.seed,
    )
    print("## A simulated day of EMR ticks: v1 beside the slot ledger\n")
    print("Assumptions:")
    print("\n".join(a.lines(*settings())))
    v1, new = simulate(a)
    print()
    print("\n".join(table(v1, new)))
    print("\nv1:")
    print("\n".join(f"- {n}" for n in v1.notes))
    print("ledger:")
    print("\n".join(f"- {n}" for n in new.notes) or "- nothing to note")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
