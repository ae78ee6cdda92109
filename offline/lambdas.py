"""The project's Lambda handlers run in-process as the Lambda Python runtime runs them (``offline/README.md``).

Each invocation sees its function's template environment (other functions' variables removed,
the runtime's own added) and a :class:`LambdaContext`; an exception is an ``Unhandled`` function
error with Lambda's payload. One handler at a time per process: ``os.environ`` is process-wide."""

from __future__ import annotations

import contextlib
import importlib
import json
import os
import sys
import threading
import time
import traceback
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any
from unittest import mock

from offline.cfn.stack import FunctionSpec

_INVOKE_LOCK = threading.RLock()


@dataclass
class LambdaContext:
    """The attributes and method of the Lambda context object that handlers and Powertools read."""

    function_name: str
    invoked_function_arn: str
    memory_limit_in_mb: int
    log_group_name: str
    timeout_seconds: int
    function_version: str = "$LATEST"
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    log_stream_name: str = field(default_factory=lambda: f"{time.strftime('%Y/%m/%d')}/[$LATEST]offline")
    _deadline: float = field(default=0.0, repr=False)

    def __post_init__(self) -> None:
        self._deadline = time.monotonic() + self.timeout_seconds

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


class LambdaServiceError(Exception):
    """Lambda's own service answered an error (``Lambda.<code>`` in Step Functions), not the function."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message


@dataclass
class LambdaFault:
    """A fault around a function's next ``times`` invocations (a test and soak instrument).

    ``error`` starting with ``Lambda.`` is a service error Step Functions sees as ``Lambda.<code>``
    (e.g. ``Lambda.ServiceException``); anything else is a function error of that type (e.g.
    ``Sandbox.Timedout``, what a function that ran out of time reports). With ``after_handler`` the
    handler ran first, its side effects done: the answer was lost, not the work.
    """

    function: str
    error: str = "Lambda.ServiceException"
    times: int = 1
    after_handler: bool = True
    #: Invocations this fault has hit so far.
    hits: int = 0

    def outcome(self, request_id: str) -> dict[str, Any]:
        """The error payload of a function error (a ``Lambda.*`` service error raises instead)."""
        if self.error.startswith("Lambda."):
            raise LambdaServiceError(self.error.removeprefix("Lambda."), f"injected by the offline twin ({self.hits})")
        message = "Task timed out after 60.00 seconds" if self.error == "Sandbox.Timedout" else "injected"
        return {"errorMessage": message, "errorType": self.error, "requestId": request_id, "stackTrace": []}


@dataclass(frozen=True)
class Invocation:
    """One handler call, as the harness saw it (for assertions)."""

    function: str
    event: Any
    result: Any
    error_type: str | None
    duration_seconds: float


class InProcessLambdas:
    """Runs the template's functions' handlers in this process."""

    def __init__(self, root: Path, functions: dict[str, FunctionSpec], region: str):
        self._root = root
        self._functions = functions
        self._by_name = {spec.name: spec for spec in functions.values()}
        self._region = region
        self._declared = {key for spec in functions.values() for key in spec.environment}
        self.invocations: list[Invocation] = []
        #: Faults applied to the next invocations of their function (:meth:`inject`), in order.
        self.faults: list[LambdaFault] = []
        for spec in functions.values():
            for path in (root, *(root / p for p in spec.layer_paths)):
                if str(path) not in sys.path:
                    sys.path.insert(0, str(path))

    def spec(self, name_or_logical_id: str) -> FunctionSpec:
        """The function with this physical name, ARN or logical id."""
        key = name_or_logical_id.rsplit(":", 1)[-1] if name_or_logical_id.startswith("arn:") else name_or_logical_id
        if key in self._by_name:
            return self._by_name[key]
        if key in self._functions:
            return self._functions[key]
        raise KeyError(f"no function {name_or_logical_id!r} in the template; it has {sorted(self._functions)}")

    def module(self, name_or_logical_id: str) -> ModuleType:
        """The function's handler module, imported (first time) as a cold start would: in its environment."""
        spec = self.spec(name_or_logical_id)
        if spec.module in sys.modules:
            return sys.modules[spec.module]
        with self._environment_of(spec):
            return importlib.import_module(spec.module)

    def clear_caches(self) -> None:
        """Empty the ``functools.cache`` of every cached builder a handler module names (its own or the layer's)."""
        for spec in self._functions.values():
            module = sys.modules.get(spec.module)
            if module is None:
                continue
            for value in vars(module).values():
                clear: Callable[[], None] | None = getattr(value, "cache_clear", None)
                owner = str(getattr(value, "__module__", ""))
                if clear is not None and (owner == module.__name__ or owner.startswith("transient_analytics.")):
                    clear()

    def environment(self, spec: FunctionSpec) -> dict[str, str]:
        """The variables the function sees: the template's, then the runtime's own."""
        env = dict(spec.environment)
        env.update(
            {
                "AWS_REGION": self._region,
                "AWS_DEFAULT_REGION": self._region,
                "AWS_LAMBDA_FUNCTION_NAME": spec.name,
                "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
                "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(spec.memory_mb),
                "AWS_LAMBDA_LOG_GROUP_NAME": spec.log_group,
                "AWS_EXECUTION_ENV": f"AWS_Lambda_{spec.runtime}",
                "_HANDLER": f"{Path(spec.module.replace('.', '/')).name}.{spec.handler}",
            }
        )
        return env

    def environment_of(self, name_or_logical_id: str) -> contextlib.AbstractContextManager[None]:
        """The function's environment for a block (to build its cached clients and settings as it would)."""
        return self._environment_of(self.spec(name_or_logical_id))

    @contextmanager
    def _environment_of(self, spec: FunctionSpec) -> Iterator[None]:
        """``os.environ`` as the function sees it, for the duration of the block (one function at a time)."""
        with _INVOKE_LOCK, mock.patch.dict(os.environ, {}):
            for key in self._declared - set(spec.environment):
                os.environ.pop(key, None)
            os.environ.update(self.environment(spec))
            yield

    def inject(self, fault: LambdaFault) -> LambdaFault:
        """Apply ``fault`` to the function's next invocations (until it has hit ``times`` of them)."""
        self.spec(fault.function)  # an unknown function is a test's typo: refuse it now
        self.faults.append(fault)
        return fault

    def _fault_for(self, spec: FunctionSpec) -> LambdaFault | None:
        for fault in self.faults:
            if fault.function in (spec.logical_id, spec.name) and fault.hits < fault.times:
                fault.hits += 1
                return fault
        return None

    def invoke(self, name_or_logical_id: str, event: Any) -> tuple[Any, bool]:
        """Run the handler on ``event``: ``(result, False)``, or ``(error payload, True)`` if it raised.

        An injected :class:`LambdaFault` replaces the answer (after the handler ran, or instead of it);
        a ``Lambda.*`` one raises :class:`LambdaServiceError`.
        """
        spec = self.spec(name_or_logical_id)
        fault = self._fault_for(spec)
        if fault is not None and not fault.after_handler:
            return fault.outcome(str(uuid.uuid4())), True
        result, errored = self._invoke(spec, event)
        if fault is not None:
            return fault.outcome(str(uuid.uuid4())), True
        return result, errored

    def _invoke(self, spec: FunctionSpec, event: Any) -> tuple[Any, bool]:
        handler = getattr(self.module(spec.logical_id), spec.handler)
        context = LambdaContext(
            function_name=spec.name,
            invoked_function_arn=spec.arn,
            memory_limit_in_mb=spec.memory_mb,
            log_group_name=spec.log_group,
            timeout_seconds=spec.timeout_seconds,
        )
        started = time.monotonic()
        with self._environment_of(spec):
            try:
                result: Any = handler(event, context)
                errored = False
            except Exception as exc:  # the Lambda runtime's contract: any exception is a function error
                result = _error_payload(exc, context.aws_request_id)
                errored = True
        if not errored:
            try:
                json.dumps(result)
            except (TypeError, ValueError) as exc:
                result = {
                    "errorMessage": f"Unable to marshal response: {exc}",
                    "errorType": "Runtime.MarshalError",
                    "requestId": context.aws_request_id,
                    "stackTrace": [],
                }
                errored = True
        self.invocations.append(
            Invocation(
                function=spec.logical_id,
                event=event,
                result=result,
                error_type=result["errorType"] if errored else None,
                duration_seconds=time.monotonic() - started,
            )
        )
        return result, errored


def _error_payload(exc: Exception, request_id: str) -> dict[str, Any]:
    return {
        "errorMessage": str(exc),
        "errorType": type(exc).__name__,
        "requestId": request_id,
        "stackTrace": traceback.format_list(traceback.extract_tb(exc.__traceback__)),
    }
