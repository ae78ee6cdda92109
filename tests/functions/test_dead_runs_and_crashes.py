"""Runs that die: their slots found by holder and given back, a crashing slot charged alone (issue 17, defects 2, 3).

prepare_run, record_slots and notify_failure against moto; the execution histories are written by hand
(the state-machine suites produce the real ones, tests/statemachines/test_slot_faults_execution.py).
"""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest

from tests.functions.slots_support import BUCKET, emr_event, land, plan_for, records
from tests.support import lambda_context, load_event
from tests.unit.test_history_and_notification import entered, exited

EXECUTION = load_event("notify_failure/failed_emr_step")["detail"]["executionArn"]
A, B, C, P = "2026-11-25T19:15Z", "2026-11-25T19:30Z", "2026-11-25T19:45Z", "2026-11-25T19:00Z"
TICK = {"scheduled_time": "2026-11-25T20:15:00Z", "trigger": "schedule"}


class History:
    def __init__(self, events: list[dict[str, Any]]) -> None:
        self.events = events

    def history(self, execution_arn: str) -> list[dict[str, Any]]:
        return self.events


def failure_event(status: str = "FAILED", error: str = "Sandbox.Timedout") -> dict[str, Any]:
    event = load_event("notify_failure/failed_emr_step")
    event["detail"].update(status=status, error=error, cause="Task timed out after 60.00 seconds")
    return event


def claim_as_the_failed_execution(prepare_run: Any, *slots: str) -> dict[str, Any]:
    for s in slots:
        land(s)
    event = emr_event("x", **TICK)
    event["execution"]["id"], event["execution"]["name"] = EXECUTION, EXECUTION.rsplit(":", 1)[-1]
    return plan_for(prepare_run, event)


PREPARE_RUN_TIMED_OUT = [  # PrepareRun claimed, then timed out on every attempt: no plan ever came back
    {"id": 1, "type": "ExecutionStarted"},
    entered(2, "PrepareRun"),
    {"id": 3, "type": "TaskScheduled", "taskScheduledEventDetails": {"parameters": "{}"}},
    {"id": 4, "type": "TaskTimedOut", "taskTimedOutEventDetails": {"error": "States.Timeout", "cause": ""}},
    {"id": 5, "type": "ExecutionFailed", "executionFailedEventDetails": {"error": "States.Timeout"}},
]


def test_a_run_that_died_in_prepare_run_after_claiming_has_its_slots_given_back_by_holder(
    prepare_run, notify_failure, monkeypatch, sns_inbox
):
    # GIVEN PrepareRun claimed two slots for the execution, then the execution failed without a plan
    claim_as_the_failed_execution(prepare_run, A, B)
    assert {r.state for r in records().values()} == {"running"}
    monkeypatch.setattr(notify_failure, "executions", lambda: History(PREPARE_RUN_TIMED_OUT))
    # WHEN the notifier handles its failure
    result = notify_failure.lambda_handler(failure_event(error="States.Timeout"), lambda_context())
    # THEN both slots are released, no attempt counted (the run's work never started), and the message says so
    assert result["released"]["released"] == [A, B]
    assert {(r.state, r.attempts, r.holder) for r in records().values()} == {("pending", 0, None)}
    [message] = sns_inbox()
    assert "the notifier gave them back to the ledger" in message["Message"]
    # AND the next tick converts them at once instead of waiting for the lease
    nxt = plan_for(prepare_run, emr_event("tick-2", scheduled_time="2026-11-25T20:30:00Z", trigger="schedule"))
    assert [s["slot"] for s in nxt["slots"]] == [A, B]


def _history_dead_in_step(plan: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        {"id": 1, "type": "ExecutionStarted"},
        entered(2, "PrepareRun"),
        exited(3, "PrepareRun", {"plan": plan}),
        entered(4, "CreateCluster"),
        exited(5, "CreateCluster", {"plan": plan, "cluster": {"cluster_id": "j-1"}}),
        entered(6, "RunSparkStep"),
        {"id": 7, "type": "ExecutionTimedOut", "executionTimedOutEventDetails": {}},
    ]


