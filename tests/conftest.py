"""Every test runs with fake AWS credentials in one region and X-Ray off: nothing reaches AWS."""

from __future__ import annotations

import os

import pytest

from tests import aws_env

_FAKE_AWS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SECURITY_TOKEN": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_REGION": "us-east-1",
    "POWERTOOLS_TRACE_DISABLED": "true",
    "POWERTOOLS_METRICS_NAMESPACE": "transient-analytics-tests",
}
# The environment's own AWS settings, kept before the fakes replace them: only the opt-in suite
# against a deployed stack (tests/integration, marker ``integration``) uses them.
aws_env.remember((*_FAKE_AWS, "AWS_PROFILE"))
# Set at import, before any test module imports boto3 or a handler.
os.environ.update(_FAKE_AWS)
os.environ.pop("AWS_PROFILE", None)


@pytest.fixture(autouse=True)
def _fake_aws_credentials(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    if request.node.get_closest_marker("integration"):
        return  # tests/integration restores the real environment itself
    for key, value in _FAKE_AWS.items():
        monkeypatch.setenv(key, value)
