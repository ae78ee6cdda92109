"""Execute the project's Step Functions definitions offline, exactly as ``sam deploy`` ships them.

The harness (:class:`OfflineHarness`) reads ``template.yaml``, substitutes each state
machine's ``DefinitionSubstitutions`` into its ASL file, creates it in moto 5.2.5 with
execution enabled, and runs executions against in-process versions of everything the
definitions touch: the real Lambda handlers (``functions/<name>/app.py``, their environment
from the template), moto's S3/SNS/SQS/DynamoDB/IAM/Lambda backends, mocked responses from
an AWS Step Functions Local MockConfigFile, and Python *runners* for the ``.sync``
integrations moto cannot run (:mod:`offline.integrations`). See ``offline/README.md``.

Packages and modules:

- :mod:`offline.cfn` — ``template.yaml`` → resolved names, functions and deployed definitions
  (also used by ``checks/substitute_asl.py``).
- :mod:`offline.engine` — the moto bridges, one module each, installed only inside the harness;
  its docstring and ``RELIED_ON`` are the one table of the moto internals relied on.
- :mod:`offline.harness` — the harness itself; :mod:`offline.events` — the "Step Functions
  Execution Status Change" event builder; :mod:`offline.mock_config` — MockConfigFile → moto's
  ``MockTestCase``; :mod:`offline.lambdas` — the in-process Lambda runtime.
- :mod:`offline.integrations` — ``TaskFailure``, ``TaskContext`` and the runner registry;
  :mod:`offline.runners` — the local EMR (Spark) and SageMaker (batch transform) runners.
- :mod:`offline.demo` — ``python -m offline.demo`` and ``python -m offline.demo.day``, their
  report, the execution picture and the sample query.
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

#: Public names, imported lazily so that ``python -m offline.cfn.print_definition`` stays light.
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
