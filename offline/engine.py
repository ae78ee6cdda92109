"""Narrow patches to moto 5.2.5's Step Functions interpreter, applied only inside :func:`patched_engine`.

moto's interpreter (``moto.stepfunctions.parser``, a port of LocalStack's) runs ASL well, but
differs from AWS in ways that would make the project's real definitions fail offline for
reasons that have nothing to do with them. Each patch below bridges exactly one of those
differences; :data:`RELIED_ON` lists every moto symbol touched, and
``tests/statemachines/test_moto_internals.py`` fails, naming the symbol, when one moves.

=====================================================  ===============================================
moto behaviour (5.2.5)                                 bridge
=====================================================  ===============================================
``start_execution`` rejects ``arn#TestCase``, and its  :func:`_start_execution` replaces
mock-config loader returns nothing                     ``StepFunctionsParserBackend.start_execution``:
                                                       strips ``#TestCase``, loads the case (the
                                                       harness's loader), names unnamed executions
                                                       with a UUID (moto names them ``None``).
``$$.Execution.StartTime`` is a ``datetime``;          :class:`HarnessExecution` hands the worker an
``$$.Execution.RedriveCount`` does not exist           ISO-8601 string, and :class:`HarnessWorker`
                                                       adds ``RedriveCount`` to the context object.
``StopExecution`` leaves the execution RUNNING until   :meth:`HarnessExecution.stop` reports ABORTED
the running task returns                               at once (the interpreter unwinds behind it).
no ``RedriveExecution``                                :meth:`HarnessExecution.redrive` + an added
                                                       ``StepFunctionResponse.redrive_execution``;
                                                       ``describe_execution`` gains ``redriveCount``.
``.sync`` EMR/SageMaker tasks fail (States.Runtime)    ``state_task_factory.state_task_service_for``
before mocked responses are consulted                  returns :class:`HarnessServiceTask` for those
                                                       services: mocked response, else registered
                                                       runner, else a clear States.Runtime failure.
a mocked ``Throw`` (and a ``Fail`` state's             ``CustomErrorName`` in ``mock_eval_utils`` and
``ErrorPath``) naming a ``States.*`` error becomes a   ``state_fail`` becomes :func:`error_name_for`,
runtime error                                          which maps ``States.*`` to ``StatesErrorName``.
``States.ALL`` catches ``States.Runtime``; AWS never   ``ErrorEqualsDecl._eval_body`` is wrapped:
does (nor ``States.DataLimitExceeded``)                ``States.ALL`` does not match those two.
Retry back-off and ``Wait`` states sleep for real      ``retrier_decl.time`` and
                                                       ``WaitFunction._wait_interval`` record the
                                                       interval (state, attempt, seconds), no sleep.
Lambda tasks echo the payload                          ``LambdaSimpleBackend.invoke`` calls the
(``LambdaSimpleBackend``)                              harness's in-process invoker.
=====================================================  ===============================================

Everything else (the interpreter, paths, intrinsic functions, Retry/Catch, history events,
moto's S3/SNS/SQS/DynamoDB/Lambda backends) is moto's own code, unchanged.
"""

from __future__ import annotations

import copy
import datetime
import json
import threading
import traceback
import uuid
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from typing import Any, Protocol, cast
from unittest import mock

