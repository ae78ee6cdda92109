"""Fixtures of the opt-in suite against a deployed stack (``make integration STACK=name``).

Every test here is collected always and skipped, with the reason, unless ``AWS_SAM_STACK_NAME``
names a deployed stack and real AWS credentials are available (the SAM step-functions template's
convention). The rest of the test suite replaces the AWS environment with fakes; this suite puts
the environment's own back (``tests.aws_env.REAL``) for its tests only.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import boto3
import pytest

from tests.aws_env import REAL as REAL_AWS_ENV

STACK_ENV = "AWS_SAM_STACK_NAME"
#: Stack outputs the suite reads (template.yaml Outputs; the ledger's name is a stack output).
REQUIRED_OUTPUTS = (
    "DataBucketName",
    "EmrPipelineStateMachineArn",
    "BatchTransformStateMachineArn",
    "NotificationTopicArn",
    "SlotLedgerTableName",
)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    here = os.path.dirname(__file__)
    reason = _skip_reason()
    for item in items:
        if str(item.fspath).startswith(here):
            item.add_marker(pytest.mark.integration)
            if reason:
                item.add_marker(pytest.mark.skip(reason=reason))


def _skip_reason() -> str | None:
    if not os.environ.get(STACK_ENV):
        return f"{STACK_ENV} is not set: these tests run against a deployed stack (make integration STACK=name)"
    with _real_environment():
        if boto3.session.Session().get_credentials() is None:
            return "no AWS credentials: set AWS_PROFILE or the AWS_* variables (make integration STACK=name)"
    return None


class _real_environment:
    """Within it, os.environ holds the AWS settings the process started with (not the test fakes)."""

    def __enter__(self) -> None:
        self.saved = {k: os.environ.get(k) for k in REAL_AWS_ENV}
        _apply(REAL_AWS_ENV)

    def __exit__(self, *exc: object) -> None:
        _apply(self.saved)


def _apply(values: dict[str, str | None]) -> None:
    for key, value in values.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value


@dataclass(frozen=True)
class Stack:
    name: str
    outputs: dict[str, str]
    session: boto3.session.Session

    def client(self, service: str) -> Any:
        return self.session.client(service)


@pytest.fixture(scope="session")
def stack() -> Iterator[Stack]:
    with _real_environment():
        name = os.environ[STACK_ENV]
        session = boto3.session.Session(
            region_name=os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION")
        )
        # Resolved (and cached by the session) now, while the environment holds the real settings.
        assert session.get_credentials() is not None, "no AWS credentials"
        [described] = session.client("cloudformation").describe_stacks(StackName=name)["Stacks"]
        outputs = {o["OutputKey"]: o["OutputValue"] for o in described.get("Outputs", [])}
        missing = [key for key in REQUIRED_OUTPUTS if key not in outputs]
        assert not missing, f"stack {name} lacks the outputs {missing}: deploy the current template.yaml"
        yield Stack(name=name, outputs=outputs, session=session)
