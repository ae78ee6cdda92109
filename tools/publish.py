"""Upload what the deployed pipelines need into the stack's data bucket.

    python -m tools.publish --stack-name NAME [--region R] [--slot 2026-11-25T20:30Z] [--dry-run]

Reads the bucket name from the stack's ``DataBucketName`` output (CloudFormation
``describe_stacks``), then uploads, at the keys ``transient_analytics.layout`` defines:

* the Spark job ``jobs/csv_to_parquet.py`` → ``layout.JOB_KEY``;
* its schema ``jobs/schemas/characters.json`` → ``layout.SCHEMA_KEY``;
* a generated characters CSV (``--sample-rows``, seed ``--seed``) →
  ``layout.emr_input_prefix(slot) + "characters.csv"``;
* the abalone batch ``data/abalone/batch.csv`` →
  ``layout.transform_input_prefix(<the daily slot before the slot's day>) + "abalone.csv"``;
* the training code and the labelled data dated by the slot's day (``tools.publish_training``).

No serving model: the batch transform scores with the model the training state machine promoted
(the production pointer names it; each model's artifact is its training job's output), so a
model built on this machine is never uploaded.

The slot is the 15-minute landing slot the sample lands in (by default the one now is in, UTC):
the first EMR run after it closes converts it. The batch goes into the last daily slot closed by
then, so the next daily transform run scores it.

``--dry-run`` prints the plan (source → S3 URI, bytes) and uploads nothing (it reads the stack only).

Exit codes: 0 done, 2 a clear error (no stack, no output, no credentials, upload refused).
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TextIO

import boto3
from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError, NoRegionError

from jobs import generate_characters
from tools.publish_training import training_objects
from tools.stack import StackError, read_outputs, require_output
from transient_analytics import layout  # layers/shared on PYTHONPATH, as the Makefile sets it
from transient_analytics.slots import GRIDS

REPO_ROOT = Path(__file__).resolve().parent.parent

LOG = logging.getLogger(__name__)

BUCKET_OUTPUT_KEY = "DataBucketName"
JOB_PATH = REPO_ROOT / "jobs" / "csv_to_parquet.py"
SCHEMA_PATH = REPO_ROOT / "jobs" / "schemas" / "characters.json"
BATCH_PATH = REPO_ROOT / "data" / "abalone" / "batch.csv"
SAMPLE_FILENAME = "characters.csv"
BATCH_FILENAME = "abalone.csv"
DEFAULT_SAMPLE_ROWS = 10_000
DEFAULT_SEED = 42


class PublishError(Exception):
    """A failure the user can act on; printed as one line."""


@dataclass(frozen=True)
class Upload:
    """One object to put: where it comes from, where it goes, and its bytes."""

    source: str
    key: str
    content_type: str
    body: bytes

    @property
    def size(self) -> int:
        return len(self.body)


@dataclass(frozen=True)
class Plan:
    stack_name: str
    bucket: str
    slot: datetime
    uploads: tuple[Upload, ...]

    def describe(self) -> str:
        """The plan as a table: source → s3 URI, bytes."""
        rows = [(u.source, layout.s3_uri(self.bucket, u.key), f"{u.size:,}") for u in self.uploads]
        width_source = max(len(r[0]) for r in rows)
        width_uri = max(len(r[1]) for r in rows)
        header = (
            f"stack {self.stack_name} → bucket {self.bucket}; slot {self.slot:%Y-%m-%dT%H:%MZ} "
            f"({layout.slot_path(self.slot)})"
        )
        lines = [header] + [f"  {s:<{width_source}}  →  {uri:<{width_uri}}  {size:>12} bytes" for s, uri, size in rows]
        return "\n".join(lines)


# --------------------------------------------------------------------------- slot


def default_slot(now: datetime) -> datetime:
    """The 15-minute landing slot ``now`` falls in (UTC)."""
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    return GRIDS["emr"].start_of(now)


def batch_day(slot: datetime) -> datetime:
    """The daily batch slot closed last when ``slot`` starts: the day before ``slot``'s day."""
    return GRIDS["transform"].start_of(slot) - GRIDS["transform"].length


def parse_slot(text: str) -> datetime:
    """An ISO-8601 time with a zone (``2026-11-25T20:30Z``, ``…+01:00``) as aware UTC."""
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise PublishError(f"--slot {text!r} is not an ISO-8601 time (e.g. 2026-11-25T20:30Z)") from None
    if value.tzinfo is None or value.utcoffset() is None:
        raise PublishError(f"--slot {text!r} has no time zone: add Z for UTC (e.g. 2026-11-25T20:30Z)")
    return value.astimezone(UTC)


# --------------------------------------------------------------------------- stack


def find_bucket(cloudformation: Any, stack_name: str, output_key: str = BUCKET_OUTPUT_KEY) -> str:
    """The value of the stack's ``output_key`` output; PublishError if there is no such stack/output."""
    try:
        status, outputs = read_outputs(cloudformation, stack_name)
        return require_output(stack_name, status, outputs, output_key)
    except StackError as exc:
        raise PublishError(str(exc)) from None