from moto.awslambda_simple.models import LambdaSimpleBackend
from moto.core.exceptions import AWSError
from moto.core.responses import ActionResult
from moto.stepfunctions.parser.api import (
    ExecutionStatus,
    HistoryEventExecutionDataDetails,
    HistoryEventType,
    TaskFailedEventDetails,
    TaskSubmittedEventDetails,
    TaskSucceededEventDetails,
    TaskTimedOutEventDetails,
)
from moto.stepfunctions.parser.asl.component.common.error_name import error_equals_decl
from moto.stepfunctions.parser.asl.component.common.error_name.custom_error_name import CustomErrorName
from moto.stepfunctions.parser.asl.component.common.error_name.error_name import ErrorName
from moto.stepfunctions.parser.asl.component.common.error_name.failure_event import (
    FailureEvent,
    FailureEventException,
)
from moto.stepfunctions.parser.asl.component.common.error_name.states_error_name import StatesErrorName
from moto.stepfunctions.parser.asl.component.common.error_name.states_error_name_type import (
    StatesErrorNameType,
)
from moto.stepfunctions.parser.asl.component.common.flow.start_at import StartAt
from moto.stepfunctions.parser.asl.component.common.retry import retrier_decl
from moto.stepfunctions.parser.asl.component.program.program import Program
from moto.stepfunctions.parser.asl.component.state.exec.state_task import mock_eval_utils, state_task_factory
from moto.stepfunctions.parser.asl.component.state.exec.state_task.service.resource import ResourceCondition
from moto.stepfunctions.parser.asl.component.state.exec.state_task.service.state_task_service_callback import (
    StateTaskServiceCallback,
)
from moto.stepfunctions.parser.asl.component.state.exec.state_task.service.state_task_service_unsupported import (
    StateTaskServiceUnsupported,
)
from moto.stepfunctions.parser.asl.component.state.fail import state_fail
from moto.stepfunctions.parser.asl.component.state.wait.wait_function.wait_function import WaitFunction
from moto.stepfunctions.parser.asl.eval.environment import Environment
from moto.stepfunctions.parser.asl.eval.evaluation_details import EvaluationDetails, ExecutionDetails
from moto.stepfunctions.parser.asl.eval.event.event_detail import EventDetails
from moto.stepfunctions.parser.asl.eval.event.event_manager import EventHistoryContext, EventManager
from moto.stepfunctions.parser.asl.eval.program_state import ProgramStopped
from moto.stepfunctions.parser.asl.utils.encoding import to_json_str
from moto.stepfunctions.parser.backend.execution import Execution
from moto.stepfunctions.parser.backend.execution_worker import ExecutionWorker
from moto.stepfunctions.parser.mocking.mock_config import MockTestCase
from moto.stepfunctions.parser.models import StepFunctionsParserBackend
from moto.stepfunctions.parser.utils import TMP_THREADS
from moto.stepfunctions.responses import StepFunctionResponse

from offline.integrations import Runner, TaskContext, TaskFailure

#: moto's symbols the patches read or replace: (module, attribute path). Checked by test_moto_internals.
RELIED_ON: tuple[tuple[str, str], ...] = (
    ("moto.stepfunctions.parser.models", "StepFunctionsParserBackend.start_execution"),
    ("moto.stepfunctions.parser.models", "StepFunctionsParserBackend.describe_execution"),
    ("moto.stepfunctions.parser.models", "StepFunctionsParserBackend.describe_state_machine"),
    ("moto.stepfunctions.models", "StateMachine._handle_name_input_idempotency"),
    ("moto.stepfunctions.models", "StepFunctionBackend._validate_name"),
    ("moto.stepfunctions.parser.backend.execution", "Execution._get_start_execution_worker"),
    ("moto.stepfunctions.parser.backend.execution", "Execution._get_start_execution_worker_comm"),
    ("moto.stepfunctions.parser.backend.execution", "Execution._get_start_aws_execution_details"),
    ("moto.stepfunctions.parser.backend.execution", "Execution.get_start_execution_details"),
    ("moto.stepfunctions.parser.backend.execution", "Execution.get_start_state_machine_details"),
    ("moto.stepfunctions.parser.backend.execution", "Execution.stop"),
    ("moto.stepfunctions.parser.backend.execution", "Execution.start"),
    ("moto.stepfunctions.parser.backend.execution_worker", "ExecutionWorker._get_evaluation_entrypoint"),
    ("moto.stepfunctions.parser.backend.execution_worker", "ExecutionWorker._get_evaluation_environment"),
    ("moto.stepfunctions.parser.backend.execution_worker", "ExecutionWorker._execution_logic"),
    ("moto.stepfunctions.parser.asl.component.program.program", "Program.eval"),
    ("moto.stepfunctions.parser.asl.component.common.flow.start_at", "StartAt"),
    ("moto.stepfunctions.parser.asl.eval.event.event_manager", "EventManager.get_event_history"),
    ("moto.stepfunctions.parser.asl.eval.event.event_manager", "EventHistoryContext"),
    ("moto.stepfunctions.parser.asl.eval.program_state", "ProgramStopped"),
    ("moto.stepfunctions.parser.asl.eval.environment", "Environment.program_state"),
    ("moto.stepfunctions.parser.asl.eval.environment", "Environment.is_mocked_mode"),
    ("moto.stepfunctions.parser.asl.eval.environment", "Environment.get_current_mocked_response"),
    ("moto.stepfunctions.parser.asl.component.state.exec.state_task.state_task_factory", "state_task_service_for"),
    (
        "moto.stepfunctions.parser.asl.component.state.exec.state_task.service.state_task_service_unsupported",
        "StateTaskServiceUnsupported._eval_execution",
    ),
    (
        "moto.stepfunctions.parser.asl.component.state.exec.state_task.service.state_task_service",
        "StateTaskService._before_eval_execution",
    ),
    (
        "moto.stepfunctions.parser.asl.component.state.exec.state_task.service.state_task_service",
        "StateTaskService._verify_size_quota",
    ),
    ("moto.stepfunctions.parser.asl.component.state.exec.state_task.mock_eval_utils", "CustomErrorName"),
    ("moto.stepfunctions.parser.asl.component.state.exec.state_task.mock_eval_utils", "eval_mocked_response"),
    ("moto.stepfunctions.parser.asl.component.state.fail.state_fail", "CustomErrorName"),
    ("moto.stepfunctions.parser.asl.component.common.error_name.error_equals_decl", "ErrorEqualsDecl._eval_body"),
    ("moto.stepfunctions.parser.asl.component.common.retry.retrier_decl", "time"),
    ("moto.stepfunctions.parser.asl.component.common.retry.retrier_decl", "RetrierDecl._eval_body"),
    ("moto.stepfunctions.parser.asl.component.state.wait.wait_function.wait_function", "WaitFunction._wait_interval"),
    ("moto.stepfunctions.parser.mocking.mock_config", "MockTestCase"),
    ("moto.stepfunctions.parser.mocking.mock_config", "StateMockedResponses"),
    ("moto.stepfunctions.parser.mocking.mock_config", "MockedResponseReturn"),
    ("moto.stepfunctions.parser.mocking.mock_config", "MockedResponseThrow"),
    ("moto.stepfunctions.responses", "StepFunctionResponse.describe_execution"),
    ("moto.awslambda_simple.models", "LambdaSimpleBackend.invoke"),
)

