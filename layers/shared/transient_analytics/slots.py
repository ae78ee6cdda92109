"""Slots: the fixed, half-open time intervals landing data is grouped and converted by.

The EMR pipeline's slots are 15 minutes long, the batch transform's one day. A slot is named
by its start in UTC (``2026-11-25T20:15Z``). A run at time T works only on *closed* slots (the
slot's end is at or before T): a slot still filling is left to a later run. What a slot holds
is summed up by its :class:`Fingerprint` (a digest of the object keys, ETags and sizes), so a
late file changes the fingerprint and makes the slot due again. Pure: no clock, no AWS.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Literal

from transient_analytics.errors import InvalidEventError

Pipeline = Literal["emr", "transform"]

SLOT_ID_FORMAT = "%Y-%m-%dT%H:%MZ"
_SLOT_ID = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}Z$")
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class SlotGrid:
    """The slots of one pipeline: consecutive intervals of ``length`` from the Unix epoch (UTC)."""

    length: timedelta

    def start_of(self, t: datetime) -> datetime:
        """The start of the slot ``t`` falls in."""
        t = utc(t)
        steps = (t - _EPOCH) // self.length
        return _EPOCH + steps * self.length

    def is_boundary(self, t: datetime) -> bool:
        return self.start_of(t) == utc(t)

    def end_of(self, start: datetime) -> datetime:
        return self.start_of(start) + self.length

    def between(self, first: datetime, end: datetime) -> list[datetime]:
        """Starts of the slots from the one holding ``first`` up to (not including) ``end``."""
        out: list[datetime] = []
        s = self.start_of(first)
        end = utc(end)
        while s < end:
            out.append(s)
            s += self.length
        return out

    def closed_in_window(self, now: datetime, lookback: timedelta) -> list[datetime]:
        """Starts of the slots that are closed at ``now`` and end within ``lookback`` of it, oldest first."""
        last_closed_end = self.start_of(now)
        return self.between(last_closed_end - lookback, last_closed_end)


GRIDS: dict[Pipeline, SlotGrid] = {
    "emr": SlotGrid(timedelta(minutes=15)),
    "transform": SlotGrid(timedelta(days=1)),
}


def utc(t: datetime) -> datetime:
    if t.tzinfo is None or t.utcoffset() is None:
        raise ValueError("times must be timezone-aware")
    return t.astimezone(UTC)


def slot_id(start: datetime) -> str:
    """``2026-11-25T20:15Z``: a slot's name, its start in UTC."""
    return utc(start).strftime(SLOT_ID_FORMAT)


def parse_slot_id(text: str, field: str = "slot") -> datetime:
    """The start a slot id names; a malformed id is an :class:`InvalidEventError` naming ``field``."""
    if not isinstance(text, str) or not _SLOT_ID.match(text):
        raise InvalidEventError(f"{field}: must be a slot id like 2026-11-25T20:15Z (got {text!r})")
    try:
        return datetime.strptime(text, SLOT_ID_FORMAT).replace(tzinfo=UTC)
    except ValueError:
        raise InvalidEventError(f"{field}: not a real date and time (got {text!r})") from None


@dataclass(frozen=True)
class ObjectRef:
    """One landing object as ``ListObjectsV2`` reports it."""

    key: str
    etag: str
    size: int
    #: When it landed (``LastModified``); not part of the fingerprint, only of the slot's lag.
    last_modified: datetime | None = field(default=None, compare=False)


@dataclass(frozen=True)
class Fingerprint:
    """What a slot holds: a digest of its objects' keys, ETags and sizes, their count and bytes."""

    digest: str
    objects: int
    bytes: int
    #: When the newest of its objects landed (None when unknown); not part of the digest.
    newest: datetime | None = field(default=None, compare=False)


def fingerprint(objects: Iterable[ObjectRef]) -> Fingerprint:
    """The same set of objects always gives the same digest, in any order; any change gives another."""
    refs = sorted(set(objects), key=lambda o: o.key)
    h = hashlib.sha256()
    for o in refs:
        h.update(f"{o.key}\t{o.etag.strip(chr(34))}\t{o.size}\n".encode())
    landed = [o.last_modified for o in refs if o.last_modified is not None]
    return Fingerprint(
        digest=h.hexdigest()[:32], objects=len(refs), bytes=sum(o.size for o in refs), newest=max(landed, default=None)
    )


@dataclass(frozen=True)
class SlotRange:
    """A backfill request: the slots from ``first`` up to (not including) ``end``."""

    first: datetime
    end: datetime

    def slots(self, grid: SlotGrid) -> list[datetime]:
        return grid.between(self.first, self.end)


def parse_range(
    start_text: str,
    end_text: str,
    grid: SlotGrid,
    max_slots: int,
    field: str = "backfill",
    now: datetime | None = None,
) -> SlotRange:
    """Validate a backfill range: slot ids on the grid's boundaries, end after start, at most ``max_slots``,
    and (given ``now``) no slot still filling at ``now``.

    Every refusal names the field and the rule, e.g. ``backfill.to: must be after backfill.from``.
    """
    first = parse_slot_id(start_text, f"{field}.from")
    end = parse_slot_id(end_text, f"{field}.to")
    length = int(grid.length.total_seconds() // 60)
    for name, t in ((f"{field}.from", first), (f"{field}.to", end)):
        if not grid.is_boundary(t):
            raise InvalidEventError(
                f"{name}: must be on a slot boundary (slots are {length} minutes long; "
                f"got {slot_id(t)}, nearest earlier boundary {slot_id(grid.start_of(t))})"
            )
    if end <= first:
        raise InvalidEventError(f"{field}.to: must be after {field}.from (got {slot_id(first)} .. {slot_id(end)})")
    if now is not None and end > grid.start_of(now):
        raise InvalidEventError(
            f"{field}.to: must not be after the start of the current slot ({slot_id(grid.start_of(now))}): "
            f"a slot still filling cannot be backfilled (got {slot_id(end)})"
        )
    count = len(grid.between(first, end))
    if count > max_slots:
        raise InvalidEventError(
            f"{field}: at most {max_slots} slots per backfill "
            f"(got {count} slots from {slot_id(first)} to {slot_id(end)})"
        )
    return SlotRange(first=first, end=end)
