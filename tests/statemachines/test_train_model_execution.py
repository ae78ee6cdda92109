"""The training state machine's deployed definition, executed offline with a real training job: the gate's paths.

PrepareTraining, RegisterCandidate and ClaimProduction are the real handlers (moto S3, SageMaker and
DynamoDB); ``createTrainingJob.sync`` is the real training runner; ``createModel``,
``describeModel`` and ``updateModelPackage`` reach moto's SageMaker; ``sns:publish`` the template's topic.
"""

from __future__ import annotations

import json
import shlex

import boto3

from offline.harness import OfflineHarness
from offline.runners.sagemaker_training import TrainingRunner
from tests.statemachines.training_support import (
    DAY,
    GROUP,
    PENDING_STATES,
    PROMOTED_STATES,
    TRAIN,
    manual,
    package,
    production,
    registration_of,
)


def test_the_first_model_trained_becomes_production_a_network_isolated_model_and_an_approved_package(
    h: OfflineHarness, training: TrainingRunner
):
    # GIVEN training data and no production model

    # WHEN the training state machine runs
    result = h.run(TRAIN, manual("ridge"), timeout=120)

    # THEN the model is trained, registered, approved by the gate and promoted
    assert (result.status, result.states_entered) == ("SUCCEEDED", PROMOTED_STATES)
    candidate = registration_of(result)["candidate"]
    assert "no production model yet" in registration_of(result)["reason"]
    # AND the training job ran in script mode on the dated data, from the uploaded code, isolated
    [job] = result.tasks("TrainModel")
    request = job.parameters
    assert request["EnableNetworkIsolation"] is True
    assert request["TrainingJobName"].startswith("ta-abalone-train-") and request["TrainingJobName"].endswith("-0-0")
    assert (
        json.loads(request["HyperParameters"]["sagemaker_submit_directory"])
        == "/opt/ml/input/data/code/sourcedir.tar.gz"
    )
    channels = {c["ChannelName"]: c["DataSource"]["S3DataSource"]["S3Uri"] for c in request["InputDataConfig"]}
    bucket = h.stack.ref("DataBucket")
    assert channels == {
        "train": f"s3://{bucket}/training/abalone/dt={DAY}/",
        "code": f"s3://{bucket}/artifacts/training/sourcedir.tar.gz",
    }
    [record] = training.records
    assert record.status == "Completed" and record.metrics["holdout:rmse"] == round(candidate["rmse"], 6)
    # AND production points at it; its package is Approved; its model serves the job's model.tar.gz, isolated
    current = production(h)
    assert current is not None and current.model_package_arn == candidate["model_package_arn"]
    assert current.model_data_url == record.model_uri == candidate["model_data_url"]
    assert package(h, candidate["model_package_arn"])["ModelApprovalStatus"] == "Approved"
    model = boto3.client("sagemaker").describe_model(ModelName=current.model_name)
    assert model["PrimaryContainer"]["ModelDataUrl"] == current.model_data_url
    assert model["PrimaryContainer"]["Environment"]["SAGEMAKER_PROGRAM"] == "inference.py"
    [create] = result.tasks("CreateModel")  # (moto's model does not keep EnableNetworkIsolation: the request does)
    assert create.parameters["EnableNetworkIsolation"] is True
    assert create.parameters["ExecutionRoleArn"] == h.stack.get_att("SageMakerExecutionRole", "Arn")
    assert h.published() == []


