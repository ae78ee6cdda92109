"""The local runners' checks and the SageMaker batch path, without Spark."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest

from model.code import inference
from offline.runners import cluster_request_problems, score_object, transform_request_problems

EXECUTION = "arn:aws:states:us-east-1:123456789012:execution:transient-analytics-dev-emr-pipeline:run-1"
CLUSTER_REQUEST = {
    "Name": "transient-analytics-dev-emr-20261125T2015Z-0123abcd",
    "ReleaseLabel": "emr-7.12.0",
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
    ],
)
def test_a_transform_request_sagemaker_would_reject_is_refused(change, problem):
    request = copy.deepcopy(TRANSFORM_REQUEST)
    assert transform_request_problems(request) == []
    change(request)
    assert any(problem in p for p in transform_request_problems(request))


@pytest.fixture(scope="module")
def trained_model(tmp_path_factory: pytest.TempPathFactory):
    from model.train import train

    out = tmp_path_factory.mktemp("model")
    train(out_dir=out, candidates=["ridge"])
    return inference.model_fn(str(out))


def test_scoring_an_object_joins_one_prediction_to_each_row_across_mini_batches(trained_model):
    body = Path("data/abalone/batch.csv").read_bytes()
    joined, rows, batches = score_object(inference, trained_model, body, 1, "batch.csv")
    lines = joined.decode().splitlines()
    inputs = body.decode().splitlines()
    assert rows == len(inputs) == len(lines)
    assert batches == 1
    for row, out in zip(inputs, lines, strict=True):
        assert out.startswith(row + ",") and out.count(",") == row.count(",") + 1
        float(out.rsplit(",", 1)[1])


def test_a_malformed_row_fails_the_job_with_sagemakers_client_error(trained_model):
    from offline.runners import TransformError

    with pytest.raises(TransformError, match=r"ClientError: bad.csv: .*line 2"):
        score_object(
            inference, trained_model, b"M,0.4,0.3,0.1,0.5,0.2,0.1,0.15\nM,abc,0.3,0.1,0.5,0.2,0.1,0.15\n", 6, "bad.csv"
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
    from moto import mock_aws

    with mock_aws():
        import boto3

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
    from offline.runners import LocalRunners

    s3 = s3_with_two_slots
    runners = LocalRunners(tmp_path)
    work = tmp_path / "step"
    # WHEN the step's arguments are localized
    localized = runners._localize(job_args((SLOT_A, LANDING_A, CURATED_A), (SLOT_B, LANDING_B, CURATED_B)), work)
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
    uploaded, deleted = runners._sync_back(localized)
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
    import boto3

    from offline.integrations import TaskContext
    from offline.runners import EMR_ADD_STEP, LocalRunners, TaskFailure

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
    runners = LocalRunners(tmp_path)
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
