"""The EMR Serverless runner behind a real Task state: its result, its errors reaching Retry and Catch, one job run."""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

import boto3

from checks.request_shapes import task_request_problems
from offline.harness import OfflineHarness
from offline.runners.emr_serverless import EmrServerlessRunner, Fault
from offline.runners.emr_serverless_api import EMR_SERVERLESS_START_JOB_RUN
from offline.runners.serverless_job import SimulatedServerlessJob
from tests.offline.serverless_support import (
    BUCKET,
    CURATED_A,
    CURATED_B,
    HEADER,
    JOB_URI,
    LANDING_A,
    LANDING_B,
    SCHEMA_URI,
    SLOT_A,
    SLOT_B,
    TITAN,
    key_of,
    request,
)


def probe_machine(harness: OfflineHarness, application_id: str, *slots: tuple[str, str, str]) -> str:
    """One startJobRun.sync state as issue 18 has it: ClientToken from the run id and RedriveCount, a Retry, a Catch."""
    parameters: dict[str, Any] = request(application_id, *slots)
    del parameters["ClientToken"], parameters["Tags"]["transient-analytics:execution"]
    parameters["ClientToken.$"] = "States.Format('{}-{}', $.run_id, $$.Execution.RedriveCount)"
    parameters["Tags"]["transient-analytics:execution.$"] = "$$.Execution.Id"
    name = f"serverless-probe-{uuid.uuid4().hex[:8]}"
    harness.add_state_machine(
        name,
        {
            "StartAt": "RunServerlessJob",
            "States": {
                "RunServerlessJob": {
                    "Type": "Task",
                    "Resource": EMR_SERVERLESS_START_JOB_RUN,
                    "Parameters": parameters,
                    "ResultSelector": {"ApplicationId.$": "$.ApplicationId", "JobRunId.$": "$.JobRunId"},
                    "ResultPath": "$.job",
                    "Retry": [{"ErrorEquals": ["EMRServerless.ThrottlingException"], "MaxAttempts": 3}],
                    "Catch": [{"ErrorEquals": ["States.TaskFailed"], "ResultPath": "$.error", "Next": "JobFailed"}],
                    "End": True,
                },
                "JobFailed": {"Type": "Pass", "End": True},
            },
        },
    )
    return name


def put_world(harness: OfflineHarness) -> str:
    """The job, its schema and two slots in the harness's S3; an EMR Serverless application; its ID."""
    s3 = boto3.client("s3", region_name=harness.region)
    if BUCKET not in {b["Name"] for b in s3.list_buckets()["Buckets"]}:
        s3.create_bucket(Bucket=BUCKET)
    s3.put_object(Bucket=BUCKET, Key=key_of(SCHEMA_URI), Body=Path("jobs/schemas/characters.json").read_bytes())
    s3.put_object(Bucket=BUCKET, Key=key_of(JOB_URI), Body=Path("jobs/csv_to_parquet.py").read_bytes())
    s3.put_object(Bucket=BUCKET, Key=key_of(LANDING_A) + "a.csv", Body=(HEADER + TITAN).encode())
    s3.put_object(Bucket=BUCKET, Key=key_of(LANDING_B) + "b.csv", Body=(HEADER + TITAN).encode())
    emrs = boto3.client("emr-serverless", region_name=harness.region)
    return str(emrs.create_application(name="spark", releaseLabel="emr-7.13.0", type="SPARK")["applicationId"])


def test_a_retried_start_job_run_reaches_the_same_job_run_and_the_state_keeps_its_ids(
    harness: OfflineHarness, tmp_path
):
    app_id = put_world(harness)
    job = SimulatedServerlessJob()
    runner = EmrServerlessRunner(tmp_path, job=job, faults=[Fault(after_start=True)]).register(harness)
    # WHEN the state's first attempt starts the run but sees a throttling error, and its Retry follows
    result = harness.run(probe_machine(harness, app_id, (SLOT_A, LANDING_A, CURATED_A)), {"run_id": "r1"})
    # THEN the execution succeeds with the one job run's IDs, the job ran once
    (record,) = runner.job_runs
    assert result.status == "SUCCEEDED", result.cause
    assert result.output["job"] == {"ApplicationId": app_id, "JobRunId": record.job_run_id}
    assert len(job.calls) == 1
    # AND both attempts sent the same ClientToken, run id and redrive count, valid for StartJobRun
    attempts = result.tasks("RunServerlessJob")
    assert [a.parameters["ClientToken"] for a in attempts] == ["r1-0", "r1-0"]
    assert [a.resource_type for a in attempts] == ["emr-serverless", "emr-serverless"]
    assert task_request_problems(EMR_SERVERLESS_START_JOB_RUN, attempts[0].parameters) == []
    assert result.events("TaskSubmitted") and harness.sleeps[0].state == "RunServerlessJob"


def test_a_failed_job_run_reaches_the_catch_as_states_task_failed_with_the_run_described(
    harness: OfflineHarness, tmp_path
):
    app_id = put_world(harness)
    EmrServerlessRunner(tmp_path, job=SimulatedServerlessJob(fail={SLOT_B})).register(harness)
    slots = ((SLOT_A, LANDING_A, CURATED_A), (SLOT_B, LANDING_B, CURATED_B))
    result = harness.run(probe_machine(harness, app_id, *slots), {"run_id": "r2"})
    assert result.status == "SUCCEEDED" and result.states_entered == ["RunServerlessJob", "JobFailed"]
    error = result.output["error"]
    cause = json.loads(error["Cause"])
    assert error["Error"] == "States.TaskFailed" and cause["State"] == "FAILED"
    assert f"1 of 2 slots failed: {SLOT_B}" in cause["StateDetails"]
