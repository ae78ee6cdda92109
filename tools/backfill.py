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

The rules are :mod:`tools.backfill_plan`'s, the AWS calls :mod:`tools.backfill_aws`'s; this module
prints the plan and is the command line.
"""

from __future__ import annotations

import argparse
import json
import secrets
import sys
from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from typing import TextIO

import boto3
from botocore.exceptions import BotoCoreError, NoRegionError

from tools.backfill_aws import FUNCTION_OUTPUT, LEDGER_OUTPUT, STATE_MACHINE_OUTPUTS, read_ledger, read_limits, start
from tools.backfill_plan import (
    Backfill,
    BackfillError,
    Limits,
    check_pipeline,
    describe_slots,
    execution_input,
    execution_name,
    validate_range,
)
from tools.stack import StackError, read_outputs, require_output
from transient_analytics.slots import GRIDS, slot_id


def utc_now() -> datetime:
    return datetime.now(UTC)


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
