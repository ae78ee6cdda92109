"""Every test runs with fake AWS credentials in one region and X-Ray off: nothing reaches AWS."""

from __future__ import annotations

import os

import pytest

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
# Set at import, before any test module imports boto3 or a handler.
os.environ.update(_FAKE_AWS)
os.environ.pop("AWS_PROFILE", None)


@pytest.fixture(autouse=True)
def _fake_aws_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    for key, value in _FAKE_AWS.items():
        monkeypatch.setenv(key, value)
