"""What a Step Functions execution history says about a run that did not succeed.

The status-change event carries the final error and cause but not the state that failed,
nor the run's parameters; the history does. Pure: takes the history events as returned by
``GetExecutionHistory`` (oldest first).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from transient_analytics.runs.asl_contract import CLUSTER_ID_KEY, CLUSTER_KEY, PLAN_KEY

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
    #: The state where the run first went wrong (a task that failed or timed out, and was not then retried
    #: to success in the same state, as a throttled call is), else the last one entered.
    failed_state: str | None = None
    first_error: str | None = None
    first_cause: str | None = None
    #: The run plan ``PrepareRun`` returned, if it got that far.
    plan: dict[str, Any] | None = None
    #: The EMR cluster the run created, if any.
    cluster_id: str | None = None
    #: The parameters of every Task the run scheduled (one per attempt), by state name.
    scheduled: dict[str, list[dict[str, Any]]] = field(default_factory=dict)


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


@dataclass
class _Failure:
    state: str | None
    #: Which state entry (the count of states entered before it) the failure belongs to.
    entry: int
    error: str | None
    cause: str | None
    #: The same state entry then scheduled its task again (a Retry) and that attempt succeeded.
    recovered: bool = False


def facts_from_history(events: list[dict[str, Any]]) -> ExecutionFacts:
    entered: list[str] = []
    current: str | None = None
    failures: list[_Failure] = []
    retrying: list[_Failure] = []  # failures of the current state entry, once it scheduled its task again
    plan = None
    cluster_id = None
    scheduled: dict[str, list[dict[str, Any]]] = {}
    for event in events:
        etype = event.get("type", "")
        if etype == "TaskScheduled" and current:
            parameters = _json((event.get("taskScheduledEventDetails") or {}).get("parameters"))
            scheduled.setdefault(current, []).append(parameters if isinstance(parameters, dict) else {})
        if "stateEnteredEventDetails" in event:
            current = event["stateEnteredEventDetails"].get("name")
            retrying = []
            if current:
                entered.append(current)
        elif etype == "TaskScheduled" and failures and failures[-1].entry == len(entered):
            retrying = [f for f in failures if f.entry == len(entered) and not f.recovered]
        elif etype == "TaskSucceeded" and retrying:
            for failure in retrying:
                failure.recovered = True
            retrying = []
        if "stateExitedEventDetails" in event:
            details = event["stateExitedEventDetails"]
            output = _json(details.get("output"))
            if isinstance(output, dict):
                if plan is None and isinstance(output.get(PLAN_KEY), dict):
                    plan = output[PLAN_KEY]
                cluster = output.get(CLUSTER_KEY)
                if cluster_id is None and isinstance(cluster, dict) and cluster.get(CLUSTER_ID_KEY):
                    cluster_id = str(cluster[CLUSTER_ID_KEY])
        elif etype in ("TaskSubmitted", "TaskSucceeded"):
            key = "taskSubmittedEventDetails" if etype == "TaskSubmitted" else "taskSucceededEventDetails"
            output = _json((event.get(key) or {}).get("output"))
            if cluster_id is None and isinstance(output, dict) and output.get("ClusterId"):
                cluster_id = str(output["ClusterId"])
        details = _failure_details(event)
        if details is not None and etype not in _EXECUTION_END:
            failures.append(_Failure(current, len(entered), details.get("error"), details.get("cause")))
            retrying = []
    first = next((f for f in failures if not f.recovered), failures[0] if failures else None)
    return ExecutionFacts(
        states_entered=entered,
        failed_state=(first.state if first else None) or current,
        first_error=first.error if first else None,
        first_cause=first.cause if first else None,
        plan=plan,
        cluster_id=cluster_id,
        scheduled=scheduled,
    )