#: Optimised integrations moto cannot run; :class:`HarnessServiceTask` serves their Task states.
HARNESS_SERVICES = frozenset(
    {
        "athena",
        "bedrock",
        "codebuild",
        "databrew",
        "eks",
        "elasticmapreduce",
        "emr-containers",
        "emr-serverless",
        "mediaconvert",
        "sagemaker",
    }
)

#: Error names ``States.ALL`` never matches on AWS ("can't catch States.DataLimitExceeded or Runtime").
_UNCATCHABLE_BY_ALL = frozenset({StatesErrorNameType.StatesRuntime, StatesErrorNameType.StatesStatesDataLimitExceeded})


#: How long RedriveExecution waits for a just-stopped execution's interpreter to unwind.
_UNWIND_SECONDS = 30.0


class ExecutionNotRedrivable(AWSError):
    TYPE = "ExecutionNotRedrivable"
    STATUS = 400


class TestCaseNotFound(AWSError):
    """What Step Functions Local answers for an unknown ``#TestCase`` (an invalid ARN)."""

    __test__ = False  # not a pytest test class
    TYPE = "InvalidArn"
    STATUS = 400


@dataclass(frozen=True)
class Sleep:
    """An interval the interpreter would have slept: a Retry back-off or a Wait state."""

    state: str
    #: ``"retry"`` or ``"wait"``.
    kind: str
    #: For a retry, the attempt about to be made (1 = first retry); 0 for a Wait state.
    attempt: int
    seconds: float


class EngineHooks(Protocol):
    """What the patched interpreter asks the harness for."""

    region: str
    account_id: str

    def load_test_case(self, state_machine_name: str, test_case: str) -> MockTestCase | None: ...

    def runner_for(self, resource_arn: str) -> Runner | None: ...

    def record_sleep(self, sleep: Sleep) -> None: ...

    def invoke_lambda(
        self,
        backend: LambdaSimpleBackend,
        function_name: str,
        qualifier: str | None,
        body: Any,
        headers: Any,
        response_headers: dict[str, str],
    ) -> bytes: ...


_HOOKS: EngineHooks | None = None
_HOOKS_LOCK = threading.Lock()


def _details(**details: Any) -> EventDetails:
    """moto's ``EventDetails`` TypedDict declares every key required; moto itself passes one, as here."""
    return cast(EventDetails, details)


def _hooks() -> EngineHooks:
    if _HOOKS is None:  # pragma: no cover - the patches are only installed together with hooks
        raise RuntimeError("offline engine patches are active without a harness")
    return _HOOKS


