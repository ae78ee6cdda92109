"""The training plan: everything one run of the training state machine needs, computed once, in one place.

``prepare_training`` returns it; ``train_model.asl.json`` only routes it into the ``CreateTrainingJob``
request (``$.plan.training.…``) and the promotion states. Pure: the clock, the training data found and
the production model are arguments.

* **Which data**: the newest ``training/abalone/dt=…/`` day at or before the run's scheduled day.
  A *scheduled* run whose newest data is exactly what production was trained on (same fingerprint:
  keys, ETags, sizes) does nothing; a manual run always trains.
* **The job**: ``<model base>-train-<yyyymmddhhmm>-<hash8>`` (the state machine appends the retry and
  redrive counts), script mode in the scikit-learn image: the ``code`` channel carries
  ``sourcedir.tar.gz`` (network isolation: the container cannot fetch it), ``train`` the day's data,
  ``incumbent`` production's ``model.tar.gz`` when there is one; hyperparameters JSON-encoded as the
  SageMaker SDK sends them; output dated by the data's day and the run.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Annotated, Any, Literal, Self

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, model_validator

from transient_analytics import layout, naming
from transient_analytics.errors import InvalidEventError
from transient_analytics.models import ExecutionContext, Trigger
from transient_analytics.settings import PrepareTrainingSettings
from transient_analytics.slots import Fingerprint
from transient_analytics.tags import TAG_EXECUTION, TAG_PIPELINE, TAG_RUN_ID, TAG_STACK, Tag, execution_tag_value
from transient_analytics.training.registry import MODEL_PACKAGE_ARN_PATTERN, IncumbentRef, ProductionModel

#: The training toolkit's view of the code (model/sourcedir.py, checked by tests/unit/test_training.py).
ENTRY_POINT = "train_entry.py"
CODE_CHANNEL = "code"
SUBMIT_DIRECTORY = "/opt/ml/input/data/code/sourcedir.tar.gz"
#: What the entry point prints, read into the job's metrics (CloudWatch ``/aws/sagemaker/TrainingJobs``).
METRIC_DEFINITIONS = [
    {"Name": "holdout:rmse", "Regex": "holdout_rmse=([0-9.]+);"},
    {"Name": "incumbent:rmse", "Regex": "incumbent_rmse=([0-9.]+);"},
]

CandidateName = Annotated[str, Field(pattern=r"^[a-z][a-z_]{0,39}$")]


class ApproveRequest(BaseModel):
    """A person's approval: promote this package of the stack's group, scores aside."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    model_package_arn: str = Field(pattern=MODEL_PACKAGE_ARN_PATTERN)


class TrainingRequest(BaseModel):
    """The execution's input: the scheduler's payload, ``{}`` (train now), a narrower candidate list, or an approval."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    scheduled_time: AwareDatetime | None = None
    trigger: Trigger | None = None
    candidates: list[CandidateName] | None = Field(default=None, min_length=1, max_length=10)
    approve: ApproveRequest | None = None

    @model_validator(mode="after")
    def _approve_trains_nothing(self) -> Self:
        if self.approve is not None and self.candidates is not None:
            raise ValueError("candidates: an approval trains nothing; leave candidates out")
        return self


class PrepareTrainingEvent(BaseModel):
    """What the state machine's ``PrepareTraining`` task sends."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    input: TrainingRequest = Field(default_factory=TrainingRequest)
    execution: ExecutionContext


class TrainingData(BaseModel):
    model_config = ConfigDict(frozen=True)

    day: str
    uri: str
    fingerprint: str
    objects: int
    bytes: int


class TrainingJobPlan(BaseModel):
    """What ``TrainModel`` sends to ``createTrainingJob`` (the image and the role come from the template)."""

    model_config = ConfigDict(frozen=True)

    job_name_prefix: str
    hyperparameters: dict[str, str]
    input_data_config: list[dict[str, Any]]
    output_uri: str
    instance_type: str
    instance_count: int = 1
    volume_gb: int
    max_runtime_seconds: int
    metric_definitions: list[dict[str, str]]
    data: TrainingData
    incumbent: IncumbentRef | None = None


class TrainingPlan(BaseModel):
    model_config = ConfigDict(frozen=True)

    run_id: str
    scheduled_time: str
    trigger: Trigger
    execution_arn: str
    execution_name: str
    #: ``train``: a training job; ``approve``: a person's approval, straight to promotion; ``none``: nothing to do.
    mode: Literal["train", "approve", "none"]
    work: bool
    reason: str
    model_package_group: str
    model_base_name: str
    gate_threshold: float
    transform_instance_type: str
    tags: list[Tag]
    training: TrainingJobPlan | None = None


def newest_day(days: dict[datetime, Fingerprint], scheduled: datetime) -> datetime | None:
    """The newest day with training data at or before ``scheduled``'s day."""
    eligible = [d for d in days if d.date() <= scheduled.date()]
    return max(eligible) if eligible else None


def hyperparameters(settings: PrepareTrainingSettings, candidates: list[str]) -> dict[str, str]:
    """The job's hyperparameters, each JSON-encoded as the SageMaker Python SDK sends them."""
    values: dict[str, object] = {
        "sagemaker_program": ENTRY_POINT,
        "sagemaker_submit_directory": SUBMIT_DIRECTORY,
        "sagemaker_container_log_level": 20,
        "candidates": ",".join(candidates),
        "seed": settings.TRAINING_SEED,
        "folds": settings.TRAINING_FOLDS,
        "test-size": settings.TRAINING_TEST_SIZE,
    }
    return {key: json.dumps(value) for key, value in values.items()}