def write_report(plan: dict[str, Any], *lines: dict[str, Any], final: bool = False) -> None:
    bucket, key = plan["report_uri"][5:].split("/", 1)
    body = {"format": 1, "run_id": plan["run_id"], "final": final, "slots": list(lines)}
    boto3.client("s3").put_object(Bucket=bucket, Key=key, Body=json.dumps(body).encode())


def converted(slot: str) -> dict[str, Any]:
    return {"slot": slot, "status": "converted", "manifest_uri": f"s3://{BUCKET}/m/{slot}", "rows_written": 3}


@pytest.mark.parametrize(("status", "charged"), [("TIMED_OUT", 1), ("ABORTED", 0)])
def test_a_run_that_died_mid_step_keeps_what_was_converted_and_charges_only_the_running_slot_unless_stopped(
    prepare_run, notify_failure, monkeypatch, sns_inbox, status, charged
):
    # GIVEN the job's progress report when the execution timed out (or was stopped): A converted, B running, C pending
    plan = claim_as_the_failed_execution(prepare_run, A, B, C)
    write_report(plan, converted(A), {"slot": B, "status": "running"}, {"slot": C, "status": "pending"})
    monkeypatch.setattr(notify_failure, "executions", lambda: History(_history_dead_in_step(plan)))
    # WHEN the notifier handles it
    result = notify_failure.lambda_handler(failure_event(status=status, error=status), lambda_context())
    # THEN A is done, C released, and B charged one attempt only when the run was not stopped by a person
    stored = records()
    assert stored[A].state == "done" and result["released"]["converted"] == [A]
    assert (stored[C].state, stored[C].attempts) == ("pending", 0)
    assert (stored[B].attempts, stored[B].crashes) == (charged, charged)
    assert stored[B].state == ("failed" if charged else "pending")


def _report_for_crash_at(plan: dict[str, Any], poison: str) -> None:
    """What the job's report says when its driver dies converting ``poison``: the slots before it converted."""
    lines: list[dict[str, Any]] = []
    for slot in [s["slot"] for s in plan["slots"]]:
        if slot == poison:
            lines.append({"slot": slot, "status": "running"})
        elif any(line["status"] == "running" for line in lines):
            lines.append({"slot": slot, "status": "pending"})
        else:
            lines.append(converted(slot))
    write_report(plan, *lines)


def test_a_slot_that_crashes_its_whole_step_is_quarantined_alone_and_its_healthy_neighbours_converted_in_two_runs(
    prepare_run, record_slots, clock, sns_inbox
):
    # GIVEN a poison slot P and three healthy slots, all closed before the first tick
    for s in (P, A, B, C):
        land(s)
    error = {"Error": "States.TaskFailed", "Cause": "Container killed by YARN for exceeding physical memory limits"}
    orders = []
    for run in range(1, 4):
        # WHEN each run's step dies while converting P
        event = emr_event(f"tick-{run}")
        plan = plan_for(prepare_run, event)
        orders.append([s["slot"] for s in plan["slots"]])
        _report_for_crash_at(plan, P)
        payload = {
            "pipeline": "emr",
            "outcome": "step_failed",
            "execution": event["execution"],
            "plan": plan,
            "error": error,
        }
        record_slots.lambda_handler(payload, lambda_context())
        if run == 2:
            # THEN by the second run every healthy slot is converted (P went last)
            assert {s: r.state for s, r in records().items() if s != P} == {A: "done", B: "done", C: "done"}
        clock.advance(minutes=15)
    assert orders[0] == [P, A, B, C] and orders[1] == [A, B, C, P] and orders[2] == [P]
    # AND P alone ends quarantined, after MaxSlotAttempts crashes, with one notification
    stored = records()
    assert (stored[P].state, stored[P].attempts, stored[P].crashes) == ("quarantined", 3, 3)
    assert all(stored[s].attempts == 0 for s in (A, B, C))
    [message] = sns_inbox()
    assert P in message["Subject"] and "died while converting this slot" in message["Message"]
