"""Execute the project's Step Functions definitions offline, exactly as ``sam deploy`` ships them.

The harness (:class:`OfflineHarness`) reads ``template.yaml``, substitutes each state
machine's ``DefinitionSubstitutions`` into its ASL file, creates it in moto 5.2.5 with
execution enabled, and runs executions against in-process versions of everything the
definitions touch: the real Lambda handlers (``functions/<name>/app.py``, their environment
from the template), moto's S3/SNS/SQS/DynamoDB/IAM/Lambda backends, mocked responses from
an AWS Step Functions Local MockConfigFile, and Python *runners* for the ``.sync``
integrations moto cannot run (:mod:`offline.integrations`). See ``offline/README.md``.

Modules:

- :mod:`offline.template` — CloudFormation YAML loader and intrinsic-function resolver.
- :mod:`offline.definitions` — ASL file + ``DefinitionSubstitutions`` → deployed definition.
- :mod:`offline.render_definition` — CLI printing a substituted definition.
- :mod:`offline.mock_config` — MockConfigFile → moto's ``MockTestCase``.
- :mod:`offline.lambdas` — in-process Lambda runtime (context, environment, error contract).
- :mod:`offline.integrations` — ``TaskFailure``, ``TaskContext`` and the runner registry.
- :mod:`offline.engine` — the moto patches (installed only inside the harness).
- :mod:`offline.events` — the "Step Functions Execution Status Change" event builder.
- :mod:`offline.harness` — the harness itself.

moto internals relied on (pinned ``moto==5.2.5``; ``tests/statemachines/test_moto_internals.py``
names any that moves), and why:

- ``moto.stepfunctions.parser.models.StepFunctionsParserBackend.start_execution`` — replaced:
  moto rejects ``stateMachineArn#TestCase``, never loads a mock test case, and names an
  unnamed execution ``None``.
- ``moto.stepfunctions.parser.backend.execution.Execution`` / ``execution_worker.ExecutionWorker``
  — subclassed: ``$$.Execution.StartTime`` must be an ISO string (moto passes a ``datetime``),
  ``$$.Execution.RedriveCount`` must exist, the worker must signal completion, StopExecution
  must report ABORTED at once, and RedriveExecution (absent from moto) restarts a worker at the
  unfinished state (``Program.start_at`` replaced, the history's ``EventManager`` shared).
- ``moto.stepfunctions.responses.StepFunctionResponse`` — ``describe_execution`` wrapped to
  report ``redriveCount``/``redriveDate``/``redriveStatus``; ``redrive_execution`` added.
- ``...state_task.state_task_factory.state_task_service_for`` — wrapped: EMR and SageMaker
  (and moto's other unsupported services) get :class:`offline.engine.HarnessServiceTask`,
  because ``StateTaskServiceUnsupported`` rejects ``.sync`` before consulting mocked responses.
- ``...state_task.mock_eval_utils.CustomErrorName`` and ``...state.fail.state_fail.CustomErrorName``
  — replaced by :func:`offline.engine.error_name_for`: a mocked ``Throw`` of ``States.TaskFailed``
  and a ``Fail`` state re-raising it through ``ErrorPath`` are valid on AWS.
- ``...error_name.error_equals_decl.ErrorEqualsDecl._eval_body`` — wrapped: on AWS ``States.ALL``
  does not catch or retry ``States.Runtime`` / ``States.DataLimitExceeded``.
- ``...retry.retrier_decl.time`` / ``RetrierDecl._eval_body`` and
  ``...wait.wait_function.wait_function.WaitFunction._wait_interval`` — back-off and Wait
  intervals are recorded, not slept.
- ``moto.awslambda_simple.models.LambdaSimpleBackend.invoke`` — replaced: it echoes the payload;
  the harness runs the function's real handler instead.
- ``moto.stepfunctions.parser.mocking.mock_config`` classes (``MockTestCase``,
  ``StateMockedResponses``, ``MockedResponseReturn``, ``MockedResponseThrow``) and
  ``Environment.is_mocked_mode``/``get_current_mocked_response`` — used as they are.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from offline.engine import Sleep
    from offline.events import execution_status_change_event
    from offline.harness import (
        ExecutionDidNotFinish,
        ExecutionResult,
        FunctionError,
        OfflineHarness,
        PublishedMessage,
        ScheduledTask,
    )
    from offline.integrations import Runner, RunnerRegistry, TaskContext, TaskFailure
    from offline.mock_config import MockConfig, MockConfigError

#: Public names, imported lazily so that ``python -m offline.render_definition`` stays light.
_EXPORTS = {
    "ExecutionDidNotFinish": "offline.harness",
    "ExecutionResult": "offline.harness",
    "FunctionError": "offline.harness",
    "OfflineHarness": "offline.harness",
    "PublishedMessage": "offline.harness",
    "ScheduledTask": "offline.harness",
    "Sleep": "offline.engine",
    "Runner": "offline.integrations",
    "RunnerRegistry": "offline.integrations",
    "TaskContext": "offline.integrations",
    "TaskFailure": "offline.integrations",
    "MockConfig": "offline.mock_config",
    "MockConfigError": "offline.mock_config",
    "execution_status_change_event": "offline.events",
}
__all__ = [
    "ExecutionDidNotFinish",
    "ExecutionResult",
    "FunctionError",
    "MockConfig",
    "MockConfigError",
    "OfflineHarness",
    "PublishedMessage",
    "Runner",
    "RunnerRegistry",
    "ScheduledTask",
    "Sleep",
    "TaskContext",
    "TaskFailure",
    "execution_status_change_event",
]


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'offline' has no attribute {name!r}")
