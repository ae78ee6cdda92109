"""Names the pipelines give to AWS resources, and the limits those names must respect.

SageMaker transform-job names must match ``^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}`` and be
unique per account and region, for ever (a name is never reusable, even after the job
ends). A Step Functions ``Retry`` re-sends the same parameters and a redrive re-runs the
same state, so the name carries the state's retry count and the execution's redrive
count. The state machine appends those two numbers to the run's prefix with
``States.Format('{}-{}-{}', prefix, $$.State.RetryCount, $$.Execution.RedriveCount)``;
:func:`transform_job_name` is that same formula, and :data:`JOB_NAME_SUFFIX_MAX` is the
room the prefix leaves for it.
"""

from __future__ import annotations

import hashlib
import re
from datetime import UTC, datetime

#: SageMaker's rule for transform-job names (CreateTransformJob, TransformJobName).
SAGEMAKER_JOB_NAME_PATTERN = re.compile(r"^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$")
SAGEMAKER_JOB_NAME_MAX = 63

#: Retry attempts the state machine may declare on a state (MaxAttempts is at most 99 here).
MAX_RETRY_COUNT = 99
#: Step Functions lets an execution be redriven at most 1,000 times.
MAX_REDRIVE_COUNT = 1000
#: ``-{retry}-{redrive}`` at its longest: ``-99-1000``.
JOB_NAME_SUFFIX_MAX = len(f"-{MAX_RETRY_COUNT}-{MAX_REDRIVE_COUNT}")
#: ``-{yyyymmddhhmm}-{hash8}``: the per-run part of every prefix.
_RUN_PART_LEN = len("-202611252015-0123abcd")
#: The longest base name a prefix can start with.
JOB_BASE_NAME_MAX = SAGEMAKER_JOB_NAME_MAX - JOB_NAME_SUFFIX_MAX - _RUN_PART_LEN

#: EMR cluster names may be 256 characters long.
EMR_CLUSTER_NAME_MAX = 256

_NOT_NAME_CHARS = re.compile(r"[^a-z0-9]+")


def execution_digest(execution_arn: str, length: int = 8) -> str:
    """A short, stable, lower-case hex digest of an execution ARN (unique per execution)."""
    if not execution_arn:
        raise ValueError("execution_arn must not be empty")
    return hashlib.sha256(execution_arn.encode("utf-8")).hexdigest()[:length]


def sanitize_base_name(base: str, max_length: int) -> str:
    """Lower-case ``base`` and keep only letters, digits and single hyphens, within ``max_length``.

    Lower case because SageMaker ARNs spell job names in lower case, and IAM policies
    scope the state machine's SageMaker permissions to ``transform-job/<base>*``.
    """
    cleaned = _NOT_NAME_CHARS.sub("-", base.lower()).strip("-")
    cleaned = cleaned[:max_length].rstrip("-")
    if not cleaned:
        raise ValueError(f"base name {base!r} has no letters or digits")
    return cleaned


def run_id(scheduled_time: datetime, execution_arn: str) -> str:
    """``20261125T2015Z-1a2b3c4d``: the run's scheduled minute (UTC) and its execution."""
    t = _utc(scheduled_time)
    return f"{t:%Y%m%dT%H%M}Z-{execution_digest(execution_arn)}"


def cluster_name(base: str, pipeline: str, scheduled_time: datetime, execution_arn: str) -> str:
    """``<base>-<pipeline>-<run id>``: readable in the EMR console, unique per execution."""
    name = f"{sanitize_base_name(base, 128)}-{pipeline}-{run_id(scheduled_time, execution_arn)}"
    return name[:EMR_CLUSTER_NAME_MAX]


def transform_job_name_prefix(base: str, scheduled_time: datetime, execution_arn: str) -> str:
    """The run's job-name prefix: ``<base>-<yyyymmddhhmm>-<hash8>``, at most 55 characters.

    The state machine appends ``-<retry>-<redrive>`` (:func:`transform_job_name`).
    """
    t = _utc(scheduled_time)
    prefix = f"{sanitize_base_name(base, JOB_BASE_NAME_MAX)}-{t:%Y%m%d%H%M}-{execution_digest(execution_arn)}"
    assert len(prefix) <= SAGEMAKER_JOB_NAME_MAX - JOB_NAME_SUFFIX_MAX
    return prefix


#: The longest model base name: ``<base>-train`` must fit :data:`JOB_BASE_NAME_MAX` (training jobs).
MODEL_BASE_NAME_MAX = JOB_BASE_NAME_MAX - len("-train")


def training_job_name_prefix(model_base: str, scheduled_time: datetime, execution_arn: str) -> str:
    """``<model base>-train-<yyyymmddhhmm>-<hash8>``: training jobs follow the transform jobs' rule and length."""
    return transform_job_name_prefix(
        f"{sanitize_base_name(model_base, MODEL_BASE_NAME_MAX)}-train", scheduled_time, execution_arn
    )


def model_name(model_base: str, version: int, model_package_arn: str) -> str:
    """``<model base>-v<version>-<hash8 of the package ARN>``: the SageMaker model a package is promoted under.

    One name per package (a retried promotion finds its model again); the digest keeps two stacks
    sharing a base name apart (their packages live in different groups).
    """
    if version < 1:
        raise ValueError(f"version must be at least 1, got {version}")
    name = f"{sanitize_base_name(model_base, MODEL_BASE_NAME_MAX)}-v{version}-{execution_digest(model_package_arn)}"
    if not is_valid_transform_job_name(name):
        raise ValueError(f"{name!r} breaks SageMaker's name rule {SAGEMAKER_JOB_NAME_PATTERN.pattern}")
    return name


def transform_job_name(prefix: str, retry_count: int, redrive_count: int) -> str:
    """The job name the state machine builds: ``States.Format('{}-{}-{}', prefix, retry, redrive)``."""
    if not 0 <= retry_count <= MAX_RETRY_COUNT:
        raise ValueError(f"retry_count must be between 0 and {MAX_RETRY_COUNT}, got {retry_count}")
    if not 0 <= redrive_count <= MAX_REDRIVE_COUNT:
        raise ValueError(f"redrive_count must be between 0 and {MAX_REDRIVE_COUNT}, got {redrive_count}")
    name = f"{prefix}-{retry_count}-{redrive_count}"
    if not is_valid_transform_job_name(name):
        raise ValueError(f"{name!r} breaks SageMaker's job-name rule {SAGEMAKER_JOB_NAME_PATTERN.pattern}")
    return name


def is_valid_transform_job_name(name: str) -> bool:
    return len(name) <= SAGEMAKER_JOB_NAME_MAX and SAGEMAKER_JOB_NAME_PATTERN.fullmatch(name) is not None


def _utc(t: datetime) -> datetime:
    if t.tzinfo is None or t.utcoffset() is None:
        raise ValueError("scheduled_time must be timezone-aware")
    return t.astimezone(UTC)
