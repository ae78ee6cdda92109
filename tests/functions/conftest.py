"""Handlers against moto: their environment from events/env.json, AWS from moto, clocks frozen."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

import boto3
import pytest
from moto import mock_aws

from functions.notify_failure import app as notify_app
from functions.prepare_run import app as prepare_app
from tests.support import load_event

NOW = datetime(2026, 11, 25, 20, 16, 5, tzinfo=UTC)
ENV = load_event("env")


def _clear_caches() -> None:
    for module in (prepare_app, notify_app):
        for name in ("settings", "executions", "clusters", "topic", "idempotency_store", "idempotency_config"):
            fn = getattr(module, name, None)
            if fn is not None and hasattr(fn, "cache_clear"):
                fn.cache_clear()


@pytest.fixture
def aws() -> Iterator[None]:
    with mock_aws():
        _clear_caches()
        yield
    _clear_caches()


@pytest.fixture
def prepare_run(aws: None, monkeypatch: pytest.MonkeyPatch) -> Any:
    for key, value in ENV["PrepareRunFunction"].items():
        monkeypatch.setenv(key, value)
    monkeypatch.setattr(prepare_app, "now", lambda: NOW)
    return prepare_app


@pytest.fixture
def state_machines(aws: None) -> dict[str, str]:
    """The two state machines, as moto knows them (executions stay RUNNING until stopped)."""
    sfn = boto3.client("stepfunctions")
    definition = json.dumps({"StartAt": "A", "States": {"A": {"Type": "Pass", "End": True}}})
    arns = {}
    for pipeline, name in (("emr", "emr-pipeline"), ("transform", "batch-transform")):
        arns[pipeline] = sfn.create_state_machine(
            name=f"transient-analytics-dev-{name}", definition=definition, roleArn="arn:aws:iam::123456789012:role/sfn"
        )["stateMachineArn"]
    return arns


@pytest.fixture
def notify_failure(aws: None, monkeypatch: pytest.MonkeyPatch) -> Any:
    env = ENV["NotifyFailureFunction"]
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    boto3.client("sns").create_topic(Name=env["TOPIC_ARN"].rsplit(":", 1)[-1])
    boto3.client("dynamodb").create_table(
        TableName=env["IDEMPOTENCY_TABLE"],
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    return notify_app


@pytest.fixture
def sns_inbox(notify_failure: Any) -> Callable[[], list[dict[str, str]]]:
    """Messages published to the notification topic, read back through an SQS subscription."""
    sqs = boto3.client("sqs")
    queue_url = sqs.create_queue(QueueName="inbox")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    boto3.client("sns").subscribe(
        TopicArn=ENV["NotifyFailureFunction"]["TOPIC_ARN"], Protocol="sqs", Endpoint=queue_arn
    )

    def read() -> list[dict[str, str]]:
        messages = []
        while True:
            batch = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10).get("Messages", [])
            if not batch:
                return messages
            for m in batch:
                body = json.loads(m["Body"])
                messages.append({"Subject": body.get("Subject", ""), "Message": body["Message"]})
                sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=m["ReceiptHandle"])

    return read
