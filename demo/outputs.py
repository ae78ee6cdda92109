"""What the demo reads back from (moto's) S3 to show: Parquet rows per partition of a slot's output."""

from __future__ import annotations

import io
from typing import Any

import pyarrow.parquet as pq

from offline.runners.s3 import list_keys, parse_s3_uri


def parquet_partitions(s3: Any, output_uri: str) -> dict[str, int]:
    """Row count per partition directory of the Spark job's output (from the Parquet footers)."""
    bucket, prefix = parse_s3_uri(output_uri)
    counts: dict[str, int] = {}
    for key in list_keys(s3, bucket, prefix):
        if key.endswith(".parquet"):
            body = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
            partition = key[len(prefix) :].rsplit("/", 1)[0]
            counts[partition] = counts.get(partition, 0) + pq.read_metadata(io.BytesIO(body)).num_rows
    return dict(sorted(counts.items()))
