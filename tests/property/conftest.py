"""The handlers with AWS replaced by recording fakes, so that thousands of events run in seconds.

``fakes`` gives the three handlers their template environment, a frozen clock and stand-ins for
every AWS adapter (S3 listing, ledger read and write, the production model, SNS publish, EMR call,
completion events, execution history) that record each call; the same handlers run against moto in tests/functions.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from aws_lambda_powertools.utilities.idempotency.exceptions import (
    IdempotencyItemAlreadyExistsError,
    IdempotencyItemNotFoundError,
)
from aws_lambda_powertools.utilities.idempotency.persistence.base import BasePersistenceLayer, DataRecord

from functions.notify_failure import app as notify_app
from functions.prepare_run import app as prepare_app
from functions.record_slots import app as record_app
from tests.support import load_event
from transient_analytics import wiring
from transient_analytics.ledger.records import SlotRecord
from transient_analytics.notify.failed_run import CleanupReport
from transient_analytics.slots import ObjectRef
from transient_analytics.training.registry import ProductionModel

NOW = datetime(2026, 11, 25, 20, 16, tzinfo=UTC)
ENV = load_event("env")


class RecordingFakes:
    """Stand-ins for the AWS adapters, recording every call."""

    def __init__(self) -> None:
        self.calls: list[str] = []
        #: The execution the ledger fake says holds every slot it is asked about (set per event).
        self.holder = ""

    # Objects (S3)
    def list_prefix(self, bucket: str, prefix: str) -> list[ObjectRef]:
        self.calls.append("ListObjectsV2")
        return [ObjectRef(key=f"{prefix}hour=19/minute=45/part-0.csv", etag='"e"', size=10)]

    def read_json(self, uri: str) -> Any:
        self.calls.append("GetObject")
        return None

    # SlotLedger (DynamoDB)
    def window(self, pipeline: str, first_slot: str, last_slot: str) -> dict:
        self.calls.append("Query")
        return {}

    def open(self, pipeline: str) -> dict:
        self.calls.append("Query")
        return {}

    def get_many(self, pipeline: str, slots: list[str]) -> dict[str, SlotRecord]:
        self.calls.append("BatchGetItem")
        now = datetime(2026, 11, 25, 20, 16, tzinfo=UTC)
        return {
            s: SlotRecord(
                pipeline=pipeline, slot=s, state="running", version=3, attempts=2, holder=self.holder, updated_at=now
            )
            for s in slots
        }

    def write(self, new: SlotRecord, expected_version: int | None) -> bool:
        self.calls.append("PutItem")
        return True

    # ProductionPointer (DynamoDB): the model the transform scores with
    def read(self) -> ProductionModel:
        self.calls.append("GetItem")
        return ProductionModel(
            revision=1,
            model_package_arn="arn:aws:sagemaker:us-east-1:123456789012:model-package/transient-analytics-dev-abalone/1",
            version=1,
            model_name="ta-abalone-v1-0123abcd",
            model_data_url="s3://transient-analytics-dev-databucket/models/abalone/model.tar.gz",
            promoted_at="2026-11-20T04:00:00Z",
            promoted_by="tests",
        )

    # Completion events
    def announce(self, batches: list) -> int:
        self.calls.append("PutEvents")
        return sum(len(b) for b in batches)

    # Executions
    def history(self, arn: str) -> list:
        self.calls.append("GetExecutionHistory")
        return []

    # Clusters
    def terminate_tagged(self, key: str, value: str) -> CleanupReport:
        self.calls.append("TerminateJobFlows")
        return CleanupReport()

    # Topic
    def publish(self, note: Any) -> str:
        assert len(note.subject) < 100 and note.subject.isascii() and "\n" not in note.subject
        self.calls.append("Publish")
        return "message-id"


class InMemoryIdempotency(BasePersistenceLayer):
    def __init__(self) -> None:
        super().__init__()
        self.records: dict[str, DataRecord] = {}

    def _get_record(self, idempotency_key: str) -> DataRecord:
        if idempotency_key not in self.records:
            raise IdempotencyItemNotFoundError
        return self.records[idempotency_key]

    def _put_record(self, data_record: DataRecord) -> None:
        existing = self.records.get(data_record.idempotency_key)
        if existing is not None and not existing.is_expired:
            raise IdempotencyItemAlreadyExistsError
        self.records[data_record.idempotency_key] = data_record

    def _update_record(self, data_record: DataRecord) -> None:
        self.records[data_record.idempotency_key] = data_record

    def _delete_record(self, data_record: DataRecord) -> None:
        self.records.pop(data_record.idempotency_key, None)


@pytest.fixture
def fakes(monkeypatch: pytest.MonkeyPatch) -> RecordingFakes:
    fake = RecordingFakes()
    for key, value in {
        **ENV["PrepareRunFunction"],
        **ENV["RecordSlotsFunction"],
        **ENV["NotifyFailureFunction"],
    }.items():
        monkeypatch.setenv(key, value)
    prepare_app.settings.cache_clear()
    record_app.settings.cache_clear()
    notify_app.settings.cache_clear()
    notify_app.idempotency_config.cache_clear()
    wiring.idempotent_on_event_id.cache_clear()
    store = InMemoryIdempotency()
    monkeypatch.setattr(prepare_app, "ports", lambda: (fake, fake, fake))
    monkeypatch.setattr(prepare_app, "now", lambda: NOW)
    monkeypatch.setattr(record_app, "ports", lambda: (fake, fake, fake, fake))
    monkeypatch.setattr(record_app, "now", lambda: NOW)
    monkeypatch.setattr(notify_app, "executions", lambda: fake)
    monkeypatch.setattr(notify_app, "clusters", lambda: fake)
    monkeypatch.setattr(notify_app, "topic", lambda: fake)
    monkeypatch.setattr(notify_app, "ledger", lambda: fake)
    monkeypatch.setattr(wiring, "notify_failure_idempotency_store", lambda: store)
    return fake
