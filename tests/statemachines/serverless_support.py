"""The EMR pipeline deployed with ``SparkBackend=serverless``: the harness, the runner and what runs look like.

A test module imports :func:`module_harness` from here (it overrides the default-parameters harness of
tests/harness_fixtures.py for that module); ``h`` and ``harness`` then use it.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest

from offline.harness import ExecutionResult, OfflineHarness
from offline.runners.emr_serverless import EmrServerlessRunner, Fault
from offline.runners.serverless_job import SimulatedServerlessJob
from tests.statemachines.sfn_support import MOCK_CONFIG, ROOT, bucket, plan_of
from transient_analytics import layout

#: The states a successful serverless run enters, in order.
SERVERLESS_HAPPY_STATES = [
    "PrepareRun",
    "HasWork",
    "ChooseBackend",
    "RunServerlessJob",
    "ServerlessJobSucceeded",
    "RecordSlots",
    "RouteOutcome",
    "Succeeded",
]
#: How a serverless run whose job run did not succeed ends: the slots recorded, the run failed.
SERVERLESS_FAILED_STATES = [
    "PrepareRun",
    "HasWork",
    "ChooseBackend",
    "RunServerlessJob",
    "ServerlessJobFailed",
    "RecordSlots",
    "RouteOutcome",
    "SparkStepFailed",
]


@pytest.fixture(scope="module")
def module_harness() -> Iterator[OfflineHarness]:
    with OfflineHarness(ROOT, mock_config=MOCK_CONFIG, parameters={"SparkBackend": "serverless"}) as harness:
        yield harness


def application_id(h: OfflineHarness) -> str:
    """The id moto gave the stack's application (the state machine's ApplicationId substitution)."""
    return str(h.stack.resolve({"Fn::GetAtt": ["SparkApplication", "ApplicationId"]}))


def runner(
    h: OfflineHarness, tmp_path: Path, job: SimulatedServerlessJob | None = None, **options: Any
) -> EmrServerlessRunner:
    """The twin's startJobRun.sync runner with a simulated job, registered on ``h``; the job's script published
    (EMR Serverless refuses a StartJobRun whose EntryPoint object is missing)."""
    s3 = boto3.client("s3", region_name=h.region)
    s3.put_object(Bucket=bucket(h), Key=layout.JOB_KEY, Body=(ROOT / "jobs" / "csv_to_parquet.py").read_bytes())
    return EmrServerlessRunner(tmp_path, region=h.region, job=job or SimulatedServerlessJob(), **options).register(h)


def job_run(h: OfflineHarness, job_run_id: str) -> dict[str, Any]:
    client = boto3.client("emr-serverless", region_name=h.region)
    return dict(client.get_job_run(applicationId=application_id(h), jobRunId=job_run_id)["jobRun"])


def job_runs(h: OfflineHarness) -> list[dict[str, Any]]:
    """Every job run of the stack's application, as ListJobRuns returns them."""
    client = boto3.client("emr-serverless", region_name=h.region)
    return list(client.list_job_runs(applicationId=application_id(h))["jobRuns"])


def clusters(h: OfflineHarness) -> list[dict[str, Any]]:
    return list(boto3.client("emr", region_name=h.region).list_clusters()["Clusters"])


def check_serverless_requests(h: OfflineHarness, result: ExecutionResult) -> None:
    """Every StartJobRun the run sent is the plan's, on the stack's application and role, token from the run."""
    plan = plan_of(result)
    job = plan["serverless"]
    for task in result.tasks("RunServerlessJob"):
        assert task.parameters == {
            "ApplicationId": application_id(h),
            "ExecutionRoleArn": h.stack.resolve({"Fn::GetAtt": ["ServerlessJobRole", "Arn"]}),
            "Name": job["job_name"],
            "ClientToken": f"{plan['run_id']}-0",
            "ExecutionTimeoutMinutes": job["execution_timeout_minutes"],
            "JobDriver": {
                "SparkSubmit": {
                    "EntryPoint": job["entry_point"],
                    "EntryPointArguments": job["entry_point_arguments"],
                    "SparkSubmitParameters": job["spark_submit_parameters"],
                }
            },
            "ConfigurationOverrides": {
                "MonitoringConfiguration": {"S3MonitoringConfiguration": {"LogUri": job["log_uri"]}}
            },
            "Tags": job["tags"],
        }
        assert task.timeout_seconds == job["task_timeout_seconds"]


__all__ = ["Fault", "SimulatedServerlessJob", "module_harness"]
