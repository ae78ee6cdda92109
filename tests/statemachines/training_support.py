"""Test instruments for the training state machine: published inputs, the real training runner, the registry read back.

The training runs for real (``offline/runners/sagemaker_training.py``: the entry point from the
uploaded sourcedir.tar.gz, in the model environment); ``ridge`` alone trains in about a second, so
the tests name the candidates they need (on the full data set: ridge 2.2116, random forest 2.2222,
histogram gradient boosting 2.2340 hold-out RMSE with scikit-learn 1.9.0, the same 836 rows).
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest

from model.data import ABALONE_PATH
from model.sourcedir import sourcedir_bytes
from offline.harness import ExecutionResult, OfflineHarness
from offline.runners.sagemaker_training import TrainingRunner
from tests.statemachines.sfn_support import NOW
from transient_analytics import layout
from transient_analytics.training.model_registry import ProductionPointer
from transient_analytics.training.registry import ProductionModel

TRAIN = "TrainModelStateMachine"
GROUP = "transient-analytics-dev-abalone"
DAY = "2026-11-25"
#: Every state of a run whose candidate the gate approved and which became production.
PROMOTED_STATES = [
    "PrepareTraining", "Route", "TrainModel", "RegisterCandidate", "Gate", "CreateModel", "ClaimProduction",
    "Claimed", "ApprovePackage", "Promoted",
]  # fmt: skip
#: Every state of a run whose candidate the gate left to a person.
PENDING_STATES = [
    "PrepareTraining", "Route", "TrainModel", "RegisterCandidate", "Gate", "NotifyPendingApproval", "AwaitingApproval",
]  # fmt: skip


def manual(*candidates: str) -> dict[str, Any]:
    """A training run started by hand on the given candidates."""
    return {"trigger": "manual", "candidates": list(candidates)}


def publish(harness: OfflineHarness, day: str = DAY, body: bytes | None = None) -> None:
    """What ``make publish`` uploads for training: the code archive and one day's labelled data."""
    s3 = boto3.client("s3", region_name=harness.region)
    bucket = harness.stack.ref("DataBucket")
    s3.put_object(Bucket=bucket, Key=layout.SOURCEDIR_KEY, Body=sourcedir_bytes())
    key = f"{layout.TRAINING_ROOT}/dt={day}/abalone.csv"
    s3.put_object(Bucket=bucket, Key=key, Body=ABALONE_PATH.read_bytes() if body is None else body)


def pointer(harness: OfflineHarness) -> ProductionPointer:
    return ProductionPointer(
        boto3.client("dynamodb", region_name=harness.region), harness.stack.ref("ProductionModelTable")
    )


def production(harness: OfflineHarness) -> ProductionModel | None:
    return pointer(harness).read()


def package(harness: OfflineHarness, arn: str) -> dict[str, Any]:
    return dict(boto3.client("sagemaker", region_name=harness.region).describe_model_package(ModelPackageName=arn))


def registration_of(result: ExecutionResult) -> dict[str, Any]:
    return dict(result.output["registration"])


#: The model the slot pipelines' tests find in production (a name only: their transform jobs are mocked).
SEEDED_MODEL = "ta-abalone-v1-0123abcd"


def seed_production(harness: OfflineHarness, model_name: str = SEEDED_MODEL) -> ProductionModel:
    """A production model in the pointer, as a promotion leaves it, so that transform runs have one to score with."""
    model = ProductionModel(
        revision=1,
        model_package_arn=f"arn:aws:sagemaker:{harness.region}:{harness.account_id}:model-package/{GROUP}/1",
        version=1,
        model_name=model_name,
        model_data_url=f"s3://{harness.stack.ref('DataBucket')}/models/abalone/dt={DAY}/run=seeded/job/output/model.tar.gz",
        rmse=2.2116,
        promoted_at="2026-11-20T04:00:00Z",
        promoted_by="seeded by the tests",
    )
    clear_registry(harness)
    assert pointer(harness).swap(model, None)
    return model


def clear_registry(harness: OfflineHarness) -> None:
    """No production model (the pointer emptied); the packages and models stay (versions keep counting)."""
    ddb = boto3.client("dynamodb", region_name=harness.region)
    table = harness.stack.ref("ProductionModelTable")
    for item in ddb.scan(TableName=table).get("Items", []):
        ddb.delete_item(TableName=table, Key={"model": item["model"]})


@pytest.fixture
def training(h: OfflineHarness) -> Iterator[TrainingRunner]:
    """The harness ``h`` with the training inputs published, no production model, and the real training runner."""
    clear_registry(h)
    h.freeze_clock(NOW, function="PrepareTrainingFunction")
    h.freeze_clock(NOW, function="PromoteModelFunction")
    publish(h)
    with tempfile.TemporaryDirectory(prefix="training-runner-") as work:
        yield TrainingRunner(Path(work), region=h.region).register(h)
    clear_registry(h)
