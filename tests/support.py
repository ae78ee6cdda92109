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


#: The production model the handler tests find in the pointer (the transform scores with it).
PRODUCTION_MODEL = "ta-abalone-v1-0123abcd"


def create_production_table(client: Any, table_name: str, model_name: str | None = None) -> None:
    """The production pointer table as template.yaml declares it; with ``model_name``, a promoted model in it."""
    from transient_analytics.training.model_registry import ProductionPointer
    from transient_analytics.training.registry import ProductionModel

    props = load_template(ROOT / "template.yaml")["Resources"]["ProductionModelTable"]["Properties"]
    client.create_table(
        TableName=table_name,
        BillingMode=props["BillingMode"],
        AttributeDefinitions=props["AttributeDefinitions"],
        KeySchema=props["KeySchema"],
    )
    if model_name is not None:
        model = ProductionModel(
            revision=1,
            model_package_arn=f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:model-package/{STACK}-abalone/1",
            version=1,
            model_name=model_name,
            model_data_url=f"s3://{STACK}-databucket/models/abalone/dt=2026-11-20/run=r/job/output/model.tar.gz",
            promoted_at="2026-11-20T04:00:00Z",
            promoted_by="tests",
        )
        assert ProductionPointer(client, table_name).swap(model, None)
