"""Against a deployed stack: each pipeline on a tiny slot, and a forced failure's notification.

Needs ``AWS_SAM_STACK_NAME`` and credentials (skipped otherwise, see conftest.py); costs a
small EMR cluster for about 15 minutes, one ``ml.m5.large`` training job (the first model is
trained and promoted when production has none) and one ``ml.m5.large`` transform job. Paths follow layout.py (docs/architecture.md): a slot's landing input, its curated
output and ``_manifest.json``; the transform's ``output/dt=…/run=<run id>/<object>.out``.
"""

from __future__ import annotations

import json
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.integration.conftest import Stack

EMR_TIMEOUT = 45 * 60
TRANSFORM_TIMEOUT = 30 * 60
TRAIN_TIMEOUT = 45 * 60
NOTIFY_TIMEOUT = 5 * 60
ROWS = 200


def closed_slot(minutes: int, now: datetime) -> datetime:
    """The latest slot of ``minutes`` that has ended by ``now`` (UTC)."""
    start = now.replace(second=0, microsecond=0) - timedelta(minutes=now.minute % minutes if minutes < 60 else 0)
    if minutes >= 60 * 24:
        start = now.replace(hour=0, minute=0, second=0, microsecond=0)
    return start - timedelta(minutes=minutes)


def slot_id(slot: datetime) -> str:
    return slot.strftime("%Y-%m-%dT%H:%MZ")


def run(stack: Stack, output_key: str, name: str, execution_input: dict[str, Any], timeout: float) -> dict[str, Any]:
    sfn = stack.client("stepfunctions")
    arn = sfn.start_execution(stateMachineArn=stack.outputs[output_key], name=name, input=json.dumps(execution_input))[
        "executionArn"
    ]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        described = sfn.describe_execution(executionArn=arn)
        if described["status"] != "RUNNING":
            return described
        time.sleep(20)
    sfn.stop_execution(executionArn=arn, cause="integration test timed out")
    pytest.fail(f"{arn} still RUNNING after {timeout:.0f} s (stopped)")


def publish_inputs(stack: Stack, slot: datetime) -> None:
    from tools.publish import publish

    publish(stack.name, slot=slot, sample_rows=ROWS, session=stack.session)


def ledger_mentions(stack: Stack, slot: str) -> list[dict[str, Any]]:
    """Ledger items holding the slot id in any attribute (the suite does not assume the key schema)."""
    table = stack.client("dynamodb")
    items: list[dict[str, Any]] = []
    for page in table.get_paginator("scan").paginate(TableName=stack.outputs["SlotLedgerTableName"]):
        items += [i for i in page["Items"] if any(slot in json.dumps(v) for v in i.values())]
    return items


def test_the_emr_pipeline_converts_a_tiny_slot_and_terminates_its_cluster(stack: Stack):
    # GIVEN the job, its schema and ROWS landing rows for the latest closed 15-minute slot
    slot = closed_slot(15, datetime.now(UTC))
    publish_inputs(stack, slot)
    # WHEN the pipeline runs now
    name = f"it-emr-{uuid.uuid4().hex[:12]}"
    described = run(stack, "EmrPipelineStateMachineArn", name, {"trigger": "manual"}, EMR_TIMEOUT)
    # THEN it succeeds, the slot's manifest is written, with the rows the landing input had
    assert described["status"] == "SUCCEEDED", described.get("cause") or described
    s3 = stack.client("s3")
    bucket = stack.outputs["DataBucketName"]
    prefix = f"curated/characters/dt={slot:%Y-%m-%d}/hour={slot:%H}/minute={slot:%M}/"
    manifest = json.loads(s3.get_object(Bucket=bucket, Key=prefix + "_manifest.json")["Body"].read())
    assert (manifest["slot"], manifest["pipeline"]) == (slot_id(slot), "emr")
    assert manifest["rows_read"] == ROWS and manifest["rows_written"] + manifest["bad_rows"] == ROWS
    parquet = [o["Key"] for o in s3.list_objects_v2(Bucket=bucket, Prefix=prefix).get("Contents", [])]
    assert any(k.endswith(".parquet") for k in parquet), parquet
    # AND the cluster it started is TERMINATED
    from transient_analytics.tags import execution_tag_value

    emr = stack.client("emr")
    mine = []
    for page in emr.get_paginator("list_clusters").paginate(CreatedAfter=datetime.now(UTC) - timedelta(hours=2)):
        for summary in page["Clusters"]:
            tags = emr.describe_cluster(ClusterId=summary["Id"])["Cluster"].get("Tags", [])
            if {
                "Key": "transient-analytics:execution",
                "Value": execution_tag_value(described["executionArn"]),
            } in tags:
                mine.append(summary)
    assert [c["Status"]["State"] for c in mine] == ["TERMINATED"], mine
    # AND the ledger holds the slot
    assert ledger_mentions(stack, slot_id(slot)), f"no ledger item mentions {slot_id(slot)}"


