"""Planning a run: which slots have work, claiming them in the ledger, and the plan for the rest of the run.

``prepare_run`` is what the ``prepare_run`` function does, with its AWS calls behind two small
ports (the landing listing and the ledger) so that it is tested against moto and against fakes
alike. The rules it applies live in ``slots``, the ``ledger`` package and ``plan``; the ledger's
housekeeping before the claims (backfill, expired leases, vanished data) in ``housekeeping``.

Calls per run, for a 24-hour lookback of 15-minute slots: one ``ListObjectsV2`` per UTC day the
window and the open slots touch (2 for a 24-hour window; one more page per 1,000 objects that
day), one consistent ``Query`` of the window's records, one ``Query`` of the open-slots index, and
one conditional ``PutItem`` per claimed slot (at most the per-run maximum), plus, for a backfill,
one ``Query`` of its range and one ``PutItem`` per requeued slot, one ``PutItem`` per slot whose
claim expired unrecorded and one per open slot whose data was deleted (closed ``vanished``).

**A claim belongs to its execution.** Step Functions retries PrepareRun on errors that can arrive
after the function ran (``Lambda.ServiceException``, a time-out): the retry finds the slots its
own execution already holds (``running``, ``holder`` = this execution), keeps them without a
second write, claims more only up to the per-run maximum, and returns the same plan, because the
plan depends only on the execution (its input and its start time, not this invocation's clock)
and on what it holds. A claim whose response was lost counts too (``SlotLedger.write`` reads it
back); a claim that lost a race is re-read, and kept if it is this execution's after all. Faults,
for each write: a retry after it finds the slot held by its own execution; a crash right after it
leaves the slot held until the retry (or, if the execution dies, NotifyFailure finds it by holder);
a concurrent run's conditional write on the same version fails, so the slot is held by one only.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Protocol

from transient_analytics import layout, naming
from transient_analytics.errors import ConfigurationError
from transient_analytics.ledger import transitions
from transient_analytics.ledger.records import SlotRecord
from transient_analytics.ledger.selection import Selection, batch_order, select
from transient_analytics.models import PrepareRunEvent, Trigger
from transient_analytics.runs.bounds import lease
from transient_analytics.runs.housekeeping import LedgerWrites, close_vanished, expire_abandoned, requeue
from transient_analytics.runs.plan import RunPlan, build_plan, resolve_scheduled_time
from transient_analytics.settings import PrepareRunSettings
from transient_analytics.slots import (
    GRIDS,
    Fingerprint,
    ObjectRef,
    Pipeline,
    fingerprint,
    parse_range,
    parse_slot_id,
    slot_id,
)
from transient_analytics.training.registry import ProductionModel


class Landing(Protocol):
    def list_prefix(self, bucket: str, prefix: str) -> list[ObjectRef]: ...


class Ledger(LedgerWrites, Protocol):
    def open(self, pipeline: Pipeline) -> dict[str, SlotRecord]: ...
    def get(self, pipeline: Pipeline, slot: str) -> SlotRecord | None: ...


class Production(Protocol):
    """The production pointer (``training.model_registry.ProductionPointer``): the model the transform scores with."""

    def read(self) -> ProductionModel | None: ...


@dataclass(frozen=True)
class RunStats:
    """What planning found, for the logs and the run's metrics."""

    claimed: list[str]
    waiting: list[str]
    held: list[str]
    quarantined: list[str]
    lag: timedelta
    #: Slots another execution claimed between this run's read and its write.
    lost_races: list[str] = field(default_factory=list)
    requeued: list[str] = field(default_factory=list)
    #: Slots this execution already held when it planned (a retried PrepareRun).
    kept: list[str] = field(default_factory=list)
    #: Open slots closed because their landing objects are gone.
    vanished: list[str] = field(default_factory=list)


