"""Where things live in the data bucket: the one place that knows the S3 layout.

Every S3 key the pipelines read or write is built here, so the run plan (what the
state machines send to EMR and SageMaker), the publish command (what a user uploads)
and the offline twin all agree. Pure functions, no AWS calls.

Layout (``{slot}`` is the Hive-style path of a slot's start in UTC: ``dt=YYYY-MM-DD/hour=HH/minute=MM``
for the EMR pipeline's 15-minute slots, ``dt=YYYY-MM-DD`` for the batch transform's daily slots)::

    artifacts/jobs/csv_to_parquet.py             the PySpark job the EMR step runs
    artifacts/jobs/schemas/characters.json       its explicit input schema
    landing/characters/{slot}/*.csv              EMR pipeline input (CSV with header)
    curated/characters/{slot}/class=…/*.parquet  EMR pipeline output, one slot's partition
    curated/characters/{slot}/_manifest.json     that slot's completion manifest (written last)
    batch/abalone/input/{slot}/*.csv             transform input (CSV, no header, features only)
    batch/abalone/output/{slot}/run={run_id}/    transform output (input row + prediction)
    runs/{pipeline}/{run_id}/report.json         the Spark job's per-slot report of one run
    logs/emr/dt=…/hour=…/minute=…/               EMR cluster logs (LogUri) of a run, expired by lifecycle
    logs/emr-serverless/dt=…/hour=…/minute=…/    EMR Serverless job logs of a run, expired by lifecycle
    artifacts/training/sourcedir.tar.gz          the training job's code (model/sourcedir.py)
    training/abalone/dt=YYYY-MM-DD/*.csv         labelled training data, one folder per day it was published
    models/abalone/dt=…/run={run_id}/            a training run's output (SageMaker adds <job>/output/model.tar.gz,
                                                 output.tar.gz), and the registered evaluation.json beside them
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

from transient_analytics.slots import Pipeline, utc

JOB_KEY = "artifacts/jobs/csv_to_parquet.py"
SCHEMA_KEY = "artifacts/jobs/schemas/characters.json"
SOURCEDIR_KEY = "artifacts/training/sourcedir.tar.gz"
TRAINING_ROOT = "training/abalone"
MODELS_ROOT = "models/abalone"

EMR_INPUT_ROOT = "landing/characters"
EMR_OUTPUT_ROOT = "curated/characters"
EMR_LOG_ROOT = "logs/emr"
EMR_SERVERLESS_LOG_ROOT = "logs/emr-serverless"
TRANSFORM_INPUT_ROOT = "batch/abalone/input"
TRANSFORM_OUTPUT_ROOT = "batch/abalone/output"
RUNS_ROOT = "runs"
MANIFEST_NAME = "_manifest.json"
INPUT_ROOTS: dict[Pipeline, str] = {"emr": EMR_INPUT_ROOT, "transform": TRANSFORM_INPUT_ROOT}
_SLOT_IN_KEY = re.compile(r"^dt=(\d{4}-\d{2}-\d{2})/(?:hour=(\d{2})/minute=(\d{2})/)?(.+)$")

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


def split_s3_uri(uri: str) -> tuple[str, str]:
    """``s3://bucket/key`` → ``(bucket, key)``; anything else is a ValueError naming the value."""
    if not uri.startswith("s3://"):
        raise ValueError(f"not an s3:// URI: {uri!r}")
    bucket, _, key = uri[5:].partition("/")
    return bucket, key


def day_path(start: datetime) -> str:
    """``dt=2026-11-25``: the path of a daily slot (the batch transform's)."""
    return f"dt={utc(start):%Y-%m-%d}"


def emr_input_prefix(slot_start: datetime) -> str:
    return f"{EMR_INPUT_ROOT}/{slot_path(slot_start)}/"


def emr_output_prefix(slot_start: datetime) -> str:
    return f"{EMR_OUTPUT_ROOT}/{slot_path(slot_start)}/"


