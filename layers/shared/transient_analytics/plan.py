"""The run plan: everything one execution needs to know, computed once, in one place.

``prepare_run`` returns it; the state machines only route it into the EMR and SageMaker
requests (``$.plan.…``). Pure: the clock and the slots the run claimed are arguments.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from transient_analytics import layout, naming
from transient_analytics.errors import InvalidEventError
from transient_analytics.models import Pipeline, PrepareRunEvent, SlotWork, Trigger
from transient_analytics.run_bounds import SERVERLESS_START_ALLOWANCE_SECONDS, serverless_task_timeout
from transient_analytics.settings import PrepareRunSettings, SparkBackend
from transient_analytics.slots import Fingerprint, slot_id
from transient_analytics.tags import ascii_tag_safe, execution_tag_value

#: Tag keys put on every EMR cluster and transform job a run starts.
TAG_EXECUTION = "transient-analytics:execution"
TAG_RUN_ID = "transient-analytics:run-id"
TAG_PIPELINE = "transient-analytics:pipeline"
TAG_STACK = "transient-analytics:stack"
#: The SageMaker model a transform job scored with (which model scored which day).
TAG_MODEL = "transient-analytics:model"
#: AmazonEMRServicePolicy_v2 (the EMR service role's policy) acts only on resources carrying this
#: tag: a cluster must be created with it, and EMR propagates it to what it creates for the cluster.
TAG_EMR_MANAGED_POLICIES = "for-use-with-amazon-emr-managed-policies"

#: A scheduled time may lie this far ahead of the clock (scheduler and Lambda clocks differ).
MAX_CLOCK_SKEW = timedelta(minutes=15)


class Tag(BaseModel):
    Key: str
    Value: str


class EmrPlan(BaseModel):
    """What the EMR pipeline's states send to ``createCluster`` and ``addStep``: one cluster, every claimed slot."""

    cluster_name: str
    log_uri: str
    partition_column: str
    job_uri: str
    schema_uri: str
    report_uri: str
    #: ``Instances`` of RunJobFlow: instance groups, subnet, kept alive for the steps.
    instances: dict[str, Any]
    #: ``Configurations`` of RunJobFlow (Spark/YARN tuning from the template).
    configurations: list[dict[str, Any]]
    auto_termination: dict[str, int]
    spark_submit_args: list[str]
    #: CreateCluster's TimeoutSecondsPath: a cluster not running by then is given up.
    cluster_start_timeout_seconds: int
    step_timeout_seconds: int
    tags: list[Tag]


class ServerlessPlan(BaseModel):
    """What the EMR pipeline sends to ``emr-serverless:startJobRun.sync``: the same job, the same arguments."""

    job_name: str
    #: The run's id; the state machine appends ``$$.Execution.RedriveCount`` (a Retry re-sends the same
    #: token and so reaches the same job run; a redrive, a new attempt, gets a new one).
    client_token: str
    #: StartJobRun's ExecutionTimeoutMinutes: the step timeout, at least EMR Serverless's 5 minutes.
    execution_timeout_minutes: int
    #: The Task's TimeoutSecondsPath: the job's own time-out plus the application's start-up allowance.
    task_timeout_seconds: int
    entry_point: str
    entry_point_arguments: list[str]
    spark_submit_parameters: str
    log_uri: str
    #: StartJobRun's Tags is a map, and its values are ASCII only.
    tags: dict[str, str]


class TransformPlan(BaseModel):
    """What the transform pipeline sends to ``createTransformJob``, once per claimed slot."""

    #: The production model (the pointer model training swaps), read when the run was planned.
    model_name: str
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
    #: False: nothing to convert (no new data, or every slot with work is held by another run).
    work: bool
    reason: str
    slots: list[SlotWork] = Field(default_factory=list)
    report_uri: str | None = None
    #: Where the EMR pipeline's Spark job runs (the state machine chooses its branch by it).
    backend: SparkBackend = "cluster"
    emr: EmrPlan | None = None
    serverless: ServerlessPlan | None = None
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


def job_arguments(
    schema_uri: str,
    column: str,
    run_id: str,
    report_uri: str,
    slots: list[SlotWork],
    partition_values: str = "",
) -> list[str]:
    """The Spark job's own arguments (after its script): one job, every slot, on either backend.

    ``partition_values``: the catalog's list (comma-separated); the job reports rows with other values.
    """
    args = [
        "--schema",
        schema_uri,
        "--partition-column",
        column,
        "--run-id",
        run_id,
        "--report",
        report_uri,
    ]
    if partition_values:
        args += ["--partition-values", partition_values]
    for s in slots:
        args += ["--slot", s.slot, s.input_uri, s.output_uri, s.fingerprint]
    return args


def spark_submit_args(job_uri: str, arguments: list[str]) -> list[str]:
    """``command-runner.jar`` arguments of the EMR step (cluster deploy mode): the job and its arguments."""
    return ["spark-submit", "--deploy-mode", "cluster", job_uri, *arguments]


def serverless_plan(
    settings: PrepareRunSettings, scheduled: datetime, run_id: str, arguments: list[str], tags: list[Tag]
) -> ServerlessPlan:
    task_timeout = serverless_task_timeout(settings)
    bucket = settings.DATA_BUCKET
    return ServerlessPlan(
        job_name=f"{naming.sanitize_base_name(settings.NAME_PREFIX, 128)}-emr-{run_id}",
        client_token=run_id,
        execution_timeout_minutes=(task_timeout - SERVERLESS_START_ALLOWANCE_SECONDS) // 60,
        task_timeout_seconds=task_timeout,
        entry_point=layout.s3_uri(bucket, layout.JOB_KEY),
        entry_point_arguments=arguments,
        spark_submit_parameters=settings.SERVERLESS_SPARK_SUBMIT_PARAMETERS,
        log_uri=layout.s3_uri(bucket, layout.serverless_log_prefix(scheduled)),
        tags={t.Key: ascii_tag_safe(t.Value) for t in tags},
    )


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


