"""RegisterCandidate: register the trained model as a package and apply the gate (``training.registration``)."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.utilities.typing import LambdaContext

from transient_analytics import wiring
from transient_analytics.models import parse_event
from transient_analytics.training.registration import RegisterModelEvent, register_candidate

logger, tracer = Logger(), Tracer()
ports = wiring.register_model_ports


@logger.inject_lambda_context(correlation_id_path="execution.id", clear_state=True)
@tracer.capture_lambda_handler
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    registration = register_candidate(parse_event(event, RegisterModelEvent), *ports())
    candidate = registration.candidate
    logger.append_keys(model_package=candidate.model_package_arn, version=candidate.version)
    logger.info(registration.reason, extra={"approve": registration.approve, "rmse": candidate.rmse})
    return registration.model_dump(mode="json")