# ---------------------------------------------------------------------- error names
def error_name_for(error: str | None) -> ErrorName:
    """The ``ErrorName`` for a task's or Fail state's error, accepting the ``States.*`` names AWS reports.

    moto builds a ``CustomErrorName``, which rejects every ``States.`` name; AWS accepts a
    mocked ``States.TaskFailed`` and a ``Fail`` state re-raising one through ``ErrorPath``.
    """
    if error is not None and error.startswith("States."):
        try:
            return StatesErrorName.from_name(error)
        except ValueError:
            return _PlainErrorName(error)
    return CustomErrorName(error)


class _PlainErrorName(ErrorName):
    """A ``States.*`` name moto's lexer does not know (e.g. ``States.Http.Socket``)."""


def _error_equals_eval_body(original: Callable[[Any, Environment], None]) -> Callable[[Any, Environment], None]:
    def eval_body(self: Any, env: Environment) -> None:
        error_name = env.stack[-1] if env.stack else None
        if (
            isinstance(error_name, StatesErrorName)
            and error_name.typ in _UNCATCHABLE_BY_ALL
            and error_name not in self.error_names
        ):
            env.stack.pop()
            env.stack.append(False)
            return
        original(self, env)

    return eval_body


# ---------------------------------------------------------------------- sleeps
_CURRENT = threading.local()


class _RecordingTime:
    """Stands in for the ``time`` module inside ``retrier_decl``: records instead of sleeping."""

    @staticmethod
    def sleep(seconds: float) -> None:
        env: Environment | None = getattr(_CURRENT, "env", None)
        state = _state_data(env) if env is not None else {}
        _hooks().record_sleep(
            Sleep(
                state=str(state.get("Name", "?")),
                kind="retry",
                attempt=int(state.get("RetryCount", 0)) + 1,
                seconds=float(seconds),
            )
        )


def _retrier_eval_body(original: Callable[[Any, Environment], None]) -> Callable[[Any, Environment], None]:
    def eval_body(self: Any, env: Environment) -> None:
        _CURRENT.env = env
        try:
            original(self, env)
        finally:
            _CURRENT.env = None

    return eval_body


def _wait_interval(self: WaitFunction, env: Environment, wait_seconds: int) -> None:
    _hooks().record_sleep(
        Sleep(state=str(_state_data(env).get("Name", "?")), kind="wait", attempt=0, seconds=float(wait_seconds))
    )


def _state_data(env: Environment) -> dict[str, Any]:
    """``$$.State`` of the state being evaluated (empty before any state is entered)."""
    return dict(env.states.context_object.context_object_data.get("State") or {})


