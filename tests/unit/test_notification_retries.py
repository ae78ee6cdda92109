"""The SNS clients that send the pipelines' messages keep retrying through an SNS incident (wiring.py).

botocore's default (standard) retry mode stops retrying once its retry quota is spent; a warm execution
environment that saw an incident's refusals then sends its next message on one attempt. The
notification clients use the legacy mode, which has no quota. Both behaviours are shown here on moto.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.awsrequest import AWSResponse
from botocore.exceptions import ClientError
from moto import mock_aws

from transient_analytics.wiring import notification_client


class Refusals:
    """A ``before-send`` hook answering the next ``n`` Publish requests with SNS's InternalError (HTTP 500)."""

    def __init__(self) -> None:
        self.left = 0
        self.sent = 0

    def __call__(self, request: Any, **_: Any) -> AWSResponse | None:
        self.sent += 1
        if self.left <= 0:
            return None
        self.left -= 1
        body = b"<ErrorResponse><Error><Type>Receiver</Type><Code>InternalError</Code></Error></ErrorResponse>"
        raw = type("Raw", (), {"stream": lambda self, **_: iter([body])})()
        return AWSResponse(request.url, 500, {}, raw)


@pytest.fixture
def topic(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    monkeypatch.setattr("botocore.endpoint.time.sleep", lambda seconds: None)  # the back-off, not waited for
    with mock_aws():
        yield boto3.client("sns", region_name="us-east-1").create_topic(Name="t")["TopicArn"]


def attempts_of_one_publish_after_an_incident(client: Any, topic: str) -> int:
    """How many attempts a publish gets after 100 publishes that SNS refused on every attempt."""
    refusals = Refusals()
    client.meta.events.register_first("before-send.sns.Publish", refusals)
    for _ in range(100):
        refusals.left = 10**6
        with pytest.raises(ClientError):
            client.publish(TopicArn=topic, Message="refused")
    refusals.left, refusals.sent = 2, 0
    with contextlib.suppress(ClientError):
        client.publish(TopicArn=topic, Message="after the incident")
    return refusals.sent


def test_the_default_standard_mode_stops_retrying_once_its_retry_quota_is_spent(topic: str) -> None:
    client = boto3.client("sns", region_name="us-east-1")
    assert attempts_of_one_publish_after_an_incident(client, topic) == 1  # the message is refused, not retried


def test_a_notification_client_retries_a_refused_publish_even_after_an_incident(
    topic: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    client = notification_client()
    assert attempts_of_one_publish_after_an_incident(client, topic) == 3  # two refused, the third sent
