"""The S3 adapter planning and recording use: pages of ListObjectsV2, small JSON documents, counted calls."""

from __future__ import annotations

import io
from typing import Any

import pytest
from botocore.exceptions import ClientError

from transient_analytics.aws import Objects
from transient_analytics.slots import ObjectRef


class PagedS3:
    """ListObjectsV2 as S3 pages it (continuation tokens), and GetObject from a dict."""

    def __init__(self, keys: list[str], page_size: int, documents: dict[str, bytes] | None = None) -> None:
        self.keys, self.page_size, self.documents = keys, page_size, documents or {}
        self.requests: list[dict[str, Any]] = []

    def list_objects_v2(self, **kwargs: Any) -> dict[str, Any]:
        self.requests.append(kwargs)
        matching = [k for k in self.keys if k.startswith(kwargs["Prefix"])]
        start = int(kwargs.get("ContinuationToken", 0))
        page = matching[start : start + self.page_size]
        more = start + self.page_size < len(matching)
        out: dict[str, Any] = {"IsTruncated": more, "KeyCount": len(page)}
        if page:
            out["Contents"] = [{"Key": k, "ETag": f'"{i}"', "Size": 10} for i, k in enumerate(page, start)]
        if more:
            out["NextContinuationToken"] = str(start + self.page_size)
        return out

    def get_object(self, Bucket: str, Key: str) -> dict[str, Any]:  # noqa: N803 - boto3's names
        if Key == "denied":
            raise ClientError({"Error": {"Code": "AccessDenied", "Message": "Access Denied"}}, "GetObject")
        if Key not in self.documents:
            raise ClientError({"Error": {"Code": "NoSuchKey", "Message": "none"}}, "GetObject")
        return {"Body": io.BytesIO(self.documents[Key])}


def test_a_listing_follows_every_page_and_counts_each():
    keys = [f"landing/characters/dt=2026-11-25/hour=20/minute=00/part-{i:04d}.csv" for i in range(2500)]
    s3 = PagedS3(keys + ["landing/characters/dt=2026-11-26/x.csv"], page_size=1000)
    objects = Objects(s3)
    refs = objects.list_prefix("b", "landing/characters/dt=2026-11-25/")
    assert [r.key for r in refs] == keys
    assert refs[0] == ObjectRef(key=keys[0], etag='"0"', size=10)
    assert objects.calls == {"ListObjectsV2": 3}
    assert [r.get("ContinuationToken") for r in s3.requests] == [None, "1000", "2000"]


def test_an_empty_prefix_costs_one_call():
    objects = Objects(PagedS3([], page_size=1000))
    assert objects.list_prefix("b", "landing/characters/dt=2026-11-25/") == []
    assert objects.calls == {"ListObjectsV2": 1}


def test_read_json_gives_the_document_or_none_when_missing_or_not_json():
    objects = Objects(PagedS3([], 1, {"runs/ok.json": b'{"a": 1}', "runs/bad.json": b"{not json"}))
    assert objects.read_json("s3://b/runs/ok.json") == {"a": 1}
    assert objects.read_json("s3://b/runs/bad.json") is None
    assert objects.read_json("s3://b/runs/missing.json") is None
    assert objects.calls == {"GetObject": 3}


def test_read_json_lets_other_errors_through_and_refuses_a_non_s3_uri():
    objects = Objects(PagedS3([], 1))
    with pytest.raises(ClientError, match="AccessDenied"):
        objects.read_json("s3://b/denied")
    with pytest.raises(ValueError, match="not an s3:// URI"):
        objects.read_json("https://b/runs/ok.json")