# ---------------------------------------------------------------------- executions
def _iso_millis(moment: datetime.datetime) -> str:
    """``2026-11-25T20:16:05.123Z``: how ``$$.Execution.StartTime`` reads on AWS."""
    return moment.astimezone(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


@dataclass(frozen=True)
class _RedrivePoint:
    state: str
    state_input: Any
    last_event_id: int
    event_manager: EventManager


class HarnessWorker(ExecutionWorker):
    """moto's worker, with ``$$.Execution.RedriveCount`` and the ability to start at a redriven state."""

    def __init__(
        self,
        evaluation_details: EvaluationDetails,
        exec_comm: Any,
        cloud_watch_logging_session: Any,
        activity_store: dict[str, Any],
        mock_test_case: MockTestCase | None,
        redrive_count: int,
        redrive_point: _RedrivePoint | None = None,
    ) -> None:
        super().__init__(
            evaluation_details=evaluation_details,
            exec_comm=exec_comm,
            cloud_watch_logging_session=cloud_watch_logging_session,
            activity_store=activity_store,
            mock_test_case=mock_test_case,
        )
        self._redrive_count = redrive_count
        self._redrive_point = redrive_point
        #: Set once the execution has reached its final status and moto has recorded it.
        self.finished = threading.Event()
        self.env = self._build_environment()

    def _build_environment(self) -> Environment:
        env = self._get_evaluation_environment()
        env.states.context_object.context_object_data["Execution"]["RedriveCount"] = self._redrive_count  # type: ignore[typeddict-unknown-key]
        if self._redrive_point is not None:
            env.event_manager = self._redrive_point.event_manager
            env.event_history_context = EventHistoryContext(previous_event_id=self._redrive_point.last_event_id)  # type: ignore[misc]
            env.states.reset(input_value=self._redrive_point.state_input)
        return env

    def _execution_logic(self) -> None:
        program = self._get_evaluation_entrypoint()
        env = self.env
        assert env is not None
        if self._redrive_point is None:
            details = self._evaluation_details
            env.event_manager.add_event(
                context=env.event_history_context,
                event_type=HistoryEventType.ExecutionStarted,
                event_details=_details(
                    executionStartedEventDetails={
                        "input": to_json_str(details.execution_details.inpt),
                        "inputDetails": HistoryEventExecutionDataDetails(truncated=False),
                        "roleArn": details.aws_execution_details.role_arn,
                    }
                ),
                update_source_event_id=False,
            )
        else:
            env.event_manager.add_event(
                context=env.event_history_context,
                event_type=HistoryEventType.ExecutionRedriven,
                event_details=_details(executionRedrivenEventDetails={"redriveCount": self._redrive_count}),
            )
            cast(Program, program).start_at = StartAt(start_at_name=self._redrive_point.state)  # type: ignore[misc]
        try:
            program.eval(env)
            self._execution_communication.terminated()
        finally:
            self.finished.set()

    def start(self) -> None:
        thread = threading.Thread(target=self._execution_logic, daemon=True, name="offline-execution")
        TMP_THREADS.append(thread)
        thread.start()


class HarnessExecution(Execution):
    """An execution that knows its test case and redrive count, and can be redriven."""

    mock_test_case: MockTestCase | None
    test_case_name: str | None
    redrive_count: int
    redrive_date: datetime.datetime | None

    def __init__(self, *, mock_test_case: MockTestCase | None, test_case_name: str | None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.mock_test_case = mock_test_case
        self.test_case_name = test_case_name
        self.redrive_count = 0
        self.redrive_date = None
        self._redrive_point: _RedrivePoint | None = None

    def get_start_execution_details(self) -> ExecutionDetails:
        return ExecutionDetails(
            arn=self.exec_arn,
            name=self.name,
            role_arn=self.role_arn,
            inpt=self.input_data,
            start_time=_iso_millis(self.start_date),
        )

    def _get_start_execution_worker(self) -> HarnessWorker:
        return HarnessWorker(
            evaluation_details=EvaluationDetails(
                aws_execution_details=self._get_start_aws_execution_details(),
                execution_details=self.get_start_execution_details(),
                state_machine_details=self.get_start_state_machine_details(),
            ),
            exec_comm=self._get_start_execution_worker_comm(),
            cloud_watch_logging_session=self._cloud_watch_logging_session,
            activity_store=self._activity_store,
            mock_test_case=self.mock_test_case,
            redrive_count=self.redrive_count,
            redrive_point=self._redrive_point,
        )

    def stop(self, stop_date: datetime.datetime, error: str | None, cause: str | None) -> None:
        """StopExecution: ABORTED at once, as on AWS (moto waits for the running task to return).

        The interpreter still unwinds in the background: the ``ExecutionAborted`` event and the
        worker's completion come once the running task (e.g. a runner) returns.
        """
        super().stop(stop_date=stop_date, error=error, cause=cause)
        worker = self.exec_worker
        if worker is not None and worker.env is not None and isinstance(worker.env.program_state(), ProgramStopped):
            self.exec_status = ExecutionStatus.ABORTED
            self.stop_date = stop_date

    def redrive(self) -> datetime.datetime:
        """RedriveExecution: re-run from the state that did not complete, with the input it received.

        As on AWS: only a FAILED, ABORTED or TIMED_OUT execution; the same ARN, definition and
        history (an ``ExecutionRedriven`` event, then the rerun); states that completed are not
        rerun; ``$$.Execution.RedriveCount`` goes up by one; the machine-level timeout restarts.
        The redriven state is the last one entered without a matching exit event, the rule AWS
        documents; a ``Catch`` that leads to a ``Fail`` state therefore redrives that ``Fail`` state.
        """
        if self.exec_status not in (ExecutionStatus.FAILED, ExecutionStatus.ABORTED, ExecutionStatus.TIMED_OUT):
            raise ExecutionNotRedrivable(f"Execution {self.exec_arn} is {self.exec_status}: it cannot be redriven")
        worker = self.exec_worker
        if isinstance(worker, HarnessWorker) and not worker.finished.wait(_UNWIND_SECONDS):
            raise ExecutionNotRedrivable(f"Execution {self.exec_arn} is still stopping: try again once it has")
        previous = worker.env if worker else None
        if previous is None:
            raise ExecutionNotRedrivable(f"Execution {self.exec_arn} has no history to redrive from")
        events = cast(list[dict[str, Any]], previous.event_manager.get_event_history())
        point = _redrive_point(events, previous.event_manager)
        if point is None:
            raise ExecutionNotRedrivable(f"Execution {self.exec_arn}: no unfinished state to redrive")
        self._redrive_point = point
        self.redrive_count += 1
        self.redrive_date = datetime.datetime.now(tz=datetime.UTC)
        self.exec_status = ExecutionStatus.RUNNING
        self.stop_date = None
        self.error = None
        self.cause = None
        self.output = None
        self.exec_worker = self._get_start_execution_worker()
        self.exec_worker.start()
        return self.redrive_date


def _redrive_point(events: list[dict[str, Any]], manager: EventManager) -> _RedrivePoint | None:
    open_states: list[tuple[str, Any]] = []
    for event in events:
        if event["type"] == "ExecutionRedriven":
            open_states = []  # an earlier attempt's unfinished states were rerun by that redrive
        elif "stateEnteredEventDetails" in event:
            details = event["stateEnteredEventDetails"]
            open_states.append((details["name"], json.loads(details.get("input") or "null")))
        elif "stateExitedEventDetails" in event:
            name = event["stateExitedEventDetails"]["name"]
            for index in range(len(open_states) - 1, -1, -1):
                if open_states[index][0] == name:
                    del open_states[index]
                    break
    if not open_states:
        return None
    state, state_input = open_states[-1]
    return _RedrivePoint(state=state, state_input=state_input, last_event_id=events[-1]["id"], event_manager=manager)


def _start_execution(
    self: StepFunctionsParserBackend,
    state_machine_arn: str,
    name: str | None = None,
    execution_input: str | None = None,
    trace_header: str | None = None,
) -> HarnessExecution:
    """``StartExecution`` accepting ``stateMachineArn#TestCase`` (Step Functions Local's convention)."""
    arn, _, test_case_name = state_machine_arn.partition("#")
    state_machine = self.describe_state_machine(arn)
    mock_test_case = None
    if test_case_name:
        mock_test_case = _hooks().load_test_case(state_machine.name, test_case_name)
        if mock_test_case is None:
            raise TestCaseNotFound(
                f"Invalid mock test case name '{test_case_name}' for state machine '{state_machine.name}': "
                "not defined in the mock configuration file"
            )
    name = name or str(uuid.uuid4())
    self._validate_name(name)
    existing = state_machine._handle_name_input_idempotency(name, execution_input or "{}")
    if existing is not None:
        return existing  # type: ignore[return-value]
    clone = copy.deepcopy(
        state_machine, {id(state_machine.executions): [], id(state_machine.backend): state_machine.backend}
    )
    input_data = execution_input if execution_input is not None else "{}"
    json.loads(input_data)
    execution = HarnessExecution(
        mock_test_case=mock_test_case,
        test_case_name=test_case_name or None,
        name=name,
        sm_type=clone.sm_type,
        role_arn=clone.roleArn,
        exec_arn=f"arn:{self.partition}:states:{self.region_name}:{self.account_id}:execution:{state_machine.name}:{name}",
        account_id=self.account_id,
        region_name=self.region_name,
        state_machine=clone,
        start_date=datetime.datetime.now(tz=datetime.UTC),
        cloud_watch_logging_session=None,
        input_data=input_data,
        trace_header=trace_header,
        activity_store={},
    )
    state_machine.executions.append(execution)  # type: ignore[arg-type]  # moto types it with its other Execution
    execution.start()
    return execution


def _describe_execution_response(original: Callable[[StepFunctionResponse], ActionResult]) -> Any:
    def describe_execution(self: StepFunctionResponse) -> ActionResult:
        result = original(self)
        execution = self.stepfunction_backend.describe_execution(self._get_param("executionArn"))
        response = result.result
        if isinstance(response, dict) and isinstance(execution, HarnessExecution):
            response["redriveCount"] = execution.redrive_count
            if execution.redrive_date is not None:
                response["redriveDate"] = execution.redrive_date
            terminal = execution.status in ("FAILED", "ABORTED", "TIMED_OUT")
            response["redriveStatus"] = "REDRIVABLE" if terminal else "NOT_REDRIVABLE"
            if execution.status == "TIMED_OUT":
                response["stopDate"] = execution.stop_date
        return result

    return describe_execution


def _redrive_execution_response(self: StepFunctionResponse) -> ActionResult:
    execution = self.stepfunction_backend.describe_execution(self._get_param("executionArn"))
    if not isinstance(execution, HarnessExecution):
        raise ExecutionNotRedrivable("Only executions started inside the offline harness can be redriven")
    return ActionResult({"redriveDate": execution.redrive()})


# ---------------------------------------------------------------------- tasks moto cannot run
class HarnessServiceTask(StateTaskServiceUnsupported):
    """A Task on an integration moto cannot run: mocked response, else runner, else a clear failure.

    Request-response calls with neither a mock nor a runner keep moto's behaviour (forwarded
    to moto's backend as an SDK call).
    """

    def _validate_service_integration_is_supported(self) -> None:
        # moto logs "Unsupported Optimised service integration" here; the harness serves these tasks.
        return None

    def _is_harness_task(self) -> bool:
        sync = self.resource.condition in (ResourceCondition.Sync, ResourceCondition.Sync2)
        return sync or _hooks().runner_for(self.resource.resource_arn) is not None

    def _eval_body(self, env: Environment) -> None:
        if self._is_harness_task():
            # Skip the callback base's "unsupported .sync" assertion and task-token set-up.
            super(StateTaskServiceCallback, self)._eval_body(env)
        else:
            super()._eval_body(env)

    def _eval_execution(self, env: Environment) -> None:
        if not self._is_harness_task():
            super()._eval_execution(env)
            return
        self.resource.eval(env=env)
        resource_runtime_part = env.stack.pop()
        raw_parameters = self._eval_parameters(env=env)
        state_credentials = self._eval_state_credentials(env=env)
        self._before_eval_execution(
            env=env,
            resource_runtime_part=resource_runtime_part,
            raw_parameters=raw_parameters,
            state_credentials=state_credentials,
        )
        if env.is_mocked_mode():
            mock_eval_utils.eval_mocked_response(env=env, mocked_response=env.get_current_mocked_response())
        else:
            env.stack.append(self._run(env, copy.deepcopy(raw_parameters)))
        output = env.stack[-1]
        self._verify_size_quota(env=env, value=output)
        env.event_manager.add_event(
            context=env.event_history_context,
            event_type=HistoryEventType.TaskSucceeded,
            event_details=_details(
                taskSucceededEventDetails=TaskSucceededEventDetails(
                    resource=self._get_sfn_resource(),
                    resourceType=self._get_sfn_resource_type(),
                    output=to_json_str(output),
                    outputDetails=HistoryEventExecutionDataDetails(truncated=False),
                )
            ),
        )

    def _run(self, env: Environment, parameters: dict[str, Any]) -> Any:
        hooks = _hooks()
        resource_arn = self.resource.resource_arn
        context_data = env.states.context_object.context_object_data
        state = _state_data(env)
        state_name = str(state.get("Name"))
        runner = hooks.runner_for(resource_arn)
        execution = context_data["Execution"]
        test_case = env.mock_test_case.test_case_name if env.mock_test_case else None
        if runner is None:
            where = f"test case '{test_case}'" if test_case else "no test case"
            raise self._failure(
                env,
                error="States.Runtime",
                cause=(
                    f"Offline harness: no mocked response ({where}) and no runner registered for resource "
                    f"'{resource_arn}' in state '{state_name}'"
                ),
            )

        def submit(output: Any) -> None:
            env.event_manager.add_event(
                context=env.event_history_context,
                event_type=HistoryEventType.TaskSubmitted,
                event_details=_details(
                    taskSubmittedEventDetails=TaskSubmittedEventDetails(
                        resource=self._get_sfn_resource(),
                        resourceType=self._get_sfn_resource_type(),
                        output=to_json_str(output),
                        outputDetails=HistoryEventExecutionDataDetails(truncated=False),
                    )
                ),
            )

        context = TaskContext(
            state_name=state_name,
            resource=resource_arn,
            execution_arn=str(execution["Id"]),
            execution_name=str(execution["Name"]),
            state_machine_arn=str(context_data["StateMachine"]["Id"]),
            retry_count=int(state.get("RetryCount", 0)),
            redrive_count=int(execution.get("RedriveCount", 0)),  # type: ignore[call-overload]
            test_case=test_case,
            region=hooks.region,
            account_id=hooks.account_id,
            context_object=copy.deepcopy(dict(context_data)),
            _submit=submit,
            _is_running=env.is_running,
        )
        try:
            return runner(parameters, context)
        except TaskFailure as failure:
            raise self._failure(env, error=failure.error, cause=failure.cause) from failure
        except Exception as exc:
            raise self._failure(
                env,
                error="States.Runtime",
                cause=(
                    f"Offline harness: the runner for '{resource_arn}' in state '{state_name}' raised "
                    f"{type(exc).__name__}: {exc}\n{traceback.format_exc()}"
                ),
            ) from exc

    def _failure(self, env: Environment, error: str, cause: str) -> FailureEventException:
        if error == "States.Timeout":
            return FailureEventException(
                FailureEvent(
                    env=env,
                    error_name=StatesErrorName(typ=StatesErrorNameType.StatesTimeout),
                    event_type=HistoryEventType.TaskTimedOut,
                    event_details=_details(
                        taskTimedOutEventDetails=TaskTimedOutEventDetails(
                            resourceType=self._get_sfn_resource_type(),
                            resource=self._get_sfn_resource(),
                            error=error,
                            cause=cause,
                        )
                    ),
                )
            )
        return FailureEventException(
            FailureEvent(
                env=env,
                error_name=error_name_for(error),
                event_type=HistoryEventType.TaskFailed,
                event_details=_details(
                    taskFailedEventDetails=TaskFailedEventDetails(
                        resourceType=self._get_sfn_resource_type(),
                        resource=self._get_sfn_resource(),
                        error=error,
                        cause=cause,
                    )
                ),
            )
        )


def _state_task_service_for(original: Callable[[str], Any]) -> Callable[[str], Any]:
    def state_task_service_for(service_name: str) -> Any:
        if service_name in HARNESS_SERVICES:
            return HarnessServiceTask()  # type: ignore[no-untyped-call]  # moto's __init__ is untyped
        return original(service_name)

    return state_task_service_for


# ---------------------------------------------------------------------- Lambda
def _lambda_invoke(
    self: LambdaSimpleBackend,
    function_name: str,
    qualifier: str | None,
    body: Any,
    headers: Any,
    response_headers: dict[str, str],
) -> bytes:
    return _hooks().invoke_lambda(self, function_name, qualifier, body, headers, response_headers)


# ---------------------------------------------------------------------- installation
@contextmanager
def patched_engine(hooks: EngineHooks) -> Iterator[None]:
    """Install every patch for the duration of the block (one harness at a time per process)."""
    global _HOOKS
    if not _HOOKS_LOCK.acquire(blocking=False):
        raise RuntimeError("another offline harness is active in this process: use one at a time")
    try:
        _HOOKS = hooks
        with ExitStack() as stack:
            patch = stack.enter_context
            patch(mock.patch.object(StepFunctionsParserBackend, "start_execution", _start_execution))
            patch(
                mock.patch.object(
                    StepFunctionResponse,
                    "describe_execution",
                    _describe_execution_response(StepFunctionResponse.describe_execution),
                )
            )
            patch(
                mock.patch.object(StepFunctionResponse, "redrive_execution", _redrive_execution_response, create=True)
            )
            patch(
                mock.patch.object(
                    state_task_factory,
                    "state_task_service_for",
                    _state_task_service_for(state_task_factory.state_task_service_for),  # type: ignore[attr-defined]
                )
            )
            patch(mock.patch.object(mock_eval_utils, "CustomErrorName", error_name_for))
            patch(mock.patch.object(state_fail, "CustomErrorName", error_name_for))
            patch(
                mock.patch.object(
                    error_equals_decl.ErrorEqualsDecl,
                    "_eval_body",
                    _error_equals_eval_body(error_equals_decl.ErrorEqualsDecl._eval_body),
                )
            )
            patch(mock.patch.object(retrier_decl, "time", _RecordingTime))
            patch(
                mock.patch.object(
                    retrier_decl.RetrierDecl, "_eval_body", _retrier_eval_body(retrier_decl.RetrierDecl._eval_body)
                )
            )
            patch(mock.patch.object(WaitFunction, "_wait_interval", _wait_interval))
            patch(mock.patch.object(LambdaSimpleBackend, "invoke", _lambda_invoke))
            yield
    finally:
        _HOOKS = None
        _HOOKS_LOCK.release()
