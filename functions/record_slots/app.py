"""RecordSlots: each claimed slot recorded done, failed, quarantined or released (``runs.recording.record``);
the run's estimated cost (``runs.costing.estimate``), metrics, the notices the slots owe (``ledger.notices.deliver``),
a "Slot Converted" event per converted slot. Safe to retry: Step Functions does on NotificationNotSent."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.utilities.typing import LambdaContext

from transient_analytics import wiring
from transient_analytics.ledger.notices import deliver, require_delivered
from transient_analytics.models import RecordSlotsEvent, parse_event
from transient_analytics.notify.slot_notices import notice_renderer
from transient_analytics.runs.completion import put_events_batches
from transient_analytics.runs.costing import estimate, priced
from transient_analytics.runs.metrics import add_all, recording_metrics
from transient_analytics.runs.recording import record

logger, tracer, metrics = Logger(), Tracer(), Metrics()
settings, ports, now = wiring.record_slots_settings, wiring.record_slots_ports, wiring.utc_now
prices, meter = wiring.record_slots_prices, wiring.meter


@metrics.log_metrics
@logger.inject_lambda_context(correlation_id_path="execution.id", clear_state=True)
@tracer.capture_lambda_handler
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    request, s, (store, objects, topic, events) = parse_event(event, RecordSlotsEvent), settings(), ports()
    result = record(request, s, now(), store, objects)
    cost, why = estimate(request, s, prices(), meter())
    add_all(metrics, request.pipeline, recording_metrics(request, result, cost))
    render = notice_renderer(s, request.pipeline, request.execution.state_machine_arn)
    notices = deliver(result.records.values(), render, store, topic, now())
    events.announce(put_events_batches(s.NAME_PREFIX, priced(result.announced, cost)))
    summary = result.summary()
    logger.info(summary["summary"], extra={"cost_usd": str(cost.total) if cost else why, "notices": notices.sent})
    require_delivered(notices)
    return summary
