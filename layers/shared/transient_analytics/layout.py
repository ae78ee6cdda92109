"""Where things live in the data bucket: the one place that knows the S3 layout.

Every S3 key the pipelines read or write is built here, so the run plan (what the
state machines send to EMR and SageMaker), the publish command (what a user uploads)
and the offline twin all agree. Pure functions, no AWS calls.

Layout (``{slot}`` is the Hive-style ``dt=YYYY-MM-DD/hour=HH/minute=MM`` of a run's
scheduled time in UTC)::

    artifacts/jobs/csv_to_parquet.py             the PySpark job the EMR step runs
    artifacts/jobs/schemas/characters.json       its explicit input schema
    artifacts/models/abalone/model.tar.gz        the SageMaker scikit-learn model artifact
    landing/characters/{slot}/*.csv              EMR pipeline input (CSV with header)
    curated/characters/{slot}/class=…/*.parquet  EMR pipeline output
    batch/abalone/input/{slot}/*.csv             transform input (CSV, no header, features only)
    batch/abalone/output/{slot}/run={run_id}/    transform output (input row + prediction)
    logs/emr/{slot}/                             EMR cluster logs (LogUri), expired by lifecycle
"""

from __future__ import annotations

from datetime import UTC, datetime

JOB_KEY = "artifacts/jobs/csv_to_parquet.py"
SCHEMA_KEY = "artifacts/jobs/schemas/characters.json"
MODEL_KEY = "artifacts/models/abalone/model.tar.gz"

EMR_INPUT_ROOT = "landing/characters"
EMR_OUTPUT_ROOT = "curated/characters"
EMR_LOG_ROOT = "logs/emr"
TRANSFORM_INPUT_ROOT = "batch/abalone/input"
TRANSFORM_OUTPUT_ROOT = "batch/abalone/output"

#: The column the sample EMR job partitions its Parquet output by.
DEFAULT_PARTITION_COLUMN = "class"


def slot_path(scheduled_time: datetime) -> str:
    """Hive-style partition path of a run's slot: ``dt=2026-11-25/hour=20/minute=15``.

    The time is converted to UTC and truncated to the minute; a naive datetime is
    rejected because its meaning depends on the machine it runs on.
    """
    if scheduled_time.tzinfo is None or scheduled_time.utcoffset() is None:
        raise ValueError("scheduled_time must be timezone-aware")
    t = scheduled_time.astimezone(UTC)
    return f"dt={t:%Y-%m-%d}/hour={t:%H}/minute={t:%M}"


def s3_uri(bucket: str, key: str) -> str:
    """``s3://bucket/key`` with exactly one slash between the parts."""
    return f"s3://{bucket}/{key.lstrip('/')}"


def emr_input_prefix(scheduled_time: datetime) -> str:
    return f"{EMR_INPUT_ROOT}/{slot_path(scheduled_time)}/"


def emr_output_prefix(scheduled_time: datetime) -> str:
    return f"{EMR_OUTPUT_ROOT}/{slot_path(scheduled_time)}/"


def emr_log_prefix(scheduled_time: datetime) -> str:
    return f"{EMR_LOG_ROOT}/{slot_path(scheduled_time)}/"


def transform_input_prefix(scheduled_time: datetime) -> str:
    return f"{TRANSFORM_INPUT_ROOT}/{slot_path(scheduled_time)}/"


def transform_output_prefix(scheduled_time: datetime, run_id: str) -> str:
    return f"{TRANSFORM_OUTPUT_ROOT}/{slot_path(scheduled_time)}/run={run_id}/"