def test_a_worse_candidate_is_not_promoted_and_one_message_names_both_scores_and_the_approve_command(
    h: OfflineHarness, training: TrainingRunner
):
    # GIVEN ridge in production (hold-out RMSE 2.2116)
    first = h.run(TRAIN, manual("ridge"), timeout=120)
    assert first.status == "SUCCEEDED"
    before = production(h)

    # WHEN a histogram gradient boosting model (2.2340 on the same rows) is trained
    result = h.run(TRAIN, manual("hist_gradient_boosting"), timeout=120)

    # THEN it is registered but left PendingManualApproval; production is unchanged
    assert (result.status, result.states_entered) == ("SUCCEEDED", PENDING_STATES)
    registration = registration_of(result)
    candidate, incumbent = registration["candidate"], registration["incumbent"]
    assert registration["approve"] is False
    assert package(h, candidate["model_package_arn"])["ModelApprovalStatus"] == "PendingManualApproval"
    assert production(h) == before
    # AND the job scored production on the candidate's own hold-out rows
    assert candidate["holdout_sha256"] == before.holdout_sha256  # type: ignore[union-attr]
    assert incumbent["rmse"] == before.rmse  # type: ignore[union-attr]
    # AND exactly one message: both scores, the reason, and a command that approves this package
    [message] = h.published()
    assert f"RMSE {candidate['rmse']:.4f}" in message.subject and f"{incumbent['rmse']:.4f}" in message.subject
    assert "does not beat production" in message.message
    [command] = [line.strip() for line in message.message.splitlines() if line.strip().startswith("aws stepfunctions")]
    args = shlex.split(command)
    assert args[args.index("--state-machine-arn") + 1] == h.state_machine_arn(TRAIN)
    approve_input = json.loads(args[args.index("--input") + 1])
    assert approve_input["approve"]["model_package_arn"] == candidate["model_package_arn"]

    # WHEN a person runs that command
    approved = h.run(TRAIN, approve_input, timeout=60)

    # THEN the package is promoted without training again: production is the person's choice
    assert approved.status == "SUCCEEDED"
    assert approved.states_entered == ["PrepareTraining", "Route", "CreateModel", "ClaimProduction", "Claimed",
                                       "ApprovePackage", "Promoted"]  # fmt: skip
    assert "approved by a person" in approved.output["promotion"]["reason"]
    now = production(h)
    assert now is not None and now.model_package_arn == candidate["model_package_arn"]
    assert now.revision == before.revision + 1  # type: ignore[union-attr]
    assert package(h, candidate["model_package_arn"])["ModelApprovalStatus"] == "Approved"
    assert len(training.records) == 2 and len(h.published()) == 1


def test_a_better_candidate_replaces_production(h: OfflineHarness, training: TrainingRunner):
    # GIVEN histogram gradient boosting in production (2.2340)
    assert h.run(TRAIN, manual("hist_gradient_boosting"), timeout=120).status == "SUCCEEDED"
    before = production(h)

    # WHEN ridge (2.2116 on the same rows) is trained
    result = h.run(TRAIN, manual("ridge"), timeout=120)

    # THEN it beats production by more than the threshold (0.01) and replaces it
    assert (result.status, result.states_entered) == ("SUCCEEDED", PROMOTED_STATES)
    assert "beats production v" in registration_of(result)["reason"]
    assert result.output["promotion"]["previous_version"] == before.version  # type: ignore[union-attr]
    # AND the incumbent channel carried production's artifact
    job = result.tasks("TrainModel")[0].parameters
    channels = {c["ChannelName"]: c["DataSource"]["S3DataSource"]["S3Uri"] for c in job["InputDataConfig"]}
    assert channels["incumbent"] == before.model_data_url  # type: ignore[union-attr]
    assert production(h).model_package_arn == registration_of(result)["candidate"]["model_package_arn"]  # type: ignore[union-attr]


def test_without_training_data_the_run_ends_without_a_job(h: OfflineHarness, training: TrainingRunner):
    # GIVEN no training data (only the code)
    s3 = boto3.client("s3")
    s3.delete_object(Bucket=h.stack.ref("DataBucket"), Key=f"training/abalone/dt={DAY}/abalone.csv")

    result = h.run(TRAIN, {"scheduled_time": "2026-11-25T20:00:00Z", "trigger": "schedule"})

    assert (result.status, result.states_entered) == ("SUCCEEDED", ["PrepareTraining", "Route", "NoTrainingData"])
    assert "no training data under" in result.output["plan"]["reason"]
    assert training.records == []


def test_a_scheduled_run_on_data_production_was_trained_on_trains_nothing(h: OfflineHarness, training: TrainingRunner):
    # GIVEN production trained on today's data
    assert h.run(TRAIN, manual("ridge"), timeout=120).status == "SUCCEEDED"
    packages = boto3.client("sagemaker").list_model_packages(ModelPackageGroupName=GROUP)["ModelPackageSummaryList"]

    # WHEN the weekly schedule fires with no new data
    result = h.run(TRAIN, {"scheduled_time": "2026-11-25T20:00:00Z", "trigger": "schedule"})

    # THEN nothing is trained or registered
    assert result.states_entered == ["PrepareTraining", "Route", "NoTrainingData"]
    assert "no new training data: production v" in result.output["plan"]["reason"]
    assert len(training.records) == 1
    after = boto3.client("sagemaker").list_model_packages(ModelPackageGroupName=GROUP)["ModelPackageSummaryList"]
    assert len(after) == len(packages)
