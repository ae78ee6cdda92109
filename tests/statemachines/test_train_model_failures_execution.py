"""The training state machine when something fails: the job, the registration, the model's creation.

Each failure fails the run (production unchanged) and reaches NotifyFailure through the template's
EventBridge rule, as the two slot pipelines' failures do; what a retry re-sends is checked too.
"""

from __future__ import annotations

import json
from typing import Any

import boto3

from offline.engine import Sleep
from offline.harness import OfflineHarness
from offline.integrations import TaskContext, TaskFailure
from offline.runners.sagemaker_training import SAGEMAKER_TRAINING, TrainingRunner
from tests.statemachines.training_support import PROMOTED_STATES, TRAIN, manual, production, publish

CREATE_MODEL = "arn:aws:states:::sagemaker:createModel"
EXISTS = "Cannot create already existing model"


def test_a_training_job_that_fails_fails_the_run_and_one_message_names_the_jobs_failure(
    h: OfflineHarness, training: TrainingRunner
):
    # GIVEN training data the entry point cannot read (a row with a missing field)
    publish(h, body=b"M,0.455,0.365,0.095,0.514,0.2245,0.101,0.15,15\nF,0.53,abc\n")

    # WHEN the training state machine runs
    result = h.run(TRAIN, manual("ridge"), timeout=120)

    # THEN the real job failed in the container; States.TaskFailed is not retried; nothing is registered
    assert (result.status, result.error) == ("FAILED", "States.TaskFailed")
    assert result.states_entered == ["PrepareTraining", "Route", "TrainModel"]
    described = json.loads(str(result.cause))
    assert described["TrainingJobStatus"] == "Failed"
    assert described["FailureReason"].startswith("AlgorithmError: ExecuteUserScriptError:")
    assert "train channel: not labelled abalone CSV" in described["FailureReason"]
    job = boto3.client("sagemaker").describe_training_job(TrainingJobName=described["TrainingJobName"])
    assert job["TrainingJobStatus"] == "Failed" and "ModelArtifacts" not in job
    assert production(h) is None

    # WHEN EventBridge delivers the status change
    delivered = h.deliver_status_change(result.arn)

    # THEN NotifyFailure publishes one message naming the state, the job's reason and how to train again
    assert list(delivered) == ["NotifyFailureFunction"]
    [message] = h.published()
    assert message.subject.startswith("[transient-analytics] Model training FAILED at TrainModel")
    assert "train channel: not labelled abalone CSV" in message.message
    assert "production is unchanged" in message.message
    assert "job name prefix:  ta-abalone-train-" in message.message


def test_a_throttled_training_job_is_retried_after_15_seconds_under_a_new_name(
    h: OfflineHarness, training: TrainingRunner
):
    # GIVEN SageMaker throttling the first CreateTrainingJob
    names: list[str] = []

    def throttled_once(parameters: dict[str, Any], context: TaskContext) -> dict[str, Any]:
        names.append(parameters["TrainingJobName"])
        if len(names) == 1:
            raise TaskFailure("SageMaker.AmazonSageMakerException", "Rate exceeded (Error Code: ThrottlingException)")
        return training.create_training_job(parameters, context)

    h.runners.register(SAGEMAKER_TRAINING, throttled_once)

    # WHEN the training state machine runs
    result = h.run(TRAIN, manual("ridge"), timeout=120)

    # THEN the second attempt asks for another name ($$.State.RetryCount), trains and is promoted
    assert [n.rsplit("-", 2)[1:] for n in names] == [["0", "0"], ["1", "0"]]
    assert h.sleeps == [Sleep("TrainModel", "retry", 1, 15.0)]
    assert (result.status, result.states_entered) == ("SUCCEEDED", PROMOTED_STATES)
    assert [r.job_name for r in training.records] == [names[1]]


