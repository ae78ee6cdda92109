"""What a Step Functions execution history says about a run that did not succeed.

The status-change event carries the final error and cause but not the state that failed,
nor the run's parameters; the history does. Pure: takes the history events as returned by
``GetExecutionHistory`` (oldest first).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

_DETAIL_KEYS = (
    "taskFailedEventDetails",
    "taskTimedOutEventDetails",
    "taskSubmitFailedEventDetails",
    "taskStartFailedEventDetails",
    "lambdaFunctionFailedEventDetails",
    "lambdaFunctionTimedOutEventDetails",
    "lambdaFunctionScheduleFailedEventDetails",
    "lambdaFunctionStartFailedEventDetails",
    "executionFailedEventDetails",
    "executionTimedOutEventDetails",
    "executionAbortedEventDetails",
)
_EXECUTION_END = {"ExecutionFailed", "ExecutionTimedOut", "ExecutionAborted", "ExecutionSucceeded"}


@dataclass(frozen=True)
class ExecutionFacts:
    states_entered: list[str] = field(default_factory=list)
    #: The state where the run first went wrong (a task that failed or timed out), else the last one entered.
    failed_state: str | None = None
    first_error: str | None = None
    first_cause: str | None = None
    #: The run plan ``PrepareRun`` returned, if it got that far.
    plan: dict[str, Any] | None = None
    #: The EMR cluster the run created, if any.
    cluster_id: str | None = None


def _json(text: str | None) -> Any:
    if not text:
        return None
    try:
        return json.loads(text)
    except (TypeError, ValueError):
        return None


def _failure_details(event: dict[str, Any]) -> dict[str, Any] | None:
    etype = event.get("type", "")
    if not (etype.endswith("Failed") or etype.endswith("TimedOut") or etype.endswith("Aborted")):
        return None
    for key in _DETAIL_KEYS:
        if key in event:
            return event[key] or {}
    return {}


def facts_from_history(events: list[dict[str, Any]]) -> ExecutionFacts:
    entered: list[str] = []
    current: str | None = None
    failed_state = first_error = first_cause = None
    plan = None
    cluster_id = None
    for event in events:
        etype = event.get("type", "")
        if "stateEnteredEventDetails" in event:
            current = event["stateEnteredEventDetails"].get("name")
            if current:
                entered.append(current)
        elif "stateExitedEventDetails" in event:
            details = event["stateExitedEventDetails"]
            output = _json(details.get("output"))
            if isinstance(output, dict):
                if plan is None and isinstance(output.get("plan"), dict):
                    plan = output["plan"]
                cluster = output.get("cluster")
                if cluster_id is None and isinstance(cluster, dict) and cluster.get("cluster_id"):
                    cluster_id = str(cluster["cluster_id"])
        elif etype in ("TaskSubmitted", "TaskSucceeded"):
            key = "taskSubmittedEventDetails" if etype == "TaskSubmitted" else "taskSucceededEventDetails"
            output = _json((event.get(key) or {}).get("output"))
            if cluster_id is None and isinstance(output, dict) and output.get("ClusterId"):
                cluster_id = str(output["ClusterId"])
        details = _failure_details(event)
        if details is not None and failed_state is None and etype not in _EXECUTION_END:
            failed_state = current
            first_error = details.get("error")
            first_cause = details.get("cause")
    return ExecutionFacts(
        states_entered=entered,
        failed_state=failed_state or current,
        first_error=first_error,
        first_cause=first_cause,
        plan=plan,
        cluster_id=cluster_id,
    )
