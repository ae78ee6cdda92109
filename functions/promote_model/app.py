"""ClaimProduction: swap the production pointer to the candidate under the race rule (``training.promotion``)."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.utilities.typing import LambdaContext

from transient_analytics import wiring
from transient_analytics.models import parse_event
from transient_analytics.training.promotion import PromoteModelEvent, claim_production

logger, tracer = Logger(), Tracer()
settings, pointer, now = wiring.promote_model_settings, wiring.production_pointer, wiring.utc_now


@logger.inject_lambda_context(correlation_id_path="execution.id", clear_state=True)
@tracer.capture_lambda_handler
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    promotion = claim_production(parse_event(event, PromoteModelEvent), now(), pointer(settings().PRODUCTION_TABLE))
    logger.append_keys(outcome=promotion.outcome)
    logger.info(promotion.reason, extra={"promoted": promotion.promoted})
    return promotion.model_dump(mode="json")
