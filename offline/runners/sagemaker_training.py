"""The local runner behind ``createTrainingJob.sync``: a SageMaker training job of the scikit-learn image, for real.

It checks the request against SageMaker's API model (``checks/request_shapes.py``) and what this
runner supports, refuses a job name already used (SageMaker's ResourceInUse), records the job in moto's
SageMaker backend (so ``DescribeTrainingJob`` answers), downloads each channel from moto S3 as
SageMaker does (``S3Prefix``: every object under the prefix, paths kept below its last ``/``), runs
the entry point in the model environment as the toolkit does (:mod:`offline.runners.training_container`),
then uploads ``model/`` as ``<S3OutputPath>/<job>/output/model.tar.gz`` and ``output/data/`` as
``output.tar.gz``, reads the job's metrics from its output with ``MetricDefinitions``, and returns
the job's description, as the ``.sync`` integration does. An invalid request is
``SageMaker.AmazonSageMakerException`` (ValidationException); a job that fails is
``States.TaskFailed`` with the description (``FailureReason``) as the cause, and Failed in moto.
"""

from __future__ import annotations

import io
import json
import re
import tarfile
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cached_property
from pathlib import Path
from typing import Any

import boto3
from moto.sagemaker.models import sagemaker_backends

from checks.request_shapes import task_request_problems
from model.env import model_python
from offline.cfn.resolver import DEFAULT_REGION
from offline.integrations import TaskContext, TaskFailure
from offline.runners.s3 import list_keys, parse_s3_uri
from offline.runners.training_container import ContainerError, TrainingContainer, decode_hyperparameters

SAGEMAKER_TRAINING = "arn:aws:states:::sagemaker:createTrainingJob.sync"
SAGEMAKER_ERROR = "SageMaker.AmazonSageMakerException"
TASK_FAILED = "States.TaskFailed"


@dataclass
class TrainingRecord:
    """What one training job did, for the demo's report and the tests."""

    job_name: str
    status: str = "InProgress"
    failure_reason: str | None = None
    seconds: float = 0.0
    channels: dict[str, list[str]] = field(default_factory=dict)
    metrics: dict[str, float] = field(default_factory=dict)
    model_uri: str | None = None
    stdout: str = ""


