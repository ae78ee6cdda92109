"""The landing data of the soak's simulated span, and what is wrong with some of it (seeded, pure).

Every 15-minute slot has data with probability 70 % (generated characters, 20 to 300 rows); among
those, per day: one slot whose rows the job rejects (bad rows: the job reports it failed, every
attempt), one that kills its whole step while it is converted (a driver out of memory: no verdict),
two with a class outside ``PartitionValues``, two that receive a late file a few ticks after they
closed; every other bad slot has its file deleted after it failed once (the operator's fix). Each
day also has a batch file for the transform.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from jobs import generate_characters
from transient_analytics.slots import GRIDS, slot_id

START = datetime(2026, 11, 23, tzinfo=UTC)  # a Monday, 00:00 UTC
GRID = GRIDS["emr"]
TICKS_PER_DAY = 96
#: A class the catalog's PartitionValues (Titan,Hunter,Warlock) does not list.
UNLISTED_CLASS = "Druid"
#: A row the job rejects (level is not an integer).
BAD_ROW = "999999,Poison Row,Titan,Human,not-a-level,1800,5,true,2025-11-30T10:00:00Z"


def slot_start(index: int) -> datetime:
    return START + index * GRID.length


def tick_time(tick: int) -> datetime:
    """The scheduler's time of tick ``tick``: the end of slot ``tick`` (that slot has just closed)."""
    return slot_start(tick + 1)


@dataclass(frozen=True)
class World:
    """Which slot (by index from START) gets what, and when the changes after landing happen (by tick)."""

    ticks: int
    seed: int
    rows: dict[int, int] = field(default_factory=dict)
    bad_rows: frozenset[int] = frozenset()
    crashing: frozenset[int] = frozenset()
    unlisted: frozenset[int] = frozenset()
    #: slot → the tick at which a late file lands in it.
    late: dict[int, int] = field(default_factory=dict)
    #: slot → the tick at which its landing objects are deleted.
    deleted: dict[int, int] = field(default_factory=dict)

    @property
    def poison(self) -> frozenset[str]:
        """Slot ids whose data fails every attempt (and that are not deleted first)."""
        return frozenset(slot_id(slot_start(i)) for i in self.bad_rows | self.crashing if i not in self.deleted)

    def body(self, index: int, late: bool = False) -> bytes:
        """The CSV a slot's file holds (a late file: a tenth of the rows, another seed)."""
        rows = max(1, self.rows[index] // 10) if late else self.rows[index]
        seed = self.seed * 100_003 + index * 7 + (1 if late else 0)
        text: str = generate_characters.generate_csv_bytes(rows, seed).decode()
        extra = []
        if index in self.unlisted and not late:
            extra.append(f"{900_000 + index},Odd One,{UNLISTED_CLASS},Human,10,1500,1,true,2025-11-30T10:00:00Z")
        if index in self.bad_rows and not late:
            extra.append(BAD_ROW)
        return (text + "".join(line + "\n" for line in extra)).encode()

    def landed_at(self, tick: int) -> list[int]:
        """The slot that closes at ``tick`` if it has data (it lands during its own 15 minutes)."""
        return [tick] if tick in self.rows else []


def make_world(ticks: int, seed: int) -> World:
    rng = random.Random(seed)
    rows = {i: rng.randint(20, 300) for i in range(ticks) if rng.random() < 0.7}
    with_data = sorted(rows)
    days = max(1, ticks // TICKS_PER_DAY)
    # Leave the first two hours alone: the soak's first run with work is the real Spark job, which can
    # convert and fail slots but cannot kill its own driver on purpose.
    eligible = [i for i in with_data if i >= 8 and i < ticks - 12]
    picks = rng.sample(eligible, min(len(eligible), 8 * days))
    bad = picks[0::8]
    crashing = picks[1::8]
    unlisted = picks[2::8] + picks[3::8]
    late = {i: min(ticks - 1, i + rng.randint(2, 16)) for i in picks[4::8] + picks[5::8]}
    # A bad slot fixed by deleting its file after its first failure (every other one; the others stay
    # poison): its record is open, and with no data left it must close instead of staying open for ever.
    deleted = {i: min(ticks - 1, i + 2) for i in bad[0::2]}
    return World(
        ticks=ticks,
        seed=seed,
        rows=rows,
        bad_rows=frozenset(bad),
        crashing=frozenset(crashing),
        unlisted=frozenset(unlisted),
        late=late,
        deleted=deleted,
    )


def transform_days(ticks: int) -> list[datetime]:
    """The daily slots with a batch file: every day the span covers (scored by the next day's 06:00 run)."""
    return [START + timedelta(days=d) for d in range(max(1, (ticks + TICKS_PER_DAY - 1) // TICKS_PER_DAY))]
