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

Modules, one per bridge: :mod:`~offline.engine.api`, :mod:`~offline.engine.executions`,
:mod:`~offline.engine.tasks`, :mod:`~offline.engine.errors`, :mod:`~offline.engine.sleeps`;
:mod:`~offline.engine.hooks` (what the harness provides) and :mod:`~offline.engine.install`
(:func:`patched_engine`, plus the Lambda bridge). This docstring and :data:`RELIED_ON` are the one
table of the moto internals the twin relies on.
"""

from __future__ import annotations

from offline.engine.errors import error_name_for
from offline.engine.executions import HarnessExecution, HarnessWorker
from offline.engine.hooks import EngineHooks, Sleep
from offline.engine.install import patched_engine
from offline.engine.tasks import HARNESS_SERVICES, HarnessServiceTask

__all__ = [
    "HARNESS_SERVICES",
    "RELIED_ON",
    "EngineHooks",
    "HarnessExecution",
    "HarnessServiceTask",
    "HarnessWorker",
    "Sleep",
    "error_name_for",
    "patched_engine",
]

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
    ("moto.events.models", "EventPattern.matches_event"),
)
