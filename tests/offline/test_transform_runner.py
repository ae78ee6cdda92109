"""The SageMaker transform runner with the real artifact: model processes, the join, SageMaker's failure reasons."""

from __future__ import annotations

import copy
import io
import json
import tarfile
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest
from moto import mock_aws

from model import env
from offline.integrations import TaskContext, TaskFailure
from offline.runners.model_instance import ModelInstance, TransformError
from offline.runners.sagemaker import TransformRunner, score_object
from tests.offline.runner_support import TRANSFORM_REQUEST

BATCH = Path("data/abalone/batch.csv")
GOOD_ROW = b"M,0.4,0.3,0.1,0.5,0.2,0.1,0.15"
BAD_ROW = b"M,abc,0.3,0.1,0.5,0.2,0.1,0.15"


@pytest.fixture(scope="module")
def artifact(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real model.tar.gz, trained and packaged in the model environment (ridge: quick)."""
    return env.build_artifact_in_model_env(tmp_path_factory.mktemp("artifact") / "model.tar.gz", candidates=["ridge"])


@pytest.fixture(scope="module")
def model_dir(artifact: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The artifact extracted as SageMaker does into /opt/ml/model."""
    folder = tmp_path_factory.mktemp("opt-ml") / "model"
    with tarfile.open(artifact) as tar:
        tar.extractall(folder, filter="data")
    return folder


@pytest.fixture(scope="module")
def instance(model_dir: Path) -> Iterator[ModelInstance]:
    """One serving container: its inference.py loaded in a model-env process."""
    worker = ModelInstance(model_dir, model_dir.parent / "instance.log")
    worker.wait_ready()
    yield worker
    worker.close()
    assert worker.process.returncode == 0


def test_scoring_an_object_joins_one_prediction_to_each_row_across_mini_batches(instance: ModelInstance):
    body = BATCH.read_bytes() * 8  # 1.5 MB: two mini-batches at MaxPayloadInMB=1
    joined, rows, batches = score_object(instance.invoke, body, 1, "batch.csv")
    lines = joined.decode().splitlines()
    inputs = body.decode().splitlines()
    assert rows == len(inputs) == len(lines) == 8 * 4177
    assert batches == 2
    for row, out in zip(inputs, lines, strict=True):
        assert out.startswith(row + ",") and out.count(",") == row.count(",") + 1
        float(out.rsplit(",", 1)[1])
    first, second = lines[:4177], lines[4177 : 2 * 4177]
    assert first == second  # the same rows get the same predictions, whichever mini-batch carries them


_PREDICT_IN_MODEL_ENV = """
import sys
from model.code import inference
model = inference.model_fn(sys.argv[1])
body = open(sys.argv[2], "rb").read()
sys.stdout.write(inference.output_fn(inference.predict_fn(inference.input_fn(body, "text/csv"), model), "text/csv"))
"""


def test_the_twin_appends_to_each_row_exactly_what_the_model_environment_predicts(
    instance: ModelInstance, model_dir: Path, tmp_path: Path
):
    # GIVEN the batch file eight times over (two mini-batches at MaxPayloadInMB=1)
    body = BATCH.read_bytes() * 8
    (tmp_path / "body.csv").write_bytes(body)
    # WHEN the twin's container process scores it, and the model environment predicts it in one call
    joined, _, batches = score_object(instance.invoke, body, 1, "batch.csv")
    direct = env.run_in_model_env(["-c", _PREDICT_IN_MODEL_ENV, str(model_dir), str(tmp_path / "body.csv")]).stdout
    # THEN each appended prediction is the model environment's, to the last digit
    assert batches == 2
    assert [line.rsplit(",", 1)[1] for line in joined.decode().splitlines()] == direct.splitlines()


def test_a_malformed_row_fails_the_job_with_sagemakers_client_error_naming_line_and_field(instance: ModelInstance):
    with pytest.raises(TransformError) as error:
        score_object(instance.invoke, GOOD_ROW + b"\n" + BAD_ROW + b"\n", 6, "bad.csv")
    assert str(error.value) == "ClientError: bad.csv: InputError: line 2, field 'length': 'abc' is not a number"
    # the instance serves on after a rejected request, as the container's server does
    assert instance.invoke(GOOD_ROW + b"\n").count(b"\n") == 1


def test_the_model_process_has_no_network_as_with_network_isolation(tmp_path: Path):
    # GIVEN an artifact whose model_fn tries to reach the network (as a pip install at start-up would)
    code = tmp_path / "model" / "code"
    code.mkdir(parents=True)
    (code / "inference.py").write_text(
        "import socket\ndef model_fn(model_dir):\n    socket.create_connection(('127.0.0.1', 9), timeout=1)\n"
    )
    worker = ModelInstance(tmp_path / "model", tmp_path / "instance.log")
    # WHEN it starts THEN model_fn fails, refused by the isolation, and the job would fail with that
    with pytest.raises(TransformError, match=r"model_fn failed.*PermissionError: socket.*network isolation"):
        worker.wait_ready()
    worker.close()


REGION = "us-east-1"
BUCKET = "transform-bucket"


def context(cancelled: bool = False) -> TaskContext:
    return TaskContext(
        state_name="RunTransform",
        resource="arn:aws:states:::sagemaker:createTransformJob.sync",
        execution_arn="arn:aws:states:us-east-1:123456789012:execution:sm:run-1",
        execution_name="run-1",
        state_machine_arn="arn:aws:states:us-east-1:123456789012:stateMachine:sm",
        retry_count=0,
        redrive_count=0,
        test_case=None,
        region=REGION,
        account_id="123456789012",
        _is_running=lambda: not cancelled,
    )


@pytest.fixture
def s3() -> Iterator[object]:
    with mock_aws():
        client = boto3.client("s3", region_name=REGION)
        client.create_bucket(Bucket=BUCKET)
        yield client


def request(instances: int) -> dict:
    job = copy.deepcopy(TRANSFORM_REQUEST)
    job["TransformInput"]["DataSource"]["S3DataSource"]["S3Uri"] = f"s3://{BUCKET}/in/dt=2026-11-25/"
    job["TransformOutput"]["S3OutputPath"] = f"s3://{BUCKET}/out/dt=2026-11-25/run=r1"
    job["TransformResources"]["InstanceCount"] = instances
    return job


def runners_with(s3: object, artifact: Path, tmp_path: Path) -> TransformRunner:
    s3.put_object(Bucket=BUCKET, Key="models/model.tar.gz", Body=artifact.read_bytes())  # type: ignore[attr-defined]
    return TransformRunner(tmp_path, region=REGION, model_data_url=f"s3://{BUCKET}/models/model.tar.gz")


def test_a_transform_job_runs_one_model_process_per_instance_and_writes_each_object_out(
    s3: object, artifact: Path, tmp_path: Path
):
    # GIVEN three input objects and a job on two instances
    bodies = {
        f"in/dt=2026-11-25/part-{i}.csv": BATCH.read_bytes()[: 4000 * (i + 1)].rsplit(b"\n", 1)[0] + b"\n"
        for i in range(3)
    }
    for key, body in bodies.items():
        s3.put_object(Bucket=BUCKET, Key=key, Body=body)  # type: ignore[attr-defined]
    runners = runners_with(s3, artifact, tmp_path)
    # WHEN the runner executes the job
    result = runners.create_transform_job(request(instances=2), context())
    # THEN it completed, each object has its .out beside the run's output path, rows joined in order
    assert result["TransformJobStatus"] == "Completed"
    (record,) = runners.records
    assert record.instances == 2 and record.rows == sum(b.count(b"\n") for b in bodies.values())
    assert record.output_keys == [f"s3://{BUCKET}/out/dt=2026-11-25/run=r1/part-{i}.csv.out" for i in range(3)]
    for i, body in enumerate(bodies.values()):
        out = s3.get_object(Bucket=BUCKET, Key=f"out/dt=2026-11-25/run=r1/part-{i}.csv.out")["Body"].read()  # type: ignore[attr-defined]
        assert [line.rsplit(b",", 1)[0] for line in out.splitlines()] == body.splitlines()
    # AND two instances (processes) served it, each with its own log, both ended cleanly
    logs = sorted(tmp_path.rglob("*-instance-*.log"))
    assert [p.name.rsplit("-", 1)[1] for p in logs] == ["1.log", "2.log"]


def test_a_model_trained_with_other_versions_fails_the_job_as_sagemaker_reports_it(
    s3: object, artifact: Path, tmp_path: Path
):
    # GIVEN the artifact of issue 10.5: a model recorded as trained with scikit-learn 1.6.1
    raw = io.BytesIO()
    with tarfile.open(artifact) as source, tarfile.open(fileobj=raw, mode="w:gz") as target:
        for member in source.getmembers():
            data = source.extractfile(member).read()  # type: ignore[union-attr]
            if member.name == "model.json":
                card = json.loads(data)
                card["versions"]["scikit-learn"] = "1.6.1"
                data = json.dumps(card).encode()
                member.size = len(data)
            target.addfile(member, io.BytesIO(data))
    broken = tmp_path / "broken.tar.gz"
    broken.write_bytes(raw.getvalue())
    s3.put_object(Bucket=BUCKET, Key="in/dt=2026-11-25/a.csv", Body=GOOD_ROW + b"\n")  # type: ignore[attr-defined]
    runners = runners_with(s3, broken, tmp_path / "work")
    (tmp_path / "work").mkdir()
    # WHEN the job runs THEN the task fails with States.TaskFailed and the job's FailureReason
    with pytest.raises(TaskFailure) as failure:
        runners.create_transform_job(request(instances=1), context())
    assert failure.value.error == "States.TaskFailed"
    cause = json.loads(failure.value.cause)
    assert cause["TransformJobStatus"] == "Failed"
    assert cause["FailureReason"].startswith("AlgorithmError: model_fn failed to load the model: ModelMismatchError:")
    assert (
        f"trained with scikit-learn 1.6.1, this container has {env.image_pins()['scikit-learn']}"
        in cause["FailureReason"]
    )


def test_a_malformed_object_fails_the_job_naming_the_object_line_and_field(s3: object, artifact: Path, tmp_path: Path):
    s3.put_object(Bucket=BUCKET, Key="in/dt=2026-11-25/a.csv", Body=GOOD_ROW + b"\n" + BAD_ROW + b"\n")  # type: ignore[attr-defined]
    runners = runners_with(s3, artifact, tmp_path)
    with pytest.raises(TaskFailure) as failure:
        runners.create_transform_job(request(instances=1), context())
    assert json.loads(failure.value.cause)["FailureReason"] == (
        "ClientError: in/dt=2026-11-25/a.csv: InputError: line 2, field 'length': 'abc' is not a number"
    )


def test_an_instance_that_dies_fails_the_job_with_its_exit(s3: object, artifact: Path, tmp_path: Path):
    s3.put_object(Bucket=BUCKET, Key="in/dt=2026-11-25/a.csv", Body=GOOD_ROW + b"\n")  # type: ignore[attr-defined]
    # GIVEN a "model environment" whose interpreter exits at once (stands in for a crashed container)
    fake = tmp_path / "python"
    fake.write_text("#!/bin/sh\necho 'Segmentation fault' >&2\nexit 139\n")
    fake.chmod(0o755)
    runners = runners_with(s3, artifact, tmp_path)
    runners.model_python = fake
    with pytest.raises(TaskFailure) as failure:
        runners.create_transform_job(request(instances=1), context())
    reason = json.loads(failure.value.cause)["FailureReason"]
    assert reason == "AlgorithmError: the model container exited (code 139): Segmentation fault"


def test_no_input_objects_fail_the_job_with_sagemakers_message(s3: object, artifact: Path, tmp_path: Path):
    runners = runners_with(s3, artifact, tmp_path)
    with pytest.raises(TaskFailure) as failure:
        runners.create_transform_job(request(instances=1), context())
    assert "No S3 objects found under S3 URL" in json.loads(failure.value.cause)["FailureReason"]
