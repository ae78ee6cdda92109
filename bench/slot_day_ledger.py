"""The slot ledger's behaviour, driven by the layer's real code over an in-memory landing and ledger.

``runs.planning.prepare_run`` (slot grid, landing fingerprints, ``ledger.selection.select`` and
``ledger.transitions.claim``, the run plan for the settings' ``SPARK_BACKEND``) before the Spark job,
``runs.recording.record`` (``ledger.transitions.complete`` / ``fail``, quarantine) after it, with the
Spark job's per-slot report (a poison slot fails, the others of its batch convert), then
``runs.costing.estimate`` (RecordSlots' pricing: the backend's billed usage, ``runs.cost.run_cost``
and ``runs.cost.slot_costs``). The in-memory ledger's writes
are conditional on the record's version, as the DynamoDB store's are. Only the durations, the job's
outcome and the usage AWS would report are simulated (:mod:`bench.slot_day_backends`).
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from bench.slot_day_backends import Backend, Run, billed_minutes
from bench.slot_day_model import BYTES_PER_ROW, DAY, GRID, MAX_DRAIN_TICKS, PIPELINE, Assumptions, Day, minutes, ticks
from bench.slot_day_outcome import Outcome, Tracker
from bench.slot_day_serverless import APPLICATION_ID
from transient_analytics.ledger.records import SlotRecord
from transient_analytics.models import (
    ExecutionContext,
    PrepareRunEvent,
    RecordedPlan,
    RecordedServerlessJob,
    RecordSlotsEvent,
    RunRequest,
    TaskError,
)
from transient_analytics.runs import costing, planning, recording
from transient_analytics.runs.cost import PriceTable
from transient_analytics.runs.plan import RunPlan
from transient_analytics.settings import PrepareRunSettings, RecordSlotsSettings, SparkBackend
from transient_analytics.slots import ObjectRef, Pipeline, parse_slot_id, slot_id

ACCOUNT = "123456789012"
STATE_MACHINE = f"arn:aws:states:us-east-1:{ACCOUNT}:stateMachine:bench-emr-pipeline"
POISON_ERROR = "csv_to_parquet: error: header mismatch: expected 7 columns, got 3"


class MemoryLanding:
    """runs.planning.Landing over the day's objects visible at the simulation's clock."""

    def __init__(self, day: Day) -> None:
        self.day, self.now = day, DAY

    def list_prefix(self, bucket: str, prefix: str) -> list[ObjectRef]:
        return [o.ref for o in self.day.visible(self.now) if o.ref.key.startswith(prefix)]


class MemoryLedger:
    """runs.planning.Ledger and runs.recording.Ledger in memory: reads, and writes conditional on the version."""

    def __init__(self) -> None:
        self.records: dict[tuple[str, str], SlotRecord] = {}

    def window(self, pipeline: Pipeline, first_slot: str, last_slot: str) -> dict[str, SlotRecord]:
        return {s: r for (p, s), r in self.records.items() if p == pipeline and first_slot <= s <= last_slot}

    def open(self, pipeline: Pipeline) -> dict[str, SlotRecord]:
        return {s: r for (p, s), r in self.records.items() if p == pipeline and r.is_open}

    def get(self, pipeline: Pipeline, slot: str) -> SlotRecord | None:
        return self.get_many(pipeline, [slot]).get(slot)

    def get_many(self, pipeline: Pipeline, slots: list[str]) -> dict[str, SlotRecord]:
        return {s: r for s in slots if (r := self.records.get((pipeline, s))) is not None}

    def write(self, new: SlotRecord, expected_version: int | None) -> bool:
        current = self.records.get((new.pipeline, new.slot))
        if (current.version if current else None) != expected_version:
            return False
        self.records[(new.pipeline, new.slot)] = new
        return True


class Reports:
    """runs.recording.Reports: the run report the simulated Spark job wrote."""

    def __init__(self) -> None:
        self.by_uri: dict[str, Any] = {}

    def read_json(self, uri: str) -> Any | None:
        return self.by_uri.get(uri)


def settings(backend: SparkBackend = "cluster") -> tuple[PrepareRunSettings, RecordSlotsSettings]:
    """The handlers' settings with their defaults (only the required names and the backend given)."""
    common = {"DATA_BUCKET": "bench-data", "NAME_PREFIX": "bench", "LEDGER_TABLE": "bench-ledger"}
    prep = PrepareRunSettings.model_validate(
        {**common, "TRANSFORM_JOB_BASE_NAME": "ta-abalone", "SPARK_BACKEND": backend}
    )
    application = APPLICATION_ID if backend == "serverless" else ""
    rec = RecordSlotsSettings.model_validate(
        {**common, "TOPIC_ARN": f"arn:aws:sns:us-east-1:{ACCOUNT}:bench", "EMR_SERVERLESS_APPLICATION_ID": application}
    )
    return prep, rec


@dataclass(order=True)
class Event:
    """A tick or a run's end, in the simulation's queue."""

    at: datetime
    order: int  # a run's RecordSlots before a tick at the same instant
    seq: int
    kind: str = field(compare=False)
    payload: Any = field(compare=False, default=None)


