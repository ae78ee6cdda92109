"""Helpers shared by the test suites: event fixtures from events/, and a Lambda context stand-in."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

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


@dataclass
class FakeLambdaContext:
    """The parts of the Lambda context Powertools reads."""

    function_name: str = "test-function"
    function_version: str = "$LATEST"
    memory_limit_in_mb: int = 256
    invoked_function_arn: str = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:test-function"
    aws_request_id: str = "00000000-0000-4000-8000-000000000000"
    log_group_name: str = "/aws/lambda/test-function"
    log_stream_name: str = "2026/11/25/[$LATEST]0"

    def get_remaining_time_in_millis(self) -> int:
        return 60_000


def create_ledger_table(client: Any, table_name: str) -> None:
    """The slot ledger table exactly as template.yaml declares it (keys, the open-slots GSI, TTL).

    Only the encryption (the stack's KMS key) is left out: moto needs no key to store items.
    """
    from offline.cfn import load_template

    props = load_template(ROOT / "template.yaml")["Resources"]["SlotLedgerTable"]["Properties"]
    client.create_table(
        TableName=table_name,
        BillingMode=props["BillingMode"],
        AttributeDefinitions=props["AttributeDefinitions"],
        KeySchema=props["KeySchema"],
        GlobalSecondaryIndexes=props["GlobalSecondaryIndexes"],
    )
    client.update_time_to_live(TableName=table_name, TimeToLiveSpecification=props["TimeToLiveSpecification"])
