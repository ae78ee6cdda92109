"""The local runner behind ``createTransformJob.sync``: SageMaker batch transform with the real artifact.

It checks the request against SageMaker's API model, extracts the model's ``model.tar.gz`` as into
``/opt/ml/model``, starts one :class:`~offline.runners.model_instance.ModelInstance` (a process in
the model environment) per ``InstanceCount``, gives object ``i`` to instance ``i mod InstanceCount``,
splits each object into ``MaxPayloadInMB`` mini-batches (:mod:`model.batching`) and joins every
prediction to its input row (``JoinSource: Input``, ``AssembleWith: Line``) into
``<S3OutputPath>/<object>.out``. An invalid request is ``SageMaker.AmazonSageMakerException``; a
model that does not load, a rejected request or a dead instance is ``States.TaskFailed`` with the
job's description (``FailureReason``) as the cause.
"""

from __future__ import annotations

import io
import json
import tarfile
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import boto3

from checks.request_shapes import task_request_problems
from model.batching import mini_batches
from model.env import model_python
from offline.cfn.resolver import DEFAULT_REGION
from offline.integrations import TaskContext, TaskFailure
from offline.runners.model_instance import ModelInstance, TransformError
from offline.runners.s3 import as_prefix, list_keys, parse_s3_uri

SAGEMAKER_TRANSFORM = "arn:aws:states:::sagemaker:createTransformJob.sync"
SAGEMAKER_ERROR = "SageMaker.AmazonSageMakerException"
TASK_FAILED = "States.TaskFailed"


@dataclass
class TransformRecord:
    job_name: str
    rows: int = 0
    mini_batches: int = 0
    seconds: float = 0.0
    instances: int = 0
    output_keys: list[str] = field(default_factory=list)


class TransformRunner:
    """Runs ``createTransformJob.sync`` requests; ``records`` says what each job did."""

    def __init__(
        self,
        work_dir: Path,
        *,
        region: str = DEFAULT_REGION,
        progress: Callable[[str], None] | None = None,
        model_data_url: str | None = None,
        model_python: Path | None = None,
    ) -> None:
        self.work_dir = work_dir
        self.region = region
        self.progress = progress or (lambda line: None)
        #: Where the transform's model artifact is; None: the ModelDataUrl of the model the job names (moto).
        self.model_data_url = model_data_url
        self.model_python = model_python
        self.records: list[TransformRecord] = []
        self._lock = threading.Lock()

    def register(self, harness: Any) -> TransformRunner:
        harness.runners.register(SAGEMAKER_TRANSFORM, self.create_transform_job)
        return self

    @cached_property
    def s3(self) -> Any:
        return boto3.client("s3", region_name=self.region)

    def create_transform_job(self, parameters: dict[str, Any], context: TaskContext) -> dict[str, Any]:
        problems = transform_request_problems(parameters)
        if problems:
            raise TaskFailure(
                SAGEMAKER_ERROR, "; ".join(problems) + " (Service: AmazonSageMaker; Error Code: ValidationException)"
            )
        job_name = parameters["TransformJobName"]
        job_arn = f"arn:aws:sagemaker:{self.region}:{context.account_id}:transform-job/{job_name.lower()}"
        context.submit({"TransformJobArn": job_arn})
        record = TransformRecord(job_name=job_name, instances=int(parameters["TransformResources"]["InstanceCount"]))
        with self._lock:
            self.records.append(record)
        started = time.monotonic()
        try:
            self._run(parameters, record, context)
        except TransformError as exc:
            self.progress(f"transform {job_name} FAILED: {exc}")
            raise TaskFailure(
                TASK_FAILED,
                json.dumps({"TransformJobName": job_name, "TransformJobStatus": "Failed", "FailureReason": str(exc)}),
            ) from None
        finally:
            record.seconds = time.monotonic() - started
        return {
            "TransformJobName": job_name,
            "TransformJobStatus": "Completed",
            "TransformOutput": {
                "S3OutputPath": parameters["TransformOutput"]["S3OutputPath"],
                "AssembleWith": "Line",
                "Accept": "text/csv",
            },
            "TransformInput": parameters["TransformInput"],
        }

    def _run(self, parameters: dict[str, Any], record: TransformRecord, context: TaskContext) -> None:
        input_uri = parameters["TransformInput"]["DataSource"]["S3DataSource"]["S3Uri"]
        bucket, prefix = _split(input_uri)
        keys = list_keys(self.s3, bucket, prefix)
        if not keys:
            raise TransformError(
                f'ClientError: No S3 objects found under S3 URL "{input_uri}" given in input data source.'
            )
        model_dir = self._extract_model(record.job_name, parameters["ModelName"])
        out_bucket, out_prefix = _split(parameters["TransformOutput"]["S3OutputPath"])
        out_prefix = as_prefix(out_prefix)
        max_mb = int(parameters.get("MaxPayloadInMB", 6))
        python = self.model_python or model_python()  # before any instance starts: a missing env names its fix
        instances = [
            ModelInstance(model_dir, model_dir.parent / f"{record.job_name}-instance-{i + 1}.log", python=python)
            for i in range(record.instances)
        ]
        failures: list[TransformError] = []
        stop = threading.Event()

        def serve(index: int, instance: ModelInstance) -> None:
            try:
                instance.wait_ready()
                for key in keys[index :: len(instances)]:
                    if stop.is_set() or context.cancelled():
                        return
                    body = self.s3.get_object(Bucket=bucket, Key=key)["Body"].read()
                    joined, rows, batches = score_object(instance.invoke, body, max_mb, key, stop=stop)
                    out_key = out_prefix + key[len(prefix) :].lstrip("/") + ".out"
                    self.s3.put_object(Bucket=out_bucket, Key=out_key, Body=joined)
                    with self._lock:
                        record.rows += rows
                        record.mini_batches += batches
                        record.output_keys.append(f"s3://{out_bucket}/{out_key}")
                    self.progress(
                        f"transform {record.job_name} #{index + 1}: {key} → {rows} rows, {batches} mini-batch(es)"
                    )
            except TransformError as exc:
                with self._lock:
                    failures.append(exc)
                stop.set()
            except Exception as exc:  # S3 or the runner itself: the job must not end "Completed" short of output
                with self._lock:
                    failures.append(TransformError(f"InternalServerError: {type(exc).__name__}: {exc}"))
                stop.set()

        threads = [threading.Thread(target=serve, args=(i, inst), daemon=True) for i, inst in enumerate(instances)]
        try:
            for thread in threads:
                thread.start()
            while any(thread.is_alive() for thread in threads):
                if context.cancelled() or stop.is_set():
                    for instance in instances:  # a stopped execution or a failed instance ends the job
                        instance.kill()
                for thread in threads:
                    thread.join(0.2)
        finally:
            for instance in instances:
                instance.close()
        if context.cancelled():
            raise TransformError("Stopped: the execution was stopped")
        if failures:
            raise failures[0]  # the first: later ones are instances ended because of it
        record.output_keys.sort()

    def _extract_model(self, job_name: str, model_name: str) -> Path:
        model_data_url = self.model_data_url or self._model_data_url(model_name)
        bucket, key = _split(model_data_url)
        try:
            artifact = self.s3.get_object(Bucket=bucket, Key=key)["Body"].read()
        except Exception as exc:
            raise TransformError(f"ClientError: Could not find model data at {model_data_url}: {exc}") from None
        model_dir = Path(tempfile.mkdtemp(prefix=f"{job_name}-model-", dir=self.work_dir)) / "model"
        try:
            with tarfile.open(fileobj=io.BytesIO(artifact), mode="r:gz") as tar:
                tar.extractall(model_dir, filter="data")
        except (tarfile.TarError, OSError) as exc:
            raise TransformError(f"ClientError: {model_data_url} is not a gzip'd tar archive: {exc}") from None
        return model_dir

    def _model_data_url(self, model_name: str) -> str:
        """The artifact of the SageMaker model the job names, as SageMaker finds it (DescribeModel, in moto)."""
        try:
            described = boto3.client("sagemaker", region_name=self.region).describe_model(ModelName=model_name)
        except Exception:
            raise TransformError(f'ValidationException: Could not find model "{model_name}".') from None
        return str(described["PrimaryContainer"]["ModelDataUrl"])


