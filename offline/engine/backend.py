"""The executions the harness started, found (and stopped) in moto's Step Functions backend."""

from __future__ import annotations

import datetime
import warnings
from collections.abc import Iterable

from moto.stepfunctions.parser.models import StepFunctionsParserBackend, stepfunctions_parser_backends

from offline.engine.executions import HarnessExecution, HarnessWorker


def _backend(account_id: str, region: str) -> StepFunctionsParserBackend:
    return stepfunctions_parser_backends[account_id][region]


def stop_running(account_id: str, region: str, grace_seconds: float = 2.0) -> None:
    """StopExecution on every execution still running; warn about one that does not unwind."""
    backend = _backend(account_id, region)
    every = harness_executions(e for machine in backend.state_machines for e in machine.executions)
    running = [e for e in every if e.status == "RUNNING"]
    for execution in running:
        execution.stop(stop_date=datetime.datetime.now(tz=datetime.UTC), error=None, cause=None)
    for execution in running:
        worker = execution.exec_worker
        if isinstance(worker, HarnessWorker) and not worker.finished.wait(grace_seconds):
            warnings.warn(
                f"{execution.exec_arn} is still running {grace_seconds} s after StopExecution: a runner "
                "ignores TaskContext.cancelled() or a test did not release it",
                RuntimeWarning,
                stacklevel=2,
            )


def executions_of(account_id: str, region: str, state_machine_arn: str) -> list[HarnessExecution]:
    backend = _backend(account_id, region)
    machine = backend.describe_state_machine(state_machine_arn)
    return harness_executions(machine.executions)


def execution(account_id: str, region: str, execution_arn: str) -> HarnessExecution:
    backend = _backend(account_id, region)
    execution: object = backend.describe_execution(execution_arn)
    if not isinstance(execution, HarnessExecution):
        raise TypeError(f"{execution_arn} was not started through the offline harness")
    return execution


def harness_executions(executions: Iterable[object]) -> list[HarnessExecution]:
    """The executions the harness started (moto's lists are typed with moto's other Execution class)."""
    return [e for e in executions if isinstance(e, HarnessExecution)]
