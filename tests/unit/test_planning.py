"""prepare_run's planning with the landing listing and the ledger in memory: the cases moto makes slow to set up."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.support import load_event
from transient_analytics.errors import InvalidEventError
from transient_analytics.ledger import transitions
from transient_analytics.ledger.records import SlotRecord
from transient_analytics.models import PrepareRunEvent, parse_event
from transient_analytics.runs.planning import prepare_run, waiting_since
from transient_analytics.settings import PrepareRunSettings
from transient_analytics.slots import Fingerprint, ObjectRef

NOW = datetime(2026, 11, 25, 20, 16, 5, tzinfo=UTC)
SETTINGS = PrepareRunSettings(
    DATA_BUCKET="b-data", NAME_PREFIX="stack", TRANSFORM_JOB_BASE_NAME="ta-abalone", LEDGER_TABLE="ledger"
)
OTHER = "arn:aws:states:us-east-1:123456789012:execution:transient-analytics-dev-emr-pipeline:other"


class Landing:
    def __init__(self, *slots: str) -> None:
        self.keys = [self.key(s) for s in slots]
        self.listed: list[str] = []

    @staticmethod
    def key(slot: str) -> str:
        t = datetime.strptime(slot, "%Y-%m-%dT%H:%MZ")
        return f"landing/characters/dt={t:%Y-%m-%d}/hour={t:%H}/minute={t:%M}/part-0.csv"

    def list_prefix(self, bucket: str, prefix: str) -> list[ObjectRef]:
        self.listed.append(prefix)
        return [ObjectRef(k, '"e"', 10) for k in self.keys if k.startswith(prefix)]


class Ledger:
    def __init__(self, *records: SlotRecord, lose: set[str] = frozenset()) -> None:
        self.records = {r.slot: r for r in records}
        self.lose = lose

    def window(self, pipeline: str, first: str, last: str) -> dict[str, SlotRecord]:
        return {s: r for s, r in self.records.items() if first <= s <= last}

    def open(self, pipeline: str) -> dict[str, SlotRecord]:
        return {s: r for s, r in self.records.items() if r.is_open}

    def get(self, pipeline: str, slot: str) -> SlotRecord | None:
        return self.records.get(slot)

    def write(self, new: SlotRecord, expected: int | None) -> bool:
        if new.slot in self.lose:  # another execution wrote first
            return False
        current = self.records.get(new.slot)
        if (current.version if current else None) != expected:
            return False
        self.records[new.slot] = new
        return True


def event(**input_: Any) -> PrepareRunEvent:
    raw = load_event("prepare_run/scheduled_emr")
    raw["input"] = input_
    return parse_event(raw, PrepareRunEvent)


def record(slot: str, state: str, holder: str = OTHER, at: datetime = NOW) -> SlotRecord:
    r = transitions.claim(
        None,
        pipeline="emr",
        slot=slot,
        observed=Fingerprint("0" * 32, 1, 1),
        holder=holder,
        run_id="r",
        now=at,
        lease=timedelta(hours=3),
    )
    if state == "failed":
        r = transitions.fail(r, holder=holder, error="e", now=at, max_attempts=3)
    elif state == "quarantined":
        r = transitions.fail(r, holder=holder, error="e", now=at, max_attempts=1)
    return r


def test_an_open_slot_older_than_the_window_is_listed_with_its_day_and_taken_first():
    old = "2026-11-20T06:00Z"
    landing = Landing(old, "2026-11-25T20:00Z")
    plan, stats = prepare_run(event(), SETTINGS, NOW, landing, Ledger(record(old, "failed")))
    assert stats.claimed == [old, "2026-11-25T20:00Z"]
    assert sorted(landing.listed) == [
        "landing/characters/dt=2026-11-20/",
        "landing/characters/dt=2026-11-24/",
        "landing/characters/dt=2026-11-25/",
    ]
    assert stats.lag == NOW - datetime(2026, 11, 20, 6, 15, tzinfo=UTC)


def test_an_old_quarantined_slot_is_neither_listed_nor_claimed_but_reported():
    old = "2026-11-20T06:00Z"
    landing = Landing(old)
    plan, stats = prepare_run(event(), SETTINGS, NOW, landing, Ledger(record(old, "quarantined")))
    assert plan.work is False and stats.quarantined == [old]
    assert "landing/characters/dt=2026-11-20/" not in landing.listed


def test_a_claim_lost_to_another_execution_between_read_and_write_is_reported_not_planned():
    slots = ["2026-11-25T19:45Z", "2026-11-25T20:00Z"]
    plan, stats = prepare_run(event(), SETTINGS, NOW, Landing(*slots), Ledger(lose={slots[0]}))
    assert [s.slot for s in plan.slots] == [slots[1]]
    assert stats.lost_races == [slots[0]]
    plan, stats = prepare_run(event(), SETTINGS, NOW, Landing(slots[0]), Ledger(lose={slots[0]}))
    assert plan.work is False and plan.reason == f"every slot with work is held by another execution ({slots[0]})"


def test_a_backfill_leaves_a_slot_another_run_holds_to_that_run():
    held = record("2026-11-25T18:00Z", "running")
    store = Ledger(held)
    plan, stats = prepare_run(
        event(backfill={"from": "2026-11-25T18:00Z", "to": "2026-11-25T18:30Z"}),
        SETTINGS,
        NOW,
        Landing("2026-11-25T18:00Z", "2026-11-25T18:15Z"),
        store,
    )
    assert stats.requeued == ["2026-11-25T18:15Z"]
    assert stats.claimed == ["2026-11-25T18:15Z"] and stats.held == ["2026-11-25T18:00Z"]
    assert store.records["2026-11-25T18:00Z"] == held
    assert plan.trigger == "backfill"


def test_a_backfill_of_slots_older_than_the_lookback_claims_them():
    plan, stats = prepare_run(
        event(backfill={"from": "2026-11-01T00:00Z", "to": "2026-11-01T00:30Z"}),
        SETTINGS,
        NOW,
        Landing("2026-11-01T00:00Z", "2026-11-01T00:15Z"),
        Ledger(),
    )
    assert stats.claimed == ["2026-11-01T00:00Z", "2026-11-01T00:15Z"]


def test_a_backfill_range_is_checked_before_anything_is_listed_or_written():
    landing, store = Landing("2026-11-25T18:00Z"), Ledger()
    with pytest.raises(InvalidEventError, match=r"input\.backfill\.to: must be after input\.backfill\.from"):
        prepare_run(
            event(backfill={"from": "2026-11-25T19:00Z", "to": "2026-11-25T18:00Z"}), SETTINGS, NOW, landing, store
        )
    assert landing.listed == [] and store.records == {}


def test_a_run_with_a_given_scheduled_time_sees_the_slots_closed_at_that_time():
    landing = Landing("2026-11-25T06:00Z", "2026-11-25T06:15Z")
    plan, stats = prepare_run(event(scheduled_time="2026-11-25T06:16:00Z"), SETTINGS, NOW, landing, Ledger())
    assert stats.claimed == ["2026-11-25T06:00Z"]  # 06:15 was still filling at 06:16
    assert plan.trigger == "backfill" and plan.scheduled_time == "2026-11-25T06:16:00Z"


def test_late_data_waits_from_when_it_landed_not_from_its_slots_end():
    end = datetime(2026, 11, 25, 8, 15, tzinfo=UTC)
    now = datetime(2026, 11, 25, 12, 30, tzinfo=UTC)
    landed = datetime(2026, 11, 25, 12, 15, tzinfo=UTC)
    assert waiting_since(end, Fingerprint("a" * 32, 2, 10, newest=landed), now) == landed
    assert waiting_since(end, Fingerprint("a" * 32, 2, 10, newest=None), now) == end
    # a landing time from a clock ahead of ours is not believed
    assert waiting_since(end, Fingerprint("a" * 32, 2, 10, newest=now.replace(hour=13)), now) == end
