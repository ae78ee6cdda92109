"""What the patched engine asks the harness (:class:`offline.engine.EngineHooks`), answered from its state."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from moto.stepfunctions.parser.mocking.mock_config import MockTestCase

from offline.engine import Sleep
from offline.integrations import Runner

if TYPE_CHECKING:  # the harness passes itself; importing it at run time would be circular
    from offline.harness.core import OfflineHarness


@dataclass
class HarnessHooks:
    """What the patched engine asks the harness (see :class:`offline.engine.EngineHooks`)."""

    harness: OfflineHarness
    region: str
    account_id: str
    sleeps: list[Sleep] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def load_test_case(self, state_machine_name: str, test_case: str) -> MockTestCase | None:
        config = self.harness.mock_config
        return config.test_case(state_machine_name, test_case) if config else None

    def runner_for(self, resource_arn: str) -> Runner | None:
        return self.harness.runners.get(resource_arn)

    def record_sleep(self, sleep: Sleep) -> None:
        with self.lock:
            self.sleeps.append(sleep)

    def invoke_lambda(self, function_name: str, event: Any) -> tuple[Any, bool]:
        return self.harness.lambdas.invoke(function_name, event)
