"""The ledger's outbox: the messages slots owe (a quarantine, rows the catalog cannot show), delivered.

The transition that calls for a message sets the record's ``notice`` in the same conditional write
(``transitions.fail`` reaching the maximum, ``transitions.complete`` with unlisted partition values), so a
quarantine can never happen without a notice owed. Delivery, by RecordSlots after recording and by
NotifyFailure for a run that died: *take* each owed notice (a conditional write, ``pending`` →
``sending``), publish one message per kind for the ones taken, then *settle* them (``sent``, or
``pending`` again when the publish failed, and :class:`NotificationNotSent` raised so that Step
Functions retries RecordSlots, which is safe to retry).

Faults: a publish that fails leaves the notice pending for the retry (or, if every retry fails,
for NotifyFailure, which delivers the dead run's owed notices): at least once. Two senders at once:
only one takes it. A sender that dies after taking it leaves it ``sending``; after
:data:`RESEND_AFTER` (longer than any sender runs) another takes it again. Only a sender dying
between SNS accepting the message and the settling write can make it go out twice — a duplicate,
never a loss; a retry without a crash never re-sends a notice that was sent.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Protocol

from transient_analytics.ledger import transitions
from transient_analytics.ledger.records import NoticeKind, SlotRecord
from transient_analytics.notify.message import Notification

#: A ``sending`` notice older than this is taken to be lost with its sender (the Lambda timeouts are 60-120 s).
RESEND_AFTER = timedelta(minutes=5)


class NotificationNotSent(Exception):
    """A notice could not be published; it stays owed (the name is what Step Functions' Retry matches)."""


class Store(Protocol):
    def write(self, new: SlotRecord, expected_version: int | None) -> bool: ...


class Publisher(Protocol):
    def publish(self, notification: Notification) -> str: ...


Render = Callable[[NoticeKind, list[SlotRecord]], Notification]


@dataclass
class Delivery:
    """What one delivery did: the slots whose notice it sent, per kind, and what it could not send."""

    sent: dict[str, list[str]] = field(default_factory=dict)
    unsent: list[str] = field(default_factory=list)
    error: str | None = None


def deliver(records: Iterable[SlotRecord], render: Render, store: Store, topic: Publisher, now: datetime) -> Delivery:
    """Take every notice ``records`` owe, publish one message per kind, settle each (see the module)."""
    taken: dict[NoticeKind, list[SlotRecord]] = {}
    for record in records:
        if not record.owes():
            continue
        try:
            new = transitions.take_notice(record, now=now, resend_after=RESEND_AFTER)
        except transitions.TransitionRefused:
            continue  # another sender has it
        if store.write(new, record.version) and new.notice is not None:
            taken.setdefault(new.notice.kind, []).append(new)
    delivery = Delivery()
    for kind, group in sorted(taken.items()):
        try:
            topic.publish(render(kind, group))
        except Exception as exc:  # kept owed for the next sender; the caller raises NotificationNotSent
            delivery.error = f"{type(exc).__name__}: {exc}"
            delivery.unsent += [r.slot for r in group]
            delivered = False
        else:
            delivery.sent[kind] = [r.slot for r in group]
            delivered = True
        for record in group:
            store.write(transitions.settle_notice(record, delivered=delivered), record.version)
    return delivery


def require_delivered(delivery: Delivery) -> None:
    """Raise :class:`NotificationNotSent` when a notice stayed owed (so the sender is retried)."""
    if delivery.unsent:
        raise NotificationNotSent(f"{len(delivery.unsent)} notice(s) not published ({delivery.error}); still owed")
