"""Helpers shared by the test suites: event fixtures from events/, a Lambda context, the ledger table."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from offline.cfn.template import load_template
from offline.lambdas import LambdaContext

ROOT = Path(__file__).resolve().parents[1]
EVENTS = ROOT / "events"
ACCOUNT = "123456789012"
REGION = "us-east-1"
STACK = "transient-analytics-dev"
EMR_STATE_MACHINE_ARN = f"arn:aws:states:{REGION}:{ACCOUNT}:stateMachine:{STACK}-emr-pipeline"
TRANSFORM_STATE_MACHINE_ARN = f"arn:aws:states:{REGION}:{ACCOUNT}:stateMachine:{STACK}-batch-transform"


def load_event(name: str) -> dict[str, Any]:
    """An event from events/, by its path below it: ``load_event("prepare_run/scheduled_emr")``."""
    return json.loads((EVENTS / f"{name}.json").read_text())


def lambda_context() -> LambdaContext:
    """The Lambda context object, as the offline twin hands it to a handler (a 60 s budget)."""
    return LambdaContext(
        function_name="test-function",
        invoked_function_arn=f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:test-function",
        memory_limit_in_mb=256,
        log_group_name="/aws/lambda/test-function",
        timeout_seconds=60,
    )


def create_ledger_table(client: Any, table_name: str) -> None:
    """The slot ledger table exactly as template.yaml declares it (keys, the open-slots GSI, TTL).

    Only the encryption (the stack's KMS key) is left out: moto needs no key to store items.
    """
    props = load_template(ROOT / "template.yaml")["Resources"]["SlotLedgerTable"]["Properties"]
    client.create_table(
        TableName=table_name,
        BillingMode=props["BillingMode"],
        AttributeDefinitions=props["AttributeDefinitions"],
        KeySchema=props["KeySchema"],
        GlobalSecondaryIndexes=props["GlobalSecondaryIndexes"],
    )
    client.update_time_to_live(TableName=table_name, TimeToLiveSpecification=props["TimeToLiveSpecification"])
