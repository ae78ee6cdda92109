"""NotifyFailure: one readable SNS message for each execution that FAILED, TIMED_OUT or was ABORTED.

Subscribed to "Step Functions Execution Status Change" events of both state machines.
Thin: parse, skip what is not ours, read the execution's history, clean up a stopped EMR
run's cluster, render (``transient_analytics.notification``), publish. EventBridge delivers
at least once: the event id is the idempotency key (DynamoDB), so a redelivered event
publishes nothing twice.
"""

from __future__ import annotations

import os
from functools import cache
from typing import Any

import boto3
from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.utilities.idempotency import (
    DynamoDBPersistenceLayer,
    IdempotencyConfig,
    idempotent_function,
)
from aws_lambda_powertools.utilities.typing import LambdaContext

from transient_analytics.aws import Clusters, Executions, Topic
from transient_analytics.history import facts_from_history
from transient_analytics.models import FAILURE_STATUSES, ExecutionStatusChangeEvent, parse_event
from transient_analytics.notification import render
from transient_analytics.plan import TAG_EXECUTION
from transient_analytics.settings import NotifyFailureSettings, load_settings
from transient_analytics.tags import execution_tag_value

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
def topic() -> Topic:
    return Topic(boto3.client("sns"), settings().TOPIC_ARN)


@cache
def idempotency_store() -> DynamoDBPersistenceLayer:
    return DynamoDBPersistenceLayer(table_name=settings().IDEMPOTENCY_TABLE)


@cache
def idempotency_config() -> IdempotencyConfig:
    return IdempotencyConfig(expires_after_seconds=settings().IDEMPOTENCY_TTL_SECONDS)


@logger.inject_lambda_context(correlation_id_path="detail.executionArn", clear_state=True)
@tracer.capture_lambda_handler
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    change = parse_event(event, ExecutionStatusChangeEvent)
    cfg = settings()
    pipeline = cfg.pipeline_for(change.detail.stateMachineArn)
    if pipeline is None or change.detail.status not in FAILURE_STATUSES:
        logger.info("Not a failure of our state machines: nothing to do", extra={"status": change.detail.status})
        return {"published": False, "reason": "not ours"}
    config = idempotency_config()
    config.register_lambda_context(context)
    notify = idempotent_function(
        data_keyword_argument="event_id", persistence_store=idempotency_store(), config=config
    )(_notify)
    return notify(event_id=change.id, change=change, pipeline=pipeline)


def _notify(event_id: str, change: ExecutionStatusChangeEvent, pipeline: str) -> dict[str, Any]:
    cfg = settings()
    detail = change.detail
    facts = facts_from_history(executions().history(detail.executionArn))
    cleanup = None
    if pipeline == "emr" and cfg.CLEANUP_EMR_CLUSTERS:
        cleanup = clusters().terminate_tagged(TAG_EXECUTION, execution_tag_value(detail.executionArn))
        if cleanup.error:
            logger.error("Cluster cleanup failed", extra={"error": cleanup.error})
        elif cleanup.terminated:
            logger.warning("Terminated clusters left running", extra={"clusters": list(cleanup.terminated)})
    note = render(detail, pipeline, facts, cleanup, change.region, cfg.CAUSE_MAX_CHARS)
    message_id = topic().publish(note)
    logger.info("Failure notification published", extra={"message_id": message_id, "subject": note.subject})
    return {
        "published": True,
        "message_id": message_id,
        "subject": note.subject,
        "failed_state": facts.failed_state,
        "cleanup": {"terminated": list(cleanup.terminated), "error": cleanup.error} if cleanup else None,
    }
