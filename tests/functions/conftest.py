"""Handlers against moto: their environment from events/env.json, AWS from moto, clocks frozen."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from moto import mock_aws

from functions.notify_failure import app as notify_app
from functions.prepare_run import app as prepare_app
from functions.record_slots import app as record_app
from tests.support import PRODUCTION_MODEL, create_ledger_table, create_production_table, load_event
from transient_analytics import wiring

NOW = datetime(2026, 11, 25, 20, 16, 5, tzinfo=UTC)
ENV = load_event("env")


def _clear_caches() -> None:
    wiring.idempotent_on_event_id.cache_clear()
    wiring.notify_failure_idempotency_store.cache_clear()
    for module in (prepare_app, record_app, notify_app):
        for name in (
            "settings",
            "ports",
            "executions",
            "clusters",
            "topic",
            "ledger",
            "idempotency_store",
            "idempotency_config",
            "notify_once",
        ):
            fn = getattr(module, name, None)
            if fn is not None and hasattr(fn, "cache_clear"):
                fn.cache_clear()


@pytest.fixture
def aws() -> Iterator[None]:
    with mock_aws():
        _clear_caches()
        yield
    _clear_caches()


@dataclass
class Clock:
    """The handlers' clock, moved by the tests (a run at 20:16:05 sees the 20:00 slot closed, not the 20:15 one)."""

    now: datetime = NOW

    def advance(self, **delta: float) -> datetime:
        self.now += timedelta(**delta)
        return self.now


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    c = Clock()
    monkeypatch.setattr(prepare_app, "now", lambda: c.now)
    monkeypatch.setattr(record_app, "now", lambda: c.now)
    return c


@pytest.fixture
def ledger_stack(aws: None) -> dict[str, str]:
    """The data bucket, the slot ledger table (as template.yaml declares it), the notification topic and a
    production model in the pointer (the transform scores with it)."""
    env = {**ENV["PrepareRunFunction"], **ENV["RecordSlotsFunction"]}
    boto3.client("s3").create_bucket(Bucket=env["DATA_BUCKET"])
    create_ledger_table(boto3.client("dynamodb"), env["LEDGER_TABLE"])
    create_production_table(boto3.client("dynamodb"), env["PRODUCTION_TABLE"], model_name=PRODUCTION_MODEL)
    boto3.client("sns").create_topic(Name=env["TOPIC_ARN"].rsplit(":", 1)[-1])
    return env


@pytest.fixture
def prepare_run(ledger_stack: dict[str, str], clock: Clock, monkeypatch: pytest.MonkeyPatch) -> Any:
    for key, value in ENV["PrepareRunFunction"].items():
        monkeypatch.setenv(key, value)
    return prepare_app


@pytest.fixture
def record_slots(ledger_stack: dict[str, str], clock: Clock, monkeypatch: pytest.MonkeyPatch) -> Any:
    for key, value in ENV["RecordSlotsFunction"].items():
        monkeypatch.setenv(key, value)
    return record_app


@pytest.fixture
def notify_failure(ledger_stack: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> Any:
    env = ENV["NotifyFailureFunction"]
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    boto3.client("dynamodb").create_table(
        TableName=env["IDEMPOTENCY_TABLE"],
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    return notify_app


@pytest.fixture
def sns_inbox(aws: None) -> Callable[[], list[dict[str, str]]]:
    """Messages published to the notification topic, read back through an SQS subscription."""
    boto3.client("sns").create_topic(Name=ENV["NotifyFailureFunction"]["TOPIC_ARN"].rsplit(":", 1)[-1])
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