class TrainingRunner:
    """Runs ``createTrainingJob.sync`` requests; ``records`` says what each job did."""

    def __init__(
        self,
        work_dir: Path,
        *,
        region: str = DEFAULT_REGION,
        progress: Callable[[str], None] | None = None,
        model_python: Path | None = None,
    ) -> None:
        self.work_dir = work_dir
        self.region = region
        self.progress = progress or (lambda line: None)
        self.model_python = model_python
        self.records: list[TrainingRecord] = []
        self._lock = threading.Lock()

    def register(self, harness: Any) -> TrainingRunner:
        harness.runners.register(SAGEMAKER_TRAINING, self.create_training_job)
        return self

    @cached_property
    def s3(self) -> Any:
        return boto3.client("s3", region_name=self.region)

    @cached_property
    def sagemaker(self) -> Any:
        return boto3.client("sagemaker", region_name=self.region)

    def create_training_job(self, parameters: dict[str, Any], context: TaskContext) -> dict[str, Any]:
        problems = training_request_problems(parameters)
        name = parameters.get("TrainingJobName", "")
        if not problems and self._exists(name):
            problems = [f"Training job names must be unique within an AWS account and region: {name} exists"]
        if problems:
            raise TaskFailure(
                SAGEMAKER_ERROR, "; ".join(problems) + " (Service: AmazonSageMaker; Error Code: ValidationException)"
            )
        arn = self.sagemaker.create_training_job(**parameters)["TrainingJobArn"]
        context.submit({"TrainingJobArn": arn})
        record = TrainingRecord(job_name=name)
        with self._lock:
            self.records.append(record)
        started = time.monotonic()
        self._job(name).training_job_status = "InProgress"
        self.progress(f"training {name}: {len(parameters['InputDataConfig'])} channel(s)")
        try:
            self._run(parameters, record, context)
        except ContainerError as exc:
            record.status, record.failure_reason = "Failed", exc.reason
            self._finish(parameters, record, started)
            self.progress(f"training {name} FAILED: {exc.reason.splitlines()[0]}")
            raise TaskFailure(TASK_FAILED, json.dumps(self.describe(name))) from None
        record.status = "Completed"
        self._finish(parameters, record, started)
        self.progress(f"training {name} completed in {record.seconds:.1f} s: {record.metrics}")
        return self.describe(name)

    def describe(self, job_name: str) -> dict[str, Any]:
        """DescribeTrainingJob as JSON (timestamps as epoch milliseconds, as the ``.sync`` output carries them)."""
        described = self.sagemaker.describe_training_job(TrainingJobName=job_name)
        described.pop("ResponseMetadata", None)
        return dict(json.loads(json.dumps(described, default=_epoch_millis)))

    def _run(self, parameters: dict[str, Any], record: TrainingRecord, context: TaskContext) -> None:
        root = Path(tempfile.mkdtemp(prefix=f"{record.job_name}-", dir=self.work_dir)) / "opt" / "ml"
        channels = [c["ChannelName"] for c in parameters["InputDataConfig"]]
        container = TrainingContainer(
            root=root,
            job_name=record.job_name,
            hyperparameters=decode_hyperparameters(parameters.get("HyperParameters", {})),
            channels=channels,
            instance_type=parameters["ResourceConfig"]["InstanceType"],
        )
        container.write_config(parameters["InputDataConfig"], parameters.get("HyperParameters", {}))
        for channel in parameters["InputDataConfig"]:
            record.channels[channel["ChannelName"]] = self._download(
                channel, container.channel_dir(channel["ChannelName"])
            )
        python = self.model_python or model_python()
        stdout = container.run(
            python,
            network_isolation=bool(parameters.get("EnableNetworkIsolation")),
            max_runtime=float(parameters["StoppingCondition"]["MaxRuntimeInSeconds"]),
            cancelled=context.cancelled,
            log=root.parent / "training.log",
        )
        record.stdout = stdout
        record.metrics = read_metrics(parameters["AlgorithmSpecification"].get("MetricDefinitions", []), stdout)
        output = parameters["OutputDataConfig"]["S3OutputPath"].rstrip("/")
        record.model_uri = f"{output}/{record.job_name}/output/model.tar.gz"
        self._upload(root / "model", record.model_uri)
        self._upload(root / "output" / "data", f"{output}/{record.job_name}/output/output.tar.gz")

    def _download(self, channel: dict[str, Any], target: Path) -> list[str]:
        """SageMaker's File mode for an S3Prefix channel: every object under the prefix, below its last ``/``."""
        uri = channel["DataSource"]["S3DataSource"]["S3Uri"]
        bucket, prefix = parse_s3_uri(uri)
        keys = list_keys(self.s3, bucket, prefix)
        if not keys:
            raise ContainerError(f'ClientError: No S3 objects found under S3 URL "{uri}" given in input data source.')
        base = prefix if prefix.endswith("/") else prefix.rsplit("/", 1)[0] + "/" if "/" in prefix else ""
        for key in keys:
            path = target / key[len(base) :]
            path.parent.mkdir(parents=True, exist_ok=True)
            self.s3.download_file(bucket, key, str(path))
        return keys

    def _upload(self, folder: Path, uri: str) -> None:
        """``folder`` as SageMaker uploads it: a gzip'd tar of its contents."""
        buffer = io.BytesIO()
        with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
            for path in sorted(folder.rglob("*")):
                tar.add(path, arcname=str(path.relative_to(folder)), recursive=False)
        bucket, key = parse_s3_uri(uri)
        self.s3.put_object(Bucket=bucket, Key=key, Body=buffer.getvalue())

    def _exists(self, name: str) -> bool:
        backend = sagemaker_backends[self._account()][self.region]
        return name in backend.training_jobs

    def _account(self) -> str:
        return str(boto3.client("sts", region_name=self.region).get_caller_identity()["Account"])

    def _job(self, name: str) -> Any:
        return sagemaker_backends[self._account()][self.region].training_jobs[name]

    def _finish(self, parameters: dict[str, Any], record: TrainingRecord, started: float) -> None:
        """What DescribeTrainingJob says once the job ended (moto records every job Completed, with made-up metrics)."""
        record.seconds = time.monotonic() - started
        job = self._job(record.job_name)
        now = datetime.now(UTC)
        job.training_job_status = job.secondary_status = record.status
        job.algorithm_specification = dict(parameters["AlgorithmSpecification"])
        job.final_metric_data_list = [
            {"MetricName": name, "Value": value, "Timestamp": now} for name, value in record.metrics.items()
        ]
        job.training_end_time = job.last_modified_time = now
        job.training_time_in_seconds = job.billable_time_in_seconds = max(1, round(record.seconds))
        if record.failure_reason is not None:
            job.failure_reason = record.failure_reason
            job.model_artifacts = None


def read_metrics(definitions: list[dict[str, str]], log: str) -> dict[str, float]:
    """Each metric's last value in the job's output, as SageMaker reads ``MetricDefinitions`` from its logs."""
    found: dict[str, float] = {}
    for definition in definitions:
        for match in re.finditer(definition["Regex"], log):
            try:
                found[definition["Name"]] = float(match.group(1))
            except (IndexError, ValueError):
                continue
    return found


def training_request_problems(parameters: dict[str, Any]) -> list[str]:
    """What SageMaker's API model rejects in the CreateTrainingJob request, and what this runner supports."""
    problems = task_request_problems(SAGEMAKER_TRAINING, parameters)
    algorithm = parameters.get("AlgorithmSpecification", {})
    if algorithm.get("TrainingInputMode", "File") != "File":
        problems.append("the offline runner supports TrainingInputMode File only")
    if "sagemaker-scikit-learn" not in str(algorithm.get("TrainingImage", "")):
        problems.append("the offline runner runs the sagemaker-scikit-learn image's training toolkit only")
    if int(parameters.get("ResourceConfig", {}).get("InstanceCount", 1)) != 1:
        problems.append("the offline runner supports InstanceCount 1 only (the script is not distributed)")
    for channel in parameters.get("InputDataConfig", []):
        source = channel.get("DataSource", {}).get("S3DataSource", {})
        if source.get("S3DataType", "S3Prefix") != "S3Prefix":
            problems.append(f"channel {channel.get('ChannelName')}: the offline runner supports S3Prefix only")
    return problems


def _epoch_millis(value: object) -> int:
    if isinstance(value, datetime):
        return int(value.timestamp() * 1000)
    raise TypeError(f"{type(value).__name__} is not JSON serializable")
