"""The run plan: everything one execution needs to know, computed once, in one place.

``prepare_run`` returns it; the state machines only route it into the EMR and SageMaker
requests (``$.plan.…``); the EMR pipeline's part (a cluster, or an EMR Serverless job run) is
``emr_plan``'s. Pure: the clock and the slots the run claimed are arguments.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from transient_analytics import layout, naming
from transient_analytics.errors import InvalidEventError
from transient_analytics.models import Pipeline, PrepareRunEvent, SlotWork, Trigger
from transient_analytics.runs.emr_plan import EmrPlan, ServerlessPlan, cluster_plan, job_arguments, serverless_plan
from transient_analytics.settings import PrepareRunSettings, SparkBackend
from transient_analytics.slots import Fingerprint, slot_id
from transient_analytics.tags import (
    TAG_EXECUTION,
    TAG_MODEL,
    TAG_PIPELINE,
    TAG_RUN_ID,
    TAG_STACK,
    Tag,
    execution_tag_value,
)

#: A scheduled time may lie this far ahead of the clock (scheduler and Lambda clocks differ).
MAX_CLOCK_SKEW = timedelta(minutes=15)


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
        schema_uri = layout.s3_uri(bucket, layout.SCHEMA_KEY)
        arguments = job_arguments(
            schema_uri, settings.PARTITION_COLUMN, rid, report_uri, slots, settings.PARTITION_VALUES
        )
        if settings.SPARK_BACKEND == "serverless":
            serverless = serverless_plan(settings, scheduled, rid, arguments, tags)
        else:
            emr = cluster_plan(settings, scheduled, execution.id, report_uri, arguments, tags)
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
