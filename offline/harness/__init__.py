"""The offline harness: :class:`OfflineHarness` (``core``), its executions (``executions``), provisioning
(``provision``), the SNS inbox (``inbox``), results (``results``)."""

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
