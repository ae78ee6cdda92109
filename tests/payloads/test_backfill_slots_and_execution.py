"""tools.backfill against moto: what it prints for each slot of the range, and the one execution it starts."""

from __future__ import annotations

import io
import json

import boto3

from tools import backfill
from tools.backfill_plan import EXECUTION_NAME_PATTERN
from transient_analytics.models import RunRequest

from .backfill_support import NOW, RANGE, STACK, TEMPLATE, deploy, executions, run, seed_ledger

pytest_plugins = ["tests.payloads.backfill_support"]


def test_dry_run_prints_each_slot_with_its_ledger_state_and_starts_nothing(
    aws: boto3.session.Session, stack: dict[str, str]
) -> None:
    seed_ledger(aws, stack["SlotLedgerTableName"])
    result, printed = run(aws, "emr", *RANGE, dry_run=True)

    assert [s.slot for s in result.slots] == [
        "2026-11-25T20:00Z",
        "2026-11-25T20:15Z",
        "2026-11-25T20:30Z",
        "2026-11-25T20:45Z",
    ]
    by_slot = {s.slot: s for s in result.slots}
    assert (by_slot["2026-11-25T20:00Z"].state, by_slot["2026-11-25T20:00Z"].rows_written) == ("done", "1,195")
    assert by_slot["2026-11-25T20:00Z"].action == "→ pending (converted again)"
    assert (by_slot["2026-11-25T20:15Z"].state, by_slot["2026-11-25T20:15Z"].attempts) == ("quarantined", "3")
    assert by_slot["2026-11-25T20:15Z"].action == "released → pending (attempts reset)"
    assert by_slot["2026-11-25T20:30Z"].state == "(no record)"
    assert by_slot["2026-11-25T20:45Z"].state == "running"
    assert by_slot["2026-11-25T20:45Z"].action == "left to the run holding it (lease until 2026-11-25T23:07Z)"
    for slot in by_slot:
        assert slot in printed
    assert "last error: csv_to_parquet: error: header mismatch" in printed
    assert "at most 8 per backfill (transient-analytics-test-prepare-run's environment)" in printed
    assert "4 slot(s) of 15 minutes" in printed
    assert "one run converts at most 3 slots" in printed  # EMR_MAX_SLOTS_PER_RUN=3 of the deployed function
    assert "dry run: no execution started" in printed
    assert result.execution_arn is None
    assert executions(aws, stack["EmrPipelineStateMachineArn"]) == []


def test_backfill_starts_one_execution_with_the_range_input_and_prints_its_arn(
    aws: boto3.session.Session, stack: dict[str, str]
) -> None:
    result, printed = run(aws, "emr", *RANGE)

    (execution,) = executions(aws, stack["EmrPipelineStateMachineArn"])
    assert execution["executionArn"] == result.execution_arn
    assert f"started {result.execution_arn}" in printed
    assert execution["name"] == "backfill-emr-2026-11-25T2000Z-2026-11-25T2100Z-20261125T220730Z-1a2b"
    described = aws.client("stepfunctions").describe_execution(executionArn=result.execution_arn)
    sent = json.loads(described["input"])
    assert sent == {"backfill": {"from": "2026-11-25T20:00Z", "to": "2026-11-25T21:00Z"}, "trigger": "backfill"}
    RunRequest.model_validate(sent)  # the model PrepareRun parses its input with accepts it
    # the ledger's state is not shown as known: the table is empty, so every slot has no record yet
    assert {s.state for s in result.slots} == {"(no record)"}
    # the tool writes nothing to the ledger: PrepareRun does the requeue
    assert aws.client("dynamodb").scan(TableName=stack["SlotLedgerTableName"])["Items"] == []


def test_transform_backfill_uses_its_own_state_machine_and_daily_slots(
    aws: boto3.session.Session, stack: dict[str, str]
) -> None:
    result, printed = run(aws, "transform", "2026-11-20T00:00Z", "2026-11-23T00:00Z")

    assert [s.slot for s in result.slots] == ["2026-11-20T00:00Z", "2026-11-21T00:00Z", "2026-11-22T00:00Z"]
    assert "3 slot(s) of 1440 minutes" in printed
    (execution,) = executions(aws, stack["BatchTransformStateMachineArn"])
    assert execution["name"].startswith("backfill-transform-2026-11-20T0000Z-2026-11-23T0000Z-")
    assert executions(aws, stack["EmrPipelineStateMachineArn"]) == []


def test_execution_names_keep_to_the_start_execution_rule_and_differ_per_call(
    aws: boto3.session.Session, stack: dict[str, str]
) -> None:
    out = io.StringIO()
    names = {
        backfill.backfill(
            STACK, "transform", "2026-11-20T00:00Z", "2026-11-21T00:00Z", session=aws, now=lambda: NOW, out=out
        ).execution_name
        for _ in range(3)
    }
    assert len(names) == 3  # same second, same range: the random part keeps them apart
    for name in names:
        assert len(name) <= 80 and EXECUTION_NAME_PATTERN.fullmatch(name)
    assert len(executions(aws, stack["BatchTransformStateMachineArn"])) == 3


def test_the_limit_is_prepare_runs_default_when_the_function_cannot_be_read(aws: boto3.session.Session) -> None:
    deploy(aws)  # no PrepareRun function behind the output: lambda:GetFunctionConfiguration fails
    # GIVEN a range of 9 slots: over the deployed 8 but within the default
    result, printed = run(aws, "emr", "2026-11-25T18:00Z", "2026-11-25T20:15Z", dry_run=True)
    assert len(result.slots) == 9
    assert (
        "at most 2976 per backfill (defaults (cannot read transient-analytics-test-prepare-run's configuration: ResourceNotFoundException))"
        in printed
    )


def test_an_unreadable_ledger_is_reported_and_the_backfill_still_starts(aws: boto3.session.Session) -> None:
    template = json.loads(json.dumps(TEMPLATE))
    template["Outputs"]["SlotLedgerTableName"] = {"Value": "no-such-table"}
    outputs = deploy(aws, template)
    result, printed = run(aws, "emr", *RANGE)
    assert "state unknown: ledger no-such-table not readable (ResourceNotFoundException" in printed
    assert {s.state for s in result.slots} == {"?"}
    assert len(executions(aws, outputs["EmrPipelineStateMachineArn"])) == 1
