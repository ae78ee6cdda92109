"""tools.backfill against moto: a stack with both state machines, the slot ledger and the PrepareRun function.

The ledger is seeded through the layer's own transitions (claim, complete, fail), so the states
the tool reads are ones the pipelines can really leave behind.
"""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import boto3
import pytest
from moto import mock_aws

from tools import backfill
from transient_analytics import ledger
from transient_analytics.ledger import SlotCounts, SlotRecord
from transient_analytics.ledger_store import SlotLedger
from transient_analytics.models import RunRequest
from transient_analytics.slots import Fingerprint

REGION = "eu-west-1"
STACK = "transient-analytics-test"
FUNCTION = "transient-analytics-test-prepare-run"
NOW = datetime(2026, 11, 25, 22, 7, 30, tzinfo=UTC)
RANGE = ("2026-11-25T20:00Z", "2026-11-25T21:00Z")
#: The PrepareRun environment the stack was deployed with (a small backfill limit, to test it).
FUNCTION_ENV = {
    "DATA_BUCKET": "transient-analytics-test-data",
    "NAME_PREFIX": STACK,
    "TRANSFORM_JOB_BASE_NAME": "ta-abalone",
    "LEDGER_TABLE": "ledger",
    "MAX_BACKFILL_SLOTS": "8",
    "EMR_MAX_SLOTS_PER_RUN": "3",
}

_ROLE = {
    "Type": "AWS::IAM::Role",
    "Properties": {
        "AssumeRolePolicyDocument": {
            "Version": "2012-10-17",
            "Statement": [
                {"Effect": "Allow", "Principal": {"Service": "states.amazonaws.com"}, "Action": "sts:AssumeRole"}
            ],
        }
    },
}
_DEFINITION = json.dumps({"StartAt": "PrepareRun", "States": {"PrepareRun": {"Type": "Pass", "End": True}}})


def _state_machine(name: str) -> dict[str, object]:
    return {
        "Type": "AWS::StepFunctions::StateMachine",
        "Properties": {
            "StateMachineName": name,
            "RoleArn": {"Fn::GetAtt": ["StatesRole", "Arn"]},
            "DefinitionString": _DEFINITION,
        },
    }


#: The resources and outputs of template.yaml the tool reads (key schema and index as deployed).
TEMPLATE = {
    "Resources": {
        "StatesRole": _ROLE,
        "EmrPipelineStateMachine": _state_machine(f"{STACK}-emr-pipeline"),
        "BatchTransformStateMachine": _state_machine(f"{STACK}-batch-transform"),
        "SlotLedgerTable": {
            "Type": "AWS::DynamoDB::Table",
            "Properties": {
                "BillingMode": "PAY_PER_REQUEST",
                "AttributeDefinitions": [
                    {"AttributeName": n, "AttributeType": "S"} for n in ("pipeline", "slot", "open_pipeline")
                ],
                "KeySchema": [
                    {"AttributeName": "pipeline", "KeyType": "HASH"},
                    {"AttributeName": "slot", "KeyType": "RANGE"},
                ],
                "GlobalSecondaryIndexes": [
                    {
                        "IndexName": "open-slots",
                        "KeySchema": [
                            {"AttributeName": "open_pipeline", "KeyType": "HASH"},
                            {"AttributeName": "slot", "KeyType": "RANGE"},
                        ],
                        "Projection": {"ProjectionType": "ALL"},
                    }
                ],
            },
        },
    },
    "Outputs": {
        "EmrPipelineStateMachineArn": {"Value": {"Ref": "EmrPipelineStateMachine"}},
        "BatchTransformStateMachineArn": {"Value": {"Ref": "BatchTransformStateMachine"}},
        "SlotLedgerTableName": {"Value": {"Ref": "SlotLedgerTable"}},
        "PrepareRunFunctionName": {"Value": FUNCTION},
    },
}


@pytest.fixture
def aws(aws_env: None) -> Iterator[boto3.session.Session]:
    with mock_aws():
        yield boto3.session.Session(region_name=REGION)


def deploy(
    session: boto3.session.Session, template: dict[str, object] = TEMPLATE, stack: str = STACK
) -> dict[str, str]:
    cloudformation = session.client("cloudformation")
    cloudformation.create_stack(StackName=stack, TemplateBody=json.dumps(template))
    (described,) = cloudformation.describe_stacks(StackName=stack)["Stacks"]
    return {o["OutputKey"]: o["OutputValue"] for o in described.get("Outputs", [])}


def create_function(session: boto3.session.Session, env: dict[str, str]) -> None:
    role = session.client("iam").create_role(
        RoleName="prepare-run",
        AssumeRolePolicyDocument=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}
                ],
            }
        ),
    )["Role"]["Arn"]
    code = io.BytesIO()
    with zipfile.ZipFile(code, "w") as z:
        z.writestr("app.py", "def lambda_handler(event, context):\n    return {}\n")
    session.client("lambda").create_function(
        FunctionName=FUNCTION,
        Runtime="python3.13",
        Role=role,
        Handler="app.lambda_handler",
        Code={"ZipFile": code.getvalue()},
        Environment={"Variables": env},
    )


@pytest.fixture
def stack(aws: boto3.session.Session) -> dict[str, str]:
    """The deployed stack (in moto) with its PrepareRun function; returns its outputs."""
    outputs = deploy(aws)
    create_function(aws, FUNCTION_ENV)
    return outputs


FP = Fingerprint(digest="0" * 32, objects=2, bytes=2048)
LEASE = timedelta(hours=3)


def seed_ledger(session: boto3.session.Session, table: str) -> None:
    """20:00 done, 20:15 quarantined (three failed attempts), 20:30 no record, 20:45 held by a running execution."""
    store = SlotLedger(session.client("dynamodb"), table)
    t = NOW - timedelta(hours=2)

    def claim(record: SlotRecord | None, slot: str, holder: str) -> SlotRecord:
        new = ledger.claim(
            record, pipeline="emr", slot=slot, observed=FP, holder=holder, run_id="r", now=t, lease=LEASE
        )
        assert store.write(new, record.version if record else None)
        return new

    done = claim(None, "2026-11-25T20:00Z", "run-a")
    counts = SlotCounts(rows_read=1200, rows_written=1195, bad_rows=5)
    assert store.write(
        ledger.complete(done, holder="run-a", counts=counts, now=t, retention=timedelta(days=1)), done.version
    )
    record: SlotRecord | None = None
    for attempt in range(3):
        record = claim(record, "2026-11-25T20:15Z", f"run-{attempt}")
        failed = ledger.fail(
            record, holder=f"run-{attempt}", error="csv_to_parquet: error: header mismatch", now=t, max_attempts=3
        )
        assert store.write(failed, record.version)
        record = failed
    assert record is not None and record.state == "quarantined"
    claim(None, "2026-11-25T20:45Z", "run-live")


def run(session: boto3.session.Session, *args: str, dry_run: bool = False) -> tuple[backfill.Backfill, str]:
    out = io.StringIO()
    result = backfill.backfill(
        STACK, *args, dry_run=dry_run, session=session, now=lambda: NOW, token=lambda: "1a2b", out=out
    )
    return result, out.getvalue()


def executions(session: boto3.session.Session, arn: str) -> list[dict[str, object]]:
    return session.client("stepfunctions").list_executions(stateMachineArn=arn)["executions"]


# --------------------------------------------------------------------------- what it prints and starts


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
        assert len(name) <= 80 and backfill.EXECUTION_NAME_PATTERN.fullmatch(name)
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


# --------------------------------------------------------------------------- refusals: one line, exit 2


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(backfill, "utc_now", lambda: NOW)


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
