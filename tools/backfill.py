"""Queue a range of slots again and start one execution for it: range backfill, and release of quarantined slots.

    python -m tools.backfill --stack-name NAME --pipeline emr|transform \\
        --from 2026-11-25T20:00Z --to 2026-11-25T21:00Z [--region R] [--dry-run]

Reads the stack's outputs (CloudFormation ``describe_stacks``): the pipeline's state machine
(``EmrPipelineStateMachineArn`` / ``BatchTransformStateMachineArn``), the slot ledger
(``SlotLedgerTableName``) and, to learn the limits it runs with, the PrepareRun function
(``PrepareRunFunctionName``; its environment is read with ``lambda:GetFunctionConfiguration``,
the defaults of ``PrepareRunSettings`` when that is not allowed).

The range is validated by the layer's own rule (``slots.parse_range``: slot ids on the
pipeline's slot boundaries, ``to`` after ``from`` and exclusive, at most ``MAX_BACKFILL_SLOTS``
slots), then the tool prints each slot of the range with its state in the ledger (when the
ledger is readable) and what the backfill does to it, and starts one execution whose input is
``{"backfill": {"from": …, "to": …}, "trigger": "backfill"}``. That execution's PrepareRun marks
the slots pending (quarantined ones released, attempts reset) and plans as every run does; the
tool itself writes nothing to the ledger. ``--dry-run`` prints everything and starts nothing.

Exit codes: 0 started (or dry run), 2 a clear error, printed as one line naming the field and
the rule (bad range, unknown pipeline, no stack, a missing output, start refused).
"""

from __future__ import annotations

import argparse
import json
import re
import secrets
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any, TextIO

import boto3
from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError, NoRegionError
from pydantic import ValidationError

from tools.stack import StackError, read_outputs, require_output
from transient_analytics import ledger  # layers/shared on PYTHONPATH, as the Makefile sets it
from transient_analytics.errors import InvalidEventError, describe_validation_error
from transient_analytics.ledger import SlotRecord
from transient_analytics.ledger_store import SlotLedger
from transient_analytics.models import RunRequest
from transient_analytics.planning import max_slots
from transient_analytics.settings import PrepareRunSettings
from transient_analytics.slots import GRIDS, Pipeline, SlotRange, parse_range, slot_id

STATE_MACHINE_OUTPUTS: dict[str, str] = {
    "emr": "EmrPipelineStateMachineArn",
    "transform": "BatchTransformStateMachineArn",
}
LEDGER_OUTPUT = "SlotLedgerTableName"
FUNCTION_OUTPUT = "PrepareRunFunctionName"
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


def utc_now() -> datetime:
    return datetime.now(UTC)


# --------------------------------------------------------------------------- rules (the layer's)


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
    """Each slot of the range, its state now and what the backfill does to it (``ledger.requeue``'s rule)."""
    lines = []
    for start in rng.slots(GRIDS[pipeline]):
        sid = slot_id(start)
        if records is None:
            lines.append(SlotLine(sid, "?", "-", "-", "→ pending"))
            continue
        record = records.get(sid)
        try:
            ledger.requeue(record, pipeline=pipeline, slot=sid, now=now)
        except ledger.TransitionRefused:
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


# --------------------------------------------------------------------------- AWS reads


def read_limits(lambda_client: Any, function_name: str | None, pipeline: Pipeline) -> Limits:
    """The limits from the PrepareRun function's environment, or ``PrepareRunSettings``' defaults."""
    reason = f"the stack has no {FUNCTION_OUTPUT} output"
    if function_name:
        try:
            env = lambda_client.get_function_configuration(FunctionName=function_name)
            settings = PrepareRunSettings.model_validate(env.get("Environment", {}).get("Variables", {}))
        except ClientError as exc:
            reason = f"cannot read {function_name}'s configuration: {exc.response.get('Error', {}).get('Code')}"
        except ValidationError as exc:
            reason = f"{function_name}'s environment does not validate: {describe_validation_error(exc)}"
        else:
            return Limits(settings.MAX_BACKFILL_SLOTS, max_slots(pipeline, settings), f"{function_name}'s environment")
    fields = PrepareRunSettings.model_fields
    per_run = "EMR_MAX_SLOTS_PER_RUN" if pipeline == "emr" else "TRANSFORM_MAX_SLOTS_PER_RUN"
    return Limits(fields["MAX_BACKFILL_SLOTS"].default, fields[per_run].default, f"defaults ({reason})")


def read_ledger(ddb: Any, table: str, pipeline: Pipeline, rng: SlotRange) -> tuple[dict[str, SlotRecord] | None, str]:
    """The range's records (one consistent Query), or None and why not."""
    starts = rng.slots(GRIDS[pipeline])
    try:
        return SlotLedger(ddb, table).window(pipeline, slot_id(starts[0]), slot_id(starts[-1])), ""
    except ClientError as exc:
        error = exc.response.get("Error", {})
        return None, f"ledger {table} not readable ({error.get('Code')}: {error.get('Message')})"
    except ValidationError as exc:
        return None, f"ledger {table} holds a record that does not validate: {describe_validation_error(exc)}"


# --------------------------------------------------------------------------- the command