def channel(name: str, uri: str, content_type: str | None = None) -> dict[str, Any]:
    source = {"S3DataType": "S3Prefix", "S3Uri": uri, "S3DataDistributionType": "FullyReplicated"}
    config: dict[str, Any] = {"ChannelName": name, "DataSource": {"S3DataSource": source}, "InputMode": "File"}
    if content_type:
        config["ContentType"] = content_type
    return config


def run_tags(execution_arn: str, run_id: str, stack: str) -> list[Tag]:
    return [
        Tag(Key=TAG_EXECUTION, Value=execution_tag_value(execution_arn)),
        Tag(Key=TAG_RUN_ID, Value=run_id),
        Tag(Key=TAG_PIPELINE, Value="train"),
        Tag(Key=TAG_STACK, Value=stack),
    ]


def chosen_candidates(request: TrainingRequest, settings: PrepareTrainingSettings) -> list[str]:
    """The configured candidates, or the subset a manual run names (anything else is refused, naming it)."""
    if request.candidates is None:
        return list(settings.TRAINING_CANDIDATES)
    unknown = [c for c in request.candidates if c not in settings.TRAINING_CANDIDATES]
    if unknown:
        raise InvalidEventError(
            f"input.candidates: {unknown} not among the configured candidates {settings.TRAINING_CANDIDATES}"
        )
    return list(dict.fromkeys(request.candidates))


def build_training_plan(
    event: PrepareTrainingEvent,
    settings: PrepareTrainingSettings,
    scheduled: datetime,
    trigger: Trigger,
    days: dict[datetime, Fingerprint],
    production: ProductionModel | None,
) -> TrainingPlan:
    """The plan of a training run (mode ``train`` or ``none``); an approval's plan is :func:`approval_plan`."""
    execution = event.execution
    rid = naming.run_id(scheduled, execution.id)
    bucket = settings.DATA_BUCKET
    base = _plan_fields(event, settings, scheduled, trigger, rid)
    candidates = chosen_candidates(event.input, settings)
    day = newest_day(days, scheduled)
    if day is None:
        where = layout.s3_uri(bucket, layout.TRAINING_ROOT + "/")
        reason = f"no training data under {where} up to {scheduled:%Y-%m-%d}: publish it (make publish)"
        return TrainingPlan(**base, mode="none", work=False, reason=reason)
    found = days[day]
    if trigger == "schedule" and production is not None and production.data_fingerprint == found.digest:
        reason = (
            f"no new training data: production v{production.version} was trained on dt={day:%Y-%m-%d} with these "
            "contents (a manual run trains anyway)"
        )
        return TrainingPlan(**base, mode="none", work=False, reason=reason)
    data = TrainingData(
        day=f"{day:%Y-%m-%d}",
        uri=layout.s3_uri(bucket, layout.training_day_prefix(day)),
        fingerprint=found.digest,
        objects=found.objects,
        bytes=found.bytes,
    )
    incumbent = production.incumbent() if production else None
    config = [
        channel("train", data.uri, "text/csv"),
        channel(CODE_CHANNEL, layout.s3_uri(bucket, layout.SOURCEDIR_KEY)),
    ]
    if incumbent is not None:
        config.append(channel("incumbent", incumbent.model_data_url))
    job = TrainingJobPlan(
        job_name_prefix=naming.training_job_name_prefix(settings.MODEL_BASE_NAME, scheduled, execution.id),
        hyperparameters=hyperparameters(settings, candidates),
        input_data_config=config,
        output_uri=layout.s3_uri(bucket, layout.training_output_prefix(day, rid)),
        instance_type=settings.TRAINING_INSTANCE_TYPE,
        volume_gb=settings.TRAINING_VOLUME_GB,
        max_runtime_seconds=settings.TRAINING_MAX_RUNTIME_SECONDS,
        metric_definitions=METRIC_DEFINITIONS,
        data=data,
        incumbent=incumbent,
    )
    against = f"production v{production.version}" if production else "no production model"
    reason = f"train {', '.join(candidates)} on dt={data.day} ({found.objects} object(s)), gated against {against}"
    return TrainingPlan(**base, mode="train", work=True, reason=reason, training=job)


def approval_plan(
    event: PrepareTrainingEvent, settings: PrepareTrainingSettings, scheduled: datetime, trigger: Trigger
) -> TrainingPlan:
    """The plan of a person's approval: no training, straight to promotion."""
    base = _plan_fields(event, settings, scheduled, trigger, naming.run_id(scheduled, event.execution.id))
    arn = event.input.approve.model_package_arn if event.input.approve else "?"
    return TrainingPlan(**base, mode="approve", work=True, reason=f"approved by a person: {arn}")


def _plan_fields(
    event: PrepareTrainingEvent, settings: PrepareTrainingSettings, scheduled: datetime, trigger: Trigger, rid: str
) -> dict[str, Any]:
    return {
        "run_id": rid,
        "scheduled_time": scheduled.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "trigger": trigger,
        "execution_arn": event.execution.id,
        "execution_name": event.execution.name,
        "model_package_group": settings.MODEL_PACKAGE_GROUP,
        "model_base_name": settings.MODEL_BASE_NAME,
        "gate_threshold": settings.GATE_MIN_IMPROVEMENT,
        "transform_instance_type": settings.TRANSFORM_INSTANCE_TYPE,
        "tags": run_tags(event.execution.id, rid, settings.NAME_PREFIX),
    }
