"""The model registry's records (training/registry.py): the package request SageMaker accepts, the message a person gets."""

from __future__ import annotations

import json
import shlex

import pytest
from pydantic import ValidationError

from checks.api_constraints import request_problems
from transient_analytics import naming
from transient_analytics.tags import is_tag_safe
from transient_analytics.training.registry import (
    Candidate,
    Evaluation,
    IncumbentRef,
    Trained,
    approve_command,
    customer_metadata,
    model_package_request,
    package_version,
    pending_notice,
)

GROUP = "transient-analytics-dev-abalone"
PACKAGE = f"arn:aws:sagemaker:us-east-1:123456789012:model-package/{GROUP}/7"
MACHINE = "arn:aws:states:us-east-1:123456789012:stateMachine:transient-analytics-dev-train-model"
EXECUTION = "arn:aws:states:us-east-1:123456789012:execution:transient-analytics-dev-train-model:run(1)!"
TRAINED = Trained(
    model_data_url="s3://bucket/models/abalone/dt=2026-11-25/run=r/ta-abalone-train-x-0-0/output/model.tar.gz",
    image="683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-scikit-learn:1.4-2-cpu-py3",
    algorithm="hist_gradient_boosting",
    rmse=2.2439,
    holdout_sha256="a" * 64,
    holdout_rows=836,
    data_uri="s3://bucket/training/abalone/dt=2026-11-25/",
    data_sha256="d" * 64,
    data_fingerprint="f" * 32,
    training_job="ta-abalone-train-202611250400-1a2b3c4d-0-0",
    evaluation_uri="s3://bucket/models/abalone/dt=2026-11-25/run=r/ta-abalone-train-x-0-0/evaluation.json",
)
CANDIDATE = Candidate(
    **TRAINED.model_dump(), model_package_arn=PACKAGE, version=7, model_name=naming.model_name("ta-abalone", 7, PACKAGE)
)
INCUMBENT = IncumbentRef(
    model_package_arn=PACKAGE.replace("/7", "/6"),
    version=6,
    model_data_url="s3://bucket/models/abalone/old/model.tar.gz",
    rmse=2.2116,
)


def test_the_model_package_request_is_one_sagemaker_accepts():
    request = model_package_request(
        GROUP,
        TRAINED,
        INCUMBENT,
        transform_instance_type="ml.m5.large",
        execution_arn=EXECUTION,
        client_token="0" * 32,
        tags=[{"Key": "transient-analytics:stack", "Value": "transient-analytics-dev"}],
    )
    assert request_problems("sagemaker", "CreateModelPackage", request) == []
    assert request["ModelApprovalStatus"] == "PendingManualApproval"
    [container] = request["InferenceSpecification"]["Containers"]
    assert container["ModelDataUrl"] == TRAINED.model_data_url
    assert container["Environment"]["SAGEMAKER_PROGRAM"] == "inference.py"
    assert request["ModelMetrics"]["ModelQuality"]["Statistics"]["S3Uri"] == TRAINED.evaluation_uri
    assert request["ModelPackageDescription"].startswith(f"{TRAINED.training_job}:")


def test_customer_metadata_names_both_scores_and_the_data_with_values_sagemaker_accepts():
    metadata = customer_metadata(TRAINED, INCUMBENT, EXECUTION)
    assert metadata["holdout-rmse"] == "2.243900" and metadata["incumbent-rmse"] == "2.211600"
    assert metadata["training-data"] == TRAINED.data_uri
    assert all(is_tag_safe(v) and len(v) <= 256 for v in metadata.values()) and len(metadata) <= 50
    assert metadata["execution"] != EXECUTION  # "(", ")" and "!" are not allowed: rewritten, still distinct


def test_the_pending_notice_names_both_scores_the_reason_and_a_runnable_approve_command():
    notice = pending_notice(
        CANDIDATE,
        INCUMBENT,
        "does not beat production v6 by 0.01 rings RMSE",
        stack="transient-analytics-dev",
        state_machine_arn=MACHINE,
        threshold=0.01,
    )
    assert len(notice.subject) < 100 and notice.subject.isascii()
    assert "v7" in notice.subject and "2.2439" in notice.subject and "v6 2.2116" in notice.subject
    assert "hold-out RMSE:  2.2439 rings" in notice.message and "2.2116 rings on the same rows" in notice.message
    assert "does not beat production v6" in notice.message
    [command] = [line.strip() for line in notice.message.splitlines() if line.strip().startswith("aws stepfunctions")]
    args = shlex.split(command)
    assert args[args.index("--state-machine-arn") + 1] == MACHINE
    assert json.loads(args[args.index("--input") + 1]) == {
        "approve": {"model_package_arn": PACKAGE},
        "trigger": "manual",
    }
    assert command == approve_command(MACHINE, PACKAGE)


def test_a_package_version_is_read_from_its_arn_and_names_its_model():
    assert package_version(PACKAGE) == 7
    assert CANDIDATE.model_name.startswith("ta-abalone-v7-") and naming.is_valid_transform_job_name(
        CANDIDATE.model_name
    )
    assert naming.model_name("ta-abalone", 7, PACKAGE) != naming.model_name("ta-abalone", 7, PACKAGE + "0")


def test_an_evaluation_missing_a_score_is_refused_naming_the_field():
    with pytest.raises(ValidationError, match=r"candidate\.rmse"):
        Evaluation.model_validate(
            {
                "format": 1,
                "holdout": {"rows": 836, "sha256": "a" * 64, "seed": 42, "test_size": 0.2},
                "candidate": {"model": "ridge", "mae": 1.5},
                "incumbent": {"present": False},
                "data": {"sha256": "d" * 64, "rows": 4177},
            }
        )
