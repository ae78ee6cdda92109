"""Bridge: Task states on integrations moto cannot run (EMR, SageMaker …).

A mocked response, else the registered runner, else a clear ``States.Runtime`` failure.
"""

from __future__ import annotations

import copy
import traceback
from collections.abc import Callable
from typing import Any

from moto.stepfunctions.parser.api import (
    HistoryEventExecutionDataDetails,
    HistoryEventType,
    TaskFailedEventDetails,
    TaskSubmittedEventDetails,
    TaskSucceededEventDetails,
    TaskTimedOutEventDetails,
)
from moto.stepfunctions.parser.asl.component.common.error_name.failure_event import (
    FailureEvent,
    FailureEventException,
)
from moto.stepfunctions.parser.asl.component.common.error_name.states_error_name import StatesErrorName
from moto.stepfunctions.parser.asl.component.common.error_name.states_error_name_type import (
    StatesErrorNameType,
)
from moto.stepfunctions.parser.asl.component.state.exec.state_task import mock_eval_utils
from moto.stepfunctions.parser.asl.component.state.exec.state_task.service.resource import ResourceCondition
from moto.stepfunctions.parser.asl.component.state.exec.state_task.service.state_task_service_callback import (
    StateTaskServiceCallback,
)
from moto.stepfunctions.parser.asl.component.state.exec.state_task.service.state_task_service_unsupported import (
    StateTaskServiceUnsupported,
)
from moto.stepfunctions.parser.asl.eval.environment import Environment
from moto.stepfunctions.parser.asl.utils.encoding import to_json_str

from offline.engine.errors import error_name_for
from offline.engine.hooks import current, event_details, state_data
from offline.integrations import TaskContext, TaskFailure

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
        return sync or current().runner_for(self.resource.resource_arn) is not None

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
            event_details=event_details(
                taskSucceededEventDetails=TaskSucceededEventDetails(
                    resource=self._get_sfn_resource(),
                    resourceType=self._get_sfn_resource_type(),
                    output=to_json_str(output),
                    outputDetails=HistoryEventExecutionDataDetails(truncated=False),
                )
            ),
        )

    def _run(self, env: Environment, parameters: dict[str, Any]) -> Any:
        hooks = current()
        resource_arn = self.resource.resource_arn
        context_data = env.states.context_object.context_object_data
        state = state_data(env)
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
                event_details=event_details(
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
            redrive_count=int(execution.get("RedriveCount", 0)),  # type: ignore[call-overload]  # added by HarnessWorker
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
        resource_type, resource = self._get_sfn_resource_type(), self._get_sfn_resource()
        if error == "States.Timeout":
            details = TaskTimedOutEventDetails(resourceType=resource_type, resource=resource, error=error, cause=cause)
            name = StatesErrorName(typ=StatesErrorNameType.StatesTimeout)
            timed_out = event_details(taskTimedOutEventDetails=details)
            return FailureEventException(FailureEvent(env, name, HistoryEventType.TaskTimedOut, timed_out))
        failed_details = TaskFailedEventDetails(resourceType=resource_type, resource=resource, error=error, cause=cause)
        failed = event_details(taskFailedEventDetails=failed_details)
        return FailureEventException(FailureEvent(env, error_name_for(error), HistoryEventType.TaskFailed, failed))


def state_task_service_for_wrapper(original: Callable[[str], Any]) -> Callable[[str], Any]:
    def state_task_service_for(service_name: str) -> Any:
        if service_name in HARNESS_SERVICES:
            return HarnessServiceTask()  # type: ignore[no-untyped-call]  # moto's __init__ is untyped
        return original(service_name)

    return state_task_service_for
