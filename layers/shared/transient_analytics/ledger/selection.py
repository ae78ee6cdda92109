"""Which slots a run claims, and the order its batch converts them in. Pure: the clock is an argument.

A run claims the due slots (:func:`~transient_analytics.ledger.records.is_due`), oldest first, up to
its per-run maximum, and leaves the rest to the next run; it converts the slots that never crashed
a step first.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from transient_analytics.ledger.records import SlotRecord, is_due, lease_expired
from transient_analytics.slots import Fingerprint


def batch_order(records: list[SlotRecord]) -> list[SlotRecord]:
    """The order a batch converts its slots in: the ones that never crashed a step first, oldest first.

    The job converts slots one after the other; putting a slot that was running when an earlier
    step died last means that if it kills this step too, every other slot was converted before it.
    """
    return sorted(records, key=lambda r: (r.crashes, r.slot))


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
