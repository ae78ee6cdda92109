"""The AWS Step Functions Local MockConfigFile, read strictly into moto's mocked-response classes.

``StateMachines.<name>.TestCases.<case>`` maps state names to ``MockedResponses`` entries, whose
keys are attempt numbers or inclusive ranges (``"0"``, ``"1-2"``) holding one ``Return`` or
``Throw``. moto 5.2.5 ships the classes but its loader returns nothing: :class:`MockConfig` builds
them and names the entry at fault, so a typo fails at load time instead of running unmocked."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from moto.stepfunctions.parser.mocking.mock_config import (
    MockedResponse,
    MockedResponseReturn,
    MockedResponseThrow,
    MockTestCase,
    StateMockedResponses,
)

_RANGE = re.compile(r"^(\d+)(?:-(\d+))?$")


class MockConfigError(ValueError):
    """The mock configuration file breaks the MockConfigFile format (the message says where)."""


@dataclass(frozen=True)
class MockConfig:
    """A parsed, validated MockConfigFile."""

    path: Path | None
    raw: dict[str, Any]

    @classmethod
    def load(cls, path: Path) -> MockConfig:
        try:
            raw = json.loads(path.read_text(encoding="utf-8"))
        except json.JSONDecodeError as exc:
            raise MockConfigError(f"{path}: not valid JSON ({exc})") from exc
        config = cls(path=path, raw=raw)
        config.validate()
        return config

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> MockConfig:
        config = cls(path=None, raw=raw)
        config.validate()
        return config

    def _where(self) -> str:
        return str(self.path) if self.path else "mock config"

    def validate(self) -> None:
        """Check every test case and mocked response; raise :class:`MockConfigError` on the first problem."""
        raw = self.raw
        if not isinstance(raw, dict) or not isinstance(raw.get("StateMachines"), dict):
            raise MockConfigError(f"{self._where()}: needs a 'StateMachines' object")
        responses = raw.get("MockedResponses", {})
        if not isinstance(responses, dict):
            raise MockConfigError(f"{self._where()}: 'MockedResponses' must be an object")
        for name in responses:
            self._responses(name)
        for machine, body in raw["StateMachines"].items():
            cases = body.get("TestCases") if isinstance(body, dict) else None
            if not isinstance(cases, dict):
                raise MockConfigError(f"{self._where()}: StateMachines.{machine} needs a 'TestCases' object")
            for case, states in cases.items():
                if not isinstance(states, dict):
                    raise MockConfigError(f"{self._where()}: {machine}#{case} must map state names to responses")
                for state, response in states.items():
                    if response not in responses:
                        raise MockConfigError(
                            f"{self._where()}: {machine}#{case}: state '{state}' uses mocked response "
                            f"'{response}', which MockedResponses does not define"
                        )

    def check_states(self, state_machine_name: str, state_names: set[str]) -> None:
        """Raise :class:`MockConfigError` if a test case mocks a state the definition does not have."""
        for case, mapping in self.test_cases(state_machine_name).items():
            unknown = sorted(set(mapping) - state_names)
            if unknown:
                raise MockConfigError(
                    f"{self._where()}: {state_machine_name}#{case} mocks state(s) {unknown} that the "
                    f"definition does not have (it has {sorted(state_names)})"
                )

    def state_machines(self) -> list[str]:
        return sorted(self.raw["StateMachines"])

    def test_cases(self, state_machine_name: str) -> dict[str, dict[str, str]]:
        """``{TestCase: {state: response name}}`` of one state machine (empty if it has none)."""
        machine = self.raw["StateMachines"].get(state_machine_name) or {}
        return dict(machine.get("TestCases") or {})

    def test_case(self, state_machine_name: str, test_case: str) -> MockTestCase | None:
        """moto's ``MockTestCase`` for ``<state machine>#<test case>``, or None if not defined."""
        states = self.test_cases(state_machine_name).get(test_case)
        if states is None:
            return None
        return MockTestCase(
            state_machine_name=state_machine_name,
            test_case_name=test_case,
            state_mocked_responses_list=[
                StateMockedResponses(
                    state_name=state,
                    mocked_response_name=response,
                    mocked_responses=self._responses(response),
                )
                for state, response in states.items()
            ],
        )

    def _responses(self, name: str) -> list[MockedResponse]:
        definition = self.raw.get("MockedResponses", {}).get(name)
        where = f"{self._where()}: MockedResponses.{name}"
        if not isinstance(definition, dict) or not definition:
            raise MockConfigError(f"{where} must map attempt numbers ('0', '1-2') to a Return or a Throw")
        responses: list[MockedResponse] = []
        for key, body in definition.items():
            match = _RANGE.match(key.strip())
            if not match:
                raise MockConfigError(f"{where}: '{key}' is not an attempt number or range like '1-2'")
            start = int(match.group(1))
            end = int(match.group(2) or start)
            if end < start:
                raise MockConfigError(f"{where}: range '{key}' ends before it starts")
            if not isinstance(body, dict) or len(body.keys() & {"Return", "Throw"}) != 1 or len(body) != 1:
                raise MockConfigError(f"{where}.{key}: exactly one of 'Return' or 'Throw' is required")
            if "Return" in body:
                responses.append(MockedResponseReturn(range_start=start, range_end=end, payload=body["Return"]))
            else:
                throw = body["Throw"]
                if not isinstance(throw, dict) or not isinstance(throw.get("Error"), str):
                    raise MockConfigError(f"{where}.{key}: Throw needs an 'Error' string (and a 'Cause' string)")
                cause = throw.get("Cause", "")
                if not isinstance(cause, str):
                    raise MockConfigError(f"{where}.{key}: Throw.Cause must be a string (JSON-encode objects)")
                responses.append(
                    MockedResponseThrow(range_start=start, range_end=end, error=throw["Error"], cause=cause)
                )
        try:
            StateMockedResponses(state_name="-", mocked_response_name=name, mocked_responses=responses)
        except RuntimeError as exc:
            raise MockConfigError(f"{where}: {exc}") from exc
        return responses
