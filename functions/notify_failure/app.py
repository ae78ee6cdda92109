"""NotifyFailure: one readable SNS message for each execution that FAILED, TIMED_OUT or was ABORTED.

Subscribed to "Step Functions Execution Status Change" events of both state machines. Thin:
parse, skip what is not ours, then ``transient_analytics.notifying.notify`` (history, cluster
cleanup, slots given back to the ledger, render, publish). EventBridge delivers at least once:
the event id is the idempotency key (DynamoDB), so a redelivered event publishes nothing twice.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from datetime import UTC, datetime
from functools import cache
from typing import Any

import boto3
from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.utilities.idempotency import DynamoDBPersistenceLayer, IdempotencyConfig, idempotent_function
from aws_lambda_powertools.utilities.typing import LambdaContext

from transient_analytics.aws import Clusters, Executions, Topic
from transient_analytics.ledger_store import SlotLedger
from transient_analytics.models import FAILURE_STATUSES, ExecutionStatusChangeEvent, parse_event
from transient_analytics.notifying import notify
from transient_analytics.settings import NotifyFailureSettings, load_settings

logger = Logger()
tracer = Tracer()


@cache
def settings() -> NotifyFailureSettings:
    return load_settings(NotifyFailureSettings, os.environ)


@cache
def executions() -> Executions:
    return Executions(boto3.client("stepfunctions"))


@cache
def clusters() -> Clusters:
    return Clusters(boto3.client("emr"))


@cache
def ledger() -> SlotLedger:
    return SlotLedger(boto3.client("dynamodb"), settings().LEDGER_TABLE)


@cache
def topic() -> Topic:
    return Topic(boto3.client("sns"), settings().TOPIC_ARN)


@cache
def idempotency_store() -> DynamoDBPersistenceLayer:
    return DynamoDBPersistenceLayer(table_name=settings().IDEMPOTENCY_TABLE)


@cache
def idempotency_config() -> IdempotencyConfig:
    return IdempotencyConfig(expires_after_seconds=settings().IDEMPOTENCY_TTL_SECONDS)


@cache
def notify_once() -> Callable[..., dict[str, Any]]:
    """The idempotent ``_notify``, built once per execution environment (the context is set per call)."""
    wrap = idempotent_function(
        data_keyword_argument="event_id", persistence_store=idempotency_store(), config=idempotency_config()
    )
    wrapped: Callable[..., dict[str, Any]] = wrap(_notify)
    return wrapped


def now() -> datetime:
    return datetime.now(UTC)


def _notify(event_id: str, change: ExecutionStatusChangeEvent, pipeline: Any) -> dict[str, Any]:
    emr = clusters() if pipeline == "emr" else None
    result = notify(change, pipeline, settings(), now(), (executions(), emr, ledger(), topic()))
    logger.info("Failure notification published", extra={k: result[k] for k in ("subject", "cleanup", "released")})
    return result


@logger.inject_lambda_context(correlation_id_path="detail.executionArn", clear_state=True)
@tracer.capture_lambda_handler
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    change = parse_event(event, ExecutionStatusChangeEvent)
    pipeline = settings().pipeline_for(change.detail.stateMachineArn)
    if pipeline is None or change.detail.status not in FAILURE_STATUSES:
        logger.info("Not a failure of our state machines: nothing to do", extra={"status": change.detail.status})
        return {"published": False, "reason": "not ours"}
    idempotency_config().register_lambda_context(context)
    return notify_once()(event_id=change.id, change=change, pipeline=pipeline)
