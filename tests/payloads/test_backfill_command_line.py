"""tools.backfill's command line against moto: every refusal is one line and exit 2; a dry run exits 0."""

from __future__ import annotations

import json

import boto3
import pytest

from tools import backfill

from .backfill_support import RANGE, REGION, STACK, TEMPLATE, deploy, executions

pytest_plugins = ["tests.payloads.backfill_support"]


@pytest.mark.parametrize(
    ("pipeline", "first", "end", "message"),
    [
        ("emr", "2026-11-25T21:00Z", "2026-11-25T20:00Z", "backfill.to: must be after backfill.from"),
        ("emr", "2026-11-25T20:00Z", "2026-11-25T20:00Z", "backfill.to: must be after backfill.from"),
        ("emr", "2026-11-25T18:00Z", "2026-11-25T20:15Z", "backfill: at most 8 slots per backfill (got 9 slots"),
        (
            "emr",
            "2026-11-25T20:10Z",
            "2026-11-25T21:00Z",
            "backfill.from: must be on a slot boundary (slots are 15 minutes long",
        ),
        ("emr", "2026-11-25T20:00Z", "2026-11-25T20:50Z", "backfill.to: must be on a slot boundary"),
        (
            "transform",
            "2026-11-25T06:00Z",
            "2026-11-26T06:00Z",
            "backfill.from: must be on a slot boundary (slots are 1440 minutes long",
        ),
        ("emr", "2026-11-25 20:00", "2026-11-25T21:00Z", "backfill.from: must be a slot id like 2026-11-25T20:15Z"),
        ("emr", "2026-02-30T20:00Z", "2026-11-25T21:00Z", "backfill.from: not a real date and time"),
        (
            "emr",
            "2026-11-25T21:30Z",
            "2026-11-25T22:15Z",
            "backfill.to: must not be after the start of the current slot (2026-11-25T22:00Z)",
        ),
        ("spark", "2026-11-25T20:00Z", "2026-11-25T21:00Z", "pipeline: must be one of emr, transform (got 'spark')"),
    ],
)
def test_bad_ranges_are_refused_in_one_line_naming_the_field_and_rule(
    aws: boto3.session.Session,
    stack: dict[str, str],
    clock: None,
    capsys: pytest.CaptureFixture[str],
    pipeline: str,
    first: str,
    end: str,
    message: str,
) -> None:
    code = backfill.main(["--stack-name", STACK, "--pipeline", pipeline, "--from", first, "--to", end])
    captured = capsys.readouterr()
    assert code == 2
    assert captured.err.startswith(f"backfill: error: {message}")
    assert captured.err.count("\n") == 1 and "Traceback" not in captured.err
    for output in ("EmrPipelineStateMachineArn", "BatchTransformStateMachineArn"):
        assert executions(aws, stack[output]) == []


def test_a_missing_stack_is_refused_in_one_line(aws: boto3.session.Session, capsys: pytest.CaptureFixture[str]) -> None:
    code = backfill.main(["--stack-name", "nope", "--pipeline", "emr", "--from", RANGE[0], "--to", RANGE[1]])
    assert code == 2
    assert capsys.readouterr().err == f"backfill: error: stack 'nope' does not exist in region {REGION}\n"


def test_a_stack_without_the_outputs_names_the_missing_one(
    aws: boto3.session.Session, clock: None, capsys: pytest.CaptureFixture[str]
) -> None:
    template = json.loads(json.dumps(TEMPLATE))
    del template["Outputs"]["SlotLedgerTableName"]
    deploy(aws, template)
    code = backfill.main(["--stack-name", STACK, "--pipeline", "emr", "--from", RANGE[0], "--to", RANGE[1]])
    err = capsys.readouterr().err
    assert code == 2
    assert err.startswith(
        f"backfill: error: stack '{STACK}' (CREATE_COMPLETE) has no output 'SlotLedgerTableName'; its outputs: "
    )
    assert "EmrPipelineStateMachineArn" in err and err.count("\n") == 1


def test_a_refused_start_is_one_line(
    aws: boto3.session.Session, clock: None, capsys: pytest.CaptureFixture[str]
) -> None:
    template = json.loads(json.dumps(TEMPLATE))
    template["Outputs"]["EmrPipelineStateMachineArn"] = {
        "Value": f"arn:aws:states:{REGION}:123456789012:stateMachine:deleted"
    }
    deploy(aws, template)
    code = backfill.main(["--stack-name", STACK, "--pipeline", "emr", "--from", RANGE[0], "--to", RANGE[1]])
    err = capsys.readouterr().err
    assert code == 2
    assert err.startswith(
        "backfill: error: start-execution on arn:aws:states:eu-west-1:123456789012:stateMachine:deleted refused: StateMachineDoesNotExist"
    )
    assert err.count("\n") == 1


def test_command_line_dry_run_prints_and_exits_0(
    aws: boto3.session.Session, stack: dict[str, str], clock: None, capsys: pytest.CaptureFixture[str]
) -> None:
    code = backfill.main(
        ["--stack-name", STACK, "--pipeline", "emr", "--from", RANGE[0], "--to", RANGE[1], "--dry-run"]
    )
    out = capsys.readouterr().out
    assert code == 0
    assert "dry run: no execution started" in out
    assert '"backfill": {"from": "2026-11-25T20:00Z", "to": "2026-11-25T21:00Z"}' in out
    assert executions(aws, stack["EmrPipelineStateMachineArn"]) == []


def test_a_malformed_range_is_refused_before_any_aws_call(clock: None, capsys: pytest.CaptureFixture[str]) -> None:
    # no moto, no stack: the range's form is checked first, so the refusal names the range, not the stack
    code = backfill.main(["--stack-name", "nope", "--pipeline", "emr", "--from", RANGE[1], "--to", RANGE[0]])
    assert code == 2
    assert capsys.readouterr().err.startswith("backfill: error: backfill.to: must be after backfill.from")
