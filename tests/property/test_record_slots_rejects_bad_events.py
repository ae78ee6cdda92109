"""Property-based: arbitrary and malformed events never crash record_slots from inside.

Every event ends in a record summary or an ``InvalidEventError`` naming a field, raised before
any ledger read or write; so does an event of the right shape that breaks the rules.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given

from functions.record_slots import app as record_app
from tests.property.events_support import HYPOTHESIS, invoke, json_values, mutated
from tests.support import lambda_context, load_event
from transient_analytics.errors import InvalidEventError

RECORD_FIXTURES = ["step_succeeded_emr", "step_failed_emr", "cluster_failed_emr", "transform"]


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
        record_app.lambda_handler(event, lambda_context())
    assert fakes.calls == []
