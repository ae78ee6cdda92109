"""startJobRun.sync offline: the request checked as EMR Serverless would, a job run in moto, the same job run once."""

from __future__ import annotations

import gzip
import json
import threading
from typing import Any

import pytest

from offline.integrations import TaskFailure
from offline.runners.emr_serverless import EmrServerlessRunner, Fault
from offline.runners.serverless_job import SimulatedServerlessJob, parse_spark_submit_parameters, worker_utilization
from tests.offline.serverless_support import (
    BUCKET,
    CURATED_A,
    CURATED_B,
    LANDING_A,
    LANDING_B,
    LOG_URI,
    REPORT,
    RUN_ID,
    SIZING,
    SLOT_A,
    SLOT_B,
    GateJob,
    aws,
    job_run,
    key_of,
    keys,
    request,
    task_context,
)
from transient_analytics.runs.cost import PriceTable, run_cost, usage_from_job_run

__all__ = ["aws"]


# --- the real job on local Spark ----------------------------------------------------------------


@pytest.mark.spark
@pytest.mark.slow
def test_a_job_run_converts_its_slot_on_local_spark_and_reads_back_as_success_with_its_billed_usage(aws, tmp_path):
    s3, emrs, app_id = aws
    runner = EmrServerlessRunner(tmp_path)
    submitted: list[Any] = []
    # WHEN the task runs the job on a healthy slot
    result = runner(request(app_id, (SLOT_A, LANDING_A, CURATED_A)), task_context(submitted=submitted))
    # THEN the task returns StartJobRun's response, as submitted when the run started
    (record,) = runner.job_runs
    assert result == submitted[0] == {"ApplicationId": app_id, "JobRunId": record.job_run_id, "Arn": record.arn}
    # AND the slot's Parquet, its manifest and the run's report are in S3
    assert [n for n in keys(s3, CURATED_A) if n.startswith("class=Titan/") and n.endswith(".parquet")]
    manifest = json.loads(s3.get_object(Bucket=BUCKET, Key=key_of(CURATED_A) + "_manifest.json")["Body"].read())
    assert (manifest["input_uri"], manifest["rows_written"]) == (LANDING_A, 1)
    report = json.loads(s3.get_object(Bucket=BUCKET, Key=key_of(REPORT))["Body"].read())
    assert [(s["slot"], s["status"]) for s in report["slots"]] == [(SLOT_A, "converted")]
    # AND GetJobRun reads SUCCESS with the modelled bill: a driver and 2 executors of 4 vCPU and
    # 16 GB (14 GB + 10 %), billed at least a minute each
    run = job_run(emrs, app_id, record.job_run_id)
    assert run["state"] == "SUCCESS" and run["tags"]["transient-analytics:run-id"] == RUN_ID
    billed, _ = worker_utilization(parse_spark_submit_parameters(SIZING), run["totalExecutionDurationSeconds"])
    assert run["billedResourceUtilization"] == billed
    assert billed["vCPUHour"] >= round(3 * 4 * 60 / 3600, 6) and billed["storageGBHour"] == 0
    # AND the run's cost follows from it with the layer's price table
    assert run_cost(usage_from_job_run({"jobRun": run}), PriceTable()) > 0
    # AND the driver's log is where EMR Serverless puts it
    log_key = key_of(LOG_URI) + f"applications/{app_id}/jobs/{record.job_run_id}/SPARK_DRIVER/stderr.gz"
    assert "csv_to_parquet" in gzip.decompress(s3.get_object(Bucket=BUCKET, Key=log_key)["Body"].read()).decode()


@pytest.mark.spark
@pytest.mark.slow
def test_a_slot_that_fails_fails_the_run_with_the_jobs_own_error_and_the_healthy_slot_stays_committed(aws, tmp_path):
    s3, emrs, app_id = aws
    runner = EmrServerlessRunner(tmp_path)
    # WHEN the job runs a healthy slot A and a slot B whose second row is short
    with pytest.raises(TaskFailure) as failure:
        runner(request(app_id, (SLOT_A, LANDING_A, CURATED_A), (SLOT_B, LANDING_B, CURATED_B)), task_context())
    # THEN the task fails as a failed job run does, the cause describing the run
    (record,) = runner.job_runs
    cause = json.loads(failure.value.cause)
    assert failure.value.error == "States.TaskFailed"
    assert (cause["JobRunId"], cause["State"]) == (record.job_run_id, "FAILED")
    # AND stateDetails carries the job's own error line, naming the poison slot and S3, not local paths
    details = job_run(emrs, app_id, record.job_run_id)["stateDetails"]
    assert details.startswith("Job failed, please check complete logs in configured logging destination. ExitCode: ")
    assert f"csv_to_parquet: error: 1 of 2 slots failed: {SLOT_B}" in details and details == cause["StateDetails"]
    assert str(tmp_path) not in details
    # AND slot A is committed, slot B untouched, the report names both
    assert "_manifest.json" in keys(s3, CURATED_A) and keys(s3, CURATED_B) == set()
    report = json.loads(s3.get_object(Bucket=BUCKET, Key=key_of(REPORT))["Body"].read())
    assert [(s["slot"], s["status"]) for s in report["slots"]] == [(SLOT_A, "converted"), (SLOT_B, "failed")]


