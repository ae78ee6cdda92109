"""Property-based: arbitrary and malformed events never crash a handler from inside.

Every event ends in one of two ways: an ``InvalidEventError`` whose message names a field,
or a clean result (a plan; a record summary; a published notification; a no-op for events
that are not ours). Never a ``KeyError``/``TypeError``/... from deep inside, and never an AWS
call (S3 listing, ledger read or write, SNS publish, EMR call) for an invalid event. AWS is
replaced by recording fakes so that thousands of events run in seconds; the same handlers
run against moto in tests/functions.
"""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime
from typing import Any

import pytest
from aws_lambda_powertools.utilities.idempotency.exceptions import (
    IdempotencyItemAlreadyExistsError,
    IdempotencyItemNotFoundError,
)
from aws_lambda_powertools.utilities.idempotency.persistence.base import BasePersistenceLayer, DataRecord
from hypothesis import HealthCheck, given, settings
from hypothesis import event as record_outcome
from hypothesis import strategies as st

from functions.notify_failure import app as notify_app
from functions.prepare_run import app as prepare_app
from functions.record_slots import app as record_app
from tests.support import FakeLambdaContext, load_event
from transient_analytics import wiring
from transient_analytics.errors import InvalidEventError
from transient_analytics.ledger import SlotRecord
from transient_analytics.notification import CleanupReport
from transient_analytics.slots import ObjectRef

NOW = datetime(2026, 11, 25, 20, 16, tzinfo=UTC)
ENV = load_event("env")
PREPARE_FIXTURES = [
    "scheduled_emr",
    "scheduled_transform",
    "backfill_emr",
    "backfill_range_emr",
    "empty_input_transform",
]
RECORD_FIXTURES = ["step_succeeded_emr", "step_failed_emr", "cluster_failed_emr", "transform"]
NOTIFY_FIXTURES = ["failed_emr_step", "failed_transform", "timed_out_emr", "aborted_emr"]

json_leaf = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=30),
    st.sampled_from(
        ["", "FAILED", "ABORTED", "EXPLODED", "1970-01-01T00:00:00Z", "9999-12-31T23:59:59Z", "x" * 100_000]
    ),
)
json_values = st.recursive(
    json_leaf,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4),
    max_leaves=12,
)


def paths(obj: Any, prefix: tuple = ()) -> list[tuple]:
    found = [prefix] if prefix else []
    if isinstance(obj, dict):
        for k, v in obj.items():
            found += paths(v, (*prefix, k))
    return found


@st.composite
def mutated(draw: st.DrawFn, fixtures: list[str], folder: str) -> dict[str, Any]:
    """A valid fixture with one to three fields removed, replaced or added."""
    event = copy.deepcopy(load_event(f"{folder}/{draw(st.sampled_from(fixtures))}"))
    for _ in range(draw(st.integers(1, 3))):
        candidates = paths(event)
        if not candidates:
            break
        path = draw(st.sampled_from(candidates))
        parent = event
        for key in path[:-1]:
            parent = parent[key]
        if not isinstance(parent, dict):
            continue
        action = draw(st.sampled_from(["drop", "replace", "add"]))
        if action == "drop":
            parent.pop(path[-1], None)
        elif action == "replace":
            parent[path[-1]] = draw(json_values)
        else:
            parent[draw(st.text(min_size=1, max_size=10))] = draw(json_values)
    return event


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
    monkeypatch.setattr(prepare_app, "ports", lambda: (fake, fake))
    monkeypatch.setattr(prepare_app, "now", lambda: NOW)
    monkeypatch.setattr(record_app, "ports", lambda: (fake, fake, fake, fake))
    monkeypatch.setattr(record_app, "now", lambda: NOW)
    monkeypatch.setattr(notify_app, "executions", lambda: fake)
    monkeypatch.setattr(notify_app, "clusters", lambda: fake)
    monkeypatch.setattr(notify_app, "topic", lambda: fake)
    monkeypatch.setattr(notify_app, "ledger", lambda: fake)
    monkeypatch.setattr(wiring, "notify_failure_idempotency_store", lambda: store)
    return fake


def invoke(handler: Any, event: Any) -> tuple[str, Any]:
    try:
        result = handler(event, FakeLambdaContext())
        record_outcome("handled" if not isinstance(result, dict) or result.get("published", True) else "no-op")
        return "ok", result
    except InvalidEventError as exc:
        record_outcome("invalid event")
        message = str(exc)
        assert message and ":" in message, f"error does not name a field: {message!r}"
        return "invalid", message


HYPOTHESIS = settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


