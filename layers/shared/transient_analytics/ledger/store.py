"""The slot ledger in DynamoDB: reads, and conditional writes of the records ``transitions`` computes.

Table: partition key ``pipeline`` (S), sort key ``slot`` (S). Two sparse global secondary indexes:
``open-slots`` (partition key ``open_pipeline``, sort key ``slot``) holds only the records that
still have work or need a person (``open_pipeline`` is set for the open states and removed for
``done``), so one query finds every pending, failed, running or quarantined slot however old;
``held-by`` (partition key ``holder``, sort key ``slot``) holds only the running records (only they
have a holder), so one query finds every slot an execution holds, whatever its plan said.
Index reads are eventually consistent; every write re-checks the version it read.

No rules live here: a write succeeds only if the stored version is the one the transition read.
A write whose response was lost (a time-out after DynamoDB applied it) and whose SDK retry then
failed its own condition is recognised by reading the record back: if the stored item carries this
write's own token, it took effect (:meth:`SlotLedger.write`).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from decimal import Decimal
from typing import Any

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer
from botocore.exceptions import ClientError

from transient_analytics.ledger.records import SlotRecord
from transient_analytics.slots import Pipeline

OPEN_INDEX = "open-slots"
HELD_INDEX = "held-by"
#: Attribute carrying the token of the write that stored the item (not part of the record).
WRITE_TOKEN = "write_token"
_SERIALIZER = TypeSerializer()
_DESERIALIZER = TypeDeserializer()


def to_item(record: SlotRecord) -> dict[str, Any]:
    data = record.model_dump(mode="json", exclude_none=True)
    if record.is_open:
        data["open_pipeline"] = record.pipeline
    return {k: _SERIALIZER.serialize(v) for k, v in data.items()}


def _plain(value: Any) -> Any:
    """DynamoDB numbers (``Decimal``) back to ints, at any depth (maps of counts included)."""
    if isinstance(value, Decimal):
        return int(value)
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def from_item(item: dict[str, Any]) -> SlotRecord:
    return SlotRecord.model_validate({k: _plain(_DESERIALIZER.deserialize(v)) for k, v in item.items()})


class SlotLedger:
    """One pipeline family's ledger table."""

    def __init__(self, client: Any, table_name: str) -> None:
        self._ddb = client
        self._table = table_name
        #: Calls made, by operation (the note reports them per run).
        self.calls: dict[str, int] = {}

    def _count(self, op: str) -> None:
        self.calls[op] = self.calls.get(op, 0) + 1

    def _query(self, **kwargs: Any) -> Iterable[SlotRecord]:
        start: dict[str, Any] | None = None
        while True:
            self._count("Query")
            page = self._ddb.query(TableName=self._table, **kwargs, **({"ExclusiveStartKey": start} if start else {}))
            yield from (from_item(i) for i in page.get("Items", []))
            start = page.get("LastEvaluatedKey")
            if not start:
                return

    def window(self, pipeline: Pipeline, first_slot: str, last_slot: str) -> dict[str, SlotRecord]:
        """Every record of ``pipeline`` from ``first_slot`` to ``last_slot`` (inclusive), read consistently."""
        records = self._query(
            KeyConditionExpression="pipeline = :p AND slot BETWEEN :a AND :b",
            ExpressionAttributeValues={":p": {"S": pipeline}, ":a": {"S": first_slot}, ":b": {"S": last_slot}},
            ConsistentRead=True,
        )
        return {r.slot: r for r in records}

    def open(self, pipeline: Pipeline) -> dict[str, SlotRecord]:
        """Every record of ``pipeline`` in an open state (eventually consistent: a write re-checks)."""
        records = self._query(
            IndexName=OPEN_INDEX,
            KeyConditionExpression="open_pipeline = :p",
            ExpressionAttributeValues={":p": {"S": pipeline}},
        )
        return {r.slot: r for r in records}

    def held_by(self, holder: str) -> dict[str, SlotRecord]:
        """Every record ``holder`` (an execution ARN) holds, from the ``held-by`` index (eventually consistent)."""
        records = self._query(
            IndexName=HELD_INDEX,
            KeyConditionExpression="holder = :h",
            ExpressionAttributeValues={":h": {"S": holder}},
        )
        return {r.slot: r for r in records}

    def get(self, pipeline: Pipeline, slot: str) -> SlotRecord | None:
        """The record of one slot, read consistently (None when there is none)."""
        self._count("GetItem")
        response = self._ddb.get_item(
            TableName=self._table, Key={"pipeline": {"S": pipeline}, "slot": {"S": slot}}, ConsistentRead=True
        )
        return from_item(response["Item"]) if "Item" in response else None

    def get_many(self, pipeline: Pipeline, slots: list[str]) -> dict[str, SlotRecord]:
        """The current records of ``slots`` (consistent reads, 100 keys per call)."""
        found: dict[str, SlotRecord] = {}
        for i in range(0, len(slots), 100):
            keys: list[dict[str, Any]] = [{"pipeline": {"S": pipeline}, "slot": {"S": s}} for s in slots[i : i + 100]]
            while keys:
                self._count("BatchGetItem")
                response = self._ddb.batch_get_item(RequestItems={self._table: {"Keys": keys, "ConsistentRead": True}})
                for item in response.get("Responses", {}).get(self._table, []):
                    record = from_item(item)
                    found[record.slot] = record
                keys = response.get("UnprocessedKeys", {}).get(self._table, {}).get("Keys", [])
        return found

    def write(self, new: SlotRecord, expected_version: int | None) -> bool:
        """Store ``new`` if the stored record is still at ``expected_version`` (None: no record yet).

        Returns False when another writer got there first; True when this write took effect, also
        when its first attempt did and the SDK's retry then failed the condition (the record read
        back carries this write's token). Any other error propagates.
        """
        if expected_version is None:
            condition: dict[str, Any] = {"ConditionExpression": "attribute_not_exists(slot)"}
        else:
            condition = {
                "ConditionExpression": "version = :v",
                "ExpressionAttributeValues": {":v": {"N": str(expected_version)}},
            }
        token = uuid.uuid4().hex  # this write's own mark: an identical record from another writer is not it
        self._count("PutItem")
        try:
            self._ddb.put_item(TableName=self._table, Item={**to_item(new), WRITE_TOKEN: {"S": token}}, **condition)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
                return self._stored_token(new.pipeline, new.slot) == token
            raise
        return True

    def _stored_token(self, pipeline: Pipeline, slot: str) -> str | None:
        self._count("GetItem")
        item = self._ddb.get_item(
            TableName=self._table, Key={"pipeline": {"S": pipeline}, "slot": {"S": slot}}, ConsistentRead=True
        ).get("Item", {})
        return str(item[WRITE_TOKEN]["S"]) if WRITE_TOKEN in item else None
