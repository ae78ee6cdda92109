"""Installing every bridge for the duration of one harness (:func:`patched_engine`), and the Lambda bridge."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from typing import Any
from unittest import mock

from moto.awslambda_simple.models import LambdaSimpleBackend
from moto.core.exceptions import JsonRESTError
from moto.stepfunctions.parser.asl.component.common.error_name import error_equals_decl
from moto.stepfunctions.parser.asl.component.common.retry import retrier_decl
from moto.stepfunctions.parser.asl.component.state.exec.state_task import mock_eval_utils, state_task_factory
from moto.stepfunctions.parser.asl.component.state.fail import state_fail
from moto.stepfunctions.parser.asl.component.state.wait.wait_function.wait_function import WaitFunction
from moto.stepfunctions.parser.models import StepFunctionsParserBackend
from moto.stepfunctions.responses import StepFunctionResponse

from offline.engine import api, errors, sleeps, tasks
from offline.engine.hooks import ACTIVE, LOCK, EngineHooks, current
from offline.lambdas import LambdaServiceError


def _lambda_invoke(
    self: LambdaSimpleBackend,
    function_name: str,
    qualifier: str | None,
    body: Any,
    headers: Any,
    response_headers: dict[str, str],
) -> bytes:
    """The function's real handler, in-process, instead of moto's echo of the payload."""
    function = self.get_function(function_name, qualifier)  # unknown name: ResourceNotFoundException
    try:
        result, errored = current().invoke_lambda(function.function_name, json.loads(body) if body else {})
    except LambdaServiceError as exc:  # Lambda's service failed (injected): Step Functions sees Lambda.<code>
        raise JsonRESTError(exc.code, exc.message) from None
    if errored:
        response_headers["x-amz-function-error"] = "Unhandled"
    return json.dumps(result).encode("utf-8")


# ---------------------------------------------------------------------- installation
@contextmanager
def patched_engine(hooks: EngineHooks) -> Iterator[None]:
    """Install every patch for the duration of the block (one harness at a time per process)."""
    if not LOCK.acquire(blocking=False):
        raise RuntimeError("another offline harness is active in this process: use one at a time")
    try:
        ACTIVE.append(hooks)
        with ExitStack() as stack:
            patch = stack.enter_context
            patch(mock.patch.object(StepFunctionsParserBackend, "start_execution", api.start_execution))
            patch(
                mock.patch.object(
                    StepFunctionResponse,
                    "describe_execution",
                    api.describe_execution_response(StepFunctionResponse.describe_execution),
                )
            )
            patch(
                mock.patch.object(
                    StepFunctionResponse, "redrive_execution", api.redrive_execution_response, create=True
                )
            )
            patch(
                mock.patch.object(
                    state_task_factory,
                    "state_task_service_for",
                    tasks.state_task_service_for_wrapper(state_task_factory.state_task_service_for),  # type: ignore[attr-defined]  # not re-exported by moto
                )
            )
            patch(mock.patch.object(mock_eval_utils, "CustomErrorName", errors.error_name_for))
            patch(mock.patch.object(state_fail, "CustomErrorName", errors.error_name_for))
            patch(
                mock.patch.object(
                    error_equals_decl.ErrorEqualsDecl,
                    "_eval_body",
                    errors.error_equals_eval_body(error_equals_decl.ErrorEqualsDecl._eval_body),
                )
            )
            patch(mock.patch.object(retrier_decl, "time", sleeps.RecordingTime))
            patch(
                mock.patch.object(
                    retrier_decl.RetrierDecl,
                    "_eval_body",
                    sleeps.retrier_eval_body(retrier_decl.RetrierDecl._eval_body),
                )
            )
            patch(mock.patch.object(WaitFunction, "_wait_interval", sleeps.wait_interval))
            patch(mock.patch.object(LambdaSimpleBackend, "invoke", _lambda_invoke))
            patch(_quiet_interpreter_logs())
            yield
    finally:
        ACTIVE.clear()
        LOCK.release()


@contextmanager
def _quiet_interpreter_logs() -> Iterator[None]:
    """moto logs every failure it evaluates, with the whole state's repr, at ERROR (kilobytes each).

    Failures are the subject of these tests and reach them through the execution history;
    the log lines only bury pytest's report. Silenced while the bridges are installed, restored after.
    """
    noisy = logging.getLogger("moto.stepfunctions.parser.asl.component.eval_component")
    level = noisy.level
    noisy.setLevel(logging.CRITICAL)
    try:
        yield
    finally:
        noisy.setLevel(level)
