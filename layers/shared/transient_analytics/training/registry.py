"""The model registry's records: what a training job measured, the package it is registered as, the production pointer.

Pure. ``evaluation.json`` (written by ``model/train_entry.py``, read back by ``register_model``) is
parsed into :class:`Evaluation`; a registered candidate is a :class:`Candidate`; the production
pointer (one DynamoDB item, ``model_registry.ProductionPointer``) is a :class:`ProductionModel`.
:func:`model_package_request` is the ``CreateModelPackage`` request, :func:`pending_notice` the one
message a candidate left for a person produces.
"""

from __future__ import annotations

import json
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from transient_analytics.notify.message import sns_subject
from transient_analytics.tags import tag_safe
from transient_analytics.training.gate import Scored

MODEL_PACKAGE_ARN_PATTERN = r"^arn:aws[a-z-]*:sagemaker:[a-z0-9-]+:\d{12}:model-package/[A-Za-z0-9-]{1,63}/\d{1,9}$"
#: The production pointer's key (the table holds one item per model).
MODEL_KEY = "abalone"
#: The serving container's environment (the artifact's code/inference.py; model/README.md).
SERVING_ENVIRONMENT = {
    "SAGEMAKER_PROGRAM": "inference.py",
    "SAGEMAKER_SUBMIT_DIRECTORY": "/opt/ml/model/code",
    "SAGEMAKER_CONTAINER_LOG_LEVEL": "20",
}
#: CustomerMetadataProperties: at most 50 entries, values at most 256 characters (CreateModelPackage).
METADATA_VALUE_MAX = 256


