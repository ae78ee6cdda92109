"""What the template's SNS topics published, read back through one SQS queue subscribed to each."""

from __future__ import annotations

import json

import boto3

from offline.harness.results import PublishedMessage

_INBOX_QUEUE = "offline-harness-inbox"


class SnsInbox:
    """One SQS queue subscribed to every SNS topic of the template: what was published, in order."""

    def __init__(self, region: str) -> None:
        self._sqs = boto3.client("sqs", region_name=region)
        self._sns = boto3.client("sns", region_name=region)
        self._url = self._sqs.create_queue(QueueName=_INBOX_QUEUE)["QueueUrl"]
        self._arn = self._sqs.get_queue_attributes(QueueUrl=self._url, AttributeNames=["QueueArn"])["Attributes"][
            "QueueArn"
        ]
        self._published: list[PublishedMessage] = []

    def create_topic(self, name: str) -> None:
        topic_arn = self._sns.create_topic(Name=name)["TopicArn"]
        self._sns.subscribe(TopicArn=topic_arn, Protocol="sqs", Endpoint=self._arn)

    def clear(self) -> None:
        self.published()
        self._published.clear()

    def published(self) -> list[PublishedMessage]:
        """Every SNS message published to the template's topics so far (read through SQS)."""
        sqs = self._sqs
        while True:
            batch = sqs.receive_message(QueueUrl=self._url, MaxNumberOfMessages=10).get("Messages", [])
            if not batch:
                return list(self._published)
            for message in batch:
                body = json.loads(message["Body"])
                self._published.append(
                    PublishedMessage(
                        topic_arn=body["TopicArn"], subject=body.get("Subject", ""), message=body["Message"]
                    )
                )
                sqs.delete_message(QueueUrl=self._url, ReceiptHandle=message["ReceiptHandle"])