def simulate_ledger(a: Assumptions, day: Day, backend: Backend, prices: PriceTable | None = None) -> Outcome:
    """The day with the ledger on ``backend``, then drain ticks until it is idle (at most :data:`MAX_DRAIN_TICKS`)."""
    prep, rec = settings("serverless" if backend.name == "serverless" else "cluster")
    sim = _Recording(backend, prices or PriceTable(), rec)
    out = Outcome(backend=backend.name, max_lag_metric_minutes=0.0, drain_ticks=0)
    track = Tracker(day)
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
            sim.record(ev.payload, ev.at, store, reports, track, out)
            continue
        plan, lag = _tick(ev.at, ev.seq, prep, landing, store)
        out.max_lag_metric_minutes = max(out.max_lag_metric_minutes or 0.0, minutes(lag))
        if ev.at > last_day_tick:
            out.drain_ticks = (out.drain_ticks or 0) + 1
        if plan.work:
            rows = sum(o.rows for s in plan.slots for o in day.of_slot(parse_slot_id(s.slot), ev.at))
            objects = sum(s.objects for s in plan.slots)
            run = backend.start(ev.at, plan, rows, fails=any(s.slot == slot_id(day.poison) for s in plan.slots))
            out.runs += 1
            out.empty_runs += 1 if objects == 0 else 0
            out.cold_starts += 1 if run.cold else 0
            track.intervals.append((ev.at, ev.at + run.duration))
            in_flight += 1
            push(ev.at + run.duration, 0, "record", (plan, ev.seq, run))
        idle = not plan.work and in_flight == 0 and not store.open(PIPELINE).keys() - _quarantined(store)
        if ev.at >= last_day_tick and not idle and (out.drain_ticks or 0) < MAX_DRAIN_TICKS:
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
    out.notes.extend(backend.notes())
    return track.finish(out, states)


def _quarantined(store: MemoryLedger) -> set[str]:
    return {s for (_, s), r in store.records.items() if r.state == "quarantined"}


def execution_context(seq: int) -> ExecutionContext:
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
        pipeline=PIPELINE, input=RunRequest(scheduled_time=at, trigger="schedule"), execution=execution_context(seq)
    )
    plan, stats = planning.prepare_run(event, prep, at, landing, store)
    return plan, stats.lag


class _Recording:
    """RecordSlots after a run: ``runs.recording.record`` on the job's report, ``runs.costing.estimate`` on its bill."""

    def __init__(self, backend: Backend, prices: PriceTable, rec: RecordSlotsSettings) -> None:
        self.backend, self.prices, self.rec = backend, prices, rec

    def record(
        self,
        payload: tuple[RunPlan, int, Run],
        at: datetime,
        store: MemoryLedger,
        reports: Reports,
        track: Tracker,
        out: Outcome,
    ) -> None:
        plan, seq, run = payload
        lines: list[dict[str, Any]] = []
        for s in plan.slots:
            if s.slot == slot_id(track.day.poison):
                lines.append({"slot": s.slot, "status": "failed", "error": POISON_ERROR})
            else:
                rows = s.bytes // BYTES_PER_ROW
                converted = {"status": "converted", "manifest_uri": s.manifest_uri, "rows_read": rows}
                lines.append({"slot": s.slot, **converted, "rows_written": rows, "bad_rows": 0})
        assert plan.report_uri is not None
        reports.by_uri[plan.report_uri] = {"format": 1, "run_id": plan.run_id, "slots": lines}
        failed = any(line["status"] == "failed" for line in lines)
        job = RecordedServerlessJob(job_name=plan.serverless.job_name) if plan.serverless else None
        event = RecordSlotsEvent(
            pipeline=PIPELINE,
            outcome="step_failed" if failed else "step_succeeded",
            execution=execution_context(seq),
            plan=RecordedPlan(
                run_id=plan.run_id, slots=plan.slots, report_uri=plan.report_uri, backend=plan.backend, serverless=job
            ),
            error=TaskError(Error="States.TaskFailed", Cause=POISON_ERROR) if failed else None,
            cluster_id=run.cluster_id,
            # as the ASL sends it: the job run's id when the task succeeded (a failed one is found by its name)
            job_run_id=None if failed else run.job_run_id,
        )
        result = recording.record(event, self.rec, at, store, reports)
        by_slot = {s.slot: s for s in plan.slots}
        for sid in result.converted:
            track.convert(sid, at, by_slot[sid].fingerprint)
        cost, why = costing.estimate(event, self.rec, self.prices, self.backend)
        if cost is None:
            raise RuntimeError(f"run {plan.run_id}: RecordSlots could not price it: {why}")
        out.cost_usd += cost.total
        for sid, share in cost.per_slot.items():
            out.slot_cost_usd[sid] = out.slot_cost_usd.get(sid, Decimal(0)) + share
        cluster, vcpu, gb = billed_minutes(cost.usage)
        out.cluster_minutes += cluster
        out.vcpu_minutes += vcpu
        out.gb_minutes += gb
