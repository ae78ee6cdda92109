"""Property-based: arbitrary and malformed events never crash notify_failure from inside.

Every event ends in one published notification, an ``InvalidEventError`` naming a field (with
nothing published), or a no-op for events that are not our failures.
"""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from functions.notify_failure import app as notify_app
from tests.property.events_support import HYPOTHESIS, invoke, json_values, mutated
from tests.support import load_event

NOTIFY_FIXTURES = ["failed_emr_step", "failed_transform", "timed_out_emr", "aborted_emr"]


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
