"""The slot ledger's rules: one record per (pipeline, slot), and the only transitions it may make.

States::

    (none) ──claim──▶ running ──complete──▶ done ──claim (fingerprint changed: late data)──▶ running
                       │  ▲ └──fail──▶ failed ──claim──▶ running
                       │  │           └─(attempts reach the maximum)─▶ quarantined ──requeue──▶ pending
                       │  └─claim (lease expired: the holder died or its ledger update failed)
                       ├──release (the cluster never started: no attempt counted)──▶ pending ──claim──▶ running
                       └──expire (lease ended, nobody recorded it: one attempt)──▶ failed / quarantined

Every transition returns a new record with ``version + 1``; the store writes it only if the
stored version is still the one the transition started from (a conditional write), so two
executions can never both hold a slot. Pure: the clock is an argument.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from transient_analytics.slots import Fingerprint, Pipeline

SlotState = Literal["pending", "running", "done", "failed", "quarantined"]
#: States in which a slot still has work, or needs a person (kept in the ledger's open-slots index).
OPEN_STATES: frozenset[str] = frozenset({"pending", "running", "failed", "quarantined"})
ERROR_MAX_CHARS = 2000


class TransitionRefused(Exception):
    """The ledger's rules do not allow this change; the message names the slot, its state and the rule."""


class SlotCounts(BaseModel):
    model_config = ConfigDict(frozen=True)

    rows_read: int = Field(default=0, ge=0)
    rows_written: int = Field(default=0, ge=0)
    bad_rows: int = Field(default=0, ge=0)


class SlotRecord(BaseModel):
    """One slot's entry in the ledger."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    pipeline: Pipeline
    slot: str
    state: SlotState
    version: int = Field(ge=1)
    attempts: int = Field(default=0, ge=0)
    holder: str | None = None
    run_id: str | None = None
    lease_expires_at: AwareDatetime | None = None
    fingerprint: str | None = None
    objects: int = Field(default=0, ge=0)
    bytes: int = Field(default=0, ge=0)
    rows_read: int | None = None
    rows_written: int | None = None
    bad_rows: int | None = None
    error: str | None = None
    updated_at: AwareDatetime
    done_at: AwareDatetime | None = None
    #: Epoch seconds after which DynamoDB's TTL may delete a ``done`` record.
    expires_at: int | None = None

    @property
    def is_open(self) -> bool:
        return self.state in OPEN_STATES


def _refuse(record: SlotRecord | None, action: str, rule: str) -> TransitionRefused:
    where = f"{record.pipeline} slot {record.slot} ({record.state})" if record else "slot (no record)"
    return TransitionRefused(f"cannot {action} {where}: {rule}")


def lease_expired(record: SlotRecord, now: datetime) -> bool:
    return record.state == "running" and (record.lease_expires_at is None or record.lease_expires_at <= now)


def is_due(record: SlotRecord | None, observed: Fingerprint, now: datetime) -> bool:
    """Whether a slot holding ``observed`` has work a run may claim now."""
    if record is None:
        return True
    match record.state:
        case "pending" | "failed":
            return True
        case "done":
            return record.fingerprint != observed.digest
        case "running":
            return lease_expired(record, now)
        case _:
            return False


def claim(
    record: SlotRecord | None,
    *,
    pipeline: Pipeline,
    slot: str,
    observed: Fingerprint,
    holder: str,
    run_id: str,
    now: datetime,
    lease: timedelta,
) -> SlotRecord:
    """``running``, held by ``holder`` until ``now + lease``, for the contents ``observed``."""
    if not is_due(record, observed, now):
        rule = {
            "done": "already converted with these contents (same fingerprint)",
            "running": f"held by {record.holder if record else '?'} until its lease ends",
            "quarantined": "quarantined: release it with a backfill of its range",
        }.get(record.state if record else "", "not claimable")
        raise _refuse(record, "claim", rule)
    return SlotRecord(
        pipeline=pipeline,
        slot=slot,
        state="running",
        version=(record.version if record else 0) + 1,
        attempts=record.attempts if record and record.state != "done" else 0,
        holder=holder,
        run_id=run_id,
        lease_expires_at=now + lease,
        fingerprint=observed.digest,
        objects=observed.objects,
        bytes=observed.bytes,
        error=record.error if record and record.state != "done" else None,
        updated_at=now,
    )


def _held_by(record: SlotRecord, holder: str, action: str) -> None:
    if record.state != "running":
        raise _refuse(record, action, "only a running slot can be")
    if record.holder != holder:
        raise _refuse(record, action, f"held by {record.holder}, not by {holder}")


def complete(
    record: SlotRecord, *, holder: str, counts: SlotCounts | None, now: datetime, retention: timedelta
) -> SlotRecord:
    """``done`` with its counts (None: the service reports none, as a transform job does); TTL after ``retention``."""
    _held_by(record, holder, "complete")
    return record.model_copy(
        update={
            "state": "done",
            "version": record.version + 1,
            "attempts": 0,
            "holder": None,
            "lease_expires_at": None,
            "rows_read": counts.rows_read if counts else None,
            "rows_written": counts.rows_written if counts else None,
            "bad_rows": counts.bad_rows if counts else None,
            "error": None,
            "updated_at": now,
            "done_at": now,
            "expires_at": int((now + retention).timestamp()),
        }
    )


def _unheld(record: SlotRecord, state: SlotState, attempts: int, error: str, now: datetime) -> SlotRecord:
    """The record no run holds any more, in ``state``, with the error that put it there."""
    return record.model_copy(
        update={
            "state": state,
            "version": record.version + 1,
            "attempts": attempts,
            "holder": None,
            "lease_expires_at": None,
            "error": error[:ERROR_MAX_CHARS],
            "updated_at": now,
        }
    )


def _failed_attempt(record: SlotRecord, error: str, now: datetime, max_attempts: int) -> SlotRecord:
    attempts = record.attempts + 1
    return _unheld(record, "quarantined" if attempts >= max_attempts else "failed", attempts, error, now)


def fail(record: SlotRecord, *, holder: str, error: str, now: datetime, max_attempts: int) -> SlotRecord:
    """``failed`` with one more attempt, or ``quarantined`` when that makes ``max_attempts``."""
    _held_by(record, holder, "fail")
    return _failed_attempt(record, error, now, max_attempts)


def release(record: SlotRecord, *, holder: str, error: str, now: datetime) -> SlotRecord:
    """``pending`` again, no attempt counted: the run never got to the slot's data (e.g. no cluster)."""
    _held_by(record, holder, "release")
    return _unheld(record, "pending", record.attempts, error, now)


