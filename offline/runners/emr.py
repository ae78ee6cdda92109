"""The local runners behind EMR's ``createCluster.sync``, ``addStep.sync`` and ``terminateCluster.sync``.

``createCluster`` checks the request against EMR's API model and the pipelines' conventions,
then creates the cluster in moto's EMR; ``addStep`` runs the step's ``spark-submit`` on local
Spark (:mod:`offline.runners.spark`), its ``s3://`` files mapped by :mod:`offline.runners.step_files`,
its stderr written under the cluster's ``LogUri``; ``terminateCluster`` terminates the moto cluster.
A Spark error is ``States.TaskFailed`` with the step's description as the cause; an invalid
request is ``EMR.AmazonElasticMapReduceException``.
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

from checks.request_shapes import task_request_problems
from offline.cfn.resolver import DEFAULT_REGION
from offline.integrations import TaskContext, TaskFailure
from offline.runners.s3 import parse_s3_uri
from offline.runners.spark import last_error_line, run_spark, spark_defaults, spark_submit_command
from offline.runners.step_files import StepFiles
from transient_analytics.aws import ACTIVE_CLUSTER_STATES
from transient_analytics.tags import TAG_EXECUTION, TAG_RUN_ID, TAG_STACK, execution_tag_value

EMR_CREATE = "arn:aws:states:::elasticmapreduce:createCluster.sync"
EMR_ADD_STEP = "arn:aws:states:::elasticmapreduce:addStep.sync"
EMR_TERMINATE = "arn:aws:states:::elasticmapreduce:terminateCluster.sync"
EMR_ERROR = "EMR.AmazonElasticMapReduceException"


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
        region: str = DEFAULT_REGION,
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

    def register(self, harness: Any) -> EmrRunner:
        harness.runners.register(EMR_CREATE, self.create_cluster)
        harness.runners.register(EMR_ADD_STEP, self.add_step)
        harness.runners.register(EMR_TERMINATE, self.terminate_cluster)
        return self

    @cached_property
    def s3(self) -> Any:
        return boto3.client("s3", region_name=self.region)

    @cached_property
    def emr(self) -> Any:
        return boto3.client("emr", region_name=self.region)

    def create_cluster(self, parameters: dict[str, Any], context: TaskContext) -> dict[str, Any]:
        problems = cluster_request_problems(parameters, context.execution_arn)
        if problems:
            raise TaskFailure(
                EMR_ERROR, "; ".join(problems) + " (Service: AmazonElasticMapReduce; Error Code: ValidationException)"
            )
        cluster_id = self.emr.run_job_flow(**parameters)["JobFlowId"]
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
        files = StepFiles(self.s3, self.progress)
        workdir = Path(tempfile.mkdtemp(prefix=f"{step_id}-", dir=self.work_dir))
        localized = files.localize(args[1:], workdir)
        command = spark_submit_command(self.spark_master, spark_defaults(self.emr, cluster_id), localized.args)
        self.progress(f"step {step_id}: spark-submit --master {self.spark_master} (local Spark)")
        started = time.monotonic()
        record.returncode, stderr = run_spark(
            command, workdir, context, step_id, progress=self.progress, heartbeat_seconds=self.heartbeat_seconds
        )
        record.seconds = time.monotonic() - started
        # Whatever the exit code: a step that failed on some slots (or was killed) committed the others.
        record.output_objects, record.deleted_objects = files.sync_back(localized)
        if context.cancelled():  # the execution was stopped and spark-submit killed: return, the engine aborts
            return {"StepId": step_id}
        log_file = ""
        if cluster.get("LogUri"):
            log_file = f"{cluster['LogUri']}{cluster_id}/steps/{step_id}/stderr"
            bucket, key = parse_s3_uri(log_file)
            self.s3.put_object(Bucket=bucket, Key=key, Body=stderr.encode())
        if record.returncode != 0:
            message = localized.to_s3(last_error_line(stderr)) or f"spark-submit exited with {record.returncode}"
            failure = {"Reason": "Unknown Error.", "Message": message, "LogFile": log_file}
            status = {"State": "FAILED", "FailureDetails": failure}
            cause = {
                "Step": {"Id": step_id, **{k: step.get(k, "") for k in ("Name", "ActionOnFailure")}, "Status": status}
            }
            self.progress(f"step {step_id} FAILED after {record.seconds:.1f} s: {message}")
            raise TaskFailure("States.TaskFailed", json.dumps(cause))
        self.progress(
            f"step {step_id} completed in {record.seconds:.1f} s, {record.output_objects} objects written, "
            f"{record.deleted_objects} deleted"
        )
        return {"StepId": step_id}


def cluster_request_problems(parameters: dict[str, Any], execution_arn: str) -> list[str]:
    """What EMR's API model rejects in the RunJobFlow request, and what this runner and the pipelines need."""
    problems = task_request_problems(EMR_CREATE, parameters)
    if not re.fullmatch(r"emr-7\.\d+\.\d+", str(parameters.get("ReleaseLabel", ""))):
        problems.append(f"ReleaseLabel {parameters.get('ReleaseLabel')!r} is not an emr-7.x release (Spark 3.5)")
    if {"Name": "Spark"} not in parameters.get("Applications", []):
        problems.append("Applications must include Spark")
    problems += [f"{key} is required" for key in ("ServiceRole", "JobFlowRole") if not parameters.get(key)]
    if not str(parameters.get("LogUri", "")).startswith("s3://"):
        problems.append("LogUri must be an s3:// URI")
    roles = [g.get("InstanceRole") for g in parameters.get("Instances", {}).get("InstanceGroups", [])]
    if roles.count("MASTER") != 1 or roles.count("CORE") != 1:
        problems.append("Instances.InstanceGroups needs exactly one MASTER and one CORE group")
    tags = {t.get("Key"): t.get("Value") for t in parameters.get("Tags", [])}
    missing = [k for k in (TAG_EXECUTION, TAG_RUN_ID, TAG_STACK) if not tags.get(k)]
    if missing:
        problems.append(f"Tags lack {', '.join(missing)}")
    elif tags[TAG_EXECUTION] != execution_tag_value(execution_arn):
        problems.append("the execution tag does not name this execution")
    return problems
