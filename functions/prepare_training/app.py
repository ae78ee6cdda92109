"""PrepareTraining: plan a training run, or read back a package a person approves (``training.planning``)."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.utilities.typing import LambdaContext

from transient_analytics import wiring
from transient_analytics.models import parse_event
from transient_analytics.training.plan import PrepareTrainingEvent
from transient_analytics.training.planning import prepare_training

logger, tracer = Logger(), Tracer()
settings, ports, now = wiring.prepare_training_settings, wiring.prepare_training_ports, wiring.utc_now


@logger.inject_lambda_context(correlation_id_path="execution.id", clear_state=True)
@tracer.capture_lambda_handler
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    plan, registration = prepare_training(parse_event(event, PrepareTrainingEvent), settings(), now(), ports())
    logger.append_keys(run_id=plan.run_id, mode=plan.mode)
    logger.info(plan.reason)
    return {
        "plan": plan.model_dump(mode="json"),
        "registration": registration.model_dump(mode="json") if registration else None,
    }
