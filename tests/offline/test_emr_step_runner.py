"""addStep.sync: each slot's files localized and synced back, and the real job run on local Spark."""

from __future__ import annotations

import json
from pathlib import Path

import boto3
import pytest
from moto import mock_aws

from offline.integrations import TaskContext, TaskFailure
from offline.runners.emr import EMR_ADD_STEP, EmrRunner
from offline.runners.step_files import StepFiles
from tests.offline.runner_support import EXECUTION

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
