"""Thin adapters over the AWS calls the functions make. No rules live here.

Each takes a boto3 client in its constructor so tests pass one made under moto (or a
fake); the handlers build the real clients lazily, on first use, not at import.
"""

from __future__ import annotations

import json
from typing import Any

from botocore.exceptions import ClientError

from transient_analytics.layout import split_s3_uri
from transient_analytics.notify.failed_run import CleanupReport
from transient_analytics.notify.message import Notification
from transient_analytics.runs.completion import PutEventsEntry, failed_entries
from transient_analytics.runs.cost import (
    Architecture,
    ClusterUsage,
    ServerlessUsage,
    usage_from_cluster,
    usage_from_job_run,
)
from transient_analytics.slots import ObjectRef

#: EMR cluster states in which a cluster still costs money and can be terminated.
ACTIVE_CLUSTER_STATES = ("STARTING", "BOOTSTRAPPING", "RUNNING", "WAITING")
#: EMR Serverless job run states in which a run may still write and can be cancelled.
ACTIVE_JOB_RUN_STATES = ("SUBMITTED", "PENDING", "SCHEDULED", "RUNNING", "QUEUED")


class Executions:
    """Step Functions: an execution's history."""

    def __init__(self, client: Any) -> None:
        self._sfn = client

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


class Objects:
    """S3: the landing objects under a prefix (one paginated ``ListObjectsV2``), and small JSON documents."""

    def __init__(self, client: Any) -> None:
        self._s3 = client
        #: ``ListObjectsV2`` pages and ``GetObject`` calls made (the note reports them per run).
        self.calls: dict[str, int] = {}

    def _count(self, op: str) -> None:
        self.calls[op] = self.calls.get(op, 0) + 1

    def list_prefix(self, bucket: str, prefix: str) -> list[ObjectRef]:
        refs: list[ObjectRef] = []
        token: str | None = None
        while True:
            self._count("ListObjectsV2")
            page = self._s3.list_objects_v2(
                Bucket=bucket, Prefix=prefix, **({"ContinuationToken": token} if token else {})
            )
            refs += [
                ObjectRef(
                    key=o["Key"],
                    etag=o.get("ETag", ""),
                    size=int(o.get("Size", 0)),
                    last_modified=o.get("LastModified"),
                )
                for o in page.get("Contents", [])
            ]
            token = page.get("NextContinuationToken")
            if not page.get("IsTruncated") or not token:
                return refs

    def read_json(self, uri: str) -> Any | None:
        """The JSON document at ``uri``, or None when there is no such object or it is not JSON."""
        bucket, key = split_s3_uri(uri)
        self._count("GetObject")
        try:
            body = self._s3.get_object(Bucket=bucket, Key=key)["Body"].read()
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("NoSuchKey", "404"):
                return None
            raise
        try:
            return json.loads(body)
        except ValueError:
            return None


class CompletionEvents:
    """EventBridge: announce converted slots (``runs.completion.put_events_batches``), resending failed entries."""

    def __init__(self, client: Any, attempts: int = 3) -> None:
        self._events = client
        self._attempts = attempts

    def announce(self, batches: list[list[PutEventsEntry]]) -> int:
        """Send every batch; an entry still failing after the last attempt raises (Lambda then retries)."""
        sent = 0
        for batch in batches:
            pending = batch
            for _ in range(self._attempts):
                response = self._events.put_events(Entries=pending)
                failed = failed_entries(pending, response)
                sent += len(pending) - len(failed)
                pending = failed
                if not pending:
                    break
            if pending:
                raise RuntimeError(
                    f"PutEvents: {len(pending)} completion event(s) not accepted after {self._attempts} attempts"
                )
        return sent


class Meter:
    """What AWS billed a run: a cluster's description and instance groups, or a serverless job run."""

    def __init__(self, emr: Any, emr_serverless: Any) -> None:
        self._emr = emr
        self._serverless = emr_serverless

    def cluster_usage(self, cluster_id: str) -> ClusterUsage:
        described = self._emr.describe_cluster(ClusterId=cluster_id)
        pages = self._emr.get_paginator("list_instance_groups").paginate(ClusterId=cluster_id)
        groups = [g for page in pages for g in page.get("InstanceGroups", [])]
        return usage_from_cluster(described, {"InstanceGroups": groups})

    def job_run_usage(
        self, application_id: str, job_run_id: str | None, job_name: str, architecture: Architecture
    ) -> ServerlessUsage:
        """The job run's billed usage; without its id (a task that failed), the newest run of that name."""
        if job_run_id is None:
            pages = self._serverless.get_paginator("list_job_runs").paginate(applicationId=application_id)
            named = [r for page in pages for r in page.get("jobRuns", []) if r.get("name") == job_name]
            if not named:
                raise LookupError(f"no job run named {job_name!r} in application {application_id}")
            job_run_id = str(max(named, key=lambda r: r.get("createdAt") or 0)["id"])
        run = self._serverless.get_job_run(applicationId=application_id, jobRunId=job_run_id)
        return usage_from_job_run(run, architecture)

    def cancel_named(self, application_id: str, job_name: str) -> CleanupReport:
        """Cancel every job run of ``job_name`` still going (a dead execution's); report, never raise."""
        try:
            pages = self._serverless.get_paginator("list_job_runs").paginate(
                applicationId=application_id, states=list(ACTIVE_JOB_RUN_STATES)
            )
            ids = sorted(str(r["id"]) for page in pages for r in page.get("jobRuns", []) if r.get("name") == job_name)
            for job_run_id in ids:
                self._serverless.cancel_job_run(applicationId=application_id, jobRunId=job_run_id)
        except Exception as exc:  # reported in the notification, and logged by the caller
            return CleanupReport(error=f"{type(exc).__name__}: {exc}", what="EMR Serverless job run")
        return CleanupReport(terminated=tuple(ids), what="EMR Serverless job run")
