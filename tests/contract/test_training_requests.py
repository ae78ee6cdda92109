"""Every request the training state machine sends, as the AWS API models would judge it.

The deployed definition runs offline with the real functions and the real training runner, for the
default settings and for the longest names (stack, model base, an existing serving role), with
execution names using every character StartExecution accepts. The runs reach every Task state:
a promotion, a candidate left to a person and its approval, a CreateModel whose answer is lost
(FindExistingModel), and a claim that finds production moved (NotifyNotPromoted). Every
``TaskScheduled`` event is validated with botocore's model (:mod:`checks.request_shapes`), and the
registry calls the functions make (``CreateModelPackage``) with the same checks.
"""

from __future__ import annotations

import itertools
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest

from checks.api_constraints import request_problems
from checks.request_shapes import integration_key, task_request_problems
from offline.harness import ExecutionResult, OfflineHarness
from offline.integrations import TaskContext, TaskFailure
from offline.runners.sagemaker_training import TrainingRunner
from tests.contract.test_state_machine_requests import LONG_STACK, ODD_NAME, PLAIN_NAME, task_states
from tests.statemachines.sfn_support import NOW, ROOT
from tests.statemachines.training_support import TRAIN, clear_registry, manual, pointer, publish
from transient_analytics.training.model_registry import ModelPackages

CREATE_MODEL = "arn:aws:states:::sagemaker:createModel"
#: Execution names are unique per state machine: each call of :func:`runs` numbers its own.
_RUNS = itertools.count()
SETTINGS: dict[str, tuple[str, dict[str, str]]] = {
    "defaults": ("transient-analytics-dev", {}),
    "longest-names-existing-serving-role": (
        LONG_STACK,
        {
            "ModelBaseName": "m" + "-b" * 13,
            "ExistingSageMakerRoleArn": "arn:aws:iam::123456789012:role/" + "m" * 64,
            "TrainingInstanceType": "ml.m5.24xlarge",
            "TrainingVolumeSizeGB": "512",
            "TrainingMaxRuntimeSeconds": "86400",
            "ModelGateMinImprovement": "0",
        },
    ),
}


@pytest.fixture(scope="module", params=sorted(SETTINGS))
def configured(request: pytest.FixtureRequest) -> Iterator[tuple[OfflineHarness, TrainingRunner]]:
    stack_name, parameters = SETTINGS[request.param]
    with (
        OfflineHarness(ROOT, parameters=parameters, stack_name=stack_name, execution_timeout=120) as harness,
        tempfile.TemporaryDirectory(prefix="contract-training-") as work,
    ):
        yield harness, TrainingRunner(Path(work), region=harness.region)


def runs(harness: OfflineHarness, runner: TrainingRunner, name: str) -> list[ExecutionResult]:
    """Six executions that together reach every Task state of the training definition."""
    harness.reset()
    clear_registry(harness)
    harness.freeze_clock(NOW, function="PrepareTrainingFunction")
    harness.freeze_clock(NOW, function="PromoteModelFunction")
    publish(harness)
    runner.register(harness)
    names = iter(f"{name[:75]}-{next(_RUNS):02d}-{i}" for i in range(10))
    promoted = harness.run(TRAIN, manual("ridge"), name=next(names))
    pending = harness.run(TRAIN, manual("hist_gradient_boosting"), name=next(names))
    assert pending.output, (pending.status, pending.error, pending.cause)
    arn = pending.output["registration"]["candidate"]["model_package_arn"]
    approved = harness.run(TRAIN, {"approve": {"model_package_arn": arn}}, name=next(names))

    def lost_answer(parameters: dict[str, Any], context: TaskContext) -> Any:
        sagemaker = boto3.client("sagemaker")
        if parameters["ModelName"] not in [m["ModelName"] for m in sagemaker.list_models()["Models"]]:
            sagemaker.create_model(**{k: v for k, v in parameters.items() if k != "EnableNetworkIsolation"})
        raise TaskFailure("SageMaker.AmazonSageMakerException", "Cannot create already existing model")

    harness.runners.register(CREATE_MODEL, lost_answer)
    found = harness.run(TRAIN, manual("ridge"), name=next(names))  # beats the approved one, its answer lost
    again = harness.run(TRAIN, {"approve": {"model_package_arn": arn}}, name=next(names))  # its model exists

    def production_moves(parameters: dict[str, Any], context: TaskContext) -> Any:
        """Another run promotes a model scored on other rows while this one creates its model."""
        current = pointer(harness).read()
        assert current is not None
        first = promoted.output["registration"]["candidate"]
        moved = current.model_copy(
            update={
                "revision": current.revision + 1,
                "model_package_arn": first["model_package_arn"],
                "version": first["version"],
                "holdout_sha256": "0" * 64,
            }
        )
        assert pointer(harness).swap(moved, current.revision)
        return boto3.client("sagemaker").create_model(
            **{k: v for k, v in parameters.items() if k != "EnableNetworkIsolation"}
        )

    harness.runners.register(CREATE_MODEL, production_moves)
    overtaken = harness.run(TRAIN, manual("ridge"), name=next(names))  # beats it, but production moves meanwhile
    results = [promoted, pending, approved, found, again, overtaken]
    assert [r.status for r in results] == ["SUCCEEDED"] * 6, [(r.status, r.error, r.cause) for r in results]
    assert "FindExistingModel" in found.states_entered and "FindExistingModel" in again.states_entered
    assert overtaken.states_entered[-2:] == ["NotifyNotPromoted", "AwaitingApproval"]
    return results


@pytest.mark.slow
@pytest.mark.parametrize("name", [PLAIN_NAME, ODD_NAME], ids=["plain-name", "every-name-character"])
def test_every_request_of_the_training_state_machine_is_valid_for_its_api(
    configured: tuple[OfflineHarness, TrainingRunner], name: str
):
    harness, runner = configured
    # WHEN executions with this name go through every path
    results = runs(harness, runner, name)

    # THEN every Task state was scheduled, through the integrations the definition declares
    tasks = [t for r in results for t in r.scheduled_tasks]
    assert {t.state for t in tasks} == task_states("train_model.asl.json")
    assert {integration_key(t.resource, t.resource_type) for t in tasks} == {
        "lambda:invoke", "sagemaker:createTrainingJob", "sagemaker:createModel", "aws-sdk:sagemaker:describeModel",
        "aws-sdk:sagemaker:updateModelPackage", "sns:publish",
    }  # fmt: skip
    # AND every request, of every state and attempt, is valid for the API it calls
    problems = [
        f"{t.state}: {p}" for t in tasks for p in task_request_problems(t.resource, t.parameters, t.resource_type)
    ]
    assert problems == [], "\n".join(problems)


def test_the_model_package_registration_is_valid_for_its_api(configured: tuple[OfflineHarness, TrainingRunner]):
    """The registry request the RegisterCandidate function sends, as SageMaker's model judges it."""
    harness, runner = configured
    sent: list[dict[str, Any]] = []
    original = ModelPackages.create

    def recording(self: ModelPackages, request: dict[str, Any]) -> str:
        sent.append(request)
        return original(self, request)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(ModelPackages, "create", recording)
        runs(harness, runner, ODD_NAME)
    assert len(sent) == 4  # every training registers; the approval registers nothing
    problems = [p for request in sent for p in request_problems("sagemaker", "CreateModelPackage", request)]
    assert problems == [], "\n".join(problems)
