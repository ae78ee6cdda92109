"""RecordSlots: after the work, record each claimed slot done, failed, quarantined or released.

Invoked by both state machines on every path after the cluster is terminated (or the transform
jobs ended). Thin: parse, delegate to ``transient_analytics.recording.record``, emit the run's
metrics, tell someone about newly quarantined slots, announce converted slots, return a summary
the state machine routes on.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime
from functools import cache
from typing import Any

import boto3
from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.utilities.typing import LambdaContext

from transient_analytics.aws import CompletionEvents, Objects, Topic
from transient_analytics.completion import put_events_batches
from transient_analytics.ledger_store import SlotLedger
from transient_analytics.models import RecordSlotsEvent, parse_event
from transient_analytics.notification import quarantine_notification
from transient_analytics.recording import record
from transient_analytics.run_metrics import add_all, recording_metrics
from transient_analytics.settings import RecordSlotsSettings, load_settings

logger = Logger()
tracer = Tracer()
metrics = Metrics()


@cache
def settings() -> RecordSlotsSettings:
    return load_settings(RecordSlotsSettings, os.environ)


@cache
def ports() -> tuple[SlotLedger, Objects, Topic, CompletionEvents]:
    s = settings()
    return (
        SlotLedger(boto3.client("dynamodb"), s.LEDGER_TABLE),
        Objects(boto3.client("s3")),
        Topic(boto3.client("sns"), s.TOPIC_ARN),
        CompletionEvents(boto3.client("events")),
    )


def now() -> datetime:
    return datetime.now(UTC)


@metrics.log_metrics
@logger.inject_lambda_context(correlation_id_path="execution.id", clear_state=True)
@tracer.capture_lambda_handler
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    request = parse_event(event, RecordSlotsEvent)
    s, (store, objects, topic, events) = settings(), ports()
    result = record(request, s, now(), store, objects)
    add_all(metrics, request.pipeline, recording_metrics(request, result))
    if result.quarantined:
        logger.warning("Slots quarantined", extra={"slots": [r.slot for r in result.quarantined]})
        arn = request.execution.state_machine_arn
        topic.publish(
            quarantine_notification(s.NAME_PREFIX, request.pipeline, arn, result.quarantined, s.MAX_SLOT_ATTEMPTS)
        )
    events.announce(put_events_batches(s.NAME_PREFIX, result.announced))
    summary = result.summary()
    logger.info(summary["summary"], extra={"outcome": request.outcome, "run_id": request.plan.run_id})
    return summary
