"""The ledger and report ports in memory, the RecordSlots settings and events, for the tests of ``runs.recording.record``."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from tests.support import load_event
from transient_analytics.ledger import transitions
from transient_analytics.ledger.records import SlotRecord
from transient_analytics.models import RecordSlotsEvent, parse_event
from transient_analytics.settings import RecordSlotsSettings
from transient_analytics.slots import Fingerprint

NOW = datetime(2026, 11, 25, 20, 41, tzinfo=UTC)
CLAIMED_AT = datetime(2026, 11, 25, 20, 16, tzinfo=UTC)
SETTINGS = RecordSlotsSettings(
    DATA_BUCKET="transient-analytics-dev-databucket",
    NAME_PREFIX="transient-analytics-dev",
    LEDGER_TABLE="ledger",
    TOPIC_ARN="arn:aws:sns:us-east-1:123456789012:transient-analytics-dev-failures",
)
S1, S2 = "2026-11-25T19:45Z", "2026-11-25T20:00Z"


class FakeLedger:
    """The ledger port in memory, with the store's conditional-write rule."""

    def __init__(self) -> None:
        self.records: dict[tuple[str, str], SlotRecord] = {}
        self.writes: list[SlotRecord] = []

    def get_many(self, pipeline: str, slots: list[str]) -> dict[str, SlotRecord]:
        return {s: self.records[(pipeline, s)] for s in slots if (pipeline, s) in self.records}

    def write(self, new: SlotRecord, expected_version: int | None) -> bool:
        current = self.records.get((new.pipeline, new.slot))
        if (current.version if current else None) != expected_version:
            return False
        self.records[(new.pipeline, new.slot)] = new
        self.writes.append(new)
        return True

    def state(self, pipeline: str, slot: str) -> SlotRecord:
        return self.records[(pipeline, slot)]


class FakeReports:
    def __init__(self, documents: dict[str, Any] | None = None) -> None:
        self.documents = documents or {}
        self.read: list[str] = []

    def read_json(self, uri: str) -> Any | None:
        self.read.append(uri)
        return self.documents.get(uri)


def event(name: str, **changes: Any) -> RecordSlotsEvent:
    raw = load_event(f"record_slots/{name}")
    raw.update(changes)
    return parse_event(raw, RecordSlotsEvent)


def claimed_store(ev: RecordSlotsEvent, holder: str | None = None, attempts: int = 0) -> FakeLedger:
    """A ledger in which ``ev``'s execution holds every slot of its plan."""
    store = FakeLedger()
    for work in ev.plan.slots:
        r = transitions.claim(
            None,
            pipeline=ev.pipeline,
            slot=work.slot,
            observed=Fingerprint(work.fingerprint, work.objects, work.bytes),
            holder=holder or ev.execution.id,
            run_id=ev.plan.run_id,
            now=CLAIMED_AT,
            lease=timedelta(hours=3),
        )
        store.records[(ev.pipeline, work.slot)] = r.model_copy(update={"attempts": attempts})
    return store


def report(ev: RecordSlotsEvent, *lines: dict[str, Any]) -> FakeReports:
    return FakeReports({ev.plan.report_uri: {"format": 1, "run_id": ev.plan.run_id, "slots": list(lines)}})


CONVERTED_S1 = {
    "slot": S1,
    "status": "converted",
    "manifest_uri": "s3://ta-dev-data/curated/characters/dt=2026-11-25/hour=19/minute=45/_manifest.json",
    "rows_read": 10,
    "rows_written": 9,
    "bad_rows": 1,
}
FAILED_S2 = {"slot": S2, "status": "failed", "error": "csv_to_parquet: error: header mismatch in part-0.csv"}
