"""A PrepareRun retried inside its execution (Lambda.ServiceException, a time-out after its writes …) finds its claims.

Step Functions retries PrepareRun on errors that can arrive after the function already ran and claimed:
the retry must return the same plan, claim nothing twice, and charge no attempt.
"""

from __future__ import annotations

from typing import Any

import boto3
from botocore.exceptions import ClientError

from tests.functions.slots_support import emr_event, land, plan_for, records
from tests.support import lambda_context
from transient_analytics import wiring

S1, S2, S3 = "2026-11-25T19:30Z", "2026-11-25T19:45Z", "2026-11-25T20:00Z"
TICK = {"scheduled_time": "2026-11-25T20:15:00Z", "trigger": "schedule"}


def test_a_retry_after_the_claims_returns_the_same_plan_and_charges_nothing(prepare_run, clock):
    for s in (S1, S2, S3):
        land(s)
    event = emr_event("tick-1", **TICK)
    first = plan_for(prepare_run, event)
    clock.advance(seconds=7)  # Step Functions' back-off before the retry
    again = plan_for(prepare_run, event)
    assert again == first
    assert again["work"] is True and [s["slot"] for s in again["slots"]] == [S1, S2, S3]
    stored = records()
    assert {r.state for r in stored.values()} == {"running"}
    assert {r.attempts for r in stored.values()} == {0}
    assert {r.holder for r in stored.values()} == {event["execution"]["id"]}


def test_a_manual_run_retried_across_a_minute_boundary_keeps_its_run_id(prepare_run, clock):
    land(S3)
    event = emr_event("manual-1")  # input {}: the run's time is the execution's start
    event["execution"]["start_time"] = "2026-11-25T20:15:59.500Z"
    clock.now = clock.now.replace(minute=15, second=59)
    first = plan_for(prepare_run, event)
    clock.advance(seconds=3)  # now 20:16:02
    again = plan_for(prepare_run, event)
    assert again == first
    assert again["run_id"].startswith("20261125T2015Z-")


class _CrashAfterWrites:
    """The ledger's DynamoDB client, dying (a Lambda time-out) after ``writes`` conditional writes took effect."""

    def __init__(self, client: Any, writes: int) -> None:
        self._client, self._left = client, writes

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)

    def put_item(self, **kwargs: Any) -> Any:
        if self._left == 0:
            raise TimeoutError("Task timed out after 60.00 seconds")
        self._left -= 1
        return self._client.put_item(**kwargs)


def test_a_retry_after_a_crash_between_two_claims_plans_every_slot_the_execution_holds(prepare_run, clock, monkeypatch):
    for s in (S1, S2, S3):
        land(s)
    event = emr_event("tick-1", **TICK)
    _, store, _ = wiring.prepare_run_ports()
    monkeypatch.setattr(store, "_ddb", _CrashAfterWrites(boto3.client("dynamodb"), writes=2))
    try:
        plan_for(prepare_run, event)
    except TimeoutError:
        pass
    else:  # pragma: no cover - the fault must have fired
        raise AssertionError("the injected crash did not happen")
    monkeypatch.setattr(store, "_ddb", boto3.client("dynamodb"))
    clock.advance(seconds=2)
    again = plan_for(prepare_run, event)
    held = {s for s, r in records().items() if r.holder == event["execution"]["id"]}
    assert held == {s["slot"] for s in again["slots"]}  # nothing held that the plan does not name
    assert held == {S1, S2, S3}
    assert {r.attempts for r in records().values()} == {0}


def test_a_claim_whose_response_was_lost_and_whose_sdk_retry_failed_its_condition_is_still_this_runs(
    prepare_run, clock, monkeypatch
):
    land(S3)
    event = emr_event("tick-1", **TICK)
    _, store, _ = wiring.prepare_run_ports()
    real = boto3.client("dynamodb")

    class AppliedThenLost:
        def __getattr__(self, name: str) -> Any:
            return getattr(real, name)

        def put_item(self, **kwargs: Any) -> Any:
            real.put_item(**kwargs)  # DynamoDB applied it; the response never came back
            return real.put_item(**kwargs)  # the SDK's retry: ConditionalCheckFailedException

    monkeypatch.setattr(store, "_ddb", AppliedThenLost())
    plan = plan_for(prepare_run, event)
    assert plan["work"] is True and [s["slot"] for s in plan["slots"]] == [S3]


def test_another_execution_still_sees_the_claims_as_held(prepare_run, clock):
    land(S3)
    plan_for(prepare_run, emr_event("tick-1", **TICK))
    other = plan_for(prepare_run, emr_event("tick-2", scheduled_time="2026-11-25T20:16:00Z", trigger="schedule"))
    assert other["work"] is False and "held by another execution" in other["reason"]


def test_a_write_error_other_than_a_lost_condition_still_fails_the_run(prepare_run, monkeypatch):
    land(S3)
    _, store, _ = wiring.prepare_run_ports()
    real = boto3.client("dynamodb")

    class Throttled:
        def __getattr__(self, name: str) -> Any:
            return getattr(real, name)

        def put_item(self, **kwargs: Any) -> Any:
            raise ClientError(
                {"Error": {"Code": "ProvisionedThroughputExceededException", "Message": "slow down"}}, "PutItem"
            )

    monkeypatch.setattr(store, "_ddb", Throttled())
    try:
        prepare_run.lambda_handler(emr_event("tick-1", **TICK), lambda_context())
    except ClientError as exc:
        assert exc.response["Error"]["Code"] == "ProvisionedThroughputExceededException"
    else:  # pragma: no cover
        raise AssertionError("a throttled claim must fail the invocation (Step Functions retries or notifies)")
