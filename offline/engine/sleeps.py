"""Bridge: Retry back-off and Wait states are recorded (state, attempt, seconds) instead of slept."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from moto.stepfunctions.parser.asl.component.state.wait.wait_function.wait_function import WaitFunction
from moto.stepfunctions.parser.asl.eval.environment import Environment

from offline.engine.hooks import Sleep, current, state_data

_CURRENT = threading.local()


class RecordingTime:
    """Stands in for the ``time`` module inside ``retrier_decl``: records instead of sleeping."""

    @staticmethod
    def sleep(seconds: float) -> None:
        env: Environment | None = getattr(_CURRENT, "env", None)
        state = state_data(env) if env is not None else {}
        current().record_sleep(
            Sleep(
                state=str(state.get("Name", "?")),
                kind="retry",
                attempt=int(state.get("RetryCount", 0)) + 1,
                seconds=float(seconds),
            )
        )


def retrier_eval_body(original: Callable[[Any, Environment], None]) -> Callable[[Any, Environment], None]:
    def eval_body(self: Any, env: Environment) -> None:
        _CURRENT.env = env
        try:
            original(self, env)
        finally:
            _CURRENT.env = None

    return eval_body


def wait_interval(self: WaitFunction, env: Environment, wait_seconds: int) -> None:
    current().record_sleep(
        Sleep(state=str(state_data(env).get("Name", "?")), kind="wait", attempt=0, seconds=float(wait_seconds))
    )