def expire(record: SlotRecord, *, now: datetime, max_attempts: int) -> SlotRecord:
    """A running slot whose lease ended before its holder recorded it: one failed attempt.

    The run died, was stopped, or could not update the ledger; counting it as an attempt means a
    slot that kills every run that takes it ends ``quarantined`` instead of being retried for ever.
    """
    if not lease_expired(record, now):
        raise _refuse(record, "expire", "its lease has not ended")
    until = record.lease_expires_at.isoformat() if record.lease_expires_at else "-"
    error = f"run {record.run_id or '-'} ended without recording this slot (its lease ended {until})"
    return _failed_attempt(record, error, now, max_attempts)


def requeue(record: SlotRecord | None, *, pipeline: Pipeline, slot: str, now: datetime) -> SlotRecord:
    """``pending`` with its attempts reset (a backfill; releases a quarantined slot)."""
    if record is not None and record.state == "running" and not lease_expired(record, now):
        raise _refuse(record, "requeue", f"held by {record.holder}: requeue it after that run ends")
    return SlotRecord(
        pipeline=pipeline,
        slot=slot,
        state="pending",
        version=(record.version if record else 0) + 1,
        attempts=0,
        fingerprint=record.fingerprint if record else None,
        objects=record.objects if record else 0,
        bytes=record.bytes if record else 0,
        updated_at=now,
    )


@dataclass(frozen=True)
class Selection:
    """What a run found: the slots it should claim (oldest first) and what it leaves."""

    claim: list[str]
    #: Slots with work that this run leaves to the next (over the per-run maximum).
    waiting: list[str]
    #: Slots with work held by another execution.
    held: list[str]
    quarantined: list[str]
    #: How long the longest-waiting slot with work nobody is converting now has waited (from its end,
    #: or from when late data landed): the slots left waiting and the ones other runs hold, not the
    #: ones this run claims. Zero when none.
    lag: timedelta


def select(
    observed: dict[str, Fingerprint],
    records: dict[str, SlotRecord],
    *,
    slot_ends: dict[str, datetime],
    now: datetime,
    max_slots: int,
) -> Selection:
    """Which observed slots to claim: due ones, oldest first, at most ``max_slots``.

    ``observed`` maps slot ids with landing data to their fingerprints; ``records`` holds the
    ledger's records for those slots (and any other open ones); ``slot_ends`` gives, for the lag,
    since when each observed slot's data has waited.
    """
    due = sorted(s for s, fp in observed.items() if is_due(records.get(s), fp, now))
    held = sorted(
        s for s in observed if (r := records.get(s)) is not None and r.state == "running" and not lease_expired(r, now)
    )
    quarantined = sorted(s for s, r in records.items() if r.state == "quarantined")
    unconverted = sorted([*due, *held])
    lag = max(timedelta(0), now - slot_ends[unconverted[0]]) if unconverted else timedelta(0)
    return Selection(claim=due[:max_slots], waiting=due[max_slots:], held=held, quarantined=quarantined, lag=lag)