@HYPOTHESIS
@given(event=json_values)
def test_prepare_run_rejects_arbitrary_json_without_touching_aws(fakes, event):
    fakes.calls.clear()
    outcome, _ = invoke(prepare_app.lambda_handler, event)
    if outcome == "invalid":
        assert fakes.calls == []


@HYPOTHESIS
@given(event=mutated(PREPARE_FIXTURES, "prepare_run"))
def test_prepare_run_either_plans_or_names_the_bad_field(fakes, event):
    fakes.calls.clear()
    outcome, result = invoke(prepare_app.lambda_handler, event)
    if outcome == "invalid":
        assert fakes.calls == []
    else:
        assert json.dumps(result) and result["pipeline"] in ("emr", "transform")
        assert "ListObjectsV2" in fakes.calls and "Query" in fakes.calls
        assert result["work"] == ("PutItem" in fakes.calls)


def holder_of(event: Any) -> str:
    execution = event.get("execution") if isinstance(event, dict) else None
    return execution.get("id", "") if isinstance(execution, dict) and isinstance(execution.get("id"), str) else ""


@HYPOTHESIS
@given(event=json_values)
def test_record_slots_rejects_arbitrary_json_without_touching_aws(fakes, event):
    fakes.calls.clear()
    outcome, _ = invoke(record_app.lambda_handler, event)
    assert outcome == "invalid"
    assert fakes.calls == []


@HYPOTHESIS
@given(event=mutated(RECORD_FIXTURES, "record_slots"))
def test_record_slots_either_records_or_names_the_bad_field_before_any_write(fakes, event):
    fakes.calls.clear()
    fakes.holder = holder_of(event)
    outcome, result = invoke(record_app.lambda_handler, event)
    if outcome == "invalid":
        assert fakes.calls == []
    else:
        assert json.dumps(result) and set(result) >= {"converted", "failed", "quarantined", "summary"}
        assert fakes.calls.count("BatchGetItem") == 1
        assert fakes.calls.count("Publish") == (1 if result["quarantined"] else 0)


@pytest.mark.parametrize(
    ("path", "value", "rule"),
    [
        (("plan", "slots", 0, "slot"), "2026-13-45T25:61Z", r"plan\.slots\.0\.slot"),
        (("outcome",), "transform", r"outcome"),
        (("plan", "slots"), [], r"plan\.slots: List should have at least 1 item"),
    ],
    ids=["not a real slot", "outcome of the other pipeline", "no slots"],
)
def test_record_slots_refuses_an_event_that_fits_the_json_shape_but_not_the_rules(fakes, path, value, rule):
    event = load_event("record_slots/step_failed_emr")
    parent = event
    for key in path[:-1]:
        parent = parent[key]
    parent[path[-1]] = value
    fakes.calls.clear()
    fakes.holder = holder_of(event)
    with pytest.raises(InvalidEventError, match=rule):
        record_app.lambda_handler(event, FakeLambdaContext())
    assert fakes.calls == []


@HYPOTHESIS
@given(event=json_values)
def test_notify_failure_rejects_arbitrary_json_without_publishing(fakes, event):
    fakes.calls.clear()
    outcome, _ = invoke(notify_app.lambda_handler, event)
    assert outcome == "invalid"
    assert fakes.calls == []


@HYPOTHESIS
@given(event=mutated(NOTIFY_FIXTURES, "notify_failure"))
def test_notify_failure_publishes_once_names_the_bad_field_or_does_nothing(fakes, event):
    fakes.calls.clear()
    outcome, result = invoke(notify_app.lambda_handler, event)
    if outcome == "invalid" or result.get("published") is False:
        assert fakes.calls == []
    else:
        assert fakes.calls.count("Publish") <= 1


@HYPOTHESIS
@given(
    status=st.sampled_from(["RUNNING", "SUCCEEDED", "PENDING_REDRIVE"]),
    machine=st.from_regex(r"[A-Za-z0-9_-]{1,80}", fullmatch=True),
)
def test_events_that_are_not_our_failures_do_nothing(fakes, status, machine):
    fakes.calls.clear()
    event = load_event("notify_failure/failed_emr_step")
    event["detail"]["status"] = status
    outcome, result = invoke(notify_app.lambda_handler, event)
    assert (outcome, result) == ("ok", {"published": False, "reason": "not ours"})
    event = load_event("notify_failure/failed_emr_step")
    event["detail"]["stateMachineArn"] = f"arn:aws:states:us-east-1:123456789012:stateMachine:{machine}"
    outcome, result = invoke(notify_app.lambda_handler, event)
    assert outcome == "ok" and (result["published"] is False or machine.startswith("transient-analytics-dev-"))
    assert "Publish" not in fakes.calls or machine.startswith("transient-analytics-dev-")
