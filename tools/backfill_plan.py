"""What a backfill does, decided without AWS: the range, the execution's name and input, each slot's fate.

The range is validated by the layer's own rule (``slots.parse_range``: slot ids on the
pipeline's slot boundaries, ``to`` after ``from`` and exclusive, at most ``MAX_BACKFILL_SLOTS``
slots); each slot's action is ``ledger.transitions.requeue``'s rule, applied to the record the ledger holds.
Every refusal is a :class:`BackfillError`, one line naming the field and the rule.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from transient_analytics.errors import InvalidEventError

# layers/shared on PYTHONPATH, as the Makefile sets it
from transient_analytics.ledger import transitions
from transient_analytics.ledger.records import SlotRecord
from transient_analytics.models import RunRequest
from transient_analytics.slots import GRIDS, Pipeline, SlotRange, parse_range, slot_id

#: The field names the execution input uses; every refusal names them.
FIELD = "backfill"
#: StartExecution's name rule (1..80 characters, no whitespace, brackets, wildcards or
#: ``" # % \\ ^ | ~ ` $ & , ; : /``); we keep to the subset CloudWatch Logs accepts.
EXECUTION_NAME_PATTERN = re.compile(r"^[0-9A-Za-z_-]{1,80}$")
EXECUTION_NAME_MAX = 80
ERROR_SHOWN_CHARS = 70


class BackfillError(Exception):
    """A refusal the user can act on; printed as one line."""


@dataclass(frozen=True)
class Limits:
    """What the stack's PrepareRun allows: slots per backfill and per run, and where that was read."""

    max_backfill_slots: int
    max_slots_per_run: int
    source: str


@dataclass(frozen=True)
class SlotLine:
    """One slot of the range as printed: its state in the ledger now and what the backfill does to it."""

    slot: str
    state: str
    attempts: str
    rows_written: str
    action: str
    error: str = ""


@dataclass(frozen=True)
class Backfill:
    """What the tool did (or, in a dry run, would do)."""

    stack_name: str
    pipeline: Pipeline
    state_machine_arn: str
    range: SlotRange
    slots: list[SlotLine]
    execution_name: str
    execution_input: dict[str, Any]
    execution_arn: str | None


def check_pipeline(name: str) -> Pipeline:
    for pipeline in GRIDS:
        if name == pipeline:
            return pipeline
    raise BackfillError(f"pipeline: must be one of {', '.join(sorted(GRIDS))} (got {name!r})")


def validate_range(pipeline: Pipeline, first: str, end: str, limits: Limits, now: datetime) -> SlotRange:
    """The range as PrepareRun will accept it: ``slots.parse_range`` with the stack's limit."""
    grid = GRIDS[pipeline]
    try:
        return parse_range(first, end, grid, limits.max_backfill_slots, field=FIELD, now=now)
    except InvalidEventError as exc:
        raise BackfillError(str(exc)) from None


def execution_input(rng: SlotRange) -> dict[str, Any]:
    """The execution's input, checked against the model PrepareRun parses it with."""
    data = {"backfill": {"from": slot_id(rng.first), "to": slot_id(rng.end)}, "trigger": "backfill"}
    RunRequest.model_validate(data)
    return data


def execution_name(pipeline: Pipeline, rng: SlotRange, now: datetime, token: str) -> str:
    """``backfill-emr-2026-11-25T2000Z-2026-11-25T2100Z-20261201T093012Z-1a2b``: readable, unique, ≤ 80."""
    first, end = (slot_id(t).replace(":", "") for t in (rng.first, rng.end))
    name = f"backfill-{pipeline}-{first}-{end}-{now.astimezone(UTC):%Y%m%dT%H%M%SZ}-{token}"
    if len(name) > EXECUTION_NAME_MAX or not EXECUTION_NAME_PATTERN.fullmatch(name):
        raise BackfillError(f"execution name {name!r}: must match {EXECUTION_NAME_PATTERN.pattern}")
    return name


def describe_slots(
    pipeline: Pipeline, rng: SlotRange, records: dict[str, SlotRecord] | None, now: datetime
) -> list[SlotLine]:
    """Each slot of the range, its state now and what the backfill does to it (``transitions.requeue``'s rule)."""
    lines = []
    for start in rng.slots(GRIDS[pipeline]):
        sid = slot_id(start)
        if records is None:
            lines.append(SlotLine(sid, "?", "-", "-", "→ pending"))
            continue
        record = records.get(sid)
        try:
            transitions.requeue(record, pipeline=pipeline, slot=sid, now=now)
        except transitions.TransitionRefused:
            assert record is not None
            until = slot_id(record.lease_expires_at) if record.lease_expires_at else "?"
            action = f"left to the run holding it (lease until {until})"
        else:
            action = {
                None: "→ pending (new record)",
                "pending": "already pending",
                "quarantined": "released → pending (attempts reset)",
                "done": "→ pending (converted again)",
            }.get(record.state if record else None, "→ pending (attempts reset)")
        lines.append(
            SlotLine(
                slot=sid,
                state=record.state if record else "(no record)",
                attempts=str(record.attempts) if record else "-",
                rows_written="-" if record is None or record.rows_written is None else f"{record.rows_written:,}",
                action=action,
                error=(record.error or "")[:ERROR_SHOWN_CHARS] if record else "",
            )
        )
    return lines