# --- the job run's life, with the simulated job (no Spark) ---------------------------------------


def test_a_start_whose_answer_was_lost_is_found_again_by_its_token_and_the_job_runs_once(aws, tmp_path):
    s3, emrs, app_id = aws
    job = SimulatedServerlessJob()
    runner = EmrServerlessRunner(tmp_path, job=job, faults=[Fault(after_start=True)])
    parameters = request(app_id, (SLOT_A, LANDING_A, CURATED_A))
    # GIVEN StartJobRun took effect but the task saw it fail (a throttled answer)
    with pytest.raises(TaskFailure) as failure:
        runner(parameters, task_context())
    assert failure.value.error == "EMRServerless.ThrottlingException"
    # WHEN the Retry re-sends the same request, ClientToken included
    result = runner(parameters, task_context())
    # THEN it waits for the job run the first attempt started: one job run, one job
    (record,) = runner.job_runs
    assert result["JobRunId"] == record.job_run_id
    assert len(job.calls) == 1
    assert [r["id"] for r in emrs.list_job_runs(applicationId=app_id)["jobRuns"]] == [record.job_run_id]
    assert job_run(emrs, app_id, record.job_run_id)["state"] == "SUCCESS"
    assert "_manifest.json" in keys(s3, CURATED_A)


def test_a_start_refused_before_it_took_effect_starts_one_job_run_on_retry(aws, tmp_path):
    _, emrs, app_id = aws
    job = SimulatedServerlessJob()
    runner = EmrServerlessRunner(tmp_path, job=job, faults=[Fault()])
    parameters = request(app_id, (SLOT_A, LANDING_A, CURATED_A))
    with pytest.raises(TaskFailure, match="EMRServerless.ThrottlingException"):
        runner(parameters, task_context())
    assert runner.job_runs == [] and job.calls == []
    runner(parameters, task_context())
    assert len(runner.job_runs) == len(job.calls) == 1


def test_a_token_reused_with_other_parameters_is_a_conflict_and_a_redrives_new_token_a_new_run(aws, tmp_path):
    _, emrs, app_id = aws
    runner = EmrServerlessRunner(tmp_path, job=SimulatedServerlessJob())
    runner(request(app_id, (SLOT_A, LANDING_A, CURATED_A)), task_context())
    with pytest.raises(TaskFailure) as failure:
        runner(request(app_id, (SLOT_B, LANDING_B, CURATED_B)), task_context())
    assert failure.value.error == "EMRServerless.ConflictException"
    assert f"clientToken '{RUN_ID}-0' was used with other parameters" in failure.value.cause
    # a redrive's token (run id - redrive count 1) starts a run of its own
    runner(request(app_id, (SLOT_A, LANDING_A, CURATED_A), token=f"{RUN_ID}-1"), task_context())
    assert len(runner.job_runs) == 2 == len(emrs.list_job_runs(applicationId=app_id)["jobRuns"])


def test_a_failing_slot_fails_the_run_with_its_error_and_a_bill(aws, tmp_path):
    _, emrs, app_id = aws
    runner = EmrServerlessRunner(tmp_path, job=SimulatedServerlessJob(seconds=30, fail={SLOT_B}))
    with pytest.raises(TaskFailure) as failure:
        runner(request(app_id, (SLOT_A, LANDING_A, CURATED_A), (SLOT_B, LANDING_B, CURATED_B)), task_context())
    run = job_run(emrs, app_id, runner.job_runs[0].job_run_id)
    assert failure.value.error == "States.TaskFailed" and json.loads(failure.value.cause)["State"] == "FAILED"
    assert run["state"] == "FAILED"
    assert (
        f"ExitCode: 1. Last few exceptions: csv_to_parquet: error: 1 of 2 slots failed: {SLOT_B}" in run["stateDetails"]
    )
    # a 30 s run of a driver and 2 executors (4 vCPU, 16 GB) is billed a minute each
    assert run["billedResourceUtilization"] == {"vCPUHour": 0.2, "memoryGBHour": 0.8, "storageGBHour": 0.0}
    assert run["totalExecutionDurationSeconds"] == 30


