"""What ``register_model`` does (the training state machine's RegisterCandidate), with its AWS calls behind ports.

Read the job's ``evaluation.json`` back from its ``output.tar.gz``, register the model package
(PendingManualApproval) with its metrics (``ModelMetrics``: the evaluation, with the data it was
trained on, written beside the job's output) and apply the gate (``gate.gate``).

Faults: the evaluation document is written to the same key with the same bytes on every attempt
(a retry rewrites it identically). Before creating the package it looks for one already registered
for the job (its description starts with the job name), so a retried or redriven RegisterCandidate,
or a crash right after CreateModelPackage, finds that package instead of registering a second one;
the request also carries a ClientToken derived from the job ARN, which makes a repeated call
idempotent on SageMaker's side. Two executions never register the same job (job names are unique
per execution, retry and redrive), so concurrent runs register one package each.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any, Protocol

from pydantic import BaseModel, ConfigDict, ValidationError

from transient_analytics import layout, naming
from transient_analytics.errors import InvalidEventError, describe_validation_error
from transient_analytics.models import ExecutionContext
from transient_analytics.tags import TAG_STACK
from transient_analytics.training.gate import gate
from transient_analytics.training.plan import TrainingPlan
from transient_analytics.training.registry import (
    Candidate,
    Evaluation,
    Registration,
    Trained,
    model_package_request,
    package_version,
    pending_notice,
)

EVALUATION_MEMBER = "evaluation.json"


class RegistrationError(RuntimeError):
    """The training job's output cannot be registered (missing or malformed evaluation); the message says which."""


class Packages(Protocol):
    def find_by_job(self, group: str, training_job: str) -> str | None: ...
    def create(self, request: dict[str, Any]) -> str: ...


class Outputs(Protocol):
    def archive_member(self, archive_uri: str, member: str) -> bytes | None: ...
    def put_json(self, uri: str, document: Any) -> None: ...


class JobResult(BaseModel):
    """What ``TrainModel``'s ResultSelector keeps of DescribeTrainingJob."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    job_name: str
    job_arn: str
    model_data_url: str
    output_path: str
    image: str


class RegisterModelEvent(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    plan: TrainingPlan
    job: JobResult
    execution: ExecutionContext


def read_evaluation(job: JobResult, outputs: Outputs) -> tuple[dict[str, Any], Evaluation]:
    """The job's ``evaluation.json``, from its ``output.tar.gz``; RegistrationError naming what is wrong."""
    archive = layout.training_job_output_uri(job.output_path, job.job_name, "output.tar.gz")
    raw = outputs.archive_member(archive, EVALUATION_MEMBER)
    if raw is None:
        raise RegistrationError(f"{archive}: no {EVALUATION_MEMBER} (did the job run model/train_entry.py?)")
    try:
        document = json.loads(raw)
        return document, Evaluation.model_validate(document)
    except ValueError as exc:
        detail = describe_validation_error(exc) if isinstance(exc, ValidationError) else str(exc)
        raise RegistrationError(f"{archive}: {EVALUATION_MEMBER}: {detail}") from None


def register_candidate(event: RegisterModelEvent, packages: Packages, outputs: Outputs) -> Registration:
    plan, job = event.plan, event.job
    if plan.training is None:
        raise InvalidEventError("plan.training: a registration needs the training plan (mode 'train')")
    document, evaluation = read_evaluation(job, outputs)
    incumbent = plan.training.incumbent
    if incumbent is not None:
        if not evaluation.incumbent.present:
            raise RegistrationError(f"{job.job_name}: the plan had an incumbent, the job did not score one")
        incumbent = incumbent.model_copy(
            update={"rmse": evaluation.incumbent.rmse, "unscored": evaluation.incumbent.unscored}
        )
    trained = Trained(
        model_data_url=job.model_data_url,
        image=job.image,
        algorithm=evaluation.candidate.model,
        rmse=evaluation.candidate.rmse,
        holdout_sha256=evaluation.holdout.sha256,
        holdout_rows=evaluation.holdout.rows,
        data_uri=plan.training.data.uri,
        data_sha256=evaluation.data.sha256,
        data_fingerprint=plan.training.data.fingerprint,
        training_job=job.job_name,
        evaluation_uri=layout.evaluation_uri(job.output_path, job.job_name),
    )
    arn = packages.find_by_job(plan.model_package_group, job.job_name)
    if arn is None:
        registered = {"data_uri": trained.data_uri, "data_fingerprint": trained.data_fingerprint}
        registered |= {"training_job": job.job_name, "execution": plan.execution_arn}
        outputs.put_json(str(trained.evaluation_uri), {**document, "registered": registered})
        request = model_package_request(
            plan.model_package_group,
            trained,
            incumbent,
            transform_instance_type=plan.transform_instance_type,
            execution_arn=plan.execution_arn,
            client_token=hashlib.sha256(job.job_arn.encode()).hexdigest()[:32],
            tags=[{"Key": t.Key, "Value": t.Value} for t in plan.tags],
        )
        arn = packages.create(request)
    version = package_version(arn)
    candidate = Candidate(
        **trained.model_dump(),
        model_package_arn=arn,
        version=version,
        model_name=naming.model_name(plan.model_base_name, version, arn),
    )
    scored_incumbent = incumbent.scored(evaluation.holdout.sha256) if incumbent else None
    decision = gate(candidate.scored(), scored_incumbent, plan.gate_threshold, evaluation.holdout.rows)
    notice = None
    if not decision.approve:
        notice = pending_notice(
            candidate,
            incumbent,
            decision.reason,
            stack=_stack(plan),
            state_machine_arn=event.execution.state_machine_arn,
            threshold=plan.gate_threshold,
        )
    return Registration(
        candidate=candidate, incumbent=incumbent, approve=decision.approve, reason=decision.reason, notice=notice
    )


def _stack(plan: TrainingPlan) -> str:
    return next((t.Value for t in plan.tags if t.Key == TAG_STACK), "")
