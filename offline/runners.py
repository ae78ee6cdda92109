"""Local runners behind the ``.sync`` integrations: the real work, done on this machine.

Registered with :class:`offline.harness.OfflineHarness` (``LocalRunners(...).register(h)``),
they stand in for EMR and SageMaker and keep to what those services would do:

- ``createCluster.sync``: checks the request as EMR would (release label, instance groups,
  roles, log URI, the tags the pipelines rely on), then creates the cluster in moto's EMR
  (so it can be found by tag, listed and terminated like a real one) and returns its id.
- ``addStep.sync``: runs the step's own ``command-runner.jar`` arguments: ``spark-submit`` on
  local Spark (``local[2]`` instead of ``--deploy-mode cluster``), with the cluster's
  ``spark-defaults`` configuration as ``--conf``. Every ``s3://`` argument is mapped to a
  work folder laid out as ``<bucket>/<key>`` (:meth:`LocalRunners._localize`): each
  ``--slot``'s input URI is downloaded from moto S3, its output URI becomes a folder
  pre-filled with the slot's existing objects (so dynamic overwrite and the removal of
  vanished partitions behave as on S3) and synced back after the step, new and changed
  files uploaded and the objects the job deleted deleted; ``--report`` is a local file
  uploaded after the step, whether it succeeded or failed (a step that fails on some
  slots has committed the others). Local paths in the JSON the job writes (report,
  manifests) and in its error message are mapped back to the ``s3://`` URIs they stand
  for. The step's stderr goes to the cluster's ``LogUri`` as EMR writes it. Spark's
  progress is printed while it runs.
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
from dataclasses import dataclass, field
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
    deleted_objects: int = 0


@dataclass
class SyncedFolder:
    """A slot's output: the S3 prefix, its local folder and what was downloaded into it
    (relative path → (size, mtime_ns)), so that only what the job changed goes back."""

    uri: str
    folder: Path
    prefilled: dict[str, tuple[int, int]] = field(default_factory=dict)


@dataclass
class LocalizedStep:
    """The step's arguments with local paths, and what to copy back to S3 after it."""

    args: list[str]
    workdir: Path
    outputs: list[SyncedFolder] = field(default_factory=list)
    report: tuple[str, Path] | None = None

    def to_s3(self, text: str) -> str:
        """``text`` with every local path of the work folder written as the s3:// URI it maps."""
        root = str(self.workdir).rstrip("/") + "/"
        for local in (f"file://{root}", f"file:{root}", root):
            text = text.replace(local, "s3://")
        return text


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
        localized = self._localize(args[1:], workdir)
        command = [
            _spark_submit(),
            "--master",
            self.spark_master,
            "--conf",
            "spark.ui.enabled=false",
            "--conf",
            "spark.ui.showConsoleProgress=true",
            *[x for k, v in sorted(spark_defaults.items()) for x in ("--conf", f"{k}={v}")],
            *_drop_deploy_mode(localized.args),
        ]
        started = time.monotonic()
        returncode, stderr = self._run_spark(command, workdir, context, step_id)
        record.seconds = time.monotonic() - started
        record.returncode = returncode
        # Whatever the exit code: a step that failed on some slots committed the others.
        record.output_objects, record.deleted_objects = self._sync_back(localized)
        if log_uri:
            bucket, prefix = parse_s3_uri(log_uri)
            self.s3.put_object(Bucket=bucket, Key=f"{prefix}{cluster_id}/steps/{step_id}/stderr", Body=stderr.encode())
        if returncode != 0:
            message = localized.to_s3(_last_error_line(stderr)) or f"spark-submit exited with {returncode}"
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

    def _localize(self, args: list[str], workdir: Path) -> LocalizedStep:
        """Map every s3:// argument of the job to a path under ``workdir`` (``<bucket>/<key>``).

        ``--slot ID INPUT OUTPUT FINGERPRINT``: the input is downloaded, the output folder is
        pre-filled with the objects under the output prefix; ``--report URI``: a local file
        (its folder created); any other s3:// argument (the schema) is downloaded.
        """
        localized = LocalizedStep(args=[], workdir=workdir)
        i = 0
        while i < len(args):
            arg = args[i]
            if arg == "--slot" and i + 4 < len(args):
                slot_id, source, output, fingerprint = args[i + 1 : i + 5]
                localized.args += ["--slot", slot_id, self._download(source, workdir)]
                localized.args += [self._prefill(output, workdir, localized), fingerprint]
                i += 5
                continue
            if arg == "--report" and i + 1 < len(args) and args[i + 1].startswith("s3://"):
                target = self._local_path(args[i + 1], workdir)
                target.parent.mkdir(parents=True, exist_ok=True)
                localized.report = (args[i + 1], target)
                localized.args += ["--report", str(target)]
                i += 2
                continue
            localized.args.append(self._download(arg, workdir) if arg.startswith("s3://") else arg)
            i += 1
        return localized

    @staticmethod
    def _local_path(uri: str, workdir: Path) -> Path:
        bucket, key = parse_s3_uri(uri)
        return workdir / bucket / key

    @staticmethod
    def _as_given(uri: str, target: Path) -> str:
        """The local path, keeping the URI's trailing slash (the job derives the manifest's name from it)."""
        return str(target) + ("/" if uri.endswith("/") else "")

    def _download(self, uri: str, workdir: Path) -> str:
        """Copy one object, or every object under a prefix, to its local path; return that path."""
        if not uri.startswith("s3://"):
            return uri
        bucket, key = parse_s3_uri(uri)
        target = self._local_path(uri, workdir)
        if self._object_exists(bucket, key):
            target.parent.mkdir(parents=True, exist_ok=True)
            self.s3.download_file(bucket, key, str(target))
        elif self._download_prefix(bucket, key, target) == 0:
            self.progress(f"no objects under {uri}")
        return self._as_given(uri, target)

    def _prefill(self, uri: str, workdir: Path, localized: LocalizedStep) -> str:
        """A slot's output folder holding the slot's existing objects, registered for the sync back."""
        if not uri.startswith("s3://"):
            return uri
        bucket, key = parse_s3_uri(uri)
        target = self._local_path(uri, workdir)
        target.mkdir(parents=True, exist_ok=True)
        self._download_prefix(bucket, key if not key or key.endswith("/") else key + "/", target)
        prefilled = {
            p.relative_to(target).as_posix(): (p.stat().st_size, p.stat().st_mtime_ns)
            for p in target.rglob("*")
            if p.is_file()
        }
        localized.outputs.append(SyncedFolder(uri=uri, folder=target, prefilled=prefilled))
        return self._as_given(uri, target)

    def _sync_back(self, localized: LocalizedStep) -> tuple[int, int]:
        """Upload the outputs' new and changed files and the report; delete the objects the job
        deleted. Hidden files (Hadoop's ``.crc``, Spark's ``.spark-staging-*``) stay local.
        Returns (objects uploaded, objects deleted)."""
        uploaded = deleted = 0
        for synced in localized.outputs:
            bucket, prefix = parse_s3_uri(synced.uri)
            prefix = prefix if not prefix or prefix.endswith("/") else prefix + "/"
            present = set()
            for path in sorted(synced.folder.rglob("*")):
                relative = path.relative_to(synced.folder).as_posix()
                if not path.is_file() or any(part.startswith(".") for part in relative.split("/")):
                    continue
                present.add(relative)
                stat = path.stat()
                if synced.prefilled.get(relative) == (stat.st_size, stat.st_mtime_ns):
                    continue
                self._put_file(localized, path, bucket, prefix + relative)
                uploaded += 1
            for relative in sorted(set(synced.prefilled) - present):
                if not any(part.startswith(".") for part in relative.split("/")):
                    self.s3.delete_object(Bucket=bucket, Key=prefix + relative)
                    deleted += 1
        if localized.report is not None:
            uri, path = localized.report
            if path.is_file():
                bucket, key = parse_s3_uri(uri)
                self._put_file(localized, path, bucket, key)
                uploaded += 1
            else:
                self.progress(f"the step wrote no report to {uri}")
        return uploaded, deleted

    def _put_file(self, localized: LocalizedStep, path: Path, bucket: str, key: str) -> None:
        """Upload one file; the job's JSON documents get their local paths mapped back to s3://."""
        if path.suffix == ".json":
            self.s3.put_object(Bucket=bucket, Key=key, Body=localized.to_s3(path.read_text()).encode())
        else:
            self.s3.upload_file(str(path), bucket, key)

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