def test_a_create_model_whose_answer_was_lost_finds_its_model_and_promotes(h: OfflineHarness, training: TrainingRunner):
    # GIVEN CreateModel taking effect and then failing (its answer lost); retries answer that it exists
    calls: list[str] = []

    def lost_answer(parameters: dict[str, Any], context: TaskContext) -> dict[str, Any]:
        sagemaker = boto3.client("sagemaker")
        calls.append(parameters["ModelName"])
        if parameters["ModelName"] in [m["ModelName"] for m in sagemaker.list_models()["Models"]]:
            raise TaskFailure("SageMaker.AmazonSageMakerException", f"{EXISTS} (Error Code: ValidationException)")
        sagemaker.create_model(**{k: v for k, v in parameters.items() if k != "EnableNetworkIsolation"})
        raise TaskFailure("SageMaker.AmazonSageMakerException", "We encountered an internal error (InternalFailure)")

    h.runners.register(CREATE_MODEL, lost_answer)

    # WHEN the training state machine runs
    result = h.run(TRAIN, manual("ridge"), timeout=120)

    # THEN after its retries it looks the model up, finds it serving this package's artifact, and promotes
    assert result.status == "SUCCEEDED"
    assert result.states_entered == [
        "PrepareTraining", "Route", "TrainModel", "RegisterCandidate", "Gate", "CreateModel", "FindExistingModel",
        "SameArtifact", "ClaimProduction", "Claimed", "ApprovePackage", "Promoted",
    ]  # fmt: skip
    assert len(calls) == 3 and len(set(calls)) == 1
    assert h.sleeps == [Sleep("CreateModel", "retry", 1, 15.0), Sleep("CreateModel", "retry", 2, 30.0)]
    assert production(h).model_name == calls[0]  # type: ignore[union-attr]


def test_a_model_name_taken_by_another_artifact_fails_the_run_and_leaves_production_alone(
    h: OfflineHarness, training: TrainingRunner
):
    # GIVEN a model of the candidate's name that serves some other artifact
    def taken(parameters: dict[str, Any], context: TaskContext) -> dict[str, Any]:
        container = {**parameters["PrimaryContainer"], "ModelDataUrl": "s3://someone-else/model.tar.gz"}
        boto3.client("sagemaker").create_model(
            ModelName=parameters["ModelName"],
            ExecutionRoleArn=parameters["ExecutionRoleArn"],
            PrimaryContainer=container,
        )
        raise TaskFailure("SageMaker.AmazonSageMakerException", f"{EXISTS} (Error Code: ValidationException)")

    h.runners.register(CREATE_MODEL, taken)

    # WHEN the training state machine runs
    result = h.run(TRAIN, manual("ridge"), timeout=120)

    # THEN the run fails with CreateModel's own error; production does not point at a model it did not create
    assert (result.status, result.error) == ("FAILED", "SageMaker.AmazonSageMakerException")
    assert result.states_entered[-3:] == ["FindExistingModel", "SameArtifact", "CreateModelFailed"]
    assert EXISTS in str(result.cause)
    assert production(h) is None
    h.deliver_status_change(result.arn)
    [message] = h.published()
    assert "FAILED at CreateModel" in message.subject


def test_a_registration_that_finds_no_evaluation_fails_the_run_naming_the_archive(
    h: OfflineHarness, training: TrainingRunner
):
    # GIVEN a job that completes but whose output holds no evaluation.json
    def no_evaluation(parameters: dict[str, Any], context: TaskContext) -> dict[str, Any]:
        described = training.create_training_job(parameters, context)
        uri = f"{parameters['OutputDataConfig']['S3OutputPath']}{parameters['TrainingJobName']}/output/output.tar.gz"
        bucket, key = uri[5:].split("/", 1)
        boto3.client("s3").delete_object(Bucket=bucket, Key=key)
        return described

    h.runners.register(SAGEMAKER_TRAINING, no_evaluation)

    result = h.run(TRAIN, manual("ridge"), timeout=120)

    assert (result.status, result.error) == ("FAILED", "RegistrationError")
    assert "output.tar.gz: no evaluation.json" in str(result.cause)
    assert production(h) is None
