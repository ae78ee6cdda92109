"""The run plan: everything one execution needs to know, computed once, in one place.

``prepare_run`` returns it; the state machines only route it into the EMR and SageMaker
requests (``$.plan.…``). Pure: the current time and the running executions are arguments.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from transient_analytics import layout, naming
from transient_analytics.errors import InvalidEventError
from transient_analytics.models import Pipeline, PrepareRunEvent, Trigger
from transient_analytics.overlap import RunningExecution, blocking_execution
from transient_analytics.settings import PrepareRunSettings

#: Tag keys put on every EMR cluster and transform job a run starts.
TAG_EXECUTION = "transient-analytics:execution"
TAG_RUN_ID = "transient-analytics:run-id"
TAG_PIPELINE = "transient-analytics:pipeline"
TAG_STACK = "transient-analytics:stack"
#: AmazonEMRServicePolicy_v2 (the EMR service role's policy) acts only on resources carrying this
#: tag: a cluster must be created with it, and EMR propagates it to what it creates for the cluster.
TAG_EMR_MANAGED_POLICIES = "for-use-with-amazon-emr-managed-policies"

#: A scheduled time may lie this far ahead of the clock (scheduler and Lambda clocks differ).
MAX_CLOCK_SKEW = timedelta(minutes=15)


class Tag(BaseModel):
    Key: str
    Value: str


class EmrPlan(BaseModel):
    """What the EMR pipeline's states send to ``createCluster`` and ``addStep``."""

    cluster_name: str
    log_uri: str
    input_uri: str
    output_uri: str
    partition_column: str
    job_uri: str
    schema_uri: str
    #: ``Instances`` of RunJobFlow: instance groups, subnet, kept alive for the steps.
    instances: dict[str, Any]
    #: ``Configurations`` of RunJobFlow (Spark/YARN tuning from the template).
    configurations: list[dict[str, Any]]
    auto_termination: dict[str, int]
    spark_submit_args: list[str]
    step_timeout_seconds: int
    tags: list[Tag]


class TransformPlan(BaseModel):
    """What the transform pipeline sends to ``createTransformJob``."""

    job_name_prefix: str = Field(max_length=naming.SAGEMAKER_JOB_NAME_MAX - naming.JOB_NAME_SUFFIX_MAX)
    input_uri: str
    output_uri: str
    instance_type: str
    instance_count: int
    max_payload_mb: int
    timeout_seconds: int
    tags: list[Tag]


class RunPlan(BaseModel):
    model_config = ConfigDict(frozen=True)

    pipeline: Pipeline
    run_id: str
    scheduled_time: str
    trigger: Trigger
    execution_arn: str
    execution_name: str
    skip: bool
    skip_reason: str | None = None
    blocking_execution_arn: str | None = None
    emr: EmrPlan | None = None
    transform: TransformPlan | None = None


def resolve_scheduled_time(
    requested: datetime | None, now: datetime, max_backfill_days: int
) -> tuple[datetime, Literal["given", "now"]]:
    """The run's scheduled time (UTC, whole minute); ``now`` when none was requested.

    A requested time more than ``MAX_CLOCK_SKEW`` ahead of ``now``, or more than
    ``max_backfill_days`` behind it, is rejected: it is a typo, not a slot to process.
    """
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    if requested is None:
        return now.astimezone(UTC).replace(second=0, microsecond=0), "now"
    t = requested.astimezone(UTC)
    if t > now + MAX_CLOCK_SKEW:
        raise InvalidEventError(
            f"input.scheduled_time: must not be more than {int(MAX_CLOCK_SKEW.total_seconds() // 60)} "
            f"minutes in the future (got '{requested.isoformat()}')"
        )
    if t < now - timedelta(days=max_backfill_days):
        raise InvalidEventError(
            f"input.scheduled_time: must be within {max_backfill_days} days of now (MAX_BACKFILL_DAYS) "
            f"(got '{requested.isoformat()}')"
        )
    return t.replace(second=0, microsecond=0), "given"


def spark_submit_args(job_uri: str, input_uri: str, output_uri: str, column: str, schema_uri: str) -> list[str]:
    """``command-runner.jar`` arguments of the Spark step (cluster deploy mode)."""
    return [
        "spark-submit",
        "--deploy-mode",
        "cluster",
        job_uri,
        "--input",
        input_uri,
        "--output",
        output_uri,
        "--partition-column",
        column,
        "--schema",
        schema_uri,
        "--mode",
        "overwrite",
    ]


