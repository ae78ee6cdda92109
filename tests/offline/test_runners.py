"""The local runners' checks and the SageMaker batch path (real artifact, model environment), without Spark."""

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
from offline.runners.emr import EMR_ADD_STEP, EmrRunner, cluster_request_problems
from offline.runners.model_instance import ModelInstance, TransformError
from offline.runners.sagemaker import TransformRunner, score_object, transform_request_problems
from offline.runners.step_files import StepFiles

EXECUTION = "arn:aws:states:us-east-1:123456789012:execution:transient-analytics-dev-emr-pipeline:run-1"
CLUSTER_REQUEST = {
    "Name": "transient-analytics-dev-emr-20261125T2015Z-0123abcd",
    "ReleaseLabel": "emr-7.13.0",
    "Applications": [{"Name": "Spark"}],
    "LogUri": "s3://bucket/logs/emr/dt=2026-11-25/hour=20/minute=15/",
    "ServiceRole": "service-role",
    "JobFlowRole": "instance-profile",
    "Instances": {
        "InstanceGroups": [
            {"InstanceRole": "MASTER", "InstanceType": "m7g.xlarge", "InstanceCount": 1},
            {"InstanceRole": "CORE", "InstanceType": "m7g.xlarge", "InstanceCount": 2},
        ],
        "KeepJobFlowAliveWhenNoSteps": True,
    },
    "Tags": [
        {"Key": "transient-analytics:execution", "Value": EXECUTION},
        {"Key": "transient-analytics:run-id", "Value": "20261125T2015Z-0123abcd"},
        {"Key": "transient-analytics:stack", "Value": "transient-analytics-dev"},
    ],
}
TRANSFORM_REQUEST = {
    "TransformJobName": "ta-abalone-202611250600-0123abcd-0-0",
    "ModelName": "model",
    "MaxPayloadInMB": 6,
    "TransformInput": {
        "DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": "s3://b/in/"}},
        "SplitType": "Line",
    },
    "TransformOutput": {"S3OutputPath": "s3://b/out/", "AssembleWith": "Line"},
    "TransformResources": {"InstanceType": "ml.m5.large", "InstanceCount": 1},
    "DataProcessing": {"JoinSource": "Input"},
}


def test_a_well_formed_cluster_request_passes():
    assert cluster_request_problems(CLUSTER_REQUEST, EXECUTION) == []


@pytest.mark.parametrize(
    "change, problem",
    [
        (lambda r: r.update(ReleaseLabel="emr-6.15.0"), "not an emr-7.x release"),
        (lambda r: r.update(Applications=[{"Name": "Hive"}]), "must include Spark"),
        (lambda r: r.update(ServiceRole=""), "ServiceRole is required"),
        (lambda r: r["Instances"].update(KeepJobFlowAliveWhenNoSteps=False), "KeepJobFlowAliveWhenNoSteps"),
        (lambda r: r["Instances"]["InstanceGroups"].pop(), "exactly one MASTER and one CORE"),
        (lambda r: r.update(Tags=[]), "Tags lack transient-analytics:execution"),
        (lambda r: r.update(LogUri="hdfs:///logs"), "LogUri must be an s3:// URI"),
    ],
)
def test_a_cluster_request_emr_would_reject_is_refused_with_the_reason(change, problem):
    request = copy.deepcopy(CLUSTER_REQUEST)
    change(request)
    assert any(problem in p for p in cluster_request_problems(request, EXECUTION))


def test_a_cluster_tagged_for_another_execution_is_refused():
    assert "the execution tag does not name this execution" in cluster_request_problems(
        CLUSTER_REQUEST, EXECUTION + "x"
    )


@pytest.mark.parametrize(
    "change, problem",
    [
        (lambda r: r.update(TransformJobName="-bad"), "TransformJobName"),
        (lambda r: r.update(TransformJobName="a" * 64), "TransformJobName"),
        (lambda r: r["DataProcessing"].update(JoinSource="None"), "JoinSource Input"),
        (lambda r: r["TransformInput"].update(SplitType="None"), "SplitType Line"),
        (lambda r: r.update(MaxPayloadInMB=0), "MaxPayloadInMB"),
        (lambda r: r["TransformResources"].update(InstanceCount=0), "TransformResources.InstanceCount"),
        (lambda r: r.pop("TransformResources"), 'required parameter in input: "TransformResources"'),
    ],
)
def test_a_transform_request_sagemaker_would_reject_is_refused(change, problem):
    request = copy.deepcopy(TRANSFORM_REQUEST)
    assert transform_request_problems(request) == []
    change(request)
    assert any(problem in p for p in transform_request_problems(request))