def production_model(stack: Stack) -> dict[str, Any] | None:
    item = stack.client("dynamodb").get_item(
        TableName=stack.outputs["ProductionModelTableName"], Key={"model": {"S": "abalone"}}, ConsistentRead=True
    )
    return item.get("Item")


def test_the_training_state_machine_trains_registers_and_promotes_the_first_model(stack: Stack):
    # GIVEN the training code and data published (make publish)
    publish_inputs(stack, closed_slot(15, datetime.now(UTC)))
    if production_model(stack) is not None:
        pytest.skip("production already has a model: a new one would be gated against it (run by hand to see)")
    # WHEN the training state machine runs on ridge alone (the quickest candidate)
    name = f"it-train-{uuid.uuid4().hex[:12]}"
    described = run(
        stack, "TrainModelStateMachineArn", name, {"trigger": "manual", "candidates": ["ridge"]}, TRAIN_TIMEOUT
    )
    # THEN the first model is promoted: the pointer names a model whose package is Approved
    assert described["status"] == "SUCCEEDED", described.get("cause") or described
    item = production_model(stack)
    assert item is not None, "the run succeeded but production names no model"
    sagemaker = stack.client("sagemaker")
    package = sagemaker.describe_model_package(ModelPackageName=item["model_package_arn"]["S"])
    assert package["ModelApprovalStatus"] == "Approved"
    assert sagemaker.describe_model(ModelName=item["model_name"]["S"])["EnableNetworkIsolation"] is True


def test_the_batch_transform_scores_a_tiny_daily_slot(stack: Stack):
    if production_model(stack) is None:
        pytest.skip("no production model yet: the transform's slots wait (run the training state machine first)")
    # GIVEN the abalone batch for yesterday's daily slot
    slot = closed_slot(24 * 60, datetime.now(UTC))
    publish_inputs(stack, slot)
    # WHEN the transform pipeline runs
    name = f"it-transform-{uuid.uuid4().hex[:12]}"
    described = run(stack, "BatchTransformStateMachineArn", name, {"trigger": "manual"}, TRANSFORM_TIMEOUT)
    # THEN it succeeds and every output object has one scored line per input line
    assert described["status"] == "SUCCEEDED", described.get("cause") or described
    s3 = stack.client("s3")
    bucket = stack.outputs["DataBucketName"]
    outputs = [
        o["Key"]
        for page in s3.get_paginator("list_objects_v2").paginate(
            Bucket=bucket, Prefix=f"batch/abalone/output/dt={slot:%Y-%m-%d}/"
        )
        for o in page.get("Contents", [])
        if o["Key"].endswith(".out")
    ]
    assert outputs, "no .out object under the slot's output prefix"
    source = s3.get_object(Bucket=bucket, Key=f"batch/abalone/input/dt={slot:%Y-%m-%d}/abalone.csv")["Body"].read()
    scored = s3.get_object(Bucket=bucket, Key=sorted(outputs)[-1])["Body"].read()
    assert len(scored.splitlines()) == len(source.splitlines())
    assert ledger_mentions(stack, slot.strftime("%Y-%m-%dT00:00Z")), "no ledger item mentions the daily slot"


def test_a_failed_run_sends_one_notification_to_a_subscriber(stack: Stack):
    # GIVEN an SQS queue subscribed to the failure topic (created here, removed after)
    sqs, sns = stack.client("sqs"), stack.client("sns")
    topic = stack.outputs["NotificationTopicArn"]
    queue_url = sqs.create_queue(QueueName=f"ta-it-{uuid.uuid4().hex[:12]}")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    policy = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Service": "sns.amazonaws.com"},
                "Action": "sqs:SendMessage",
                "Resource": queue_arn,
                "Condition": {"ArnEquals": {"aws:SourceArn": topic}},
            }
        ],
    }
    sqs.set_queue_attributes(QueueUrl=queue_url, Attributes={"Policy": json.dumps(policy)})
    subscription = sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=queue_arn, ReturnSubscriptionArn=True)
    try:
        # WHEN a run fails at once (a scheduled time far in the future is refused by PrepareRun)
        name = f"it-fail-{uuid.uuid4().hex[:12]}"
        future = (datetime.now(UTC) + timedelta(days=2)).strftime("%Y-%m-%dT%H:%M:%SZ")
        described = run(stack, "BatchTransformStateMachineArn", name, {"scheduled_time": future}, 300)
        assert described["status"] == "FAILED"
        # THEN exactly one message about that execution arrives
        messages = []
        deadline = time.monotonic() + NOTIFY_TIMEOUT
        while time.monotonic() < deadline and not messages:
            for m in sqs.receive_message(QueueUrl=queue_url, WaitTimeSeconds=20).get("Messages", []):
                body = json.loads(m["Body"])
                if name in body.get("Message", "") or name in body.get("Subject", ""):
                    messages.append(body)
        assert len(messages) == 1, f"expected one notification naming {name}, got {len(messages)}"
        assert "FAILED" in messages[0]["Subject"]
    finally:
        sns.unsubscribe(SubscriptionArn=subscription["SubscriptionArn"])
        sqs.delete_queue(QueueUrl=queue_url)
