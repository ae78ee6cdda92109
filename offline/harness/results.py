"""What the harness hands back about an execution: its description and history, with readers; its errors."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from offline.history import StateVisit, state_visits
from transient_analytics.models import FAILURE_STATUSES

FINAL_STATUSES = FAILURE_STATUSES | {"SUCCEEDED"}


class ExecutionDidNotFinish(AssertionError):
    """An execution was still RUNNING when the harness stopped waiting for it."""


class FunctionError(RuntimeError):
    """A handler invoked through :meth:`OfflineHarness.invoke_function` raised (Lambda's error payload attached)."""

    def __init__(self, payload: dict[str, Any]) -> None:
        super().__init__(f"{payload.get('errorType')}: {payload.get('errorMessage')}")
        self.payload = payload


@dataclass(frozen=True)
class ScheduledTask:
    """A TaskScheduled event: the state that scheduled it and the parameters it sent."""

    state: str
    resource_type: str
    resource: str
    parameters: dict[str, Any]
    timeout_seconds: int | None


@dataclass(frozen=True)
class PublishedMessage:
    topic_arn: str
    subject: str
    message: str


@dataclass(frozen=True)
class ExecutionResult:
    """A finished execution: ``DescribeExecution`` and ``GetExecutionHistory``, with readers."""

    description: dict[str, Any]
    history: list[dict[str, Any]]

    @property
    def arn(self) -> str:
        return str(self.description["executionArn"])

    @property
    def name(self) -> str:
        return str(self.description["name"])

    @property
    def status(self) -> str:
        return str(self.description["status"])

    @property
    def error(self) -> str | None:
        return self.description.get("error")

    @property
    def cause(self) -> str | None:
        return self.description.get("cause")

    @property
    def cause_json(self) -> Any:
        """The cause parsed as JSON (Lambda, EMR and SageMaker causes are JSON documents), else None."""
        try:
            return json.loads(self.cause) if self.cause else None
        except json.JSONDecodeError:
            return None

    @property
    def output(self) -> Any:
        text = self.description.get("output")
        return json.loads(text) if text is not None else None

    @property
    def states_entered(self) -> list[str]:
        """Names of the states entered, in order (a state entered twice appears twice)."""
        return [visit.name for visit in self.visits]

    @property
    def visits(self) -> list[StateVisit]:
        return state_visits(self.history)

    @property
    def scheduled_tasks(self) -> list[ScheduledTask]:
        """Every TaskScheduled event (one per attempt), with the state that scheduled it.

        The state is found by following ``previousEventId`` back to the TaskStateEntered event
        (or the retry's previous attempt) it descends from, so a task inside a Map or Parallel
        state, whose iterations interleave in the history, is credited to its own state.
        """
        by_id = {e.get("id"): e for e in self.history}
        tasks = []
        for event in self.history:
            if event["type"] != "TaskScheduled":
                continue
            state = "?"
            cursor: dict[str, Any] | None = event
            while cursor is not None:
                if "stateEnteredEventDetails" in cursor:
                    state = cursor["stateEnteredEventDetails"]["name"]
                    break
                cursor = by_id.get(cursor.get("previousEventId"))
            details = event["taskScheduledEventDetails"]
            tasks.append(
                ScheduledTask(
                    state=state,
                    resource_type=details["resourceType"],
                    resource=details["resource"],
                    parameters=json.loads(details["parameters"]),
                    timeout_seconds=details.get("timeoutInSeconds"),
                )
            )
        return tasks

    def tasks(self, state: str) -> list[ScheduledTask]:
        """The TaskScheduled events of one state (one per attempt)."""
        return [t for t in self.scheduled_tasks if t.state == state]

    def events(self, *types: str) -> list[dict[str, Any]]:
        return [e for e in self.history if e["type"] in types]
