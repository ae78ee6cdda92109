"""The S3 operations every runner and the demo share: parse a URI, list, fetch and mirror a prefix."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

_S3_URI = re.compile(r"^s3://([^/]+)/?(.*)$")


def parse_s3_uri(uri: str) -> tuple[str, str]:
    """``s3://bucket/key`` → (bucket, key); ValueError for anything else."""
    match = _S3_URI.match(uri)
    if not match:
        raise ValueError(f"not an s3:// URI: {uri!r}")
    return match.group(1), match.group(2)


def as_prefix(key: str) -> str:
    """A key read as a folder: ``a/b`` → ``a/b/`` (the empty key stays the bucket's root)."""
    return key if not key or key.endswith("/") else key + "/"


def list_keys(s3: Any, bucket: str, prefix: str) -> list[str]:
    """Every object key under ``prefix``, sorted (folder markers left out)."""
    pages = s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
    return sorted(obj["Key"] for page in pages for obj in page.get("Contents", []) if not obj["Key"].endswith("/"))


def object_exists(s3: Any, bucket: str, key: str) -> bool:
    if not key or key.endswith("/"):
        return False
    try:
        s3.head_object(Bucket=bucket, Key=key)
        return True
    except Exception:
        return False


def download_prefix(s3: Any, bucket: str, prefix: str, target: Path) -> int:
    """Copy every object under ``prefix`` below ``target`` (relative paths kept); how many were copied."""
    count = 0
    for key in list_keys(s3, bucket, prefix):
        relative = key[len(prefix) :].lstrip("/")
        if not relative:
            continue
        path = target / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        s3.download_file(bucket, key, str(path))
        count += 1
    return count
