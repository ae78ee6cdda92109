"""Starting, waiting for, redriving and stopping executions: the part of :class:`~offline.harness.OfflineHarness`
that speaks to Step Functions (moto's API, and the engine's workers for a finished execution)."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

from offline.cfn.stack import Stack, StateMachineSpec
from offline.engine import HarnessWorker
from offline.engine import backend as in_moto
from offline.harness.results import FINAL_STATUSES, ExecutionDidNotFinish, ExecutionResult


class Executions:
    """Executions of the template's state machines (by logical id) and of ad-hoc ones; mixed into the harness."""

    sfn: Any
    stack: Stack
    region: str
    account_id: str
    execution_timeout: float
    state_machines: dict[str, StateMachineSpec]
    _extra_machines: dict[str, str]

    def state_machine_arn(self, logical_id: str) -> str:
        """The ARN of a template state machine (by logical id) or of one added with :meth:`add_state_machine`."""
        if logical_id in self.state_machines:
            return self.state_machines[logical_id].arn
        if logical_id in self._extra_machines:
            return self._extra_machines[logical_id]
        raise KeyError(f"no state machine {logical_id!r}; the template has {sorted(self.state_machines)}")

    def add_state_machine(self, name: str, definition: dict[str, Any]) -> str:
        """Create an ad-hoc STANDARD state machine, to exercise the interpreter itself; its ARN."""
        if name in self.state_machines or name in self._extra_machines:
            raise ValueError(f"state machine {name!r} already exists")
        role = f"arn:aws:iam::{self.account_id}:role/{self.stack.stack_name}-offline-extra"
        created = self.sfn.create_state_machine(name=name, definition=json.dumps(definition), roleArn=role)
        self._extra_machines[name] = str(created["stateMachineArn"])
        return self._extra_machines[name]

    def start_execution(
        self,
        logical_id: str,
        execution_input: dict[str, Any] | None = None,
        *,
        test_case: str | None = None,
        name: str | None = None,
    ) -> str:
        """Start an execution (on ``arn#test_case`` when given, as with Step Functions Local); its ARN."""
        arn = self.state_machine_arn(logical_id) + (f"#{test_case}" if test_case else "")
        kwargs: dict[str, Any] = {"stateMachineArn": arn, "input": json.dumps(execution_input or {})}
        if name:
            kwargs["name"] = name
        return str(self.sfn.start_execution(**kwargs)["executionArn"])

    def describe(self, execution_arn: str) -> dict[str, Any]:
        description = self.sfn.describe_execution(executionArn=execution_arn)
        description.pop("ResponseMetadata", None)
        return dict(description)

    def history(self, execution_arn: str) -> list[dict[str, Any]]:
        pages = self.sfn.get_paginator("get_execution_history").paginate(executionArn=execution_arn)
        return [event for page in pages for event in page["events"]]

    def wait(self, execution_arn: str, timeout: float | None = None) -> ExecutionResult:
        """Block until the execution reaches a final status; :class:`ExecutionDidNotFinish` after ``timeout``.

        Waits on the worker's completion (busy polling would steal the interpreter threads' time),
        then reads ``DescribeExecution`` and the history through the API.
        """
        limit = self.execution_timeout if timeout is None else timeout
        worker = in_moto.execution(self.account_id, self.region, execution_arn).exec_worker
        if not isinstance(worker, HarnessWorker) or not worker.finished.wait(limit):
            description = self.describe(execution_arn)
            entered = ExecutionResult(description=description, history=self.history(execution_arn))
            raise ExecutionDidNotFinish(
                f"{execution_arn} is still {description['status']} after {limit:.1f} s; "
                f"states entered: {entered.states_entered}"
            )
        description = self.describe(execution_arn)
        if description["status"] not in FINAL_STATUSES:  # pragma: no cover - the worker records it first
            raise ExecutionDidNotFinish(f"{execution_arn} ended without a final status ({description['status']})")
        return ExecutionResult(description=description, history=self.history(execution_arn))

    def wait_for_state(self, execution_arn: str, state: str, timeout: float | None = None) -> None:
        """Block until the execution has entered ``state`` (e.g. to act while it is RUNNING there)."""
        limit = self.execution_timeout if timeout is None else timeout
        deadline = time.monotonic() + limit
        while time.monotonic() <= deadline:
            if state in ExecutionResult(description={}, history=self.history(execution_arn)).states_entered:
                return
            time.sleep(0.02)
        raise ExecutionDidNotFinish(f"{execution_arn} did not enter {state} within {limit:.1f} s")

    def run(
        self,
        logical_id: str,
        execution_input: dict[str, Any] | None = None,
        *,
        test_case: str | None = None,
        name: str | None = None,
        timeout: float | None = None,
    ) -> ExecutionResult:
        """Start an execution and wait for its final status."""
        return self.wait(self.start_execution(logical_id, execution_input, test_case=test_case, name=name), timeout)

    def redrive(self, execution_arn: str, timeout: float | None = None) -> ExecutionResult:
        """``RedriveExecution`` (the harness's implementation), then wait for the final status."""
        self.sfn.redrive_execution(executionArn=execution_arn)
        return self.wait(execution_arn, timeout)

    def stop_execution(self, execution_arn: str) -> None:
        self.sfn.stop_execution(executionArn=execution_arn)

    def executions(self, logical_id: str) -> Iterator[str]:
        """ARNs of every execution of a state machine, oldest first."""
        for execution in in_moto.executions_of(self.account_id, self.region, self.state_machine_arn(logical_id)):
            yield execution.exec_arn