def test_a_job_run_past_its_execution_timeout_is_cancelled_by_the_service_and_fails_the_task(aws, tmp_path):
    _, emrs, app_id = aws
    # GIVEN a job that would run 61 minutes on a run allowed 60 (nothing sleeps: the job says so)
    runner = EmrServerlessRunner(tmp_path, job=SimulatedServerlessJob(seconds=61 * 60))
    with pytest.raises(TaskFailure) as failure:
        runner(request(app_id, (SLOT_A, LANDING_A, CURATED_A)), task_context())
    run = job_run(emrs, app_id, runner.job_runs[0].job_run_id)
    # THEN the run is CANCELLED for its time-out, billed for the hour it was allowed, the task failed
    assert run["state"] == "CANCELLED" and "executionTimeoutMinutes (60)" in run["stateDetails"]
    assert run["billedResourceUtilization"]["vCPUHour"] == 12.0  # 3 workers x 4 vCPU x 1 h
    assert failure.value.error == "States.TaskFailed" and json.loads(failure.value.cause)["State"] == "CANCELLED"


def test_a_stopped_execution_cancels_the_job_run_and_kills_its_job(aws, tmp_path):
    _, emrs, app_id = aws
    job, running = GateJob(), threading.Event()
    running.set()
    runner = EmrServerlessRunner(tmp_path, job=job)
    task = threading.Thread(
        target=runner, args=(request(app_id, (SLOT_A, LANDING_A, CURATED_A)), task_context(running))
    )
    task.start()
    assert job.started.wait(10)
    # WHEN the execution is stopped while the job runs
    running.clear()
    task.join(10)
    # THEN the task returned, the job was stopped and the run is CANCELLED, billed for its 90 s
    assert not task.is_alive() and job.stopped
    run = job_run(emrs, app_id, runner.job_runs[0].job_run_id)
    assert run["state"] == "CANCELLED" and "cancelled" in run["stateDetails"]
    assert run["billedResourceUtilization"]["vCPUHour"] == 0.3  # 3 workers x 4 vCPU x 90 s


def test_a_job_run_out_of_its_local_time_budget_is_stopped_and_cancelled(aws, tmp_path):
    _, emrs, app_id = aws
    # GIVEN a minute of ExecutionTimeoutMinutes lasting 10 ms of this machine
    job = GateJob()
    runner = EmrServerlessRunner(tmp_path, job=job, seconds_per_timeout_minute=0.002)
    with pytest.raises(TaskFailure, match='"State": "CANCELLED"'):
        runner(request(app_id, (SLOT_A, LANDING_A, CURATED_A), ExecutionTimeoutMinutes=5), task_context())
    assert job.stopped
    assert "timed out" in job_run(emrs, app_id, runner.job_runs[0].job_run_id)["stateDetails"]


# --- requests EMR Serverless refuses ---------------------------------------------------------------


@pytest.mark.parametrize(
    "change, error, expected",
    [
        (
            lambda r: r.pop("ExecutionRoleArn"),
            "ValidationException",
            'Missing required parameter in input: "executionRoleArn"',
        ),
        (
            lambda r: r.update(ClientToken="run(1)"),
            "ValidationException",
            "clientToken: 'run(1)' does not match pattern",
        ),
        (
            lambda r: r["JobDriver"]["SparkSubmit"].update(EntryPoint=f"s3://{BUCKET}/artifacts/jobs/missing.py"),
            "ValidationException",
            f"JobDriver.SparkSubmit.EntryPoint: no object at s3://{BUCKET}/artifacts/jobs/missing.py",
        ),
        (
            lambda r: r["JobDriver"]["SparkSubmit"].update(SparkSubmitParameters="--conf spark.master=yarn"),
            "ValidationException",
            "SparkSubmitParameters: Option 'spark.master' is not supported",
        ),
        (
            lambda r: r["JobDriver"]["SparkSubmit"].update(SparkSubmitParameters="--py-files s3://b/x.zip"),
            "ValidationException",
            "SparkSubmitParameters: only '--conf key=value' pairs are supported offline, got '--py-files'",
        ),
        (
            lambda r: r["Tags"].pop("transient-analytics:run-id"),
            "ValidationException",
            "Tags lack transient-analytics:run-id",
        ),
        (
            lambda r: r.update(ApplicationId="00nosuchapp"),
            "ResourceNotFoundException",
            "Application 00nosuchapp does not exist",
        ),
        (
            lambda r: r.update(ExecutionTimeoutMinutes=4),
            "ValidationException",
            "RunTimeout must be at least 5 minutes.",
        ),
    ],
)
def test_a_request_emr_serverless_refuses_fails_the_task_naming_the_field(aws, tmp_path, change, error, expected):
    _, emrs, app_id = aws
    job = SimulatedServerlessJob()
    runner = EmrServerlessRunner(tmp_path, job=job)
    parameters = request(app_id, (SLOT_A, LANDING_A, CURATED_A))
    change(parameters)
    with pytest.raises(TaskFailure) as failure:
        runner(parameters, task_context())
    assert failure.value.error == f"EMRServerless.{error}"
    assert expected in failure.value.cause and f"Error Code: {error})" in failure.value.cause
    assert job.calls == []