class _Record(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class HoldoutFacts(_Record):
    rows: int = Field(ge=1)
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    seed: int
    test_size: float


class CandidateScore(_Record):
    model: str
    rmse: float = Field(ge=0)
    mae: float = Field(ge=0)
    cv_rmse: float | None = None


class IncumbentFacts(_Record):
    present: bool
    rmse: float | None = Field(default=None, ge=0)
    model: str | None = None
    unscored: str | None = None


class DataFacts(_Record):
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    rows: int = Field(ge=1)


class Evaluation(_Record):
    """``evaluation.json`` as the training job wrote it (format 1); a field it lacks is named by the error."""

    format: Literal[1]
    holdout: HoldoutFacts
    candidate: CandidateScore
    incumbent: IncumbentFacts
    data: DataFacts
    versions: dict[str, str] = Field(default_factory=dict)


class Notice(_Record):
    """An SNS message the state machine publishes as it is (``sns:publish``)."""

    subject: str
    message: str


class Trained(_Record):
    """A trained model: where its artifact is, what it scored, what it was trained on."""

    model_data_url: str = Field(pattern=r"^s3://")
    image: str = Field(min_length=1)
    algorithm: str
    rmse: float | None = Field(default=None, ge=0)
    holdout_sha256: str | None = None
    holdout_rows: int | None = None
    data_uri: str | None = None
    data_sha256: str | None = None
    data_fingerprint: str | None = None
    training_job: str | None = None
    evaluation_uri: str | None = None


class Candidate(Trained):
    """A registered model package: the trained model, its package and the SageMaker model it is promoted under."""

    model_package_arn: str = Field(pattern=MODEL_PACKAGE_ARN_PATTERN)
    version: int = Field(ge=1)
    model_name: str

    def scored(self) -> Scored:
        return Scored(self.version, self.rmse, self.holdout_sha256)


class IncumbentRef(_Record):
    """The production model a training run was gated against (from the pointer), and its score on the run's rows."""

    model_package_arn: str = Field(pattern=MODEL_PACKAGE_ARN_PATTERN)
    version: int = Field(ge=1)
    model_data_url: str = Field(pattern=r"^s3://")
    rmse: float | None = None
    unscored: str | None = None

    def scored(self, holdout_sha256: str | None) -> Scored:
        return Scored(self.version, self.rmse, holdout_sha256 if self.rmse is not None else None, self.unscored)


class Registration(_Record):
    """What ``register_model`` (or ``prepare_training`` for a person's approval) hands the promotion states."""

    candidate: Candidate
    incumbent: IncumbentRef | None = None
    approve: bool
    reason: str
    mode: Literal["gate", "manual"] = "gate"
    notice: Notice | None = None


class ProductionModel(_Record):
    """The production pointer: the one model the batch transform uses, and the revision a swap must name."""

    revision: int = Field(ge=1)
    model_package_arn: str = Field(pattern=MODEL_PACKAGE_ARN_PATTERN)
    version: int = Field(ge=1)
    model_name: str
    model_data_url: str = Field(pattern=r"^s3://")
    rmse: float | None = None
    holdout_sha256: str | None = None
    data_sha256: str | None = None
    data_fingerprint: str | None = None
    promoted_at: str
    promoted_by: str
    reason: str = ""

    def scored(self) -> Scored:
        return Scored(self.version, self.rmse, self.holdout_sha256)

    def incumbent(self) -> IncumbentRef:
        return IncumbentRef(
            model_package_arn=self.model_package_arn, version=self.version, model_data_url=self.model_data_url
        )


def package_version(model_package_arn: str) -> int:
    """The version at the end of a versioned model package ARN (``…/model-package/<group>/<version>``)."""
    return int(model_package_arn.rsplit("/", 1)[-1])


def customer_metadata(candidate: Trained, incumbent: IncumbentRef | None, execution_arn: str) -> dict[str, str]:
    """CustomerMetadataProperties: what a person reads in the console (values tag-safe, within 256 characters)."""
    values = {
        "algorithm": candidate.algorithm,
        "holdout-rmse": f"{candidate.rmse:.6f}" if candidate.rmse is not None else "",
        "holdout-rows": str(candidate.holdout_rows or ""),
        "holdout-sha256": candidate.holdout_sha256 or "",
        "incumbent-package": incumbent.model_package_arn if incumbent else "none",
        "incumbent-rmse": f"{incumbent.rmse:.6f}" if incumbent and incumbent.rmse is not None else "",
        "training-data": candidate.data_uri or "",
        "training-data-sha256": candidate.data_sha256 or "",
        "training-job": candidate.training_job or "",
        "execution": execution_arn,
    }
    return {key: tag_safe(value)[:METADATA_VALUE_MAX] for key, value in values.items() if value}


def model_package_request(
    group: str,
    candidate: Trained,
    incumbent: IncumbentRef | None,
    *,
    transform_instance_type: str,
    execution_arn: str,
    client_token: str,
    tags: list[dict[str, str]],
) -> dict[str, Any]:
    """The ``CreateModelPackage`` request registering ``candidate`` (pending a decision)."""
    description = (
        f"{candidate.training_job}: {candidate.algorithm}, hold-out RMSE {candidate.rmse:.4f} rings "
        f"on {candidate.holdout_rows} rows; trained on {candidate.data_uri}"
    )
    return {
        "ModelPackageGroupName": group,
        "ModelPackageDescription": description[:1024],
        "ModelApprovalStatus": "PendingManualApproval",
        "InferenceSpecification": {
            "Containers": [
                {
                    "Image": candidate.image,
                    "ModelDataUrl": candidate.model_data_url,
                    "Environment": dict(SERVING_ENVIRONMENT),
                }
            ],
            "SupportedContentTypes": ["text/csv"],
            "SupportedResponseMIMETypes": ["text/csv"],
            "SupportedTransformInstanceTypes": [transform_instance_type],
        },
        "ModelMetrics": {
            "ModelQuality": {"Statistics": {"ContentType": "application/json", "S3Uri": candidate.evaluation_uri}}
        },
        "MetadataProperties": {"GeneratedBy": candidate.training_job or execution_arn},
        "CustomerMetadataProperties": customer_metadata(candidate, incumbent, execution_arn),
        "ClientToken": client_token,
        "Tags": tags,
    }


def approve_command(state_machine_arn: str, model_package_arn: str) -> str:
    """The command that promotes a package a person approves (through the same promotion states)."""
    payload = json.dumps({"approve": {"model_package_arn": model_package_arn}, "trigger": "manual"})
    return f"aws stepfunctions start-execution --state-machine-arn {state_machine_arn} --input '{payload}'"


def pending_notice(
    candidate: Candidate,
    incumbent: IncumbentRef | None,
    reason: str,
    *,
    stack: str,
    state_machine_arn: str,
    threshold: float,
    production: ProductionModel | None = None,
) -> Notice:
    """The one message for a candidate left PendingManualApproval: both scores, the reason, the approve command."""

    def rmse(value: float | None) -> str:
        return f"{value:.4f}" if value is not None else "not scored"

    against = production.version if production else (incumbent.version if incumbent else None)
    against_rmse = production.rmse if production else (incumbent.rmse if incumbent else None)
    subject = sns_subject(
        f"[transient-analytics] Model v{candidate.version} awaits approval: RMSE {rmse(candidate.rmse)} "
        f"vs production {f'v{against}' if against else '-'} {rmse(against_rmse)}"
    )
    lines = [
        f"A new abalone model ({stack}) was trained and registered, but not promoted: {reason}.",
        "",
        f"Candidate:        v{candidate.version} {candidate.model_package_arn}",
        f"  algorithm:      {candidate.algorithm}",
        f"  hold-out RMSE:  {rmse(candidate.rmse)} rings ({candidate.holdout_rows} rows, digest "
        f"{(candidate.holdout_sha256 or '-')[:12]})",
        f"  trained on:     {candidate.data_uri} (sha256 {(candidate.data_sha256 or '-')[:12]})",
        f"  training job:   {candidate.training_job or '-'}",
    ]
    if incumbent is not None:
        lines += [
            f"Gated against:    v{incumbent.version} {incumbent.model_package_arn}",
            f"  hold-out RMSE:  {rmse(incumbent.rmse)} rings on the same rows"
            + (f" ({incumbent.unscored})" if incumbent.unscored else ""),
        ]
    else:
        lines.append("Gated against:    no production model")
    if production is not None and (incumbent is None or production.model_package_arn != incumbent.model_package_arn):
        lines.append(f"Production now:   v{production.version} (hold-out RMSE {rmse(production.rmse)})")
    lines += [
        f"Threshold:        a candidate must beat production by at least {threshold:g} rings RMSE",
        "",
        "To promote it anyway (it becomes the model the batch transform uses from its next run):",
        f"  {approve_command(state_machine_arn, candidate.model_package_arn)}",
        "To leave it: do nothing; it stays PendingManualApproval in the model package group.",
    ]
    return Notice(subject=subject, message="\n".join(lines) + "\n")
