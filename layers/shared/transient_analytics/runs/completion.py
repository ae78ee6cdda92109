"""The completion event: one EventBridge event per converted slot, so downstream work starts on data.

``record_slots`` builds the ``PutEvents`` calls with :func:`put_events_batches` and sends each
batch as ``events.put_events(Entries=batch)``. The event (docs/operating.md, "Completion event") goes
to the default bus::

    Source      transient-analytics
    DetailType  Slot Converted
    Detail      {"stack": "...", "pipeline": "emr", "slot": "2026-11-25T20:15Z",
                 "run_id": "...", "manifest_uri": "s3://.../_manifest.json", "rows_written": 120,
                 "cost_usd": 0.004213}

A transform slot carries ``output_uri`` (the run's output prefix) instead of ``manifest_uri``;
``cost_usd`` (the slot's share of its run's estimated compute cost) is there when the run was priced.
A rule matches them with ``{"source": ["transient-analytics"], "detail-type": ["Slot Converted"]}``.

``PutEvents`` takes at most 10 entries per call and at most 256 KB per call, counted as
EventBridge counts it (the UTF-8 bytes of Source, DetailType and Detail; no Time or Resources
are set here). Pure: no AWS call.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Final, TypedDict

from transient_analytics.slots import Pipeline

SOURCE: Final = "transient-analytics"
DETAIL_TYPE: Final = "Slot Converted"
EVENT_BUS_NAME: Final = "default"
MAX_ENTRIES_PER_CALL: Final = 10
MAX_BYTES_PER_CALL: Final = 256 * 1024

_SLOT_ID = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}Z$")
_S3_URI = re.compile(r"^s3://[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]/\S*$")


class PutEventsEntry(TypedDict):
    Source: str
    DetailType: str
    Detail: str
    EventBusName: str


@dataclass(frozen=True)
class ConvertedSlot:
    """A slot the run committed: what the event tells a consumer.

    ``manifest_uri`` for an EMR slot (the slot's ``_manifest.json``), ``output_uri`` for a
    transform slot (``s3://B/batch/abalone/output/dt=…/run=<run id>/``); exactly one of them.
    """

    pipeline: Pipeline
    slot: str
    run_id: str
    rows_written: int
    manifest_uri: str | None = None
    output_uri: str | None = None
    #: The slot's share of its run's estimated compute cost (USD), when the run was priced.
    cost_usd: float | None = None

    def __post_init__(self) -> None:
        problems = _problems(self)
        if problems:
            raise ValueError(f"converted slot {self.slot!r}: " + "; ".join(problems))

    def detail(self, stack: str) -> dict[str, object]:
        """The event's detail, keys in the documented order (docs/operating.md)."""
        location = {"manifest_uri": self.manifest_uri} if self.pipeline == "emr" else {"output_uri": self.output_uri}
        return {
            "stack": stack,
            "pipeline": self.pipeline,
            "slot": self.slot,
            "run_id": self.run_id,
            **location,
            "rows_written": self.rows_written,
            **({"cost_usd": self.cost_usd} if self.cost_usd is not None else {}),
        }


def _problems(slot: ConvertedSlot) -> list[str]:
    problems = []
    if slot.pipeline not in ("emr", "transform"):
        problems.append(f"pipeline: must be 'emr' or 'transform' (got {slot.pipeline!r})")
    if not isinstance(slot.slot, str) or not _SLOT_ID.match(slot.slot):
        problems.append(f"slot: must be a slot id like '2026-11-25T20:15Z' (got {slot.slot!r})")
    else:
        try:
            datetime.strptime(slot.slot, "%Y-%m-%dT%H:%MZ")
        except ValueError:
            problems.append(f"slot: not a valid UTC time (got {slot.slot!r})")
    if not isinstance(slot.run_id, str) or not slot.run_id.strip():
        problems.append(f"run_id: must be a non-empty string (got {slot.run_id!r})")
    if isinstance(slot.rows_written, bool) or not isinstance(slot.rows_written, int) or slot.rows_written < 0:
        problems.append(f"rows_written: must be an integer >= 0 (got {slot.rows_written!r})")
    wanted, unwanted = ("manifest_uri", "output_uri") if slot.pipeline == "emr" else ("output_uri", "manifest_uri")
    value = getattr(slot, wanted)
    if not isinstance(value, str) or not _S3_URI.match(value):
        problems.append(f"{wanted}: a {slot.pipeline} slot needs an s3:// URI (got {value!r})")
    if getattr(slot, unwanted) is not None:
        problems.append(f"{unwanted}: must not be set for a {slot.pipeline} slot")
    return problems


def entry_size(entry: PutEventsEntry) -> int:
    """The entry's size as EventBridge counts it against the 256 KB limit."""
    return sum(len(text.encode("utf-8")) for text in (entry["Source"], entry["DetailType"], entry["Detail"]))


def completion_entry(stack: str, slot: ConvertedSlot) -> PutEventsEntry:
    """The ``PutEvents`` entry announcing one converted slot."""
    if not isinstance(stack, str) or not stack:
        raise ValueError(f"stack: must be the stack name, a non-empty string (got {stack!r})")
    return {
        "Source": SOURCE,
        "DetailType": DETAIL_TYPE,
        "Detail": json.dumps(slot.detail(stack), separators=(",", ":"), ensure_ascii=False),
        "EventBusName": EVENT_BUS_NAME,
    }


def put_events_batches(stack: str, slots: Iterable[ConvertedSlot]) -> list[list[PutEventsEntry]]:
    """The ``PutEvents`` calls for these slots, in order: each at most 10 entries and 256 KB.

    An empty list of slots gives no call. A single entry over 256 KB raises ``ValueError``
    naming its slot (it cannot be sent at all).
    """
    batches: list[list[PutEventsEntry]] = []
    size = 0
    for slot in slots:
        entry = completion_entry(stack, slot)
        this = entry_size(entry)
        if this > MAX_BYTES_PER_CALL:
            raise ValueError(
                f"completion event of slot {slot.slot}: {this} bytes, over the PutEvents limit of {MAX_BYTES_PER_CALL}"
            )
        if not batches or len(batches[-1]) == MAX_ENTRIES_PER_CALL or size + this > MAX_BYTES_PER_CALL:
            batches.append([])
            size = 0
        batches[-1].append(entry)
        size += this
    return batches


def failed_entries(batch: Sequence[PutEventsEntry], response: dict[str, object]) -> list[PutEventsEntry]:
    """The entries of ``batch`` that ``PutEvents`` answered with an ``ErrorCode`` (to resend).

    PutEvents does not fail as a whole when some entries fail: ``FailedEntryCount`` and the
    response entries (same order as the request) say which.
    """
    results = response.get("Entries")
    if not isinstance(results, list) or len(results) != len(batch):
        raise ValueError(f"PutEvents response: expected {len(batch)} result entries (got {results!r})")
    return [
        entry
        for entry, result in zip(batch, results, strict=True)
        if isinstance(result, dict) and result.get("ErrorCode")
    ]
