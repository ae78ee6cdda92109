"""Bridge: error names. A mocked ``States.*`` Throw or Fail ``ErrorPath`` is valid; ``States.ALL`` misses two errors.

moto's ``CustomErrorName`` (in ``mock_eval_utils`` and ``state_fail``) becomes :func:`error_name_for`;
``ErrorEqualsDecl._eval_body`` is wrapped so ``States.ALL`` matches neither ``States.Runtime`` nor
``States.DataLimitExceeded``, as on AWS.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from moto.stepfunctions.parser.asl.component.common.error_name.custom_error_name import CustomErrorName
from moto.stepfunctions.parser.asl.component.common.error_name.error_name import ErrorName
from moto.stepfunctions.parser.asl.component.common.error_name.states_error_name import StatesErrorName
from moto.stepfunctions.parser.asl.component.common.error_name.states_error_name_type import (
    StatesErrorNameType,
)
from moto.stepfunctions.parser.asl.eval.environment import Environment

#: Error names ``States.ALL`` never matches on AWS ("can't catch States.DataLimitExceeded or Runtime").
_UNCATCHABLE_BY_ALL = frozenset({StatesErrorNameType.StatesRuntime, StatesErrorNameType.StatesStatesDataLimitExceeded})


def error_name_for(error: str | None) -> ErrorName:
    """The ``ErrorName`` for a task's or Fail state's error, accepting the ``States.*`` names AWS reports.

    moto builds a ``CustomErrorName``, which rejects every ``States.`` name; AWS accepts a
    mocked ``States.TaskFailed`` and a ``Fail`` state re-raising one through ``ErrorPath``.
    """
    if error is not None and error.startswith("States."):
        try:
            return StatesErrorName.from_name(error)
        except ValueError:
            return _PlainErrorName(error)
    return CustomErrorName(error)


class _PlainErrorName(ErrorName):
    """A ``States.*`` name moto's lexer does not know (e.g. ``States.Http.Socket``)."""


def error_equals_eval_body(original: Callable[[Any, Environment], None]) -> Callable[[Any, Environment], None]:
    def eval_body(self: Any, env: Environment) -> None:
        error_name = env.stack[-1] if env.stack else None
        if (
            isinstance(error_name, StatesErrorName)
            and error_name.typ in _UNCATCHABLE_BY_ALL
            and error_name not in self.error_names
        ):
            env.stack.pop()
            env.stack.append(False)
            return
        original(self, env)

    return eval_body