# --------------------------------------------------------------------------- the transform runner
BATCH = Path("data/abalone/batch.csv")
GOOD_ROW = b"M,0.4,0.3,0.1,0.5,0.2,0.1,0.15"
BAD_ROW = b"M,abc,0.3,0.1,0.5,0.2,0.1,0.15"


@pytest.fixture(scope="module")
def artifact(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real model.tar.gz, trained and packaged in the model environment (ridge: quick)."""
    return env.build_artifact_in_model_env(tmp_path_factory.mktemp("artifact") / "model.tar.gz", candidates=["ridge"])


@pytest.fixture(scope="module")
def instance(artifact: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ModelInstance]:
    """One serving container: the artifact extracted, its inference.py loaded in a model-env process."""
    model_dir = tmp_path_factory.mktemp("opt-ml") / "model"
    with tarfile.open(artifact) as tar:
        tar.extractall(model_dir, filter="data")
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
    assert "trained with scikit-learn 1.6.1, this container has 1.4.2" in cause["FailureReason"]


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


def test_the_harness_sees_all_four_sync_resources():
    registered: dict[str, object] = {}

    class Registry:
        def register(self, arn: str, runner: object) -> None:
            registered[arn] = runner

    class Harness:
        runners = Registry()

    EmrRunner(Path(".")).register(Harness())
    TransformRunner(Path("."), model_data_url="s3://b/m.tar.gz").register(Harness())
    assert sorted(registered) == sorted(
        [
            "arn:aws:states:::elasticmapreduce:createCluster.sync",
            "arn:aws:states:::elasticmapreduce:addStep.sync",
            "arn:aws:states:::elasticmapreduce:terminateCluster.sync",
            "arn:aws:states:::sagemaker:createTransformJob.sync",
        ]
    )


# --------------------------------------------------------------------------- addStep.sync: the multi-slot localisation

BUCKET = "ta-data"
SLOT_A, SLOT_B = "2026-11-25T20:00Z", "2026-11-25T20:15Z"
LANDING_A = f"s3://{BUCKET}/landing/characters/dt=2026-11-25/hour=20/minute=00/"
LANDING_B = f"s3://{BUCKET}/landing/characters/dt=2026-11-25/hour=20/minute=15/"
CURATED_A = f"s3://{BUCKET}/curated/characters/dt=2026-11-25/hour=20/minute=00/"
CURATED_B = f"s3://{BUCKET}/curated/characters/dt=2026-11-25/hour=20/minute=15/"
REPORT = f"s3://{BUCKET}/runs/emr/20261125T2030Z-1a2b3c4d/report.json"
SCHEMA_URI = f"s3://{BUCKET}/artifacts/jobs/schemas/characters.json"
JOB_URI = f"s3://{BUCKET}/artifacts/jobs/csv_to_parquet.py"
HEADER = "id,name,class,race,level,light,guardian_rank,is_active,last_played\n"
TITAN = "1,Ana Vesper,Titan,Human,50,2001,9,true,2025-12-31T10:00:00Z\n"


def job_args(*slots: tuple[str, str, str]) -> list[str]:
    args = [JOB_URI, "--schema", SCHEMA_URI, "--partition-column", "class", "--run-id", "20261125T2030Z-1a2b3c4d"]
    args += ["--report", REPORT]
    for slot_id, source, output in slots:
        args += ["--slot", slot_id, source, output, "ab12"]
    return args


def keys(s3, prefix: str) -> set[str]:
    listing = s3.list_objects_v2(Bucket=BUCKET, Prefix=prefix)
    return {obj["Key"][len(prefix) :] for obj in listing.get("Contents", [])}


def key_of(uri: str) -> str:
    return uri.split(f"s3://{BUCKET}/", 1)[1]


@pytest.fixture
def s3_with_two_slots(tmp_path: Path):

    with mock_aws():
        s3 = boto3.client("s3", region_name="us-east-1")
        s3.create_bucket(Bucket=BUCKET)
        s3.put_object(Bucket=BUCKET, Key=key_of(SCHEMA_URI), Body=Path("jobs/schemas/characters.json").read_bytes())
        s3.put_object(Bucket=BUCKET, Key=key_of(JOB_URI), Body=Path("jobs/csv_to_parquet.py").read_bytes())
        s3.put_object(Bucket=BUCKET, Key=key_of(LANDING_A) + "a.csv", Body=(HEADER + TITAN).encode())
        s3.put_object(Bucket=BUCKET, Key=key_of(LANDING_B) + "b.csv", Body=(HEADER + TITAN + "2,x\n").encode())
        # slot A was converted before: a Titan and a Hunter partition and its manifest
        for name in (
            "class=Titan/part-00000-old.c000.snappy.parquet",
            "class=Hunter/part-00001-old.c000.snappy.parquet",
        ):
            s3.put_object(Bucket=BUCKET, Key=key_of(CURATED_A) + name, Body=b"old parquet")
        s3.put_object(Bucket=BUCKET, Key=key_of(CURATED_A) + "_manifest.json", Body=b'{"old": true}')
        yield s3


def test_each_slot_is_localized_and_its_output_synced_back_with_what_the_job_deleted(s3_with_two_slots, tmp_path):

    s3 = s3_with_two_slots
    files = StepFiles(s3, lambda line: None)
    work = tmp_path / "step"
    # WHEN the step's arguments are localized
    localized = files.localize(job_args((SLOT_A, LANDING_A, CURATED_A), (SLOT_B, LANDING_B, CURATED_B)), work)
    local = {uri: str(work / BUCKET / key_of(uri)) + "/" for uri in (LANDING_A, LANDING_B, CURATED_A, CURATED_B)}
    # THEN every s3:// argument is a local path: the job and schema downloaded, each slot's
    # input downloaded, each output folder pre-filled with the slot's existing objects
    assert localized.args == [
        str(work / BUCKET / key_of(JOB_URI)),
        "--schema",
        str(work / BUCKET / key_of(SCHEMA_URI)),
        "--partition-column",
        "class",
        "--run-id",
        "20261125T2030Z-1a2b3c4d",
        "--report",
        str(work / BUCKET / key_of(REPORT)),
        *["--slot", SLOT_A, local[LANDING_A], local[CURATED_A], "ab12"],
        *["--slot", SLOT_B, local[LANDING_B], local[CURATED_B], "ab12"],
    ]
    assert (Path(local[LANDING_A]) / "a.csv").read_text() == HEADER + TITAN
    assert (Path(local[LANDING_B]) / "b.csv").is_file()
    out_a = Path(local[CURATED_A])
    assert sorted(p.relative_to(out_a).as_posix() for p in out_a.rglob("*") if p.is_file()) == [
        "_manifest.json",
        "class=Hunter/part-00001-old.c000.snappy.parquet",
        "class=Titan/part-00000-old.c000.snappy.parquet",
    ]
    assert not (work / BUCKET / key_of(REPORT)).exists()
    # GIVEN the job then replaced Titan, removed the vanished Hunter partition, rewrote the
    # manifest (naming its local paths), left Hadoop's hidden files, and wrote the report
    (out_a / "class=Titan" / "part-00000-old.c000.snappy.parquet").unlink()
    (out_a / "class=Titan" / "part-00000-new.c000.snappy.parquet").write_bytes(b"new parquet")
    (out_a / "class=Titan" / ".part-00000-new.c000.snappy.parquet.crc").write_bytes(b"crc")
    for path in (out_a / "class=Hunter").iterdir():
        path.unlink()
    (out_a / "class=Hunter").rmdir()
    manifest = {"input_uri": local[LANDING_A], "output_uri": local[CURATED_A], "partitions": {"Titan": 1}}
    (out_a / "_manifest.json").write_text(json.dumps(manifest))
    report = {"slots": [{"slot": SLOT_A, "manifest_uri": local[CURATED_A] + "_manifest.json"}]}
    (work / BUCKET / key_of(REPORT)).write_text(json.dumps(report))
    # WHEN the outputs are synced back
    uploaded, deleted = files.sync_back(localized)
    # THEN S3 holds what the local folders hold: new files up, deleted ones gone, hidden ones never sent
    assert keys(s3, key_of(CURATED_A)) == {"_manifest.json", "class=Titan/part-00000-new.c000.snappy.parquet"}
    assert keys(s3, key_of(CURATED_B)) == set()
    assert (uploaded, deleted) == (3, 2)
    # AND the JSON the job wrote names the s3:// URIs, not the local paths
    body = s3.get_object(Bucket=BUCKET, Key=key_of(CURATED_A) + "_manifest.json")["Body"].read()
    assert json.loads(body) == {"input_uri": LANDING_A, "output_uri": CURATED_A, "partitions": {"Titan": 1}}
    uploaded_report = json.loads(s3.get_object(Bucket=BUCKET, Key=key_of(REPORT))["Body"].read())
    assert uploaded_report == {"slots": [{"slot": SLOT_A, "manifest_uri": CURATED_A + "_manifest.json"}]}


@pytest.mark.spark
@pytest.mark.slow
def test_add_step_runs_the_real_job_commits_the_healthy_slot_and_uploads_the_report_when_another_fails(
    s3_with_two_slots, tmp_path
):

    s3 = s3_with_two_slots
    emr = boto3.client("emr", region_name="us-east-1")
    cluster_id = emr.run_job_flow(
        Name="c",
        ReleaseLabel="emr-7.12.0",
        Instances={"MasterInstanceType": "m7g.xlarge", "InstanceCount": 1, "KeepJobFlowAliveWhenNoSteps": True},
        JobFlowRole="r",
        ServiceRole="s",
    )["JobFlowId"]
    context = TaskContext(
        state_name="RunSparkStep",
        resource=EMR_ADD_STEP,
        execution_arn=EXECUTION,
        execution_name="run-1",
        state_machine_arn=EXECUTION.rsplit(":", 1)[0],
        retry_count=0,
        redrive_count=0,
        test_case=None,
        region="us-east-1",
        account_id="123456789012",
    )
    step = {
        "Name": "csv-to-parquet",
        "ActionOnFailure": "CONTINUE",
        "HadoopJarStep": {
            "Jar": "command-runner.jar",
            "Args": [
                "spark-submit",
                "--deploy-mode",
                "cluster",
                *job_args((SLOT_A, LANDING_A, CURATED_A), (SLOT_B, LANDING_B, CURATED_B)),
            ],
        },
    }
    runners = EmrRunner(tmp_path)
    # WHEN the step runs with a healthy slot A and a slot B whose second row is short
    with pytest.raises(TaskFailure) as failure:
        runners.add_step({"ClusterId": cluster_id, "Step": step}, context)
    # THEN the step failed as EMR reports it, naming the poison slot
    message = json.loads(failure.value.cause)["Step"]["Status"]["FailureDetails"]["Message"]
    assert message.startswith(f"csv_to_parquet: error: 1 of 2 slots failed: {SLOT_B}: 1 of 2 rows do not match")
    assert "s3://ta-data/landing/" in message and str(tmp_path) not in message
    # AND slot A is committed in S3: Titan replaced, the vanished Hunter partition deleted, a manifest
    names = keys(s3, key_of(CURATED_A))
    assert not any(n.startswith("class=Hunter/") or "-old." in n for n in names)
    assert [n for n in names if n.startswith("class=Titan/")] and "_manifest.json" in names
    manifest = json.loads(s3.get_object(Bucket=BUCKET, Key=key_of(CURATED_A) + "_manifest.json")["Body"].read())
    assert (manifest["input_uri"], manifest["output_uri"], manifest["partitions"]) == (
        LANDING_A,
        CURATED_A,
        {"Titan": 1},
    )
    # AND slot B has nothing, and the report is in S3 with both slots
    assert keys(s3, key_of(CURATED_B)) == set()
    report = json.loads(s3.get_object(Bucket=BUCKET, Key=key_of(REPORT))["Body"].read())
    assert [(s["slot"], s["status"]) for s in report["slots"]] == [(SLOT_A, "converted"), (SLOT_B, "failed")]
    assert report["slots"][0]["manifest_uri"] == CURATED_A + "_manifest.json"
