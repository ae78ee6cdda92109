"""NotifyFailure: one SNS message per FAILED, TIMED_OUT or ABORTED run (``notify.notifying.notify``), once per event."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.utilities.typing import LambdaContext

from transient_analytics import wiring
from transient_analytics.models import FAILURE_STATUSES, ExecutionStatusChangeEvent, parse_event
from transient_analytics.notify.notifying import notify

logger, tracer = Logger(), Tracer()
settings, executions, clusters, now = wiring.notify_failure_settings, wiring.executions, wiring.clusters, wiring.utc_now
ledger, topic, idempotent = wiring.notify_failure_ledger, wiring.notify_failure_topic, wiring.idempotent_on_event_id
reports, meter = wiring.notify_failure_objects, wiring.meter
idempotency_store, idempotency_config = (
    wiring.notify_failure_idempotency_store,
    wiring.notify_failure_idempotency_config,
)


def _notify(event_id: str, change: ExecutionStatusChangeEvent, pipeline: Any) -> dict[str, Any]:
    emr = clusters() if pipeline == "emr" else None
    result = notify(change, pipeline, settings(), now(), (executions(), emr, ledger(), topic(), reports(), meter()))
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
    return idempotent(_notify)(event_id=change.id, change=change, pipeline=pipeline)
