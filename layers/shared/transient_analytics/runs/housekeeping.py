"""The ledger's housekeeping a run does before it claims: what a backfill requeues, what nobody recorded, what vanished.

``planning.prepare_run`` calls these before it selects the slots to claim, each a transition of the
``ledger`` applied with a conditional write: a backfill's slots with landing data made ``pending``
again (quarantined ones released), every claim of another execution whose lease ended recorded as a
failed attempt (``expire``), and every open slot nobody holds whose landing objects are gone closed
(``vanished``). Faults: each write is conditional on the version read, so a retry or a concurrent run
that wrote first makes it fail and leaves the other's record as it is; a crash after it leaves a
record any later run reads as it is (the same writes are then not due again).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Protocol

from transient_analytics.ledger import transitions
from transient_analytics.ledger.records import VANISHABLE_STATES, SlotRecord, lease_expired
from transient_analytics.slots import Pipeline, slot_id


class LedgerWrites(Protocol):
    """The ledger reads and writes housekeeping needs (``ledger.store.SlotLedger`` has them)."""

    def window(self, pipeline: Pipeline, first_slot: str, last_slot: str) -> dict[str, SlotRecord]: ...
    def write(self, new: SlotRecord, expected_version: int | None) -> bool: ...


def requeue(
    pipeline: Pipeline,
    starts: list[datetime],
    with_data: set[datetime],
    now: datetime,
    store: LedgerWrites,
    retention: timedelta,
) -> tuple[dict[str, SlotRecord], list[str]]:
    """Mark the backfill slots that hold landing data pending (quarantined ones released).

    A slot without data gets no pending record (it would never be claimed); an open one nobody
    holds is closed ``vanished`` (a quarantined slot whose bad file was deleted, then backfilled).
    """
    if not starts:
        return {}, []
    records = store.window(pipeline, slot_id(starts[0]), slot_id(starts[-1]))
    requeued = []
    for start in starts:
        sid = slot_id(start)
        current = records.get(sid)
        if start not in with_data and current is not None and current.state in VANISHABLE_STATES:
            closed = transitions.vanish(current, now=now, retention=retention)
            if store.write(closed, current.version):
                records[sid] = closed
            continue
        if start not in with_data or (current is not None and current.state == "pending"):
            continue
        try:
            new = transitions.requeue(current, pipeline=pipeline, slot=sid, now=now)
        except transitions.TransitionRefused:
            continue  # held by a running execution: it converts the slot's current contents anyway
        if store.write(new, current.version if current else None):
            records[sid] = new
            requeued.append(sid)
    return records, requeued


def expire_abandoned(
    records: dict[str, SlotRecord], now: datetime, max_attempts: int, store: LedgerWrites, holder: str
) -> dict[str, SlotRecord]:
    """Record each running slot whose lease has ended (another execution's) as one failed attempt."""
    changed = {}
    for sid, current in records.items():
        if lease_expired(current, now) and current.holder != holder:
            new = transitions.expire(current, now=now, max_attempts=max_attempts)
            if store.write(new, current.version):
                changed[sid] = new
    return changed


def close_vanished(
    records: dict[str, SlotRecord],
    with_data: set[str],
    looked_at: set[str],
    now: datetime,
    retention: timedelta,
    store: LedgerWrites,
) -> dict[str, SlotRecord]:
    """Close (``vanished``) each open slot nobody holds that this run listed and found without landing objects."""
    changed = {}
    for sid, current in records.items():
        if current.state in VANISHABLE_STATES and sid in looked_at and sid not in with_data:
            new = transitions.vanish(current, now=now, retention=retention)
            if store.write(new, current.version):
                changed[sid] = new
    return changed
