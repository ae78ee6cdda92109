"""What the demo reads back from (moto's) S3 to show: objects under a URI, Parquet rows per partition."""

from __future__ import annotations

import io
from typing import Any

import pyarrow.parquet as pq

from offline.runners.s3 import parse_s3_uri


def list_outputs(s3: Any, uri: str) -> list[dict[str, Any]]:
    bucket, prefix = parse_s3_uri(uri)
    pages = s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
    return [{"Bucket": bucket, **obj} for page in pages for obj in page.get("Contents", [])]


def parquet_partitions(s3: Any, output_uri: str) -> dict[str, int]:
    """Row count per partition directory of the Spark job's output (read back from S3)."""
    counts: dict[str, int] = {}
    _, prefix = parse_s3_uri(output_uri)
    for obj in list_outputs(s3, output_uri):
        if not obj["Key"].endswith(".parquet"):
            continue
        body = s3.get_object(Bucket=obj["Bucket"], Key=obj["Key"])["Body"].read()
        partition = obj["Key"][len(prefix) :].rsplit("/", 1)[0]
        counts[partition] = counts.get(partition, 0) + pq.read_metadata(io.BytesIO(body)).num_rows
    return dict(sorted(counts.items()))
