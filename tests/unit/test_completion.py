"""The completion event: its shape (docs/operating.md), validation of the slot, and PutEvents batching."""

from __future__ import annotations

import json

import pytest

from transient_analytics.runs import completion
from transient_analytics.runs.completion import ConvertedSlot, completion_entry, entry_size, put_events_batches

STACK = "transient-analytics-dev"
RUN = "20261125T2030Z-1a2b3c4d"


def emr_slot(minute: int = 15, rows: int = 120) -> ConvertedSlot:
    return ConvertedSlot(
        pipeline="emr",
        slot=f"2026-11-25T20:{minute:02d}Z",
        run_id=RUN,
        rows_written=rows,
        manifest_uri=f"s3://data-bucket/curated/characters/dt=2026-11-25/hour=20/minute={minute:02d}/_manifest.json",
    )


def transform_slot() -> ConvertedSlot:
    return ConvertedSlot(
        pipeline="transform",
        slot="2026-11-25T00:00Z",
        run_id=RUN,
        rows_written=4177,
        output_uri=f"s3://data-bucket/batch/abalone/output/dt=2026-11-25/run={RUN}/",
    )


def test_an_emr_entry_goes_to_the_default_bus_with_the_contract_source_type_and_detail():
    entry = completion_entry(STACK, emr_slot())
    assert entry["Source"] == "transient-analytics"
    assert entry["DetailType"] == "Slot Converted"
    assert entry["EventBusName"] == "default"
    assert json.loads(entry["Detail"]) == {
        "stack": STACK,
        "pipeline": "emr",
        "slot": "2026-11-25T20:15Z",
        "run_id": RUN,
        "manifest_uri": "s3://data-bucket/curated/characters/dt=2026-11-25/hour=20/minute=15/_manifest.json",
        "rows_written": 120,
    }
    assert list(json.loads(entry["Detail"])) == ["stack", "pipeline", "slot", "run_id", "manifest_uri", "rows_written"]


def test_a_transform_entry_carries_the_output_uri_and_no_manifest_uri():
    detail = json.loads(completion_entry(STACK, transform_slot())["Detail"])
    assert detail["output_uri"] == f"s3://data-bucket/batch/abalone/output/dt=2026-11-25/run={RUN}/"
    assert "manifest_uri" not in detail
    assert detail["pipeline"] == "transform" and detail["rows_written"] == 4177


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"pipeline": "spark"}, "pipeline"),
        ({"slot": "2026-11-25 20:15"}, "slot"),
        ({"slot": "2026-13-25T20:15Z"}, "slot"),
        ({"run_id": " "}, "run_id"),
        ({"rows_written": -1}, "rows_written"),
        ({"rows_written": True}, "rows_written"),
        ({"rows_written": 1.5}, "rows_written"),
        ({"manifest_uri": None}, "manifest_uri"),
        ({"manifest_uri": "curated/characters/_manifest.json"}, "manifest_uri"),
        ({"output_uri": "s3://data-bucket/batch/"}, "output_uri"),
    ],
)
def test_a_bad_emr_slot_is_refused_naming_the_field(changes, field):
    fields = {**emr_slot().__dict__, **changes}
    with pytest.raises(ValueError, match=rf"converted slot .*{field}:"):
        ConvertedSlot(**fields)


def test_a_transform_slot_needs_an_output_uri_not_a_manifest_uri():
    with pytest.raises(ValueError, match="output_uri: a transform slot needs an s3:// URI"):
        ConvertedSlot(pipeline="transform", slot="2026-11-25T00:00Z", run_id=RUN, rows_written=1)
    with pytest.raises(ValueError, match="manifest_uri: must not be set for a transform slot"):
        ConvertedSlot(**{**transform_slot().__dict__, "manifest_uri": "s3://data-bucket/x/_manifest.json"})


def test_the_stack_name_is_required():
    with pytest.raises(ValueError, match="stack:"):
        completion_entry("", emr_slot())


def test_no_slot_gives_no_call():
    assert put_events_batches(STACK, []) == []


def test_entries_are_sent_ten_per_call_in_slot_order():
    slots = [emr_slot(minute=m % 60, rows=m) for m in range(23)]
    batches = put_events_batches(STACK, slots)
    assert [len(b) for b in batches] == [10, 10, 3]
    sent = [json.loads(e["Detail"])["rows_written"] for b in batches for e in b]
    assert sent == list(range(23))


def test_a_call_never_exceeds_256_kb_as_eventbridge_counts_it(monkeypatch):
    # Shrink the limit so that three ordinary entries do not fit in one call.
    one = entry_size(completion_entry(STACK, emr_slot()))
    monkeypatch.setattr(completion, "MAX_BYTES_PER_CALL", 2 * one + 1)
    batches = put_events_batches(STACK, [emr_slot() for _ in range(5)])
    assert [len(b) for b in batches] == [2, 2, 1]
    assert all(sum(entry_size(e) for e in b) <= 2 * one + 1 for b in batches)


def test_entry_size_counts_utf8_bytes_of_source_detail_type_and_detail():
    entry = completion_entry("stäck", emr_slot())
    expected = len(b"transient-analytics") + len(b"Slot Converted") + len(entry["Detail"].encode("utf-8"))
    assert entry_size(entry) == expected
    assert len(entry["Detail"].encode("utf-8")) == len(entry["Detail"]) + 1  # "ä" is two bytes


def test_an_entry_that_cannot_fit_in_any_call_is_refused_naming_its_slot(monkeypatch):
    monkeypatch.setattr(completion, "MAX_BYTES_PER_CALL", 50)
    with pytest.raises(ValueError, match=r"slot 2026-11-25T20:15Z: \d+ bytes, over the PutEvents limit of 50"):
        put_events_batches(STACK, [emr_slot()])


def test_failed_entries_are_those_the_response_marks_with_an_error_code():
    batch = put_events_batches(STACK, [emr_slot(0), emr_slot(15), emr_slot(30)])[0]
    response = {
        "FailedEntryCount": 1,
        "Entries": [
            {"EventId": "a"},
            {"ErrorCode": "ThrottlingException", "ErrorMessage": "slow down"},
            {"EventId": "c"},
        ],
    }
    assert completion.failed_entries(batch, response) == [batch[1]]
    with pytest.raises(ValueError, match="expected 3 result entries"):
        completion.failed_entries(batch, {"Entries": []})
