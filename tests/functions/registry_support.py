"""What the training functions' tests share: their stack in moto (bucket, model package group, production
table as template.yaml declares it), the handlers' environment, a planned run, a finished job's output."""

from __future__ import annotations

import io
import json
import tarfile
from collections.abc import Iterator
from typing import Any

import boto3
import pytest

from functions.prepare_training import app as prepare_app
from functions.promote_model import app as promote_app
from functions.register_model import app as register_app
from offline.cfn.template import load_template
from tests.functions.conftest import ENV, NOW
from tests.support import ROOT as REPO
from tests.support import lambda_context
from transient_analytics import wiring

ROWS, OTHER_ROWS = "a" * 64, "b" * 64
ENV_TRAIN = ENV["PrepareTrainingFunction"]
BUCKET, GROUP, TABLE = ENV_TRAIN["DATA_BUCKET"], ENV_TRAIN["MODEL_PACKAGE_GROUP"], ENV_TRAIN["PRODUCTION_TABLE"]
IMAGE = "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-scikit-learn:1.4-2-cpu-py3"
MACHINE = "arn:aws:states:us-east-1:123456789012:stateMachine:transient-analytics-dev-train-model"
ROWS, OTHER_ROWS = "a" * 64, "b" * 64


def execution(name: str) -> dict[str, str]:
    return {"id": f"{MACHINE.replace('stateMachine', 'execution')}:{name}", "name": name, "state_machine_arn": MACHINE}


WIRING = (
    wiring.prepare_training_settings,
    wiring.prepare_training_ports,
    wiring.register_model_ports,
    wiring.promote_model_settings,
    wiring.production_pointer,
)


@pytest.fixture
def stack(aws: None, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for cached in WIRING:  # a cold Lambda environment per test: clients made under this test's moto
        cached.cache_clear()
    for key, value in {**ENV_TRAIN, **ENV["PromoteModelFunction"]}.items():
        monkeypatch.setenv(key, value)
    monkeypatch.setattr(prepare_app, "now", lambda: NOW)
    monkeypatch.setattr(promote_app, "now", lambda: NOW)
    boto3.client("s3").create_bucket(Bucket=BUCKET)
    boto3.client("sagemaker").create_model_package_group(ModelPackageGroupName=GROUP)
    props = load_template(REPO / "template.yaml")["Resources"]["ProductionModelTable"]["Properties"]
    boto3.client("dynamodb").create_table(
        TableName=TABLE, KeySchema=props["KeySchema"], AttributeDefinitions=props["AttributeDefinitions"],
        BillingMode=props["BillingMode"],
    )  # fmt: skip
    yield
    for cached in WIRING:
        cached.cache_clear()


def plan_for(name: str) -> dict[str, Any]:
    """A training plan as PrepareTraining returns it, for data published on 2026-11-25."""
    boto3.client("s3").put_object(Bucket=BUCKET, Key="training/abalone/dt=2026-11-25/abalone.csv", Body=b"M,1\n")
    result = prepare_app.lambda_handler(
        {"input": {"trigger": "manual"}, "execution": execution(name)}, lambda_context()
    )
    return dict(result["plan"])


def job_output(plan: dict[str, Any], job: str, rmse: float, rows: str = ROWS, incumbent: float | None = None) -> dict:
    """What a finished training job left in S3 (output.tar.gz with evaluation.json), and its .sync result."""
    evaluation = {
        "format": 1,
        "holdout": {"rows": 836, "sha256": rows, "seed": 42, "test_size": 0.2},
        "candidate": {"model": "ridge", "rmse": rmse, "mae": 1.5},
        "incumbent": {"present": incumbent is not None, **({"rmse": incumbent, "model": "ridge"} if incumbent else {})},
        "data": {"sha256": "d" * 64, "rows": 4177},
    }
    body = json.dumps(evaluation).encode()
    archive = io.BytesIO()
    with tarfile.open(fileobj=archive, mode="w:gz") as tar:
        info = tarfile.TarInfo("evaluation.json")
        info.size = len(body)
        tar.addfile(info, io.BytesIO(body))
    output = plan["training"]["output_uri"]
    key = f"{output.split('/', 3)[3]}{job}/output/output.tar.gz"
    boto3.client("s3").put_object(Bucket=BUCKET, Key=key, Body=archive.getvalue())
    return {
        "job_name": job,
        "job_arn": f"arn:aws:sagemaker:us-east-1:123456789012:training-job/{job}",
        "model_data_url": f"{output}{job}/output/model.tar.gz",
        "output_path": output,
        "image": IMAGE,
    }


def register(plan: dict[str, Any], job: dict[str, Any], name: str) -> dict[str, Any]:
    event = {"plan": plan, "job": job, "execution": execution(name)}
    return dict(register_app.lambda_handler(event, lambda_context()))


def packages() -> list[dict[str, Any]]:
    return boto3.client("sagemaker").list_model_packages(ModelPackageGroupName=GROUP)["ModelPackageSummaryList"]
