"""The harness's side of the engine bridges: what a patched interpreter asks for, and the one active harness.

:func:`current` returns the :class:`EngineHooks` installed by :func:`offline.engine.patched_engine`;
:func:`event_details` and :func:`state_data` are the small helpers every bridge shares.
"""

from __future__ import annotations

import datetime
import threading
from dataclasses import dataclass
from typing import Any, Protocol, cast

from moto.stepfunctions.parser.asl.eval.environment import Environment
from moto.stepfunctions.parser.asl.eval.event.event_detail import EventDetails
from moto.stepfunctions.parser.mocking.mock_config import MockTestCase

from offline.integrations import Runner


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

    def execution_clock(self) -> datetime.datetime | None:
        """The start time of executions started now, when the harness's clock is frozen (else None)."""
        ...

    def invoke_lambda(self, function_name: str, event: Any) -> tuple[Any, bool]:
        """Run the function's handler on ``event``: (result or error payload, whether it errored)."""
        ...


ACTIVE: list[EngineHooks] = []  # at most one: set by patched_engine
LOCK = threading.Lock()


def event_details(**details: Any) -> EventDetails:
    """moto's ``EventDetails`` TypedDict declares every key required; moto itself passes one, as here."""
    return cast(EventDetails, details)


def current() -> EngineHooks:
    if not ACTIVE:  # pragma: no cover - the patches are only installed together with hooks
        raise RuntimeError("offline engine patches are active without a harness")
    return ACTIVE[0]


def state_data(env: Environment) -> dict[str, Any]:
    """``$$.State`` of the state being evaluated (empty before any state is entered)."""
    return dict(env.states.context_object.context_object_data.get("State") or {})