def manifest_key(slot_start: datetime) -> str:
    """The completion manifest of an EMR slot, beside its output (``_`` keeps readers off it)."""
    return emr_output_prefix(slot_start) + MANIFEST_NAME


def emr_log_prefix(scheduled_time: datetime) -> str:
    return f"{EMR_LOG_ROOT}/{slot_path(scheduled_time)}/"


def serverless_log_prefix(scheduled_time: datetime) -> str:
    """Where EMR Serverless writes a run's driver and executor logs (``S3MonitoringConfiguration.LogUri``)."""
    return f"{EMR_SERVERLESS_LOG_ROOT}/{slot_path(scheduled_time)}/"


def transform_input_prefix(slot_start: datetime) -> str:
    return f"{TRANSFORM_INPUT_ROOT}/{day_path(slot_start)}/"


def transform_output_prefix(slot_start: datetime, run_id: str) -> str:
    return f"{TRANSFORM_OUTPUT_ROOT}/{day_path(slot_start)}/run={run_id}/"


def run_report_key(pipeline: Pipeline, run_id: str) -> str:
    return f"{RUNS_ROOT}/{pipeline}/{run_id}/report.json"


def input_prefix(pipeline: Pipeline, slot_start: datetime) -> str:
    return emr_input_prefix(slot_start) if pipeline == "emr" else transform_input_prefix(slot_start)


def input_day_prefix(pipeline: Pipeline, day: datetime) -> str:
    """Where one UTC day's landing objects of ``pipeline`` are: one ``ListObjectsV2`` lists them all."""
    return f"{INPUT_ROOTS[pipeline]}/{day_path(day)}/"


def slot_of_key(pipeline: Pipeline, key: str) -> datetime | None:
    """The start of the slot a landing object belongs to, or None for a key outside the layout.

    Objects whose file name starts with ``_`` or ``.`` (markers, temporary files: Spark's rule)
    and folder placeholders belong to no slot.
    """
    root = INPUT_ROOTS[pipeline] + "/"
    if not key.startswith(root):
        return None
    match = _SLOT_IN_KEY.match(key[len(root) :])
    if not match:
        return None
    day, hour, minute, rest = match.groups()
    name = rest.rsplit("/", 1)[-1]
    if not name or name.startswith(("_", ".")):
        return None
    if (pipeline == "emr") != (hour is not None):
        return None
    try:
        return datetime.strptime(f"{day} {hour or '00'}:{minute or '00'}", "%Y-%m-%d %H:%M").replace(tzinfo=UTC)
    except ValueError:
        return None


def training_day_prefix(day: datetime) -> str:
    """``training/abalone/dt=2026-11-25/``: the labelled data published that day."""
    return f"{TRAINING_ROOT}/{day_path(day)}/"


def training_day_of_key(key: str) -> datetime | None:
    """The day of a training data object (``training/abalone/dt=…/<file>``), or None outside the layout."""
    root = TRAINING_ROOT + "/"
    if not key.startswith(root):
        return None
    match = _SLOT_IN_KEY.match(key[len(root) :])
    if not match or match.group(2) is not None:
        return None
    name = match.group(4).rsplit("/", 1)[-1]
    if not name or name.startswith(("_", ".")):
        return None
    try:
        return datetime.strptime(match.group(1), "%Y-%m-%d").replace(tzinfo=UTC)
    except ValueError:
        return None


def training_output_prefix(day: datetime, run_id: str) -> str:
    """Where a training run's jobs write (``OutputDataConfig.S3OutputPath``), dated by its data's day."""
    return f"{MODELS_ROOT}/{day_path(day)}/run={run_id}/"


def training_job_output_uri(output_uri: str, job_name: str, name: str) -> str:
    """``<S3OutputPath>/<job name>/output/<name>``: where SageMaker puts model.tar.gz and output.tar.gz."""
    return f"{output_uri.rstrip('/')}/{job_name}/output/{name}"


def evaluation_uri(output_uri: str, job_name: str) -> str:
    """The registered evaluation of a training job, beside its output (the model package's metrics)."""
    return f"{output_uri.rstrip('/')}/{job_name}/evaluation.json"
