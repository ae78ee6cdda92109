"""Thin adapters over the AWS calls the functions make. No rules live here.

Each takes a boto3 client in its constructor so tests pass one made under moto (or a
fake); the handlers build the real clients lazily, on first use, not at import.
"""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

from transient_analytics.notification import CleanupReport, Notification
from transient_analytics.overlap import RunningExecution

#: EMR cluster states in which a cluster still costs money and can be terminated.
ACTIVE_CLUSTER_STATES = ("STARTING", "BOOTSTRAPPING", "RUNNING", "WAITING")


class Executions:
    """Step Functions: running executions of a state machine, and an execution's history."""

    def __init__(self, client: Any) -> None:
        self._sfn = client

    def running(self, state_machine_arn: str) -> list[RunningExecution]:
        pages = self._sfn.get_paginator("list_executions").paginate(
            stateMachineArn=state_machine_arn, statusFilter="RUNNING"
        )
        return [
            RunningExecution(arn=e["executionArn"], start_date=e["startDate"])
            for page in pages
            for e in page.get("executions", [])
        ]

    def history(self, execution_arn: str) -> list[dict[str, Any]]:
        pages = self._sfn.get_paginator("get_execution_history").paginate(
            executionArn=execution_arn, reverseOrder=False, includeExecutionData=True
        )
        return [e for page in pages for e in page.get("events", [])]


class Clusters:
    """EMR: the active clusters carrying a tag, and terminating them."""

    def __init__(self, client: Any) -> None:
        self._emr = client

    def active_with_tag(self, key: str, value: str) -> list[str]:
        found = []
        pages = self._emr.get_paginator("list_clusters").paginate(ClusterStates=list(ACTIVE_CLUSTER_STATES))
        for page in pages:
            for summary in page.get("Clusters", []):
                try:
                    cluster = self._emr.describe_cluster(ClusterId=summary["Id"])["Cluster"]
                except ClientError as exc:
                    # IAM lets NotifyFailure describe only clusters tagged with its own stack:
                    # a cluster it may not describe is someone else's, not a failure.
                    if exc.response.get("Error", {}).get("Code") == "AccessDeniedException":
                        continue
                    raise
                if any(t.get("Key") == key and t.get("Value") == value for t in cluster.get("Tags", [])):
                    found.append(summary["Id"])
        return sorted(found)

    def terminate_tagged(self, key: str, value: str) -> CleanupReport:
        """Terminate every active cluster tagged ``key=value``; report, never raise for EMR errors."""
        try:
            ids = self.active_with_tag(key, value)
            if ids:
                self._emr.terminate_job_flows(JobFlowIds=ids)
        except Exception as exc:  # reported in the notification, and logged by the caller
            return CleanupReport(error=f"{type(exc).__name__}: {exc}")
        return CleanupReport(terminated=tuple(ids))


class Topic:
    """SNS: publish one notification. Errors propagate, so Lambda's retries and DLQ take over."""

    def __init__(self, client: Any, topic_arn: str) -> None:
        self._sns = client
        self._topic_arn = topic_arn

    def publish(self, notification: Notification) -> str:
        response = self._sns.publish(
            TopicArn=self._topic_arn, Subject=notification.subject, Message=notification.message
        )
        return str(response["MessageId"])
