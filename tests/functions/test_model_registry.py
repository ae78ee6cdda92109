"""The training functions against moto: planning, registering a package, and the promotion race on DynamoDB.

The adapters (model_registry.py) talk to moto's S3, SageMaker and DynamoDB; the handlers get the
environment template.yaml gives them (events/env.json).
"""

from __future__ import annotations

import io
import json
import tarfile
import threading
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
from transient_analytics.errors import InvalidEventError
from transient_analytics.model_registry import ModelPackages, ProductionPointer, TrainingOutputs
from transient_analytics.promotion import PromoteModelEvent, claim_production
from transient_analytics.registration import RegisterModelEvent, RegistrationError, register_candidate
from transient_analytics.registry import ProductionModel

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


class GatedPointer(ProductionPointer):
    """The real DynamoDB pointer, in the worst interleaving: both racers read before either writes, A writes first."""

    def __init__(self, barrier: threading.Barrier, wait_for: threading.Event | None, done: threading.Event) -> None:
        super().__init__(boto3.client("dynamodb"), TABLE)
        self.barrier, self.wait_for, self.done, self.reads = barrier, wait_for, done, 0

    def read(self) -> ProductionModel | None:
        current = super().read()
        self.reads += 1
        if self.reads == 1:
            self.barrier.wait(timeout=10)
        return current

    def swap(self, new: ProductionModel, expected_revision: int | None) -> bool:
        if self.wait_for is not None:
            self.wait_for.wait(timeout=10)
        try:
            return super().swap(new, expected_revision)
        finally:
            self.done.set()


@pytest.mark.parametrize(
    ("rmse_a", "rmse_b"), [(2.10, 2.20), (2.20, 2.10)], ids=["better-wins-race", "worse-wins-race"]
)
def test_two_trainings_racing_to_promote_end_with_production_on_the_better_one(stack, rmse_a, rmse_b):
    # GIVEN two candidates registered against no production model, scored on the same hold-out rows
    plan_a, plan_b = plan_for("race-a"), plan_for("race-b")
    reg_a = register(plan_a, job_output(plan_a, "ta-abalone-train-ra-0-0", rmse_a), "race-a")
    reg_b = register(plan_b, job_output(plan_b, "ta-abalone-train-rb-0-0", rmse_b), "race-b")
    barrier, a_wrote, b_wrote = threading.Barrier(2), threading.Event(), threading.Event()
    pointers = {"a": GatedPointer(barrier, None, a_wrote), "b": GatedPointer(barrier, a_wrote, b_wrote)}
    results: dict[str, Any] = {}

    def claim(name: str, plan: dict[str, Any], registration: dict[str, Any]) -> None:
        event = {"plan": plan, "registration": registration, "execution": execution(f"race-{name}")}
        results[name] = claim_production(PromoteModelEvent.model_validate(event), NOW, pointers[name])

    # WHEN both claim at once: each reads "no production", then A's swap lands first
    threads = [
        threading.Thread(target=claim, args=(n, p, r)) for n, p, r in (("a", plan_a, reg_a), ("b", plan_b, reg_b))
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(20)

    # THEN A won the swap from "nothing"; B's swap from "nothing" failed, and B decided again against A
    assert results["a"].outcome == "promote"
    final = ProductionPointer(boto3.client("dynamodb"), TABLE).read()
    assert final is not None
    if rmse_a < rmse_b:  # B is worse on the same rows: superseded, told once, production stays on A
        assert results["b"].outcome == "superseded" and results["b"].notice is not None
        assert "moved to v" in results["b"].notice.message
        assert (final.model_package_arn, final.revision) == (reg_a["candidate"]["model_package_arn"], 1)
    else:  # B is better on the same rows: it replaces A (production only moves to a better model)
        assert results["b"].outcome == "promote" and results["b"].previous_version == reg_a["candidate"]["version"]
        assert (final.model_package_arn, final.revision) == (reg_b["candidate"]["model_package_arn"], 2)
    assert pointers["b"].reads == 2  # one read, one lost swap, one more read: never a blind overwrite


def test_a_retried_claim_after_its_swap_took_effect_reports_it_promoted_without_a_second_swap(stack):
    plan = plan_for("retry")
    registration = register(plan, job_output(plan, "ta-abalone-train-rt-0-0", 2.2), "retry")
    event = {"plan": plan, "registration": registration, "execution": execution("retry")}
    first = promote_app.lambda_handler(event, lambda_context())
    again = promote_app.lambda_handler(event, lambda_context())
    assert (first["outcome"], again["outcome"]) == ("promote", "already")
    assert again["promoted"] is True
    assert ProductionPointer(boto3.client("dynamodb"), TABLE).read().revision == 1  # type: ignore[union-attr]


def test_production_moved_to_a_model_scored_on_other_rows_leaves_the_candidate_to_a_person(stack):
    # GIVEN candidate A promoted; candidate B, gated against no production, scored on other rows
    plan_a, plan_b = plan_for("rows-a"), plan_for("rows-b")
    reg_a = register(plan_a, job_output(plan_a, "ta-abalone-train-xa-0-0", 2.3), "rows-a")
    reg_b = register(plan_b, job_output(plan_b, "ta-abalone-train-xb-0-0", 1.0, rows=OTHER_ROWS), "rows-b")
    promote_app.lambda_handler(
        {"plan": plan_a, "registration": reg_a, "execution": execution("rows-a")}, lambda_context()
    )

    # WHEN B claims production
    result = promote_app.lambda_handler(
        {"plan": plan_b, "registration": reg_b, "execution": execution("rows-b")}, lambda_context()
    )

    # THEN it is not promoted: the two scores cannot be compared; the notice says so, with the approve command
    assert (result["promoted"], result["outcome"]) == (False, "incomparable")
    assert "other hold-out rows" in result["notice"]["message"]
    assert reg_b["candidate"]["model_package_arn"] in result["notice"]["message"]
    assert (
        ProductionPointer(boto3.client("dynamodb"), TABLE).read().model_package_arn
        == reg_a["candidate"]["model_package_arn"]
    )  # type: ignore[union-attr]