def score_object(
    invoke: Callable[[bytes], bytes],
    body: bytes,
    max_payload_mb: int,
    key: str,
    *,
    stop: threading.Event | None = None,
) -> tuple[bytes, int, int]:
    """SageMaker's batch path for one object: split, score each mini-batch, join predictions to rows.

    ``invoke`` sends one mini-batch to an instance and returns its ``text/csv`` response.
    Returns the output object (each input line + ``,`` + its prediction), the rows, the batches.
    """
    out = io.BytesIO()
    rows = 0
    batches = mini_batches(body, max_payload_mb)
    for batch in batches:
        if stop is not None and stop.is_set():
            break
        try:
            response = invoke(batch)
        except TransformError as exc:
            raise TransformError(_name_object(str(exc), key)) from None
        inputs = [line for line in batch.splitlines() if line.strip()]
        outputs = [line for line in response.splitlines() if line.strip()]
        if len(inputs) != len(outputs):
            raise TransformError(f"ClientError: {key}: {len(inputs)} input records but {len(outputs)} predictions")
        out.write(b"".join(row + b"," + prediction + b"\n" for row, prediction in zip(inputs, outputs, strict=True)))
        rows += len(inputs)
    return out.getvalue(), rows, len(batches)


def _name_object(reason: str, key: str) -> str:
    """``ClientError: X`` → ``ClientError: <key>: X`` (which object the failed request came from)."""
    kind, _, detail = reason.partition(": ")
    return f"{kind}: {key}: {detail}" if kind == "ClientError" else reason


def transform_request_problems(parameters: dict[str, Any]) -> list[str]:
    """What SageMaker's API model rejects in the CreateTransformJob request, and what this runner supports."""
    problems = task_request_problems(SAGEMAKER_TRANSFORM, parameters)
    if parameters.get("TransformInput", {}).get("SplitType") != "Line":
        problems.append("the offline runner supports SplitType Line only")
    if parameters.get("DataProcessing", {}).get("JoinSource") != "Input":
        problems.append("the offline runner supports DataProcessing.JoinSource Input only")
    if parameters.get("TransformOutput", {}).get("AssembleWith") != "Line":
        problems.append("AssembleWith must be Line with JoinSource Input on CSV")
    if int(parameters.get("MaxPayloadInMB", 6)) == 0:
        problems.append("MaxPayloadInMB 0 (no limit) applies to streaming only: the offline runner needs 1-100")
    return problems


def _split(uri: str) -> tuple[str, str]:
    try:
        return parse_s3_uri(uri)
    except ValueError:
        raise TransformError(f"ClientError: not an s3:// URI: {uri!r}") from None