# --------------------------------------------------------------------------- plan


def plan_uploads(
    stack_name: str,
    bucket: str,
    slot: datetime,
    *,
    sample_rows: int = DEFAULT_SAMPLE_ROWS,
    seed: int = DEFAULT_SEED,
) -> Plan:
    """Everything to upload, with bodies read or generated."""
    for path in (JOB_PATH, SCHEMA_PATH, BATCH_PATH):
        if not path.is_file():
            raise PublishError(f"missing source file {path}")
    uploads = (
        Upload(_display(JOB_PATH), layout.JOB_KEY, "text/x-python", JOB_PATH.read_bytes()),
        Upload(_display(SCHEMA_PATH), layout.SCHEMA_KEY, "application/json", SCHEMA_PATH.read_bytes()),
        Upload(
            f"generated characters ({sample_rows:,} rows, seed {seed})",
            layout.emr_input_prefix(slot) + SAMPLE_FILENAME,
            "text/csv",
            generate_characters.generate_csv_bytes(sample_rows, seed),
        ),
        Upload(
            _display(BATCH_PATH),
            layout.transform_input_prefix(batch_day(slot)) + BATCH_FILENAME,
            "text/csv",
            BATCH_PATH.read_bytes(),
        ),
        *(Upload(*item) for item in training_objects(slot)),
    )
    return Plan(stack_name=stack_name, bucket=bucket, slot=slot, uploads=uploads)


def _display(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(REPO_ROOT))
    except ValueError:
        return str(path)


# --------------------------------------------------------------------------- execute


def execute(plan: Plan, s3: Any) -> Plan:
    """Upload every object of the plan; returns the plan."""
    for upload in plan.uploads:
        uri = layout.s3_uri(plan.bucket, upload.key)
        try:
            s3.put_object(Bucket=plan.bucket, Key=upload.key, Body=upload.body, ContentType=upload.content_type)
        except ClientError as exc:
            error = exc.response.get("Error", {})
            raise PublishError(f"upload to {uri} failed: {error.get('Code')}: {error.get('Message')}") from None
        LOG.info("uploaded %s (%d bytes)", uri, upload.size)
    return plan


def publish(
    stack_name: str,
    *,
    region: str | None = None,
    slot: datetime | None = None,
    dry_run: bool = False,
    sample_rows: int = DEFAULT_SAMPLE_ROWS,
    seed: int = DEFAULT_SEED,
    session: boto3.session.Session | None = None,
    out: TextIO | None = None,
) -> Plan:
    """Find the bucket, print the plan (to ``out``, default stdout), and (unless ``dry_run``) upload it."""
    out = out or sys.stdout
    try:
        session = session or boto3.session.Session(region_name=region)
        cloudformation = session.client("cloudformation")
        s3 = session.client("s3")
    except NoRegionError:
        raise PublishError("no AWS region: pass --region or set AWS_REGION") from None
    except BotoCoreError as exc:
        raise PublishError(f"cannot create AWS clients: {exc}") from None
    bucket = find_bucket(cloudformation, stack_name)
    plan = plan_uploads(
        stack_name,
        bucket,
        slot or default_slot(datetime.now(UTC)),
        sample_rows=sample_rows,
        seed=seed,
    )
    out.write(plan.describe() + "\n")
    if dry_run:
        out.write("dry run: nothing uploaded\n")
        return plan
    try:
        done = execute(plan, s3)
    except NoCredentialsError:
        raise PublishError("no AWS credentials found (set AWS_PROFILE or the AWS_* variables)") from None
    out.write(f"uploaded {len(done.uploads)} objects to s3://{done.bucket}/\n")
    return done


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.publish", description=__doc__.splitlines()[0])
    parser.add_argument("--stack-name", required=True, help="the deployed CloudFormation/SAM stack")
    parser.add_argument("--region", help="AWS region (default: the AWS configuration's)")
    parser.add_argument(
        "--slot", help="scheduled time the inputs are for, ISO-8601 with zone (default: next 15-minute boundary)"
    )
    parser.add_argument("--dry-run", action="store_true", help="print the plan, upload nothing")
    parser.add_argument(
        "--sample-rows", type=int, default=DEFAULT_SAMPLE_ROWS, help="rows of generated characters data"
    )
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED, help="seed of the generated characters data")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(message)s")
    if args.sample_rows < 1:
        parser.error("--sample-rows must be >= 1")
    try:
        slot = parse_slot(args.slot) if args.slot else None
        publish(
            args.stack_name,
            region=args.region,
            slot=slot,
            dry_run=args.dry_run,
            sample_rows=args.sample_rows,
            seed=args.seed,
        )
    except PublishError as exc:
        sys.stderr.write(f"publish: error: {exc}\n")
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
