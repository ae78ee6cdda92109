"""The extension point for service integrations moto cannot run: resource ARN → runner (``offline/README.md``).

A runner gets the Task's resolved ``Parameters`` and a :class:`TaskContext` and returns the task's
result; :class:`TaskFailure` fails the task with that error and cause, as on AWS; any other
exception is a runner bug (``States.Runtime``, the traceback as cause).
"""

from __future__ import annotations

from collections.abc import Callable
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
    #: ``$$.State.RetryCount`` and ``$$.Execution.RedriveCount``.
    retry_count: int
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
    def __call__(self, parameters: dict[str, Any], context: TaskContext, /) -> Any: ...


class RunnerRegistry(dict[str, Runner]):
    """Resource ARN → runner (a dict: its single-key reads and writes are atomic across moto's threads)."""

    def register(self, resource_arn: str, runner: Runner) -> None:
        """Run ``runner`` for every Task whose ``Resource`` is ``resource_arn`` (replaces any earlier one)."""
        if not resource_arn.startswith("arn:"):
            raise ValueError(f"resource_arn must be a resource ARN, got {resource_arn!r}")
        self[resource_arn] = runner
