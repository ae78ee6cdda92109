"""emr-serverless:startJobRun(.sync) is checked as the StartJobRun request it becomes."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from checks.request_shapes import SDK_GENERATED_TOKEN, integration_for, integration_key, task_request_problems

START_JOB_RUN = "arn:aws:states:::emr-serverless:startJobRun.sync"
EXECUTION = "arn:aws:states:us-east-1:123456789012:execution:transient-analytics-dev-emr-pipeline:run-1"


def request() -> dict[str, Any]:
    """The request the EMR pipeline's serverless backend sends (the shape issue 18 fixes)."""
    return {
        "ApplicationId": "00fs3d4k5l6m7n8o",
        "ExecutionRoleArn": "arn:aws:iam::123456789012:role/transient-analytics-dev-EmrServerlessJobRole",
        "Name": "transient-analytics-dev-emr-20261125T2015Z-1a2b3c4d",
        "ClientToken": "20261125T2015Z-1a2b3c4d-0",
        "ExecutionTimeoutMinutes": 60,
        "JobDriver": {
            "SparkSubmit": {
                "EntryPoint": "s3://ta-data/artifacts/jobs/csv_to_parquet.py",
                "EntryPointArguments": [
                    "--schema",
                    "s3://ta-data/artifacts/jobs/schemas/characters.json",
                    "--slot",
                    "2026-11-25T20:00Z",
                ],
                "SparkSubmitParameters": "--conf spark.executor.cores=4 --conf spark.executor.memory=14g",
            }
        },
        "ConfigurationOverrides": {
            "MonitoringConfiguration": {"S3MonitoringConfiguration": {"LogUri": "s3://ta-data/logs/emr-serverless/"}}
        },
        "Tags": {
            "transient-analytics:execution": EXECUTION,
            "transient-analytics:run-id": "20261125T2015Z-1a2b3c4d",
            "transient-analytics:stack": "transient-analytics-dev",
            "transient-analytics:pipeline": "emr",
        },
    }


def test_the_pipelines_start_job_run_request_is_valid_for_the_api():
    assert task_request_problems(START_JOB_RUN, request()) == []


def test_the_integrations_member_names_become_the_apis_but_tag_keys_keep_their_case():
    rendered = integration_for(START_JOB_RUN).render(request())
    assert sorted(rendered) == [
        "applicationId",
        "clientToken",
        "configurationOverrides",
        "executionRoleArn",
        "executionTimeoutMinutes",
        "jobDriver",
        "name",
        "tags",
    ]
    assert rendered["jobDriver"]["sparkSubmit"]["entryPoint"] == "s3://ta-data/artifacts/jobs/csv_to_parquet.py"
    assert rendered["configurationOverrides"]["monitoringConfiguration"]["s3MonitoringConfiguration"] == {
        "logUri": "s3://ta-data/logs/emr-serverless/"
    }
    assert rendered["tags"]["transient-analytics:execution"] == EXECUTION


def test_a_left_out_client_token_is_generated_as_the_sdk_does_and_is_no_problem():
    parameters = request()
    del parameters["ClientToken"]
    assert integration_for(START_JOB_RUN).render(parameters)["clientToken"] == SDK_GENERATED_TOKEN
    assert task_request_problems(START_JOB_RUN, parameters) == []


@pytest.mark.parametrize(
    "change, expected",
    [
        (lambda r: r.pop("ExecutionRoleArn"), 'StartJobRun: Missing required parameter in input: "executionRoleArn"'),
        (lambda r: r.pop("ApplicationId"), 'StartJobRun: Missing required parameter in input: "applicationId"'),
        (
            lambda r: r.update(ClientToken="run(1)-0"),
            "StartJobRun: clientToken: 'run(1)-0' does not match pattern [A-Za-z0-9._-]+",
        ),
        (
            lambda r: r.update(ClientToken="x" * 65),
            "StartJobRun: clientToken: length 65 is more than the maximum of 64",
        ),
        (
            lambda r: r.update(ApplicationId="00F-abc"),
            "StartJobRun: applicationId: '00F-abc' does not match pattern [0-9a-z]+",
        ),
        (
            lambda r: r.update(ExecutionRoleArn="job-role"),
            "StartJobRun: executionRoleArn: 'job-role' does not match pattern",
        ),
        (
            lambda r: r.update(ExecutionTimeoutMinutes="60"),
            "StartJobRun: Invalid type for parameter executionTimeoutMinutes",
        ),
        (
            lambda r: r["JobDriver"]["SparkSubmit"].pop("EntryPoint"),
            'StartJobRun: Missing required parameter in jobDriver.sparkSubmit: "entryPoint"',
        ),
        (
            lambda r: r["JobDriver"]["SparkSubmit"].update(EntryPointArguments=["--slot"] * 1025),
            "StartJobRun: jobDriver.sparkSubmit.entryPointArguments: 1025 items, more than the maximum of 1024",
        ),
        (lambda r: r["JobDriver"].update(Spark={}), 'StartJobRun: Unknown parameter in jobDriver: "Spark"'),
        # EMR Serverless tags are ASCII only: what SageMaker and EMR accept (any letter) it refuses
        (
            lambda r: r["Tags"].update({"transient-analytics:execution": EXECUTION + "-ß"}),
            f"StartJobRun: tags['transient-analytics:execution']: '{EXECUTION}-ß' does not match pattern [A-Za-z0-9 /_.:=+@-]*",
        ),
        (
            lambda r: r["Tags"].update({"bad!key": "v"}),
            "StartJobRun: tags<key 'bad!key'>: 'bad!key' does not match pattern",
        ),
    ],
)
def test_each_field_the_api_would_refuse_is_named_with_its_rule(change, expected):
    parameters = copy.deepcopy(request())
    change(parameters)
    problems = task_request_problems(START_JOB_RUN, parameters)
    assert any(expected in p for p in problems), problems


def test_start_job_run_maps_from_definitions_and_from_history_events():
    assert integration_key(START_JOB_RUN) == "emr-serverless:startJobRun"
    assert integration_key("startJobRun.sync", "emr-serverless") == "emr-serverless:startJobRun"
    assert integration_key("arn:aws:states:::emr-serverless:startJobRun") == "emr-serverless:startJobRun"
    assert integration_for(START_JOB_RUN).operation == "StartJobRun"
