"""The offline harness: the template's state machines executing in moto, with the real handlers.

- :mod:`offline.harness.core` — :class:`OfflineHarness`: lifecycle, executions, what happened around them.
- :mod:`offline.harness.provision` — moto's resources from the template, and the SNS inbox.
- :mod:`offline.harness.results` — :class:`ExecutionResult` and its readers; the harness's errors.
"""

from offline.harness.core import REPO_ROOT, OfflineHarness
from offline.harness.results import (
    FINAL_STATUSES,
    ExecutionDidNotFinish,
    ExecutionResult,
    FunctionError,
    PublishedMessage,
    ScheduledTask,
)

__all__ = [
    "FINAL_STATUSES",
    "REPO_ROOT",
    "ExecutionDidNotFinish",
    "ExecutionResult",
    "FunctionError",
    "OfflineHarness",
    "PublishedMessage",
    "ScheduledTask",
]