def slot_work(
    pipeline: Pipeline, bucket: str, start: datetime, fp: Fingerprint, run_id: str, job_name_prefix: str | None
) -> SlotWork:
    """Where a claimed slot's data is read from and written to."""
    if pipeline == "emr":
        return SlotWork(
            slot=slot_id(start),
            input_uri=layout.s3_uri(bucket, layout.emr_input_prefix(start)),
            output_uri=layout.s3_uri(bucket, layout.emr_output_prefix(start)),
            manifest_uri=layout.s3_uri(bucket, layout.manifest_key(start)),
            fingerprint=fp.digest,
            objects=fp.objects,
            bytes=fp.bytes,
        )
    return SlotWork(
        slot=slot_id(start),
        input_uri=layout.s3_uri(bucket, layout.transform_input_prefix(start)),
        output_uri=layout.s3_uri(bucket, layout.transform_output_prefix(start, run_id)),
        fingerprint=fp.digest,
        objects=fp.objects,
        bytes=fp.bytes,
        job_name_prefix=job_name_prefix,
    )


def run_tags(pipeline: Pipeline, execution_arn: str, run_id: str, stack: str) -> list[Tag]:
    return [
        Tag(Key=TAG_EXECUTION, Value=execution_tag_value(execution_arn)),
        Tag(Key=TAG_RUN_ID, Value=run_id),
        Tag(Key=TAG_PIPELINE, Value=pipeline),
        Tag(Key=TAG_STACK, Value=stack),
    ]


def build_plan(
    event: PrepareRunEvent,
    settings: PrepareRunSettings,
    scheduled: datetime,
    trigger: Trigger,
    claimed: list[tuple[datetime, Fingerprint]],
    reason: str,
    model_name: str | None = None,
) -> RunPlan:
    """The run plan for ``event``'s execution and the slots it claimed (oldest first); no work when none.

    A transform run with slots scores them with ``model_name`` (the production model), which it needs.
    """
    execution = event.execution
    pipeline = event.pipeline
    rid = naming.run_id(scheduled, execution.id)
    bucket = settings.DATA_BUCKET
    tags = run_tags(pipeline, execution.id, rid, settings.NAME_PREFIX)
    slots = [
        slot_work(
            pipeline,
            bucket,
            start,
            fp,
            rid,
            naming.transform_job_name_prefix(settings.TRANSFORM_JOB_BASE_NAME, start, execution.id)
            if pipeline == "transform"
            else None,
        )
        for start, fp in claimed
    ]
    emr = serverless = transform = None
    report_uri = layout.s3_uri(bucket, layout.run_report_key(pipeline, rid)) if slots else None
    if slots and pipeline == "emr" and report_uri:
        job_uri = layout.s3_uri(bucket, layout.JOB_KEY)
        schema_uri = layout.s3_uri(bucket, layout.SCHEMA_KEY)
        arguments = job_arguments(
            schema_uri, settings.PARTITION_COLUMN, rid, report_uri, slots, settings.PARTITION_VALUES
        )
        if settings.SPARK_BACKEND == "serverless":
            serverless = serverless_plan(settings, scheduled, rid, arguments, tags)
        else:
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
                partition_column=settings.PARTITION_COLUMN,
                job_uri=job_uri,
                schema_uri=schema_uri,
                report_uri=report_uri,
                instances=instances,
                configurations=[c.model_dump(exclude_defaults=True) for c in settings.EMR_CONFIGURATIONS],
                auto_termination={"IdleTimeout": settings.EMR_IDLE_TIMEOUT_SECONDS},
                spark_submit_args=spark_submit_args(job_uri, arguments),
                cluster_start_timeout_seconds=settings.EMR_CLUSTER_START_TIMEOUT_SECONDS,
                step_timeout_seconds=settings.SPARK_STEP_TIMEOUT_SECONDS,
                tags=[*tags, Tag(Key=TAG_EMR_MANAGED_POLICIES, Value="true")],
            )
    elif slots:
        if not model_name:
            raise ValueError("a transform run with slots needs the production model's name")
        transform = TransformPlan(
            model_name=model_name,
            instance_type=settings.TRANSFORM_INSTANCE_TYPE,
            instance_count=settings.TRANSFORM_INSTANCE_COUNT,
            max_payload_mb=settings.TRANSFORM_MAX_PAYLOAD_MB,
            timeout_seconds=settings.TRANSFORM_TIMEOUT_SECONDS,
            tags=[*tags, Tag(Key=TAG_MODEL, Value=model_name)],
        )
    return RunPlan(
        pipeline=pipeline,
        run_id=rid,
        scheduled_time=scheduled.strftime("%Y-%m-%dT%H:%M:%SZ"),
        trigger=trigger,
        execution_arn=execution.id,
        execution_name=execution.name,
        work=bool(slots),
        reason=reason,
        slots=slots,
        report_uri=report_uri,
        backend=settings.SPARK_BACKEND if pipeline == "emr" else "cluster",
        emr=emr,
        serverless=serverless,
        transform=transform,
    )
