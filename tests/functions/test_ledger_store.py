"""The DynamoDB adapter of the slot ledger against moto, on the table template.yaml declares."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import boto3
import pytest
from botocore.exceptions import ClientError

from tests.support import create_ledger_table
from transient_analytics.ledger import transitions
from transient_analytics.ledger.records import SlotCounts, SlotRecord
from transient_analytics.ledger.store import SlotLedger, from_item, to_item
from transient_analytics.slots import GRIDS, Fingerprint, slot_id

NOW = datetime(2026, 11, 25, 20, 16, tzinfo=UTC)
FP = Fingerprint("a" * 32, 1, 10)


@pytest.fixture
def store(aws: None) -> SlotLedger:
    client = boto3.client("dynamodb")
    create_ledger_table(client, "ledger")
    return SlotLedger(client, "ledger")


def running(slot: str, pipeline: str = "emr") -> SlotRecord:
    return transitions.claim(
        None, pipeline=pipeline, slot=slot, observed=FP, holder="h", run_id="r", now=NOW, lease=timedelta(hours=1)
    )


def test_an_item_round_trips_and_only_open_records_carry_the_index_key():
    r = running("2026-11-25T20:00Z")
    assert from_item(to_item(r)) == r
    assert to_item(r)["open_pipeline"] == {"S": "emr"}
    done = transitions.complete(r, holder="h", counts=SlotCounts(rows_written=3), now=NOW, retention=timedelta(days=1))
    item = to_item(done)
    assert "open_pipeline" not in item and "holder" not in item  # None is left out, not stored as NULL
    assert item["expires_at"] == {"N": str(done.expires_at)}
    assert from_item(item) == done


def test_a_write_succeeds_only_on_the_expected_version(store):
    r = running("2026-11-25T20:00Z")
    assert store.write(r, None) is True
    assert store.write(r, None) is False  # a record exists already
    nxt = transitions.fail(r, holder="h", error="e", now=NOW, max_attempts=3)
    assert store.write(nxt, 2) is False
    assert store.write(nxt, 1) is True
    assert store.get_many("emr", [r.slot])[r.slot] == nxt


def test_other_write_errors_propagate(aws):
    lost = SlotLedger(boto3.client("dynamodb"), "no-such-table")
    with pytest.raises(ClientError, match="ResourceNotFoundException"):
        lost.write(running("2026-11-25T20:00Z"), None)


def test_the_window_is_inclusive_and_per_pipeline(store):
    for s in ("2026-11-25T19:45Z", "2026-11-25T20:00Z", "2026-11-25T20:15Z"):
        store.write(running(s), None)
    store.write(running("2026-11-25T20:00Z", "transform"), None)
    assert sorted(store.window("emr", "2026-11-25T19:45Z", "2026-11-25T20:00Z")) == [
        "2026-11-25T19:45Z",
        "2026-11-25T20:00Z",
    ]
    assert list(store.window("transform", "2026-11-25T00:00Z", "2026-11-26T00:00Z")) == ["2026-11-25T20:00Z"]


def test_the_open_index_holds_open_records_only_however_old(store):
    old = running("2026-10-01T00:00Z")
    store.write(old, None)
    r = running("2026-11-25T20:00Z")
    store.write(r, None)
    store.write(transitions.complete(r, holder="h", counts=SlotCounts(), now=NOW, retention=timedelta(days=1)), 1)
    store.write(running("2026-11-25T20:00Z", "transform"), None)
    assert list(store.open("emr")) == ["2026-10-01T00:00Z"]
    assert store.calls == {"PutItem": 4, "Query": 1}


def test_get_many_reads_more_than_a_hundred_slots_in_batches_and_skips_missing_ones(store):
    starts = GRIDS["emr"].between(NOW - timedelta(hours=36), NOW)
    ids = [slot_id(s) for s in starts]
    assert len(ids) > 100
    for s in ids[:120]:
        store.write(running(s), None)
    found = store.get_many("emr", ids)
    assert sorted(found) == ids[:120]
    assert store.calls["BatchGetItem"] == 2


class PagedClient:
    """The DynamoDB client with Query pages of 25 items (a real page ends at 1 MB)."""

    def __init__(self, client) -> None:
        self._client = client

    def query(self, **kwargs):
        return self._client.query(Limit=25, **kwargs)

    def __getattr__(self, name):
        return getattr(self._client, name)


def test_a_window_and_the_open_index_longer_than_a_query_page_are_read_whole(aws):
    client = boto3.client("dynamodb")
    create_ledger_table(client, "paged")
    store = SlotLedger(PagedClient(client), "paged")
    starts = [slot_id(s) for s in GRIDS["emr"].between(NOW - timedelta(hours=30), NOW)][:120]
    for s in starts:
        store.write(running(s), None)
    assert sorted(store.window("emr", starts[0], starts[-1])) == starts
    assert store.calls["Query"] == 5
    assert sorted(store.open("emr")) == starts
    assert store.calls["Query"] == 10
