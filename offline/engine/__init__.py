"""Narrow patches to moto 5.2.5's Step Functions interpreter, installed only inside :func:`patched_engine`.

One module per bridge (:mod:`~offline.engine.api`, :mod:`~offline.engine.executions`,
:mod:`~offline.engine.tasks`, :mod:`~offline.engine.errors`, :mod:`~offline.engine.sleeps`),
:mod:`~offline.engine.hooks` (what the harness answers), :mod:`~offline.engine.install` and
:mod:`~offline.engine.backend` (the harness's executions in moto's backend).
Why each exists: the table in ``offline/README.md``; what each touches: :data:`RELIED_ON`.
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
    # The training runner (offline/runners/sagemaker_training.py) records each job's real outcome
    # on moto's job, which moto creates Completed with made-up metrics.
    ("moto.sagemaker.models", "sagemaker_backends"),
    ("moto.sagemaker.models", "SageMakerModelBackend.create_training_job"),
    ("moto.sagemaker.models", "FakeTrainingJob.response_object"),
    # offline/runners/emr_serverless.py sets a job run's final state and usage (moto keeps it SUCCESS, unbilled)
    ("moto.emrserverless.models", "emrserverless_backends"),
    ("moto.emrserverless.models", "EMRServerlessBackend.get_job_run"),
    ("moto.emrserverless.models", "JobRun"),
)
