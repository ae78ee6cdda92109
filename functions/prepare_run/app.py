"""PrepareRun: claim the due slots in the slot ledger and return the run's plan (``runs.planning.prepare_run``)."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.utilities.typing import LambdaContext

from transient_analytics import wiring
from transient_analytics.models import PrepareRunEvent, parse_event
from transient_analytics.runs.metrics import add_all, planning_metrics
from transient_analytics.runs.planning import prepare_run

logger, tracer, metrics = Logger(), Tracer(), Metrics()
settings, ports, now = wiring.prepare_run_settings, wiring.prepare_run_ports, wiring.utc_now


@metrics.log_metrics
@logger.inject_lambda_context(correlation_id_path="execution.id", clear_state=True)
@tracer.capture_lambda_handler
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    plan, stats = prepare_run(parse_event(event, PrepareRunEvent), settings(), now(), *ports())
    logger.append_keys(run_id=plan.run_id, pipeline=plan.pipeline)
    add_all(metrics, plan.pipeline, planning_metrics(plan, stats))
    logger.info(plan.reason, extra={"claimed": stats.claimed, "waiting": stats.waiting, "held": stats.held})
    return plan.model_dump(mode="json")
