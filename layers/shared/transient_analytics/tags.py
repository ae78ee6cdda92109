"""The tags the pipelines put on what they start: their keys, and values every AWS service will accept.

SageMaker's ``TagValue`` pattern is ``^([\\p{L}\\p{Z}\\p{N}_.:/=+\\-@]*)$`` (at most 256
characters) and EMR documents the same character set for cluster tags (letters and numbers
of any language, white space and separators, ``_ . : / = + - @``). ``StartExecution`` accepts
execution names those rules forbid: ``(``, ``)``, ``!``, ``'``, emoji, … so an execution ARN
used as a tag value as is makes ``RunJobFlow`` and ``CreateTransformJob`` fail for such a run.

:func:`tag_safe` keeps a value that is already valid unchanged (every scheduled and typical
manual run: the tag still reads as the execution ARN), and otherwise replaces each forbidden
character by ``_`` and appends ``/`` and 16 hex digits of the SHA-256 of the *original* value,
so two different values that differ only in forbidden characters still get different tags.
An execution ARN never contains ``/`` (execution and state machine names may not), so a
rewritten ARN can never equal an unchanged one. Tag writers (the run plan) and tag readers
(the notifier's cluster cleanup) both call :func:`execution_tag_value`, so they agree.
"""

from __future__ import annotations

import hashlib
import unicodedata

from pydantic import BaseModel

#: Tag keys put on every EMR cluster, EMR Serverless job run and SageMaker job a run starts.
TAG_EXECUTION = "transient-analytics:execution"
TAG_RUN_ID = "transient-analytics:run-id"
TAG_PIPELINE = "transient-analytics:pipeline"
TAG_STACK = "transient-analytics:stack"
#: The SageMaker model a transform job scored with (which model scored which day).
TAG_MODEL = "transient-analytics:model"
#: AmazonEMRServicePolicy_v2 (the EMR service role's policy) acts only on resources carrying this
#: tag: a cluster must be created with it, and EMR propagates it to what it creates for the cluster.
TAG_EMR_MANAGED_POLICIES = "for-use-with-amazon-emr-managed-policies"

#: Longest tag value SageMaker and EMR accept.
TAG_VALUE_MAX = 256
#: Symbols allowed besides letters (L*), numbers (N*) and separators (Z*).
TAG_SYMBOLS = frozenset("_.:/=+-@")
#: Replaces every character a tag value may not hold.
REPLACEMENT = "_"
#: Hex digits of the SHA-256 appended to a rewritten value (64 bits).
DIGEST_CHARS = 16


class Tag(BaseModel):
    """One tag as EMR's and SageMaker's requests take it."""

    Key: str
    Value: str


def is_tag_char(ch: str) -> bool:
    """Whether ``ch`` is in ``[\\p{L}\\p{Z}\\p{N}_.:/=+\\-@]``."""
    return ch in TAG_SYMBOLS or unicodedata.category(ch)[0] in "LNZ"


def is_tag_safe(value: str) -> bool:
    """Whether SageMaker's TagValue pattern and EMR's tag rules accept ``value`` as it is."""
    return len(value) <= TAG_VALUE_MAX and all(is_tag_char(ch) for ch in value)


def tag_safe(value: str) -> str:
    """``value`` if it is a valid tag value, else a valid, distinct stand-in for it (see the module)."""
    if is_tag_safe(value):
        return value
    digest = hashlib.sha256(value.encode("utf-8", "surrogatepass")).hexdigest()[:DIGEST_CHARS]
    cleaned = "".join(ch if is_tag_char(ch) else REPLACEMENT for ch in value)
    return f"{cleaned[: TAG_VALUE_MAX - DIGEST_CHARS - 1]}/{digest}"


def execution_tag_value(execution_arn: str) -> str:
    """The value of the ``transient-analytics:execution`` tag of what the execution starts."""
    if not execution_arn:
        raise ValueError("execution_arn must not be empty")
    return tag_safe(execution_arn)


#: EMR Serverless's StartJobRun ``TagValue``: ASCII only (botocore ``emr-serverless`` model).
ASCII_TAG_SYMBOLS = frozenset(" _.:/=+-@")


def ascii_tag_safe(value: str) -> str:
    """``value`` if EMR Serverless accepts it as a tag value (``[A-Za-z0-9 /_.:=+@-]*``), else a stand-in.

    The same construction as :func:`tag_safe`, ASCII only: a job run's execution tag reads as the
    execution ARN whenever the ARN is plain ASCII, and is distinct for names that are not.
    """
    if len(value) <= TAG_VALUE_MAX and all((ch.isascii() and ch.isalnum()) or ch in ASCII_TAG_SYMBOLS for ch in value):
        return value
    digest = hashlib.sha256(value.encode("utf-8", "surrogatepass")).hexdigest()[:DIGEST_CHARS]
    cleaned = "".join(ch if (ch.isascii() and ch.isalnum()) or ch in ASCII_TAG_SYMBOLS else REPLACEMENT for ch in value)
    return f"{cleaned[: TAG_VALUE_MAX - DIGEST_CHARS - 1]}/{digest}"