def instance_groups(s: PrepareRunSettings) -> list[dict[str, Any]]:
    """On-demand primary and core groups; a spot task group when ``EMR_TASK_SPOT_INSTANCE_COUNT`` > 0."""
    groups: list[dict[str, Any]] = [
        {
            "Name": "primary",
            "InstanceRole": "MASTER",
            "Market": "ON_DEMAND",
            "InstanceType": s.EMR_PRIMARY_INSTANCE_TYPE,
            "InstanceCount": 1,
        },
        {
            "Name": "core",
            "InstanceRole": "CORE",
            "Market": "ON_DEMAND",
            "InstanceType": s.EMR_CORE_INSTANCE_TYPE,
            "InstanceCount": s.EMR_CORE_INSTANCE_COUNT,
        },
    ]
    if s.EMR_TASK_SPOT_INSTANCE_COUNT > 0:
        groups.append(
            {
                "Name": "task-spot",
                "InstanceRole": "TASK",
                "Market": "SPOT",
                "InstanceType": s.EMR_TASK_INSTANCE_TYPE,
                "InstanceCount": s.EMR_TASK_SPOT_INSTANCE_COUNT,
            }
        )
    return groups


def build_plan(
    event: PrepareRunEvent,
    settings: PrepareRunSettings,
    now: datetime,
    running: list[RunningExecution],
) -> RunPlan:
    """The run plan for ``event``'s execution, given the clock and the executions still running."""
    scheduled, source = resolve_scheduled_time(event.input.scheduled_time, now, settings.MAX_BACKFILL_DAYS)
    trigger: Trigger = event.input.trigger or ("manual" if source == "now" else "backfill")
    execution = event.execution
    rid = naming.run_id(scheduled, execution.id)
    blocker = blocking_execution(execution.id, running)
    tags = [
        Tag(Key=TAG_EXECUTION, Value=execution.id),
        Tag(Key=TAG_RUN_ID, Value=rid),
        Tag(Key=TAG_PIPELINE, Value=event.pipeline),
        Tag(Key=TAG_STACK, Value=settings.NAME_PREFIX),
    ]
    bucket = settings.DATA_BUCKET
    emr = transform = None
    if event.pipeline == "emr":
        job_uri = layout.s3_uri(bucket, layout.JOB_KEY)
        input_uri = layout.s3_uri(bucket, layout.emr_input_prefix(scheduled))
        output_uri = layout.s3_uri(bucket, layout.emr_output_prefix(scheduled))
        schema_uri = layout.s3_uri(bucket, layout.SCHEMA_KEY)
        instances: dict[str, Any] = {
            "InstanceGroups": instance_groups(settings),
            "KeepJobFlowAliveWhenNoSteps": True,
            "TerminationProtected": False,
        }
        if settings.EMR_SUBNET_ID:
            instances["Ec2SubnetId"] = settings.EMR_SUBNET_ID
        emr = EmrPlan(
            cluster_name=naming.cluster_name(settings.NAME_PREFIX, "emr", scheduled, execution.id),
            log_uri=layout.s3_uri(bucket, layout.emr_log_prefix(scheduled)),
            input_uri=input_uri,
            output_uri=output_uri,
            partition_column=settings.PARTITION_COLUMN,
            job_uri=job_uri,
            schema_uri=schema_uri,
            instances=instances,
            configurations=[c.model_dump(exclude_defaults=True) for c in settings.EMR_CONFIGURATIONS],
            auto_termination={"IdleTimeout": settings.EMR_IDLE_TIMEOUT_SECONDS},
            spark_submit_args=spark_submit_args(job_uri, input_uri, output_uri, settings.PARTITION_COLUMN, schema_uri),
            step_timeout_seconds=settings.SPARK_STEP_TIMEOUT_SECONDS,
            tags=[*tags, Tag(Key=TAG_EMR_MANAGED_POLICIES, Value="true")],
        )
    else:
        transform = TransformPlan(
            job_name_prefix=naming.transform_job_name_prefix(settings.TRANSFORM_JOB_BASE_NAME, scheduled, execution.id),
            input_uri=layout.s3_uri(bucket, layout.transform_input_prefix(scheduled)),
            output_uri=layout.s3_uri(bucket, layout.transform_output_prefix(scheduled, rid)),
            instance_type=settings.TRANSFORM_INSTANCE_TYPE,
            instance_count=settings.TRANSFORM_INSTANCE_COUNT,
            max_payload_mb=settings.TRANSFORM_MAX_PAYLOAD_MB,
            timeout_seconds=settings.TRANSFORM_TIMEOUT_SECONDS,
            tags=tags,
        )
    return RunPlan(
        pipeline=event.pipeline,
        run_id=rid,
        scheduled_time=scheduled.strftime("%Y-%m-%dT%H:%M:%SZ"),
        trigger=trigger,
        execution_arn=execution.id,
        execution_name=execution.name,
        skip=blocker is not None,
        skip_reason=(
            f"execution {blocker.arn} (started {blocker.start_date.isoformat()}) is still running" if blocker else None
        ),
        blocking_execution_arn=blocker.arn if blocker else None,
        emr=emr,
        transform=transform,
    )
