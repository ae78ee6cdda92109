"""The training functions against moto: planning a run, registering a package, approving one.

The adapters (training/model_registry.py) talk to moto's S3, SageMaker and DynamoDB; the handlers get the
environment template.yaml gives them (events/env.json).
"""

from __future__ import annotations

import boto3
import pytest

from functions.prepare_training import app as prepare_app
from functions.promote_model import app as promote_app
from tests.functions.registry_support import (
    BUCKET,
    GROUP,
    IMAGE,
    ROWS,
    execution,
    job_output,
    packages,
    plan_for,
    register,
    stack,
)
from tests.support import lambda_context
from transient_analytics.errors import InvalidEventError
from transient_analytics.training.model_registry import ModelPackages, TrainingOutputs
from transient_analytics.training.registration import RegisterModelEvent, RegistrationError, register_candidate

__all__ = ["stack"]  # the fixture


def test_prepare_training_plans_the_newest_day_with_production_as_the_incumbent(stack):
    # GIVEN data on two days and a production model
    s3 = boto3.client("s3")
    s3.put_object(Bucket=BUCKET, Key="training/abalone/dt=2026-11-20/abalone.csv", Body=b"M,1\n")
    s3.put_object(Bucket=BUCKET, Key="training/abalone/dt=2026-11-24/part-0.csv", Body=b"F,2\n")
    s3.put_object(Bucket=BUCKET, Key="training/abalone/dt=2026-11-24/_SUCCESS", Body=b"")
    plan = plan_for("first")
    job = job_output(plan, "ta-abalone-train-a-0-0", 2.3)
    first = register(plan, job, "first")
    promote_app.lambda_handler({"plan": plan, "registration": first, "execution": execution("first")}, lambda_context())

    # WHEN the next run is planned
    result = prepare_app.lambda_handler({"input": {}, "execution": execution("second")}, lambda_context())

    # THEN it trains on the newest day, production's artifact as the incumbent channel
    training = result["plan"]["training"]
    assert training["data"]["day"] == "2026-11-25" and result["registration"] is None
    assert training["incumbent"]["model_package_arn"] == first["candidate"]["model_package_arn"]
    assert training["input_data_config"][-1]["DataSource"]["S3DataSource"]["S3Uri"] == job["model_data_url"]


def test_registering_writes_the_evaluation_beside_the_output_and_a_pending_package_with_both_scores(stack):
    # GIVEN a finished job that scored production (2.30) and itself (2.20) on the same rows
    plan = plan_for("r1")
    plan["training"]["incumbent"] = {
        "model_package_arn": f"arn:aws:sagemaker:us-east-1:123456789012:model-package/{GROUP}/9",
        "version": 9,
        "model_data_url": "s3://x/old/model.tar.gz",
    }
    job = job_output(plan, "ta-abalone-train-b-0-0", 2.20, incumbent=2.30)

    # WHEN it is registered
    registration = register(plan, job, "r1")

    # THEN the package is pending, its metrics point at the registered evaluation, which names the data
    [package] = packages()
    described = boto3.client("sagemaker").describe_model_package(ModelPackageName=package["ModelPackageArn"])
    assert described["ModelApprovalStatus"] == "PendingManualApproval"
    metrics_uri = described["ModelMetrics"]["ModelQuality"]["Statistics"]["S3Uri"]
    registered = TrainingOutputs(boto3.client("s3")).get_json(metrics_uri)
    assert registered["registered"]["data_uri"] == f"s3://{BUCKET}/training/abalone/dt=2026-11-25/"
    assert described["CustomerMetadataProperties"]["incumbent-rmse"] == "2.300000"
    # AND the gate approved it: it beats production by 0.10 on the same rows
    assert registration["approve"] is True and "beats production v9 by 0.1000" in registration["reason"]
    assert registration["incumbent"]["rmse"] == 2.30


def test_a_retried_registration_finds_the_package_it_registered_instead_of_a_second_one(stack):
    # GIVEN a job registered once (then the Lambda's answer was lost)
    plan = plan_for("r2")
    job = job_output(plan, "ta-abalone-train-c-0-0", 2.2)
    first = register(plan, job, "r2")

    # WHEN the state machine retries RegisterCandidate
    again = register(plan, job, "r2")

    # THEN there is still one package, and the answer is the same
    assert len(packages()) == 1
    assert again == first


def test_a_job_without_an_evaluation_cannot_be_registered_and_the_error_says_where_it_looked(stack):
    plan = plan_for("r3")
    job = job_output(plan, "ta-abalone-train-d-0-0", 2.2) | {"job_name": "ta-abalone-train-missing-0-0"}
    with pytest.raises(RegistrationError, match=r"ta-abalone-train-missing-0-0/output/output.tar.gz: no evaluation"):
        register_candidate(
            RegisterModelEvent.model_validate({"plan": plan, "job": job, "execution": execution("r3")}),
            ModelPackages(boto3.client("sagemaker")),
            TrainingOutputs(boto3.client("s3")),
        )
    assert packages() == []


def test_an_approval_names_a_package_of_this_group_only(stack):
    boto3.client("sagemaker").create_model_package_group(ModelPackageGroupName="someone-else")
    other = boto3.client("sagemaker").create_model_package(
        ModelPackageGroupName="someone-else",
        InferenceSpecification={
            "Containers": [{"Image": IMAGE, "ModelDataUrl": "s3://x/model.tar.gz"}],
            "SupportedContentTypes": ["text/csv"],
            "SupportedResponseMIMETypes": ["text/csv"],
        },
    )["ModelPackageArn"]
    event = {"input": {"approve": {"model_package_arn": other}}, "execution": execution("approve-other")}
    with pytest.raises(
        InvalidEventError, match=r"input\.approve\.model_package_arn: a package of group 'someone-else'"
    ):
        prepare_app.lambda_handler(event, lambda_context())


def test_an_approval_reads_the_package_and_its_registered_scores_back(stack):
    plan = plan_for("r4")
    registered = register(plan, job_output(plan, "ta-abalone-train-e-0-0", 2.25), "r4")
    arn = registered["candidate"]["model_package_arn"]

    result = prepare_app.lambda_handler(
        {"input": {"approve": {"model_package_arn": arn}}, "execution": execution("approve")}, lambda_context()
    )

    assert result["plan"]["mode"] == "approve" and result["registration"]["mode"] == "manual"
    candidate = result["registration"]["candidate"]
    assert (candidate["model_package_arn"], candidate["rmse"], candidate["holdout_sha256"]) == (arn, 2.25, ROWS)
    assert candidate["model_name"] == registered["candidate"]["model_name"]
