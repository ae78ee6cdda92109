"""The EMR pipeline's part of the run plan: the cluster and its step, or the EMR Serverless job run.

Either backend runs the same Spark job with the same arguments (:func:`job_arguments`): one job for
every slot the run claimed. ``plan.build_plan`` fills the part of the backend the settings name
(``SPARK_BACKEND``); the state machine's ChooseBackend branches on ``$.plan.backend``, and the branch
routes ``$.plan.emr`` or ``$.plan.serverless`` into its requests. Pure.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel

from transient_analytics import layout, naming
from transient_analytics.models import SlotWork
from transient_analytics.runs.bounds import SERVERLESS_START_ALLOWANCE_SECONDS, serverless_task_timeout
from transient_analytics.settings import PrepareRunSettings
from transient_analytics.tags import TAG_EMR_MANAGED_POLICIES, Tag, ascii_tag_safe


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


def cluster_plan(
    settings: PrepareRunSettings,
    scheduled: datetime,
    execution_arn: str,
    report_uri: str,
    arguments: list[str],
    tags: list[Tag],
) -> EmrPlan:
    """The cluster the run starts (``createCluster``) and the step it adds (``addStep``) for every claimed slot."""
    bucket = settings.DATA_BUCKET
    job_uri = layout.s3_uri(bucket, layout.JOB_KEY)
    instances: dict[str, Any] = {
        "InstanceGroups": instance_groups(settings),
        "KeepJobFlowAliveWhenNoSteps": True,
        "TerminationProtected": False,
    }
    if settings.EMR_SUBNET_ID:
        instances["Ec2SubnetId"] = settings.EMR_SUBNET_ID
    return EmrPlan(
        cluster_name=naming.cluster_name(settings.NAME_PREFIX, "emr", scheduled, execution_arn),
        log_uri=layout.s3_uri(bucket, layout.emr_log_prefix(scheduled)),
        partition_column=settings.PARTITION_COLUMN,
        job_uri=job_uri,
        schema_uri=layout.s3_uri(bucket, layout.SCHEMA_KEY),
        report_uri=report_uri,
        instances=instances,
        configurations=[c.model_dump(exclude_defaults=True) for c in settings.EMR_CONFIGURATIONS],
        auto_termination={"IdleTimeout": settings.EMR_IDLE_TIMEOUT_SECONDS},
        spark_submit_args=spark_submit_args(job_uri, arguments),
        cluster_start_timeout_seconds=settings.EMR_CLUSTER_START_TIMEOUT_SECONDS,
        step_timeout_seconds=settings.SPARK_STEP_TIMEOUT_SECONDS,
        tags=[*tags, Tag(Key=TAG_EMR_MANAGED_POLICIES, Value="true")],
    )