def waiting_since(slot_end: datetime, observed: Fingerprint, now: datetime) -> datetime:
    """Since when a slot's data has waited: its end, or later if its newest object landed after it (late data).

    A landing time after ``now`` (another clock's) is not believed: the slot's end counts then.
    """
    newest = observed.newest
    return newest if newest is not None and slot_end < newest <= now else slot_end


def lookback(pipeline: Pipeline, settings: PrepareRunSettings) -> timedelta:
    if pipeline == "emr":
        return timedelta(hours=settings.EMR_LOOKBACK_HOURS)
    return timedelta(days=settings.TRANSFORM_LOOKBACK_DAYS)


def max_slots(pipeline: Pipeline, settings: PrepareRunSettings) -> int:
    return settings.EMR_MAX_SLOTS_PER_RUN if pipeline == "emr" else settings.TRANSFORM_MAX_SLOTS_PER_RUN


def observe(pipeline: Pipeline, bucket: str, starts: set[datetime], landing: Landing) -> dict[datetime, Fingerprint]:
    """The fingerprint of each of ``starts`` that holds landing data: one listing per UTC day."""
    days = sorted({layout.input_day_prefix(pipeline, s) for s in starts})
    by_slot: dict[datetime, list[ObjectRef]] = {}
    for prefix in days:
        for obj in landing.list_prefix(bucket, prefix):
            start = layout.slot_of_key(pipeline, obj.key)
            if start is not None and start in starts:
                by_slot.setdefault(start, []).append(obj)
    return {s: fingerprint(objs) for s, objs in by_slot.items()}


def backfill_range(request: PrepareRunEvent, settings: PrepareRunSettings, scheduled: datetime) -> list[datetime]:
    """The starts of the slots a backfill request names (validated), or none."""
    backfill = request.input.backfill
    if backfill is None:
        return []
    grid = GRIDS[request.pipeline]
    rng = parse_range(
        backfill.from_, backfill.to, grid, settings.MAX_BACKFILL_SLOTS, field="input.backfill", now=scheduled
    )
    return rng.slots(grid)


def _held_fingerprint(record: SlotRecord) -> Fingerprint:
    """What a slot held when this execution claimed it (the plan names that, not what lies there now)."""
    return Fingerprint(digest=record.fingerprint or "", objects=record.objects, bytes=record.bytes)


