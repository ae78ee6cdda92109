"""Shared by the tools.backfill tests: a stack in moto with both state machines, the slot ledger and PrepareRun.

The ledger is seeded through the layer's own transitions (claim, complete, fail), so the states
the tool reads are ones the pipelines can really leave behind. The fixtures (``aws``, ``stack``,
``clock``) are loaded by the test modules with ``pytest_plugins``.
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
from transient_analytics.ledger import transitions
from transient_analytics.ledger.records import SlotCounts, SlotRecord
from transient_analytics.ledger.store import SlotLedger
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
        new = transitions.claim(
            record, pipeline="emr", slot=slot, observed=FP, holder=holder, run_id="r", now=t, lease=LEASE
        )
        assert store.write(new, record.version if record else None)
        return new

    done = claim(None, "2026-11-25T20:00Z", "run-a")
    counts = SlotCounts(rows_read=1200, rows_written=1195, bad_rows=5)
    assert store.write(
        transitions.complete(done, holder="run-a", counts=counts, now=t, retention=timedelta(days=1)), done.version
    )
    record: SlotRecord | None = None
    for attempt in range(3):
        record = claim(record, "2026-11-25T20:15Z", f"run-{attempt}")
        failed = transitions.fail(
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


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> None:
    """The command line's clock frozen at :data:`NOW`."""
    monkeypatch.setattr(backfill, "utc_now", lambda: NOW)