def render(b: Backfill, limits: Limits, ledger_note: str) -> str:
    grid = GRIDS[b.pipeline]
    minutes = int(grid.length.total_seconds() // 60)
    lines = [
        f"stack {b.stack_name}, pipeline {b.pipeline}: {b.state_machine_arn}",
        f"range {slot_id(b.range.first)} .. {slot_id(b.range.end)} (to is exclusive): {len(b.slots)} slot(s) of "
        f"{minutes} minutes; at most {limits.max_backfill_slots} per backfill ({limits.source})",
    ]
    if ledger_note:
        lines.append(f"  state unknown: {ledger_note}")
    header = ("slot", "state now", "attempts", "rows written", "the backfill")
    rows = [
        (s.slot, s.state, s.attempts, s.rows_written, s.action + (f"; last error: {s.error}" if s.error else ""))
        for s in b.slots
    ]
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(4)]
    for r in [header, *rows]:
        lines.append("  " + "  ".join(c.ljust(w) for c, w in zip(r[:4], widths, strict=True)) + "  " + r[4])
    if len(b.slots) > limits.max_slots_per_run:
        lines.append(
            f"one run converts at most {limits.max_slots_per_run} slots: this execution takes the oldest, "
            "the next runs take the rest (they stay pending in the ledger)"
        )
    lines.append("a slot without landing data has nothing to convert: it stays pending in the ledger")
    lines.append(f"execution {b.execution_name}, input {json.dumps(b.execution_input)}")
    return "\n".join(lines)


def backfill(
    stack_name: str,
    pipeline_name: str,
    first: str,
    end: str,
    *,
    region: str | None = None,
    dry_run: bool = False,
    session: boto3.session.Session | None = None,
    now: Callable[[], datetime] | None = None,
    token: Callable[[], str] = lambda: secrets.token_hex(2),
    out: TextIO | None = None,
) -> Backfill:
    """Validate, print the slots, and (unless ``dry_run``) start the backfill execution."""
    out = out or sys.stdout
    pipeline = check_pipeline(pipeline_name)
    # The range's form first, before any AWS call (the width is checked again with the stack's limit).
    validate_range(pipeline, first, end, Limits(sys.maxsize, sys.maxsize, "-"), (now or utc_now)())
    try:
        session = session or boto3.session.Session(region_name=region)
        clients = {name: session.client(name) for name in ("cloudformation", "stepfunctions", "dynamodb", "lambda")}
    except NoRegionError:
        raise BackfillError("no AWS region: pass --region or set AWS_REGION") from None
    except BotoCoreError as exc:
        raise BackfillError(f"cannot create AWS clients: {exc}") from None
    try:
        status, outputs = read_outputs(clients["cloudformation"], stack_name)
        state_machine = require_output(stack_name, status, outputs, STATE_MACHINE_OUTPUTS[pipeline])
        table = require_output(stack_name, status, outputs, LEDGER_OUTPUT)
    except StackError as exc:
        raise BackfillError(str(exc)) from None
    limits = read_limits(clients["lambda"], outputs.get(FUNCTION_OUTPUT), pipeline)
    started_at = (now or utc_now)()
    rng = validate_range(pipeline, first, end, limits, started_at)
    records, ledger_note = read_ledger(clients["dynamodb"], table, pipeline, rng)
    result = Backfill(
        stack_name=stack_name,
        pipeline=pipeline,
        state_machine_arn=state_machine,
        range=rng,
        slots=describe_slots(pipeline, rng, records, started_at),
        execution_name=execution_name(pipeline, rng, started_at, token()),
        execution_input=execution_input(rng),
        execution_arn=None,
    )
    out.write(render(result, limits, ledger_note) + "\n")
    if dry_run:
        out.write("dry run: no execution started\n")
        return result
    arn = start(clients["stepfunctions"], result)
    out.write(f"started {arn}\n")
    return replace(result, execution_arn=arn)


def start(sfn: Any, b: Backfill) -> str:
    try:
        response = sfn.start_execution(
            stateMachineArn=b.state_machine_arn, name=b.execution_name, input=json.dumps(b.execution_input)
        )
    except NoCredentialsError:
        raise BackfillError("no AWS credentials found (set AWS_PROFILE or the AWS_* variables)") from None
    except ClientError as exc:
        error = exc.response.get("Error", {})
        raise BackfillError(
            f"start-execution on {b.state_machine_arn} refused: {error.get('Code')}: {error.get('Message')}"
        ) from None
    return response["executionArn"]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.backfill", description=__doc__.splitlines()[0])
    parser.add_argument("--stack-name", required=True, help="the deployed CloudFormation/SAM stack")
    parser.add_argument("--pipeline", required=True, help=f"one of {', '.join(sorted(GRIDS))}")
    parser.add_argument("--from", dest="first", required=True, help="first slot (backfill.from): 2026-11-25T20:00Z")
    parser.add_argument("--to", dest="end", required=True, help="end of the range, exclusive (backfill.to)")
    parser.add_argument("--region", help="AWS region (default: the AWS configuration's)")
    parser.add_argument("--dry-run", action="store_true", help="print the slots and the execution, start nothing")
    args = parser.parse_args(argv)
    try:
        backfill(args.stack_name, args.pipeline, args.first, args.end, region=args.region, dry_run=args.dry_run)
    except BackfillError as exc:
        sys.stderr.write(f"backfill: error: {exc}\n")
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
