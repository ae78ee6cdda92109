"""The local runners' checks and the SageMaker batch path, without Spark."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest

from model.code import inference
from offline.runners import cluster_request_problems, score_object, transform_request_problems

EXECUTION = "arn:aws:states:us-east-1:123456789012:execution:transient-analytics-dev-emr-pipeline:run-1"
CLUSTER_REQUEST = {
    "Name": "transient-analytics-dev-emr-20261125T2015Z-0123abcd",
    "ReleaseLabel": "emr-7.13.0",
    "Applications": [{"Name": "Spark"}],
    "LogUri": "s3://bucket/logs/emr/dt=2026-11-25/hour=20/minute=15/",
    "ServiceRole": "service-role",
    "JobFlowRole": "instance-profile",
    "Instances": {
        "InstanceGroups": [
            {"InstanceRole": "MASTER", "InstanceType": "m7g.xlarge", "InstanceCount": 1},
            {"InstanceRole": "CORE", "InstanceType": "m7g.xlarge", "InstanceCount": 2},
        ],
        "KeepJobFlowAliveWhenNoSteps": True,
    },
    "Tags": [
        {"Key": "transient-analytics:execution", "Value": EXECUTION},
        {"Key": "transient-analytics:run-id", "Value": "20261125T2015Z-0123abcd"},
        {"Key": "transient-analytics:stack", "Value": "transient-analytics-dev"},
    ],
}
TRANSFORM_REQUEST = {
    "TransformJobName": "ta-abalone-202611250600-0123abcd-0-0",
    "ModelName": "model",
    "MaxPayloadInMB": 6,
    "TransformInput": {
        "DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": "s3://b/in/"}},
        "SplitType": "Line",
    },
    "TransformOutput": {"S3OutputPath": "s3://b/out/", "AssembleWith": "Line"},
    "DataProcessing": {"JoinSource": "Input"},
}


def test_a_well_formed_cluster_request_passes():
    assert cluster_request_problems(CLUSTER_REQUEST, EXECUTION) == []


@pytest.mark.parametrize(
    "change, problem",
    [
        (lambda r: r.update(ReleaseLabel="emr-6.15.0"), "not an emr-7.x release"),
        (lambda r: r.update(Applications=[{"Name": "Hive"}]), "must include Spark"),
        (lambda r: r.update(ServiceRole=""), "ServiceRole is required"),
        (lambda r: r["Instances"].update(KeepJobFlowAliveWhenNoSteps=False), "KeepJobFlowAliveWhenNoSteps"),
        (lambda r: r["Instances"]["InstanceGroups"].pop(), "exactly one MASTER and one CORE"),
        (lambda r: r.update(Tags=[]), "Tags lack transient-analytics:execution"),
        (lambda r: r.update(LogUri="hdfs:///logs"), "LogUri must be an s3:// URI"),
    ],
)
def test_a_cluster_request_emr_would_reject_is_refused_with_the_reason(change, problem):
    request = copy.deepcopy(CLUSTER_REQUEST)
    change(request)
    assert any(problem in p for p in cluster_request_problems(request, EXECUTION))


def test_a_cluster_tagged_for_another_execution_is_refused():
    assert "the execution tag does not name this execution" in cluster_request_problems(
        CLUSTER_REQUEST, EXECUTION + "x"
    )


@pytest.mark.parametrize(
    "change, problem",
    [
        (lambda r: r.update(TransformJobName="-bad"), "TransformJobName"),
        (lambda r: r.update(TransformJobName="a" * 64), "TransformJobName"),
        (lambda r: r["DataProcessing"].update(JoinSource="None"), "JoinSource Input"),
        (lambda r: r["TransformInput"].update(SplitType="None"), "SplitType Line"),
        (lambda r: r.update(MaxPayloadInMB=0), "MaxPayloadInMB"),
    ],
)
def test_a_transform_request_sagemaker_would_reject_is_refused(change, problem):
    request = copy.deepcopy(TRANSFORM_REQUEST)
    assert transform_request_problems(request) == []
    change(request)
    assert any(problem in p for p in transform_request_problems(request))


@pytest.fixture(scope="module")
def trained_model(tmp_path_factory: pytest.TempPathFactory):
    from model.train import train

    out = tmp_path_factory.mktemp("model")
    train(out_dir=out, candidates=["ridge"])
    return inference.model_fn(str(out))


def test_scoring_an_object_joins_one_prediction_to_each_row_across_mini_batches(trained_model):
    body = Path("data/abalone/batch.csv").read_bytes()
    joined, rows, batches = score_object(inference, trained_model, body, 1, "batch.csv")
    lines = joined.decode().splitlines()
    inputs = body.decode().splitlines()
    assert rows == len(inputs) == len(lines)
    assert batches == 1
    for row, out in zip(inputs, lines, strict=True):
        assert out.startswith(row + ",") and out.count(",") == row.count(",") + 1
        float(out.rsplit(",", 1)[1])


def test_a_malformed_row_fails_the_job_with_sagemakers_client_error(trained_model):
    from offline.runners import TransformError

    with pytest.raises(TransformError, match=r"ClientError: bad.csv: .*line 2"):
        score_object(
            inference, trained_model, b"M,0.4,0.3,0.1,0.5,0.2,0.1,0.15\nM,abc,0.3,0.1,0.5,0.2,0.1,0.15\n", 6, "bad.csv"
        )
