"""The "Step Functions Execution Status Change" EventBridge event, built from DescribeExecution.

No SAM/CLI generator exists for it; the shape follows the Step Functions developer guide: epoch
milliseconds, input/output as JSON strings, the execution ARN in ``resources``, redrive fields."""

from __future__ import annotations

import datetime
import uuid
from typing import Any

from transient_analytics.models import FAILURE_STATUSES

DETAIL_TYPE = "Step Functions Execution Status Change"


def _epoch_millis(value: Any) -> int | None:
    if value is None:
        return None
    if isinstance(value, datetime.datetime):
        moment = value if value.tzinfo else value.replace(tzinfo=datetime.UTC)
        return int(moment.timestamp() * 1000)
    return int(float(value) * 1000)


def _iso_seconds(value: Any) -> str:
    moment = value if isinstance(value, datetime.datetime) else datetime.datetime.now(tz=datetime.UTC)
    return moment.astimezone(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def execution_status_change_event(
    description: dict[str, Any],
    *,
    region: str,
    account_id: str,
    event_id: str | None = None,
) -> dict[str, Any]:
    """The event for an execution, from ``DescribeExecution``'s output (as boto3 returns it).

    ``event_id`` defaults to a fresh UUID; pass the same one to model EventBridge redelivering
    the same event (the notifier's idempotency key).
    """
    arn = description["executionArn"]
    stop_date = description.get("stopDate")
    output = description.get("output")
    status = description["status"]
    terminal = status in FAILURE_STATUSES
    return {
        "version": "0",
        "id": event_id or str(uuid.uuid4()),
        "detail-type": DETAIL_TYPE,
        "source": "aws.states",
        "account": account_id,
        "time": _iso_seconds(stop_date or description.get("startDate")),
        "region": region,
        "resources": [arn],
        "detail": {
            "executionArn": arn,
            "stateMachineArn": description["stateMachineArn"],
            "name": description["name"],
            "status": status,
            "startDate": _epoch_millis(description["startDate"]),
            "stopDate": _epoch_millis(stop_date),
            "input": description.get("input"),
            "output": output,
            "inputDetails": {"included": True},
            "outputDetails": {"included": True} if output is not None else None,
            "error": description.get("error"),
            "cause": description.get("cause"),
            "redriveCount": int(description.get("redriveCount", 0)),
            "redriveDate": _epoch_millis(description.get("redriveDate")),
            "redriveStatus": description.get("redriveStatus", "REDRIVABLE" if terminal else "NOT_REDRIVABLE"),
            "redriveStatusReason": description.get("redriveStatusReason", ""),
        },
    }
