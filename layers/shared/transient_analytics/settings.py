"""Each function's configuration: environment variables set by template.yaml, validated once.

A missing or malformed variable is a deployment error; it is reported with the variable's
name and the rule it breaks, at the first invocation, instead of as a ``KeyError`` later.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from transient_analytics.errors import ConfigurationError, describe_validation_error
from transient_analytics.layout import DEFAULT_PARTITION_COLUMN
from transient_analytics.naming import MODEL_BASE_NAME_MAX

#: The state machines NotifyFailure speaks for: the two slot pipelines and the model training.
Workflow = Literal["emr", "transform", "train"]

InstanceType = Annotated[str, Field(pattern=r"^[a-z][a-z0-9-]*\.[a-z0-9]+$")]
SparkBackend = Literal["cluster", "serverless"]
#: ``--conf key=value`` pairs only (``spark.master`` is refused by a validator: EMR Serverless sets it).
_SPARK_CONF = r"^(--conf spark\.[A-Za-z0-9_.-]+=[^\s]+)( --conf spark\.[A-Za-z0-9_.-]+=[^\s]+)*$"
SageMakerInstanceType = Annotated[str, Field(pattern=r"^ml\.[a-z0-9-]+\.[a-z0-9]+$")]


class EmrConfiguration(BaseModel):
    """One EMR ``Configurations`` entry (Classification, Properties, nested Configurations)."""

    model_config = ConfigDict(extra="forbid")

    Classification: str = Field(min_length=1)
    Properties: dict[str, str] = Field(default_factory=dict)
    Configurations: list[EmrConfiguration] = Field(default_factory=list)


class PrepareRunSettings(BaseModel):
    """Environment of ``prepare_run`` (names are the environment variable names)."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    DATA_BUCKET: str = Field(pattern=r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
    NAME_PREFIX: str = Field(min_length=1, max_length=64)
    TRANSFORM_JOB_BASE_NAME: str = Field(pattern=r"^[a-z0-9](-?[a-z0-9])*$", max_length=33)
    PARTITION_COLUMN: str = Field(default=DEFAULT_PARTITION_COLUMN, pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")
    EMR_PRIMARY_INSTANCE_TYPE: InstanceType = "m7g.xlarge"
    EMR_CORE_INSTANCE_TYPE: InstanceType = "m7g.xlarge"
    EMR_CORE_INSTANCE_COUNT: int = Field(default=2, ge=1, le=50)
    EMR_TASK_INSTANCE_TYPE: InstanceType = "m7g.xlarge"
    EMR_TASK_SPOT_INSTANCE_COUNT: int = Field(default=0, ge=0, le=50)
    EMR_SUBNET_ID: str = Field(default="", pattern=r"^(subnet-[0-9a-f]{8,17})?$")
    EMR_IDLE_TIMEOUT_SECONDS: int = Field(default=1800, ge=60, le=604800)
    EMR_CONFIGURATIONS: list[EmrConfiguration] = Field(default_factory=list)
    #: CreateCluster's TimeoutSecondsPath: a cluster not running by then is given up (and terminated).
    EMR_CLUSTER_START_TIMEOUT_SECONDS: int = Field(default=1200, ge=300, le=1800)
    #: The template's MaxValue keeps the run's worst case within the state machine's TimeoutSeconds.
    SPARK_STEP_TIMEOUT_SECONDS: int = Field(default=3600, ge=60, le=7200)
    #: Where the Spark job runs: a transient EMR cluster, or the stack's EMR Serverless application.
    SPARK_BACKEND: SparkBackend = "cluster"
    #: The serverless job's worker sizes and Spark tuning (StartJobRun's SparkSubmitParameters).
    SERVERLESS_SPARK_SUBMIT_PARAMETERS: str = Field(
        default=(
            "--conf spark.driver.cores=2 --conf spark.driver.memory=4g --conf spark.executor.cores=4 "
            "--conf spark.executor.memory=8g --conf spark.dynamicAllocation.maxExecutors=4"
        ),
        pattern=_SPARK_CONF,
    )
    TRANSFORM_INSTANCE_TYPE: SageMakerInstanceType = "ml.m5.large"
    TRANSFORM_INSTANCE_COUNT: int = Field(default=1, ge=1, le=20)
    TRANSFORM_MAX_PAYLOAD_MB: int = Field(default=6, ge=1, le=100)
    TRANSFORM_TIMEOUT_SECONDS: int = Field(default=3600, ge=60, le=7200)
    MAX_BACKFILL_DAYS: int = Field(default=366, ge=1, le=3650)
    LEDGER_TABLE: str = Field(min_length=3, max_length=255)
    #: A run looks this far back for slots with landing data (older open slots come from the ledger).
    EMR_LOOKBACK_HOURS: int = Field(default=24, ge=1, le=24 * 31)
    TRANSFORM_LOOKBACK_DAYS: int = Field(default=7, ge=1, le=366)
    EMR_MAX_SLOTS_PER_RUN: int = Field(default=8, ge=1, le=96)
    TRANSFORM_MAX_SLOTS_PER_RUN: int = Field(default=3, ge=1, le=4)
    MAX_BACKFILL_SLOTS: int = Field(default=2976, ge=1, le=35136)
    #: A slot whose claim expired unrecorded this many times in total with its failures is quarantined.
    MAX_SLOT_ATTEMPTS: int = Field(default=3, ge=1, le=100)
    #: The production pointer the transform reads its model from (model training writes it).
    PRODUCTION_TABLE: str | None = Field(default=None, min_length=3, max_length=255)
    #: The catalog's PartitionValues (comma-separated), passed to the job so it reports the others.
    PARTITION_VALUES: str = Field(default="", pattern=r"^([^,]+(,[^,]+)*)?$")
    #: ``vanished`` records expire (DynamoDB TTL) this long after their data was found gone.
    DONE_RETENTION_DAYS: int = Field(default=400, ge=1, le=3650)

    @field_validator("SERVERLESS_SPARK_SUBMIT_PARAMETERS")
    @classmethod
    def _no_spark_master(cls, value: str) -> str:
        if "--conf spark.master=" in value:
            raise ValueError("must not set spark.master: EMR Serverless sets it (a job that does is refused)")
        return value

    @field_validator("EMR_CONFIGURATIONS", mode="before")
    @classmethod
    def _parse_json(cls, value: object) -> object:
        if isinstance(value, str):
            try:
                return json.loads(value) if value.strip() else []
            except json.JSONDecodeError as exc:
                raise ValueError(f"must be a JSON list of EMR configurations ({exc.msg})") from exc
        return value


class NotifyFailureSettings(BaseModel):
    """Environment of ``notify_failure``."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    TOPIC_ARN: str = Field(pattern=r"^arn:aws[a-z-]*:sns:[a-z0-9-]+:\d{12}:[A-Za-z0-9_-]+(\.fifo)?$")
    EMR_STATE_MACHINE_ARN: str = Field(pattern=r"^arn:aws[a-z-]*:states:[a-z0-9-]+:\d{12}:stateMachine:.+$")
    TRANSFORM_STATE_MACHINE_ARN: str = Field(pattern=r"^arn:aws[a-z-]*:states:[a-z0-9-]+:\d{12}:stateMachine:.+$")
    TRAIN_STATE_MACHINE_ARN: str | None = Field(
        default=None, pattern=r"^arn:aws[a-z-]*:states:[a-z0-9-]+:\d{12}:stateMachine:.+$"
    )
    IDEMPOTENCY_TABLE: str = Field(min_length=3, max_length=255)
    IDEMPOTENCY_TTL_SECONDS: int = Field(default=86400, ge=60, le=30 * 86400)
    CAUSE_MAX_CHARS: int = Field(default=1500, ge=200, le=20000)
    CLEANUP_EMR_CLUSTERS: bool = True
    LEDGER_TABLE: str = Field(min_length=3, max_length=255)
    MAX_SLOT_ATTEMPTS: int = Field(default=3, ge=1, le=100)
    DONE_RETENTION_DAYS: int = Field(default=400, ge=1, le=3650)
    NAME_PREFIX: str = Field(min_length=1, max_length=64)
    #: The stack's EMR Serverless application: a dead run's job run is cancelled there (empty: none).
    EMR_SERVERLESS_APPLICATION_ID: str = Field(default="", pattern=r"^[0-9a-z]*$", max_length=64)
    PARTITION_COLUMN: str = Field(default=DEFAULT_PARTITION_COLUMN, pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")
    PARTITION_VALUES: str = Field(default="", pattern=r"^([^,]+(,[^,]+)*)?$")

    def pipeline_for(self, state_machine_arn: str) -> Workflow | None:
        """Which of our state machines this is (a slot pipeline or the training), or None if it is not ours."""
        pipelines: dict[str, Workflow] = {
            self.EMR_STATE_MACHINE_ARN: "emr",
            self.TRANSFORM_STATE_MACHINE_ARN: "transform",
        }
        if self.TRAIN_STATE_MACHINE_ARN:
            pipelines[self.TRAIN_STATE_MACHINE_ARN] = "train"
        return pipelines.get(state_machine_arn)


class RecordSlotsSettings(BaseModel):
    """Environment of ``record_slots``."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    DATA_BUCKET: str = Field(pattern=r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
    NAME_PREFIX: str = Field(min_length=1, max_length=64)
    LEDGER_TABLE: str = Field(min_length=3, max_length=255)
    TOPIC_ARN: str = Field(pattern=r"^arn:aws[a-z-]*:sns:[a-z0-9-]+:\d{12}:[A-Za-z0-9_-]+(\.fifo)?$")
    #: A slot whose conversion failed this many times is quarantined.
    MAX_SLOT_ATTEMPTS: int = Field(default=3, ge=1, le=100)
    #: ``done`` records are kept this long, then expired by DynamoDB's TTL.
    DONE_RETENTION_DAYS: int = Field(default=400, ge=1, le=3650)
    PARTITION_COLUMN: str = Field(default=DEFAULT_PARTITION_COLUMN, pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")
    #: The catalog's PartitionValues (comma-separated), named in the notice about rows it cannot show.
    PARTITION_VALUES: str = Field(default="", pattern=r"^([^,]+(,[^,]+)*)?$")
    #: The stack's EMR Serverless application (empty with the cluster backend) and its architecture.
    EMR_SERVERLESS_APPLICATION_ID: str = Field(default="", pattern=r"^[0-9a-z]*$", max_length=64)
    SERVERLESS_ARCHITECTURE: Literal["X86_64", "ARM64"] = "ARM64"


class PrepareTrainingSettings(BaseModel):
    """Environment of ``prepare_training``: what a training run is planned from (``training.plan``)."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    DATA_BUCKET: str = Field(pattern=r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
    NAME_PREFIX: str = Field(min_length=1, max_length=64)
    #: Training jobs are ``<base>-train-…``, models ``<base>-v<version>-…`` (IAM scopes both by it).
    MODEL_BASE_NAME: str = Field(pattern=r"^[a-z0-9](-?[a-z0-9])*$", max_length=MODEL_BASE_NAME_MAX)
    MODEL_PACKAGE_GROUP: str = Field(pattern=r"^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$")
    PRODUCTION_TABLE: str = Field(min_length=3, max_length=255)
    TRAINING_INSTANCE_TYPE: SageMakerInstanceType = "ml.m5.large"
    TRAINING_VOLUME_GB: int = Field(default=5, ge=1, le=512)
    TRAINING_MAX_RUNTIME_SECONDS: int = Field(default=3600, ge=60, le=432000)
    #: The regressors cross-validation chooses from (model/candidates.py); a manual run may name a subset.
    TRAINING_CANDIDATES: Annotated[list[Annotated[str, Field(pattern=r"^[a-z][a-z_]{0,39}$")]], Field(min_length=1)] = [
        "ridge",
        "random_forest",
        "hist_gradient_boosting",
    ]
    TRAINING_SEED: int = Field(default=42, ge=0, le=2**31 - 1)
    TRAINING_FOLDS: int = Field(default=5, ge=2, le=20)
    TRAINING_TEST_SIZE: float = Field(default=0.2, ge=0.05, le=0.5)
    #: A candidate is approved only if its hold-out RMSE beats production's by at least this (rings).
    GATE_MIN_IMPROVEMENT: float = Field(default=0.01, ge=0, le=10)
    #: The instance type the batch transform serves the model on (the package's SupportedTransformInstanceTypes).
    TRANSFORM_INSTANCE_TYPE: SageMakerInstanceType = "ml.m5.large"
    MAX_BACKFILL_DAYS: int = Field(default=366, ge=1, le=3650)

    @field_validator("TRAINING_CANDIDATES", mode="before")
    @classmethod
    def _comma_list(cls, value: object) -> object:
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value


class PromoteModelSettings(BaseModel):
    """Environment of ``promote_model``."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    PRODUCTION_TABLE: str = Field(min_length=3, max_length=255)


def load_settings[S: BaseModel](model: type[S], environ: Mapping[str, str]) -> S:
    """Validate ``environ`` against ``model``; raise :class:`ConfigurationError` naming the variable."""
    try:
        return model.model_validate(dict(environ))
    except ValidationError as exc:
        raise ConfigurationError(describe_validation_error(exc, prefix="environment")) from None
