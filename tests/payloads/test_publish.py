"""tools.publish against moto: a stack with a DataBucketName output and its bucket."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone

import boto3
import pytest
from moto import mock_aws

from jobs import generate_characters
from model import sourcedir
from tools import publish
from transient_analytics import layout

from .conftest import REPO_ROOT

REGION = "eu-west-1"
STACK = "transient-analytics-test"
SLOT = datetime(2026, 11, 25, 20, 30, tzinfo=UTC)
SAMPLE_ROWS = 250

TEMPLATE = {
    "Resources": {"DataBucket": {"Type": "AWS::S3::Bucket"}},
    "Outputs": {"DataBucketName": {"Value": {"Ref": "DataBucket"}}},
}


@pytest.fixture
def aws(aws_env: None) -> Iterator[boto3.session.Session]:
    with mock_aws():
        yield boto3.session.Session(region_name=REGION)


@pytest.fixture
def bucket(aws: boto3.session.Session) -> str:
    """A deployed stack (in moto) whose DataBucketName output names its bucket."""
    cloudformation = aws.client("cloudformation")
    cloudformation.create_stack(StackName=STACK, TemplateBody=json.dumps(TEMPLATE))
    (stack,) = cloudformation.describe_stacks(StackName=STACK)["Stacks"]
    (output,) = stack["Outputs"]
    return output["OutputValue"]


def keys_in(session: boto3.session.Session, bucket: str) -> dict[str, bytes]:
    s3 = session.client("s3")
    listing = s3.list_objects_v2(Bucket=bucket).get("Contents", [])
    return {o["Key"]: s3.get_object(Bucket=bucket, Key=o["Key"])["Body"].read() for o in listing}


def expected_keys() -> set[str]:
    return {
        layout.JOB_KEY,
        layout.SCHEMA_KEY,
        layout.emr_input_prefix(SLOT) + publish.SAMPLE_FILENAME,
        layout.transform_input_prefix(publish.batch_day(SLOT)) + publish.BATCH_FILENAME,
        layout.SOURCEDIR_KEY,
        "training/abalone/dt=2026-11-25/abalone.csv",
    }


def run_publish(session: boto3.session.Session, *, dry_run: bool) -> tuple[publish.Plan, str]:
    out = io.StringIO()
    plan = publish.publish(STACK, slot=SLOT, dry_run=dry_run, sample_rows=SAMPLE_ROWS, session=session, out=out)
    return plan, out.getvalue()


# --------------------------------------------------------------------------- uploads


def test_dry_run_prints_the_plan_and_uploads_nothing(aws: boto3.session.Session, bucket: str) -> None:
    plan, printed = run_publish(aws, dry_run=True)
    assert keys_in(aws, bucket) == {}
    assert {u.key for u in plan.uploads} == expected_keys()
    for upload in plan.uploads:
        assert f"{layout.s3_uri(bucket, upload.key)}" in printed
        assert f"{upload.size:,} bytes" in printed
    assert "dry run: nothing uploaded" in printed
    assert "dt=2026-11-25/hour=20/minute=30" in printed


def test_publish_puts_every_object_at_its_layout_key(aws: boto3.session.Session, bucket: str) -> None:
    # WHEN publishing for the 20:30 slot
    run_publish(aws, dry_run=False)
    # THEN every object is at the key the layout module defines, with the source's bytes
    objects = keys_in(aws, bucket)
    assert set(objects) == expected_keys()
    assert objects[layout.JOB_KEY] == (REPO_ROOT / "jobs" / "csv_to_parquet.py").read_bytes()
    assert objects[layout.SCHEMA_KEY] == (REPO_ROOT / "jobs" / "schemas" / "characters.json").read_bytes()
    sample = objects["landing/characters/dt=2026-11-25/hour=20/minute=30/characters.csv"]
    assert sample == generate_characters.generate_csv_bytes(SAMPLE_ROWS, publish.DEFAULT_SEED)
    batch = objects["batch/abalone/input/dt=2026-11-24/abalone.csv"]
    assert batch == (REPO_ROOT / "data" / "abalone" / "batch.csv").read_bytes()
    # AND the training code (the job's code channel) and the labelled data, dated by the slot's day
    assert objects[layout.SOURCEDIR_KEY] == sourcedir.sourcedir_bytes()
    assert (
        objects["training/abalone/dt=2026-11-25/abalone.csv"]
        == (REPO_ROOT / "data" / "abalone" / "abalone.data").read_bytes()
    )
    # AND no serving model: the transform scores with the promoted model, a training job's output
    assert not [key for key in objects if key.startswith(("artifacts/models/", "models/"))]


def test_objects_carry_content_types(aws: boto3.session.Session, bucket: str) -> None:
    run_publish(aws, dry_run=False)
    s3 = aws.client("s3")
    types = {key: s3.head_object(Bucket=bucket, Key=key)["ContentType"] for key in expected_keys()}
    assert types[layout.SOURCEDIR_KEY] == "application/gzip"
    assert types[layout.SCHEMA_KEY] == "application/json"
    assert types[layout.emr_input_prefix(SLOT) + publish.SAMPLE_FILENAME] == "text/csv"


# --------------------------------------------------------------------------- errors


def test_missing_stack_is_a_clear_error(aws: boto3.session.Session) -> None:
    with pytest.raises(publish.PublishError, match=f"stack '{STACK}' does not exist in region {REGION}"):
        run_publish(aws, dry_run=True)


def test_stack_without_the_bucket_output_lists_the_outputs_it_has(aws: boto3.session.Session) -> None:
    template = {
        "Resources": {"Other": {"Type": "AWS::S3::Bucket"}},
        "Outputs": {"SomethingElse": {"Value": {"Ref": "Other"}}},
    }
    aws.client("cloudformation").create_stack(StackName=STACK, TemplateBody=json.dumps(template))
    with pytest.raises(publish.PublishError, match="has no output 'DataBucketName'; its outputs: SomethingElse"):
        run_publish(aws, dry_run=True)


def test_command_line_reports_a_missing_stack_in_one_line_and_exits_2(
    aws: boto3.session.Session, capsys: pytest.CaptureFixture[str]
) -> None:
    code = publish.main(["--stack-name", "nope", "--region", REGION, "--dry-run"])
    captured = capsys.readouterr()
    assert code == 2
    assert captured.err.splitlines() == [f"publish: error: stack 'nope' does not exist in region {REGION}"]


def test_command_line_dry_run_prints_the_plan(
    aws: boto3.session.Session, bucket: str, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["--stack-name", STACK, "--region", REGION, "--slot", "2026-11-25T21:30+01:00", "--dry-run"]
    code = publish.main([*argv, "--sample-rows", "10"])
    printed = capsys.readouterr().out
    assert code == 0
    assert layout.s3_uri(bucket, "landing/characters/dt=2026-11-25/hour=20/minute=30/characters.csv") in printed
    assert keys_in(aws, bucket) == {}


# --------------------------------------------------------------------------- slot


@pytest.mark.parametrize(
    ("now", "slot"),
    [
        (datetime(2026, 11, 25, 20, 31, 10, tzinfo=UTC), datetime(2026, 11, 25, 20, 30, tzinfo=UTC)),
        (datetime(2026, 11, 25, 20, 45, 0, tzinfo=UTC), datetime(2026, 11, 25, 20, 45, tzinfo=UTC)),
        (datetime(2026, 12, 31, 23, 59, 59, tzinfo=UTC), datetime(2026, 12, 31, 23, 45, tzinfo=UTC)),
        (
            datetime(2026, 11, 25, 21, 1, tzinfo=timezone(timedelta(hours=1))),
            datetime(2026, 11, 25, 20, 0, tzinfo=UTC),
        ),
    ],
    ids=["mid-slot", "exactly-on-a-boundary", "year-end", "other-zone"],
)
def test_default_slot_is_the_15_minute_slot_now_falls_in(now: datetime, slot: datetime) -> None:
    assert publish.default_slot(now) == slot


def test_slot_must_be_an_iso_time_with_a_zone() -> None:
    assert publish.parse_slot("2026-11-25T20:30Z") == SLOT
    with pytest.raises(publish.PublishError, match="has no time zone"):
        publish.parse_slot("2026-11-25T20:30")
    with pytest.raises(publish.PublishError, match="is not an ISO-8601 time"):
        publish.parse_slot("tomorrow")


def test_the_batch_lands_in_the_last_daily_slot_closed_when_the_landing_slot_starts() -> None:
    assert publish.batch_day(datetime(2026, 11, 25, 20, 30, tzinfo=UTC)) == datetime(2026, 11, 24, tzinfo=UTC)
    assert publish.batch_day(datetime(2026, 11, 25, 0, 0, tzinfo=UTC)) == datetime(2026, 11, 24, tzinfo=UTC)
