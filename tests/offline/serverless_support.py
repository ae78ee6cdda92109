"""The EMR Serverless runner's tests' world: moto S3 with the job and two slots, an application, the pipeline's request."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws

from offline.integrations import TaskContext
from offline.runners.emr_serverless_api import EMR_SERVERLESS_START_JOB_RUN
from offline.runners.serverless_job import JobOutcome, JobRequest

REGION, ACCOUNT = "us-east-1", "123456789012"
EXECUTION = f"arn:aws:states:{REGION}:{ACCOUNT}:execution:transient-analytics-dev-emr-pipeline:run-1"
BUCKET = "ta-data"
RUN_ID = "20261125T2030Z-1a2b3c4d"
SLOT_A, SLOT_B = "2026-11-25T20:00Z", "2026-11-25T20:15Z"
LANDING_A = f"s3://{BUCKET}/landing/characters/dt=2026-11-25/hour=20/minute=00/"
LANDING_B = f"s3://{BUCKET}/landing/characters/dt=2026-11-25/hour=20/minute=15/"
CURATED_A = f"s3://{BUCKET}/curated/characters/dt=2026-11-25/hour=20/minute=00/"
CURATED_B = f"s3://{BUCKET}/curated/characters/dt=2026-11-25/hour=20/minute=15/"
REPORT = f"s3://{BUCKET}/runs/emr/{RUN_ID}/report.json"
SCHEMA_URI = f"s3://{BUCKET}/artifacts/jobs/schemas/characters.json"
JOB_URI = f"s3://{BUCKET}/artifacts/jobs/csv_to_parquet.py"
LOG_URI = f"s3://{BUCKET}/logs/emr-serverless/dt=2026-11-25/hour=20/minute=30/"
HEADER = "id,name,class,race,level,light,guardian_rank,is_active,last_played\n"
TITAN = "1,Ana Vesper,Titan,Human,50,2001,9,true,2025-12-31T10:00:00Z\n"
SIZING = "--conf spark.executor.cores=4 --conf spark.executor.memory=14g --conf spark.executor.instances=2"


def key_of(uri: str) -> str:
    return uri.split(f"s3://{BUCKET}/", 1)[1]


def request(
    application_id: str, *slots: tuple[str, str, str], token: str = f"{RUN_ID}-0", **changes: Any
) -> dict[str, Any]:
    """The request the EMR pipeline's serverless backend sends (issue 18's shape)."""
    arguments = ["--schema", SCHEMA_URI, "--partition-column", "class", "--run-id", RUN_ID, "--report", REPORT]
    for slot_id, source, output in slots:
        arguments += ["--slot", slot_id, source, output, "ab12"]
    return {
        "ApplicationId": application_id,
        "ExecutionRoleArn": f"arn:aws:iam::{ACCOUNT}:role/transient-analytics-dev-EmrServerlessJobRole",
        "Name": f"transient-analytics-dev-emr-{RUN_ID}",
        "ClientToken": token,
        "ExecutionTimeoutMinutes": 60,
        "JobDriver": {
            "SparkSubmit": {"EntryPoint": JOB_URI, "EntryPointArguments": arguments, "SparkSubmitParameters": SIZING}
        },
        "ConfigurationOverrides": {"MonitoringConfiguration": {"S3MonitoringConfiguration": {"LogUri": LOG_URI}}},
        "Tags": {
            "transient-analytics:execution": EXECUTION,
            "transient-analytics:run-id": RUN_ID,
            "transient-analytics:stack": "transient-analytics-dev",
            "transient-analytics:pipeline": "emr",
        },
        **changes,
    }


def task_context(running: threading.Event | None = None, submitted: list[Any] | None = None) -> TaskContext:
    return TaskContext(
        state_name="RunServerlessJob",
        resource=EMR_SERVERLESS_START_JOB_RUN,
        execution_arn=EXECUTION,
        execution_name="run-1",
        state_machine_arn=EXECUTION.rsplit(":", 1)[0].replace(":execution:", ":stateMachine:"),
        retry_count=0,
        redrive_count=0,
        test_case=None,
        region=REGION,
        account_id=ACCOUNT,
        _submit=(submitted if submitted is not None else []).append,
        _is_running=(lambda: True) if running is None else running.is_set,
    )


@pytest.fixture
def aws() -> Iterator[tuple[Any, Any, str]]:
    """moto S3 with the job, its schema and two landing slots (B's second row is short), and an application."""
    with mock_aws():
        s3 = boto3.client("s3", region_name=REGION)
        s3.create_bucket(Bucket=BUCKET)
        s3.put_object(Bucket=BUCKET, Key=key_of(SCHEMA_URI), Body=Path("jobs/schemas/characters.json").read_bytes())
        s3.put_object(Bucket=BUCKET, Key=key_of(JOB_URI), Body=Path("jobs/csv_to_parquet.py").read_bytes())
        s3.put_object(Bucket=BUCKET, Key=key_of(LANDING_A) + "a.csv", Body=(HEADER + TITAN).encode())
        s3.put_object(Bucket=BUCKET, Key=key_of(LANDING_B) + "b.csv", Body=(HEADER + TITAN + "2,x\n").encode())
        emrs = boto3.client("emr-serverless", region_name=REGION)
        app = emrs.create_application(name="transient-analytics-dev-spark", releaseLabel="emr-7.13.0", type="SPARK")
        yield s3, emrs, app["applicationId"]


def job_run(emrs: Any, application_id: str, job_run_id: str) -> dict[str, Any]:
    described: dict[str, Any] = emrs.get_job_run(applicationId=application_id, jobRunId=job_run_id)["jobRun"]
    return described


def keys(s3: Any, uri: str) -> set[str]:
    listing = s3.list_objects_v2(Bucket=BUCKET, Prefix=key_of(uri))
    return {obj["Key"][len(key_of(uri)) :] for obj in listing.get("Contents", [])}


class GateJob:
    """A job that runs until its run is stopped (to see what stopping does)."""

    def __init__(self) -> None:
        self.started = threading.Event()
        self.stopped = False

    def __call__(self, job: JobRequest, context: TaskContext) -> JobOutcome:
        self.started.set()
        while not context.cancelled():
            threading.Event().wait(0.05)
        self.stopped = True
        return JobOutcome(exit_code=None, seconds=90, log="killed")