def prepare_run(
    request: PrepareRunEvent,
    settings: PrepareRunSettings,
    now: datetime,
    landing: Landing,
    store: Ledger,
    production: Production | None = None,
) -> tuple[RunPlan, RunStats]:
    """Find the due slots, claim the oldest up to the per-run maximum, and plan the run for them.

    A retry of the same execution keeps what it already holds (see the module docstring). A transform
    run reads the production model first: without one (no model promoted yet) it claims nothing, and
    its due slots wait in the ledger, unclaimed and unfailed, with the reason in the plan.
    """
    pipeline = request.pipeline
    me = request.execution.id
    model = _production_model(pipeline, production)
    grid = GRIDS[pipeline]
    started = request.execution.start_time or now
    scheduled, source = resolve_scheduled_time(request.input.scheduled_time, started, settings.MAX_BACKFILL_DAYS)
    trigger: Trigger = request.input.trigger or (
        "backfill" if request.input.backfill or source == "given" else "manual"
    )
    backfill_starts = backfill_range(request, settings, scheduled)
    window = grid.closed_in_window(scheduled, lookback(pipeline, settings))
    open_records = store.open(pipeline)
    closed_end = grid.start_of(scheduled)
    candidates = {*window, *backfill_starts}
    candidates |= {parse_slot_id(sid) for sid, r in open_records.items() if r.state != "quarantined"}
    candidates = {s for s in candidates if grid.end_of(s) <= closed_end}
    observed = observe(pipeline, settings.DATA_BUCKET, candidates, landing)
    retention = timedelta(days=settings.DONE_RETENTION_DAYS)
    records, requeued = requeue(pipeline, backfill_starts, set(observed), now, store, retention)
    if window:
        records.update(store.window(pipeline, slot_id(window[0]), slot_id(window[-1])))
    for sid, rec in open_records.items():
        records.setdefault(sid, rec)
    records.update(expire_abandoned(records, now, settings.MAX_SLOT_ATTEMPTS, store, me))
    by_id = {slot_id(s): fp for s, fp in observed.items()}
    vanished = close_vanished(records, set(by_id), {slot_id(s) for s in candidates}, now, retention, store)
    records.update(vanished)
    kept = {sid: r for sid, r in records.items() if r.state == "running" and r.holder == me}
    slot_ends = {slot_id(s): waiting_since(grid.end_of(s), fp, now) for s, fp in observed.items()}
    selection = select(
        {sid: fp for sid, fp in by_id.items() if sid not in kept},
        {sid: r for sid, r in records.items() if sid not in kept},
        slot_ends=slot_ends,
        now=now,
        max_slots=max(0, max_slots(pipeline, settings) - len(kept)),
    )
    kept_lag = [now - slot_ends[sid] for sid in kept if sid in slot_ends]
    lag = max([selection.lag, *kept_lag])
    held = dict(kept)
    lost: list[str] = []
    run_id = naming.run_id(scheduled, me)
    if pipeline == "transform" and model is None and (selection.claim or kept):
        waiting = sorted([*kept, *selection.claim, *selection.waiting])  # kept: only if production vanished
        reason = (
            f"no model to score with yet: {len(waiting)} slot(s) with data wait unclaimed until model training "
            "promotes the first model (start the training state machine)"
        )
        plan = build_plan(request, settings, scheduled, trigger, [], reason)
        stats = RunStats(
            [], waiting, selection.held, selection.quarantined, lag, requeued=requeued, vanished=sorted(vanished)
        )
        return plan, stats
    for sid in selection.claim:
        current = records.get(sid)
        new = transitions.claim(
            current,
            pipeline=pipeline,
            slot=sid,
            observed=by_id[sid],
            holder=me,
            run_id=run_id,
            now=now,
            lease=lease(pipeline, settings),
        )
        if store.write(new, current.version if current else None):
            held[sid] = new
        elif (fresh := store.get(pipeline, sid)) is not None and fresh.state == "running" and fresh.holder == me:
            held[sid] = fresh  # this execution's claim after all (an earlier attempt of this PrepareRun)
        else:
            lost.append(sid)
    claimed = [(parse_slot_id(r.slot), _held_fingerprint(r)) for r in batch_order(list(held.values()))]
    reason = _reason(claimed, selection, lost, len(observed))
    plan = build_plan(request, settings, scheduled, trigger, claimed, reason, model.model_name if model else None)
    stats = RunStats(
        claimed=[slot_id(s) for s, _ in claimed],
        waiting=selection.waiting,
        held=selection.held,
        quarantined=selection.quarantined,
        lag=lag,
        lost_races=lost,
        requeued=requeued,
        kept=sorted(kept),
        vanished=sorted(vanished),
    )
    return plan, stats


def _production_model(pipeline: Pipeline, production: Production | None) -> ProductionModel | None:
    if pipeline != "transform":
        return None
    if production is None:
        raise ConfigurationError("environment.PRODUCTION_TABLE: the transform pipeline reads its model from it")
    return production.read()


def _reason(claimed: list[tuple[datetime, Fingerprint]], selection: Selection, lost: list[str], seen: int) -> str:
    if claimed:
        left = f"; {len(selection.waiting)} more left to the next run" if selection.waiting else ""
        return f"{len(claimed)} slot(s) claimed{left}"
    if selection.held or lost:
        return f"every slot with work is held by another execution ({', '.join([*selection.held, *lost])})"
    if seen:
        return f"no new data: {seen} slot(s) with data, all converted with these contents"
    return "no new data: no landing objects in the lookback window"
