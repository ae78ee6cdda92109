"""Property-based: arbitrary and malformed events never crash prepare_run from inside.

Every event ends in a plan or an ``InvalidEventError`` naming a field; an invalid event makes no
AWS call (S3 listing, ledger read or write).
"""

from __future__ import annotations

import json

from hypothesis import given

from functions.prepare_run import app as prepare_app
from tests.property.events_support import HYPOTHESIS, invoke, json_values, mutated

PREPARE_FIXTURES = [
    "scheduled_emr",
    "scheduled_transform",
    "backfill_emr",
    "backfill_range_emr",
    "empty_input_transform",
]


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
