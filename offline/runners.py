"""Local runners behind the ``.sync`` integrations: the real work, done on this machine.

Registered with :class:`offline.harness.OfflineHarness` (``LocalRunners(...).register(h)``),
they stand in for EMR and SageMaker and keep to what those services would do:

- ``createCluster.sync``: checks the request as EMR would (release label, instance groups,
  roles, log URI, the tags the pipelines rely on), then creates the cluster in moto's EMR
  (so it can be found by tag, listed and terminated like a real one) and returns its id.
- ``addStep.sync``: runs the step's own ``command-runner.jar`` arguments: ``spark-submit`` on
  local Spark (``local[2]`` instead of ``--deploy-mode cluster``), with the cluster's
  ``spark-defaults`` configuration as ``--conf``. Every ``s3://`` argument is mapped to the
  local object store: objects are copied from moto S3 into a work folder before the step
  and the ``--output`` folder is copied back after it; the step's stderr goes to the
  cluster's ``LogUri`` as EMR writes it. Spark's progress is printed while it runs.
- ``terminateCluster.sync``: terminates the moto cluster (idempotent, as EMR is).
- ``createTransformJob.sync``: :mod:`offline.sagemaker_runner` (the real artifact's
  ``code/inference.py`` in the model environment, one process per instance, fed with the
  ``MaxPayloadInMB`` mini-batches the container would receive; predictions joined to their
  input rows in ``<S3OutputPath>/<object>.out``). Its names are re-exported here.

A failure inside a runner reaches the state machine as AWS reports it: a Spark error or a
model error is ``States.TaskFailed`` with the step's or job's description as the cause (so
the Catch paths behave as on AWS), an invalid request is the service's exception name
(``EMR.AmazonElasticMapReduceException``, ``SageMaker.AmazonSageMakerException``).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

import boto3

from offline.integrations import TaskContext, TaskFailure
from offline.sagemaker_runner import (  # the SageMaker side, re-exported for the harness and demo
    SAGEMAKER_ERROR,
    SAGEMAKER_TRANSFORM,
    TransformError,
    TransformRecord,
    TransformRunner,
    score_object,
    transform_request_problems,
)

__all__ = [
    "SAGEMAKER_ERROR",
    "SAGEMAKER_TRANSFORM",
    "LocalRunners",
    "StepRecord",
    "TransformError",
    "TransformRecord",
    "cluster_request_problems",
    "parse_s3_uri",
    "score_object",
    "transform_request_problems",
]

EMR_CREATE = "arn:aws:states:::elasticmapreduce:createCluster.sync"
EMR_ADD_STEP = "arn:aws:states:::elasticmapreduce:addStep.sync"
EMR_TERMINATE = "arn:aws:states:::elasticmapreduce:terminateCluster.sync"

EMR_ERROR = "EMR.AmazonElasticMapReduceException"
TASK_FAILED = "States.TaskFailed"
#: Tags every cluster of the pipelines carries (transient_analytics.plan).
REQUIRED_CLUSTER_TAGS = ("transient-analytics:execution", "transient-analytics:run-id", "transient-analytics:stack")
_S3_URI = re.compile(r"^s3://([^/]+)/?(.*)$")
_SPARK_LINE = re.compile(r"(\[Stage \d+:.*\]|ERROR|Exception|csv_to_parquet|JobError|wrote|rows)")


def parse_s3_uri(uri: str) -> tuple[str, str]:
    match = _S3_URI.match(uri)
    if not match:
        raise ValueError(f"not an s3:// URI: {uri!r}")
    return match.group(1), match.group(2)


@dataclass
class StepRecord:
    """What the report says about one Spark step."""

    step_id: str
    cluster_id: str
    args: list[str]
    seconds: float = 0.0
    returncode: int | None = None
    output_objects: int = 0


class LocalRunners:
    """The four runners, sharing one work folder, one S3 client and a progress callback."""

    def __init__(
        self,
        work_dir: Path,
        *,
        region: str = "us-east-1",
        progress: Callable[[str], None] | None = None,
        spark_master: str = "local[2]",
        heartbeat_seconds: float = 5.0,
        model_data_url: str | None = None,
        model_python: Path | None = None,
    ) -> None:
        self.work_dir = work_dir
        self.region = region
        self.progress = progress or (lambda line: None)
        self.spark_master = spark_master
        self.heartbeat_seconds = heartbeat_seconds
        self.steps: list[StepRecord] = []
        self._lock = threading.Lock()
        #: ``createTransformJob.sync``; ``model_data_url`` is the model's ModelDataUrl,
        #: ``model_python`` the model environment's interpreter (default: .venv-model's).
        self.sagemaker = TransformRunner(
            work_dir, region=region, progress=self.progress, model_data_url=model_data_url, model_python=model_python
        )
        self.transforms: list[TransformRecord] = self.sagemaker.records
        self._counter = 0

    # ------------------------------------------------------------------ wiring
    def register(self, harness: Any) -> None:
        harness.runners.register(EMR_CREATE, self.create_cluster)
        harness.runners.register(EMR_ADD_STEP, self.add_step)
        harness.runners.register(EMR_TERMINATE, self.terminate_cluster)
        harness.runners.register(SAGEMAKER_TRANSFORM, self.create_transform_job)

    @cached_property
    def s3(self) -> Any:
        return boto3.client("s3", region_name=self.region)

    @cached_property
    def emr(self) -> Any:
        return boto3.client("emr", region_name=self.region)

    def _next(self, prefix: str) -> str:
        with self._lock:
            self._counter += 1
            return f"{prefix}{self._counter:04d}"

    # ------------------------------------------------------------------ EMR
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
        if cluster["Status"]["State"] not in ("STARTING", "BOOTSTRAPPING", "RUNNING", "WAITING"):
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
        spark_defaults = _spark_defaults(self.emr, cluster_id)
        log_uri = cluster.get("LogUri", "")
        workdir = Path(tempfile.mkdtemp(prefix=f"{step_id}-", dir=self.work_dir))
        local_args, output = self._localize(args[1:], workdir)
        command = [
            _spark_submit(),
            "--master",
            self.spark_master,
            "--conf",
            "spark.ui.enabled=false",
            "--conf",
            "spark.ui.showConsoleProgress=true",
            *[x for k, v in sorted(spark_defaults.items()) for x in ("--conf", f"{k}={v}")],
            *_drop_deploy_mode(local_args),
        ]
        started = time.monotonic()
        returncode, stderr = self._run_spark(command, workdir, context, step_id)
        record.seconds = time.monotonic() - started
        record.returncode = returncode
        if log_uri:
            bucket, prefix = parse_s3_uri(log_uri)
            self.s3.put_object(Bucket=bucket, Key=f"{prefix}{cluster_id}/steps/{step_id}/stderr", Body=stderr.encode())
        if returncode != 0:
            message = _last_error_line(stderr) or f"spark-submit exited with {returncode}"
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
        if output is not None:
            record.output_objects = self._upload_dir(output[1], output[0])
        self.progress(f"step {step_id} completed in {record.seconds:.1f} s, {record.output_objects} objects written")
        return {"StepId": step_id}

    def _localize(self, args: list[str], workdir: Path) -> tuple[list[str], tuple[str, Path] | None]:
        """Map every s3:// argument to a local path; return the output (URI, folder) to upload after."""
        local: list[str] = []
        output: tuple[str, Path] | None = None
        for i, arg in enumerate(args):
            if not arg.startswith("s3://"):
                local.append(arg)
                continue
            bucket, key = parse_s3_uri(arg)
            target = workdir / bucket / key
            if i > 0 and args[i - 1] == "--output":
                target.mkdir(parents=True, exist_ok=True)
                output = (arg, target)
                local.append(str(target))
                continue
            if self._object_exists(bucket, key):
                target.parent.mkdir(parents=True, exist_ok=True)
                self.s3.download_file(bucket, key, str(target))
            else:
                count = self._download_prefix(bucket, key, target)
                if count == 0:
                    self.progress(f"no objects under {arg}")
            local.append(str(target))
        return local, output

    def _object_exists(self, bucket: str, key: str) -> bool:
        if not key or key.endswith("/"):
            return False
        try:
            self.s3.head_object(Bucket=bucket, Key=key)
            return True
        except Exception:
            return False

    def _keys(self, bucket: str, prefix: str) -> list[str]:
        """Every object key under ``prefix`` (folder markers left out)."""
        pages = self.s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
        return [obj["Key"] for page in pages for obj in page.get("Contents", []) if not obj["Key"].endswith("/")]

    def _download_prefix(self, bucket: str, prefix: str, target: Path) -> int:
        count = 0
        for key in self._keys(bucket, prefix):
            relative = key[len(prefix) :].lstrip("/")
            if not relative:
                continue
            path = target / relative
            path.parent.mkdir(parents=True, exist_ok=True)
            self.s3.download_file(bucket, key, str(path))
            count += 1
        return count

    def _upload_dir(self, folder: Path, uri: str) -> int:
        bucket, prefix = parse_s3_uri(uri)
        prefix = prefix if not prefix or prefix.endswith("/") else prefix + "/"
        count = 0
        for path in sorted(folder.rglob("*")):
            if path.is_file() and not path.name.endswith(".crc"):
                self.s3.upload_file(str(path), bucket, prefix + path.relative_to(folder).as_posix())
                count += 1
        return count

    def _run_spark(self, command: list[str], workdir: Path, context: TaskContext, step_id: str) -> tuple[int, str]:
        env = {**os.environ, "PYSPARK_PYTHON": sys.executable, "PYSPARK_DRIVER_PYTHON": sys.executable}
        env.pop("SPARK_HOME", None)
        self.progress(f"step {step_id}: spark-submit --master {self.spark_master} (local Spark)")
        process = subprocess.Popen(command, cwd=workdir, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        lines: list[str] = []
        started = time.monotonic()
        last_beat = started
        reader_done = threading.Event()

        def read() -> None:
            assert process.stdout is not None
            buffer = b""
            while chunk := process.stdout.read1(4096):  # what is there now: progress bars end in \r
                buffer += chunk
                *complete, buffer = re.split(rb"[\r\n]", buffer)
                for raw in complete:
                    line = raw.decode("utf-8", "replace").rstrip()
                    if not line:
                        continue
                    with self._lock:
                        lines.append(line)
                    if _SPARK_LINE.search(line) and "WARN" not in line:
                        self.progress(f"  [spark] {line.strip()[:160]}")
            if buffer:
                lines.append(buffer.decode("utf-8", "replace"))
            reader_done.set()

        reader = threading.Thread(target=read, daemon=True)
        reader.start()
        while process.poll() is None:
            if context.cancelled():
                process.kill()
                self.progress(f"step {step_id}: execution stopped, spark-submit killed")
                break
            now = time.monotonic()
            if now - last_beat >= self.heartbeat_seconds:
                self.progress(f"  … step {step_id} still running ({now - started:.0f} s)")
                last_beat = now
            time.sleep(0.2)
        process.wait()
        reader_done.wait(10)
        with self._lock:
            text = "\n".join(lines)
        return process.returncode, text

    # ------------------------------------------------------------------ SageMaker
    def create_transform_job(self, parameters: dict[str, Any], context: TaskContext) -> dict[str, Any]:
        return self.sagemaker.create_transform_job(parameters, context)


def cluster_request_problems(parameters: dict[str, Any], execution_arn: str) -> list[str]:
    """What EMR (and the pipeline's own conventions) would reject in a RunJobFlow request."""
    from transient_analytics.tags import execution_tag_value

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
        if not re.fullmatch(r"[a-z][a-z0-9-]*\.[a-z0-9]+", str(g.get("InstanceType", ""))):
            problems.append(f"InstanceType {g.get('InstanceType')!r} is not valid")
    if parameters.get("Instances", {}).get("KeepJobFlowAliveWhenNoSteps") is not True:
        problems.append("KeepJobFlowAliveWhenNoSteps must be true, or the cluster ends before its step")
    tags = {t.get("Key"): t.get("Value") for t in parameters.get("Tags", [])}
    missing = [k for k in REQUIRED_CLUSTER_TAGS if not tags.get(k)]
    if missing:
        problems.append(f"Tags lack {', '.join(missing)}")
    elif tags["transient-analytics:execution"] != execution_tag_value(execution_arn):
        problems.append("the execution tag does not name this execution")
    return problems


def _spark_defaults(emr: Any, cluster_id: str) -> dict[str, str]:
    cluster = emr.describe_cluster(ClusterId=cluster_id)["Cluster"]
    props: dict[str, str] = {}
    for configuration in cluster.get("Configurations", []):
        if configuration.get("Classification") == "spark-defaults":
            props.update({str(k): str(v) for k, v in configuration.get("Properties", {}).items()})
    # Sized for a cluster node, not this machine: local[2] keeps the driver's own memory.
    for key in ("spark.executor.memory", "spark.dynamicAllocation.enabled"):
        props.pop(key, None)
    return props


def _drop_deploy_mode(args: list[str]) -> list[str]:
    out = []
    skip = False
    for arg in args:
        if skip:
            skip = False
            continue
        if arg == "--deploy-mode":
            skip = True
            continue
        out.append(arg)
    return out


def _spark_submit() -> str:
    import pyspark

    return str(Path(pyspark.__file__).parent / "bin" / "spark-submit")


def _last_error_line(stderr: str) -> str:
    """The line that says why the step failed: the job's own error first, else the last error or exception."""
    candidates = [
        line.strip()
        for line in stderr.splitlines()
        if "error:" in line.lower() or "exception:" in line.lower() or "joberror" in line.lower()
    ]
    own = [line for line in candidates if "csv_to_parquet" in line]
    chosen = (own or candidates or [""])[-1]
    return chosen[:500]
