"""The slot ledger's rules: the only transitions a slot's record (``records.SlotRecord``) may make.

States::

    (none) ──claim──▶ running ──complete──▶ done ──claim (fingerprint changed: late data)──▶ running
                       │  ▲ └──fail──▶ failed ──claim──▶ running
                       │  │           └─(attempts reach the maximum)─▶ quarantined ──requeue──▶ pending
                       │  └─claim (lease expired: the holder died and nobody gave the slot back)
                       ├──release (the run never got to the slot's data: no attempt counted)──▶ pending
                       └──expire (lease ended, nobody recorded it: one attempt)──▶ failed / quarantined
    pending / failed / quarantined ──vanish (its landing objects are gone)──▶ vanished ──claim (data again)──▶ running

Who is charged for a failure (``fail`` counts one attempt, ``release`` none):

* a slot the job itself reports failed (bad rows, a header mismatch …): one attempt;
* a slot that was **running** when its step died without a verdict (the job's progress report
  says so): one attempt and one ``crash``; the next batch puts it last, after the slots that
  never crashed, so a slot that kills its step cannot keep its healthy neighbours from converting;
* a slot the step never started, or a run that died before its work started, or one a person
  stopped: released, no attempt. A failure is charged to the slot that caused it, not to its batch.

A record carries at most one :class:`~transient_analytics.ledger.records.Notice` (an outbox entry:
"tell someone"), set in the same conditional write as the transition that calls for it (a quarantine,
a conversion whose rows the catalog cannot show); :mod:`transient_analytics.ledger.notices` delivers
it, see there.

Every transition returns a new record with ``version + 1``; the store writes it only if the
stored version is still the one the transition started from (a conditional write), so two
executions can never both hold a slot. Pure: the clock is an argument.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from transient_analytics.ledger.records import (
    VANISHABLE_STATES,
    Notice,
    NoticeState,
    SlotCounts,
    SlotRecord,
    SlotState,
    is_due,
    lease_expired,
)
from transient_analytics.slots import Fingerprint, Pipeline

ERROR_MAX_CHARS = 2000


class TransitionRefused(Exception):
    """The ledger's rules do not allow this change; the message names the slot, its state and the rule."""


def _carried(record: SlotRecord | None) -> Notice | None:
    """A notice not yet delivered survives the transitions that do not replace it."""
    return record.notice if record is not None and record.owes() else None


def _refuse(record: SlotRecord | None, action: str, rule: str) -> TransitionRefused:
    where = f"{record.pipeline} slot {record.slot} ({record.state})" if record else "slot (no record)"
    return TransitionRefused(f"cannot {action} {where}: {rule}")


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
        crashes=record.crashes if record and record.state not in ("done", "vanished") else 0,
        notice=_carried(record),
    )


def _held_by(record: SlotRecord, holder: str, action: str) -> None:
    if record.state != "running":
        raise _refuse(record, action, "only a running slot can be")
    if record.holder != holder:
        raise _refuse(record, action, f"held by {record.holder}, not by {holder}")


def complete(
    record: SlotRecord,
    *,
    holder: str,
    counts: SlotCounts | None,
    now: datetime,
    retention: timedelta,
    unlisted: dict[str, int] | None = None,
) -> SlotRecord:
    """``done`` with its counts (None: the service reports none, as a transform job does); TTL after ``retention``.

    ``unlisted``: rows written under partition values the catalog does not show; they owe a notice.
    """
    _held_by(record, holder, "complete")
    notice = Notice(kind="unlisted_values") if unlisted else _carried(record)
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
            "crashes": 0,
            "unlisted_values": dict(unlisted) if unlisted else None,
            "notice": notice,
        }
    )


def _unheld(
    record: SlotRecord, state: SlotState, attempts: int, error: str, now: datetime, **more: object
) -> SlotRecord:
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
            **more,
        }
    )


def _failed_attempt(
    record: SlotRecord, error: str, now: datetime, max_attempts: int, crashed: bool = False
) -> SlotRecord:
    attempts = record.attempts + 1
    crashes = record.crashes + (1 if crashed else 0)
    if attempts >= max_attempts:
        quarantine = Notice(kind="quarantined")
        return _unheld(record, "quarantined", attempts, error, now, crashes=crashes, notice=quarantine)
    return _unheld(record, "failed", attempts, error, now, crashes=crashes)


def fail(
    record: SlotRecord, *, holder: str, error: str, now: datetime, max_attempts: int, crashed: bool = False
) -> SlotRecord:
    """``failed`` with one more attempt, or ``quarantined`` (owing a notice) when that makes ``max_attempts``.

    ``crashed``: the slot was the one running when its step died; it also counts a crash.
    """
    _held_by(record, holder, "fail")
    return _failed_attempt(record, error, now, max_attempts, crashed)


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
    """``pending`` with its attempts and crashes reset (a backfill; releases a quarantined slot)."""
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
        notice=_carried(record),
    )


def vanish(record: SlotRecord, *, now: datetime, retention: timedelta) -> SlotRecord:
    """``vanished``: an open slot nobody holds whose landing objects are gone has nothing left to convert.

    It leaves the open-slots index (no run lists its day again, no quarantine alarm counts it) and
    expires after ``retention`` like a done record; if data lands in it again it is due again.
    """
    if record.state not in VANISHABLE_STATES:
        raise _refuse(record, "close", "only a pending, failed or quarantined slot without data can be closed")
    return _unheld(
        record,
        "vanished",
        record.attempts,
        "its landing objects were deleted: nothing to convert",
        now,
        expires_at=int((now + retention).timestamp()),
    )


# ---------------------------------------------------------------------------- notices (the outbox)


def take_notice(record: SlotRecord, *, now: datetime, resend_after: timedelta) -> SlotRecord:
    """The notice ``sending``, taken by one sender (conditional write); a stale ``sending`` may be taken again.

    A sender that took it and died before publishing leaves it ``sending``: after ``resend_after``
    (longer than any sender runs) another sender takes it, so it is delivered at least once.
    """
    notice = record.notice
    if notice is None or notice.state == "sent":
        raise _refuse(record, "take the notice of", "it owes none")
    if notice.state == "sending" and notice.since is not None and now < notice.since + resend_after:
        raise _refuse(record, "take the notice of", f"another sender took it at {notice.since.isoformat()}")
    taken = notice.model_copy(update={"state": "sending", "since": now})
    return record.model_copy(update={"version": record.version + 1, "notice": taken})


def settle_notice(record: SlotRecord, *, delivered: bool) -> SlotRecord:
    """After a publish: ``sent``, or ``pending`` again for the next sender when it failed."""
    if record.notice is None or record.notice.state != "sending":
        raise _refuse(record, "settle the notice of", "it is not being sent")
    state: NoticeState = "sent" if delivered else "pending"
    notice = record.notice.model_copy(update={"state": state, "since": None if not delivered else record.notice.since})
    return record.model_copy(update={"version": record.version + 1, "notice": notice})
