"""PrepareRun: turn an execution's input into its run plan (names, dated paths, overlap guard).

Invoked by both state machines' first state. Thin: parse, read the clock and the running
executions, delegate to ``transient_analytics.plan.build_plan``, return the plan.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime
from functools import cache
from typing import Any

import boto3
from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.utilities.typing import LambdaContext

from transient_analytics.aws import Executions
from transient_analytics.models import PrepareRunEvent, parse_event
from transient_analytics.plan import build_plan
from transient_analytics.settings import PrepareRunSettings, load_settings

logger = Logger()
tracer = Tracer()


@cache
def settings() -> PrepareRunSettings:
    return load_settings(PrepareRunSettings, os.environ)


@cache
def executions() -> Executions:
    return Executions(boto3.client("stepfunctions"))


def now() -> datetime:
    return datetime.now(UTC)


@logger.inject_lambda_context(correlation_id_path="execution.id", clear_state=True)
@tracer.capture_lambda_handler
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    request = parse_event(event, PrepareRunEvent)
    running = executions().running(request.execution.state_machine_arn)
    plan = build_plan(request, settings(), now(), running)
    logger.append_keys(run_id=plan.run_id, pipeline=plan.pipeline)
    if plan.skip:
        logger.warning("Another execution is still running: this run is skipped", extra={"reason": plan.skip_reason})
    else:
        logger.info("Run planned", extra={"scheduled_time": plan.scheduled_time, "trigger": plan.trigger})
    return plan.model_dump(mode="json")
