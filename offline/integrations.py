"""The extension point for service integrations moto cannot run: resource ARN → Python callable.

A *runner* does, in-process, the work a Task's resource stands for, e.g. ::

    def add_step(parameters: dict[str, Any], context: TaskContext) -> dict[str, Any]:
        context.submit({"StepId": "s-LOCAL1"})          # optional: the TaskSubmitted event
        ...                                            # run spark-submit on local Spark
        if failed:
            raise TaskFailure("States.TaskFailed", json.dumps({"Step": {...}}))
        return {"StepId": "s-LOCAL1"}

    harness.runners.register("arn:aws:states:::elasticmapreduce:addStep.sync", add_step)

``parameters`` are the Task's resolved ``Parameters`` (exactly what the TaskScheduled event
records); the returned value is the task's result, which ``ResultSelector``/``ResultPath``
then shape. :class:`TaskFailure` reaches the state machine as a task failure with that error
and cause, so ``Retry`` and ``Catch`` see it as they would on AWS (``States.TaskFailed`` for
a failed EMR step or SageMaker job, ``EMR.AmazonElasticMapReduceException`` for an API
error, ``States.Timeout`` for a time-out). Any other exception is a bug in the runner: the
task fails with ``States.Runtime`` (which, as on AWS, no ``States.ALL`` catches) and a cause
holding the traceback.

Precedence, per Task state: a mocked response of the execution's test case
(``stateMachineArn#TestCase``), then the runner registered for the resource ARN, else the
task fails with ``States.Runtime`` naming the state and the resource.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, Protocol


class TaskFailure(Exception):
    """Raised by a runner: the task fails with this ``error`` and ``cause``, as on AWS."""

    def __init__(self, error: str, cause: str = "") -> None:
        super().__init__(f"{error}: {cause}" if cause else error)
        self.error = error
        self.cause = cause


@dataclass
class TaskContext:
    """What a runner may know about the task it runs (mirrors the ``$$`` context object)."""

    state_name: str
    #: The Task's ``Resource``, e.g. ``arn:aws:states:::elasticmapreduce:addStep.sync``.
    resource: str
    execution_arn: str
    execution_name: str
    state_machine_arn: str
    #: ``$$.State.RetryCount``: 0 on the first attempt.
    retry_count: int
    #: ``$$.Execution.RedriveCount``: 0 until the execution is redriven.
    redrive_count: int
    #: The test case the execution was started with (``arn#TestCase``), if any.
    test_case: str | None
    region: str
    account_id: str
    #: A copy of the whole ``$$`` context object as the interpreter holds it for this task.
    context_object: dict[str, Any] = field(default_factory=dict)
    _submit: Callable[[Any], None] = field(repr=False, default=lambda output: None)
    _is_running: Callable[[], bool] = field(repr=False, default=lambda: True)

    def submit(self, output: Any) -> None:
        """Record the ``TaskSubmitted`` event a ``.sync`` task emits once its job is accepted."""
        self._submit(output)

    def cancelled(self) -> bool:
        """True once the execution was stopped (or timed out): a long runner should give up."""
        return not self._is_running()


class Runner(Protocol):
    def __call__(self, parameters: dict[str, Any], context: TaskContext) -> Any: ...


class RunnerRegistry:
    """Resource ARN → runner. Thread-safe: executions run on moto's worker threads."""

    def __init__(self) -> None:
        self._runners: dict[str, Runner] = {}
        self._lock = threading.Lock()

    def register(self, resource_arn: str, runner: Runner) -> None:
        """Run ``runner`` for every Task whose ``Resource`` is ``resource_arn`` (replaces any earlier one)."""
        if not resource_arn.startswith("arn:"):
            raise ValueError(f"resource_arn must be a resource ARN, got {resource_arn!r}")
        with self._lock:
            self._runners[resource_arn] = runner

    def unregister(self, resource_arn: str) -> None:
        with self._lock:
            self._runners.pop(resource_arn, None)

    def clear(self) -> None:
        with self._lock:
            self._runners.clear()

    def get(self, resource_arn: str) -> Runner | None:
        with self._lock:
            return self._runners.get(resource_arn)

    def __contains__(self, resource_arn: object) -> bool:
        with self._lock:
            return resource_arn in self._runners

    def __iter__(self) -> Iterator[str]:
        with self._lock:
            return iter(sorted(self._runners))
