"""The local runners behind EMR's ``createCluster.sync``, ``addStep.sync`` and ``terminateCluster.sync``.

- ``createCluster.sync``: checks the request as EMR would (release label, instance groups,
  roles, log URI, the tags the pipelines rely on), then creates the cluster in moto's EMR
  (so it can be found by tag, listed and terminated like a real one) and returns its id.
- ``addStep.sync``: runs the step's own ``command-runner.jar`` arguments: ``spark-submit`` on
  local Spark (:mod:`offline.runners.spark`: ``local[2]`` instead of ``--deploy-mode cluster``,
  the cluster's ``spark-defaults`` as ``--conf``), its files mapped by
  :mod:`offline.runners.step_files`. The step's stderr goes to the cluster's ``LogUri`` as EMR
  writes it.
- ``terminateCluster.sync``: terminates the moto cluster (idempotent, as EMR is).

A Spark error reaches the state machine as ``States.TaskFailed`` with the step's description as
the cause (so the Catch paths behave as on AWS); an invalid request is
``EMR.AmazonElasticMapReduceException``.
"""

from __future__ import annotations

import json
import re
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

import boto3
from pydantic import TypeAdapter, ValidationError

from offline.integrations import TaskContext, TaskFailure
from offline.runners.s3 import parse_s3_uri
from offline.runners.spark import last_error_line, run_spark, spark_defaults, spark_submit_command
from offline.runners.step_files import LocalizedStep, StepFiles
from transient_analytics.aws import ACTIVE_CLUSTER_STATES
from transient_analytics.plan import TAG_EXECUTION, TAG_RUN_ID, TAG_STACK
from transient_analytics.settings import InstanceType
from transient_analytics.tags import execution_tag_value

EMR_CREATE = "arn:aws:states:::elasticmapreduce:createCluster.sync"
EMR_ADD_STEP = "arn:aws:states:::elasticmapreduce:addStep.sync"
EMR_TERMINATE = "arn:aws:states:::elasticmapreduce:terminateCluster.sync"

EMR_ERROR = "EMR.AmazonElasticMapReduceException"
TASK_FAILED = "States.TaskFailed"
#: Tags every cluster of the pipelines carries (transient_analytics.plan).
REQUIRED_CLUSTER_TAGS = (TAG_EXECUTION, TAG_RUN_ID, TAG_STACK)
#: The settings' own rule for an EC2 instance type (transient_analytics.settings.InstanceType).
_INSTANCE_TYPE: TypeAdapter[str] = TypeAdapter(InstanceType)


@dataclass
class StepRecord:
    """What the report says about one Spark step."""

    step_id: str
    cluster_id: str
    args: list[str]
    seconds: float = 0.0
    returncode: int | None = None
    output_objects: int = 0
    deleted_objects: int = 0


