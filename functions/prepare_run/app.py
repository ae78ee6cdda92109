"""PrepareRun: find the slots with work, claim the oldest in the slot ledger, return the run's plan.

Invoked by both state machines' first state. Thin: parse, read the clock, delegate to
``transient_analytics.planning.prepare_run`` (S3 listing and DynamoDB ledger behind ports),
emit the run's metrics, return the plan (``work: false`` when there is nothing to do).
"""

from __future__ import annotations

import os
from datetime import UTC, datetime
from functools import cache
from typing import Any

import boto3
from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.utilities.typing import LambdaContext

from transient_analytics.aws import Objects
from transient_analytics.ledger_store import SlotLedger
from transient_analytics.models import PrepareRunEvent, parse_event
from transient_analytics.planning import prepare_run
from transient_analytics.run_metrics import add_all, planning_metrics
from transient_analytics.settings import PrepareRunSettings, load_settings

logger = Logger()
tracer = Tracer()
metrics = Metrics()


@cache
def settings() -> PrepareRunSettings:
    return load_settings(PrepareRunSettings, os.environ)


@cache
def ports() -> tuple[Objects, SlotLedger]:
    return Objects(boto3.client("s3")), SlotLedger(boto3.client("dynamodb"), settings().LEDGER_TABLE)


def now() -> datetime:
    return datetime.now(UTC)


@metrics.log_metrics
@logger.inject_lambda_context(correlation_id_path="execution.id", clear_state=True)
@tracer.capture_lambda_handler
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    request = parse_event(event, PrepareRunEvent)
    plan, stats = prepare_run(request, settings(), now(), *ports())
    logger.append_keys(run_id=plan.run_id, pipeline=plan.pipeline)
    add_all(metrics, plan.pipeline, planning_metrics(plan, stats))
    logger.info(plan.reason, extra={"claimed": stats.claimed, "waiting": stats.waiting, "held": stats.held})
    return plan.model_dump(mode="json")