class EmrRunner:
    """The three EMR runners, sharing one work folder, one EMR and one S3 client and a progress callback."""

    def __init__(
        self,
        work_dir: Path,
        *,
        region: str = "us-east-1",
        progress: Callable[[str], None] | None = None,
        spark_master: str = "local[2]",
        heartbeat_seconds: float = 5.0,
    ) -> None:
        self.work_dir = work_dir
        self.region = region
        self.progress = progress or (lambda line: None)
        self.spark_master = spark_master
        self.heartbeat_seconds = heartbeat_seconds
        self.steps: list[StepRecord] = []
        self._lock = threading.Lock()

    @cached_property
    def s3(self) -> Any:
        return boto3.client("s3", region_name=self.region)

    @cached_property
    def emr(self) -> Any:
        return boto3.client("emr", region_name=self.region)

    @cached_property
    def _files(self) -> StepFiles:
        return StepFiles(self.s3, self.progress)

    def _localize(self, args: list[str], workdir: Path) -> LocalizedStep:
        return self._files.localize(args, workdir)

    def _sync_back(self, localized: LocalizedStep) -> tuple[int, int]:
        return self._files.sync_back(localized)

    def create_cluster(self, parameters: dict[str, Any], context: TaskContext) -> dict[str, Any]:
        problems = cluster_request_problems(parameters, context.execution_arn)
        if problems:
            raise TaskFailure(
                EMR_ERROR, "; ".join(problems) + " (Service: AmazonElasticMapReduce; Error Code: ValidationException)"
            )
        request = {
            key: parameters[key]
            for key in (
                "Name",
                "ReleaseLabel",
                "Applications",
                "LogUri",
                "ServiceRole",
                "JobFlowRole",
                "VisibleToAllUsers",
                "Instances",
                "Configurations",
                "Tags",
                "StepConcurrencyLevel",
            )
            if key in parameters
        }
        cluster_id = self.emr.run_job_flow(**request)["JobFlowId"]
        context.submit({"ClusterId": cluster_id})
        self.progress(f"cluster {cluster_id} ({parameters['Name']}) created: {parameters['ReleaseLabel']}")
        return {"ClusterId": cluster_id}

    def terminate_cluster(self, parameters: dict[str, Any], context: TaskContext) -> dict[str, Any]:
        cluster_id = parameters.get("ClusterId", "")
        try:
            self.emr.describe_cluster(ClusterId=cluster_id)
        except Exception as exc:
            raise TaskFailure(EMR_ERROR, f"{cluster_id!r}: {exc}") from None
        self.emr.terminate_job_flows(JobFlowIds=[cluster_id])
        self.progress(f"cluster {cluster_id} terminated")
        return {}

    def add_step(self, parameters: dict[str, Any], context: TaskContext) -> dict[str, Any]:
        cluster_id = parameters.get("ClusterId", "")
        try:
            cluster = self.emr.describe_cluster(ClusterId=cluster_id)["Cluster"]
        except Exception as exc:
            raise TaskFailure(EMR_ERROR, f"jobFlowId {cluster_id!r} is not valid: {exc}") from None
        if cluster["Status"]["State"] not in ACTIVE_CLUSTER_STATES:
            raise TaskFailure(EMR_ERROR, f"cluster {cluster_id} is {cluster['Status']['State']}: cannot add a step")
        step = parameters.get("Step", {})
        jar_step = step.get("HadoopJarStep", {})
        args = [str(a) for a in jar_step.get("Args", [])]
        if jar_step.get("Jar") != "command-runner.jar" or not args or args[0] != "spark-submit":
            raise TaskFailure(EMR_ERROR, "the offline runner runs command-runner.jar spark-submit steps only")
        step_id = self.emr.add_job_flow_steps(JobFlowId=cluster_id, Steps=[step])["StepIds"][0]
        context.submit({"StepId": step_id})
        record = StepRecord(step_id=step_id, cluster_id=cluster_id, args=args)
        with self._lock:
            self.steps.append(record)
        log_uri = cluster.get("LogUri", "")
        workdir = Path(tempfile.mkdtemp(prefix=f"{step_id}-", dir=self.work_dir))
        localized = self._localize(args[1:], workdir)
        command = spark_submit_command(self.spark_master, spark_defaults(self.emr, cluster_id), localized.args)
        self.progress(f"step {step_id}: spark-submit --master {self.spark_master} (local Spark)")
        started = time.monotonic()
        returncode, stderr = run_spark(
            command, workdir, context, step_id, progress=self.progress, heartbeat_seconds=self.heartbeat_seconds
        )
        record.seconds = time.monotonic() - started
        record.returncode = returncode
        # Whatever the exit code: a step that failed on some slots committed the others.
        record.output_objects, record.deleted_objects = self._sync_back(localized)
        if log_uri:
            bucket, prefix = parse_s3_uri(log_uri)
            self.s3.put_object(Bucket=bucket, Key=f"{prefix}{cluster_id}/steps/{step_id}/stderr", Body=stderr.encode())
        if returncode != 0:
            message = localized.to_s3(last_error_line(stderr)) or f"spark-submit exited with {returncode}"
            log_file = f"{log_uri}{cluster_id}/steps/{step_id}/stderr" if log_uri else ""
            cause = {
                "Step": {
                    "Id": step_id,
                    "Name": step.get("Name", ""),
                    "ActionOnFailure": step.get("ActionOnFailure", ""),
                    "Status": {
                        "State": "FAILED",
                        "FailureDetails": {"Reason": "Unknown Error.", "Message": message, "LogFile": log_file},
                    },
                }
            }
            self.progress(f"step {step_id} FAILED after {record.seconds:.1f} s: {message}")
            raise TaskFailure(TASK_FAILED, json.dumps(cause))
        self.progress(
            f"step {step_id} completed in {record.seconds:.1f} s, {record.output_objects} objects written, "
            f"{record.deleted_objects} deleted"
        )
        return {"StepId": step_id}


def cluster_request_problems(parameters: dict[str, Any], execution_arn: str) -> list[str]:
    """What EMR (and the pipeline's own conventions) would reject in a RunJobFlow request."""
    problems = []
    if not re.fullmatch(r"emr-7\.\d+\.\d+", str(parameters.get("ReleaseLabel", ""))):
        problems.append(f"ReleaseLabel {parameters.get('ReleaseLabel')!r} is not an emr-7.x release")
    if {"Name": "Spark"} not in parameters.get("Applications", []):
        problems.append("Applications must include Spark")
    for key in ("Name", "ServiceRole", "JobFlowRole"):
        if not parameters.get(key):
            problems.append(f"{key} is required")
    if not str(parameters.get("LogUri", "")).startswith("s3://"):
        problems.append("LogUri must be an s3:// URI")
    groups = parameters.get("Instances", {}).get("InstanceGroups", [])
    roles = [g.get("InstanceRole") for g in groups]
    if roles.count("MASTER") != 1 or roles.count("CORE") != 1:
        problems.append("Instances.InstanceGroups needs exactly one MASTER and one CORE group")
    for g in groups:
        if g.get("InstanceRole") == "MASTER" and g.get("InstanceCount") != 1:
            problems.append("the MASTER group must have InstanceCount 1")
        if not _valid_instance_type(g.get("InstanceType")):
            problems.append(f"InstanceType {g.get('InstanceType')!r} is not valid")
    if parameters.get("Instances", {}).get("KeepJobFlowAliveWhenNoSteps") is not True:
        problems.append("KeepJobFlowAliveWhenNoSteps must be true, or the cluster ends before its step")
    tags = {t.get("Key"): t.get("Value") for t in parameters.get("Tags", [])}
    missing = [k for k in REQUIRED_CLUSTER_TAGS if not tags.get(k)]
    if missing:
        problems.append(f"Tags lack {', '.join(missing)}")
    elif tags[TAG_EXECUTION] != execution_tag_value(execution_arn):
        problems.append("the execution tag does not name this execution")
    return problems


def _valid_instance_type(value: Any) -> bool:
    try:
        _INSTANCE_TYPE.validate_python(value)
    except ValidationError:
        return False
    return True
