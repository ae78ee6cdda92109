"""Exactly once under routine faults, through the deployed state machines (issue 17).

The real PrepareRun, RecordSlots and NotifyFailure handlers on moto's engine; the Spark step is the
simulated job (``ScriptedSparkStep``), which writes its progress report as the real job does. The
faults come from the twin: a Lambda whose answer is lost after it ran (``LambdaFault``), a step that
dies while converting one slot (``crash_at``), an execution stopped mid-step, SNS refusing a publish.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import boto3
from botocore.exceptions import ClientError

from offline.harness import OfflineHarness
from offline.lambdas import LambdaFault
from tests.statemachines.ledger_support import ScriptedSparkStep, at, hold_first_step_at, put_landing, records, states
from tests.statemachines.sfn_support import EMR, EMR_HAPPY_STATES, NOW, unique

TICK = {"scheduled_time": "2026-11-25T20:15:00Z", "trigger": "schedule"}
P, A, B, C = "2026-11-25T19:15Z", "2026-11-25T19:30Z", "2026-11-25T19:45Z", "2026-11-25T20:00Z"


def tick(i: int) -> dict[str, str]:
    return {
        "scheduled_time": (NOW.replace(second=0, minute=15) + timedelta(minutes=15 * i)).strftime("%Y-%m-%dT%H:%M:%SZ")
    }


def test_a_prepare_run_whose_answer_was_lost_after_it_claimed_is_retried_and_its_run_converts_the_slots(
    h: OfflineHarness,
):
    # GIVEN landing data, and Lambda's service failing PrepareRun's first answer after the function ran
    for s in (A, B):
        put_landing(h, s)
    ScriptedSparkStep(h).register()
    h.inject(LambdaFault("PrepareRunFunction", "Lambda.ServiceException"))
    # WHEN the scheduled run goes
    result = h.run(EMR, TICK, test_case="ScriptedStep")
    # THEN Step Functions retried PrepareRun, which found its own claims: one cluster, both slots converted
    assert result.status == "SUCCEEDED" and result.states_entered == EMR_HAPPY_STATES
    assert len(result.tasks("PrepareRun")) == 2
    assert [s["slot"] for s in result.output["plan"]["slots"]] == [A, B]
    assert {(r.state, r.attempts) for r in records(h).values()} == {("done", 0)}


def test_a_prepare_run_that_times_out_after_claiming_fails_the_run_and_the_notifier_gives_the_slots_back(
    h: OfflineHarness,
):
    # GIVEN PrepareRun claims, then times out on every attempt (its answer never comes back)
    put_landing(h, C)
    h.inject(LambdaFault("PrepareRunFunction", "Sandbox.Timedout", times=4))
    failed = h.run(EMR, TICK, test_case="ScriptedStep")
    assert (failed.status, failed.states_entered) == ("FAILED", ["PrepareRun"])
    assert states(h) == {C: "running"}
    # WHEN EventBridge delivers its status change to the notifier
    [result] = h.deliver_status_change(failed.arn).values()
    # THEN the slot is given back by holder (no plan ever came back), without an attempt
    assert result["released"]["released"] == [C]
    assert (records(h)[C].state, records(h)[C].attempts) == ("pending", 0)
    # AND the next tick converts it at once
    ScriptedSparkStep(h).register()
    nxt = h.run(EMR, tick(1), test_case="ScriptedStep", name=unique("next"))
    assert nxt.status == "SUCCEEDED" and states(h) == {C: "done"}


def test_a_slot_that_kills_its_step_is_quarantined_alone_while_its_batch_is_converted_by_the_next_run(
    h: OfflineHarness,
):
    # GIVEN a poison slot that kills the whole step (a driver out of memory) and three healthy slots
    for s in (P, A, B, C):
        put_landing(h, s)
    step = ScriptedSparkStep(h, crash_at={P}).register()
    for i in range(3):
        at(h, NOW + timedelta(minutes=15 * i))
        result = h.run(EMR, tick(i), test_case="ScriptedStep", name=unique(f"tick-{i}"))
        assert result.status == "FAILED" and result.states_entered[-1] == "SparkStepFailed"
    # THEN the first run charged P alone, the second converted A, B and C before P (which went last)
    assert [[s[0] for s in call] for call in step.calls] == [[P, A, B, C], [A, B, C, P], [P]]
    assert states(h) == {P: "quarantined", A: "done", B: "done", C: "done"}
    assert {s: records(h)[s].attempts for s in (A, B, C)} == {A: 0, B: 0, C: 0}
    # AND one notification names the poison slot and why
    [quarantine] = [m for m in h.published() if "quarantined" in m.subject]
    assert P in quarantine.subject and "died while converting this slot" in quarantine.message


def test_a_run_stopped_mid_step_has_its_cluster_terminated_and_its_slots_released_without_an_attempt(
    h: OfflineHarness, gate
):
    for s in (A, B):
        put_landing(h, s)
    step = ScriptedSparkStep(h)
    hold_first_step_at(gate, step)
    arn = h.start_execution(EMR, TICK, test_case="ScriptedStep")
    h.wait_for_state(arn, "RunSparkStep")
    gate.entered.wait(5)
    # WHEN a person stops it, and the notifier handles the ABORTED event
    h.stop_execution(arn)
    gate.release()
    stopped = h.wait(arn)
    [result] = h.deliver_status_change(stopped.arn).values()
    # THEN the slots are back in the ledger, nothing charged, and the next run converts them
    assert stopped.status == "ABORTED"
    assert sorted(result["released"]["released"]) == [A, B]
    assert {(r.state, r.attempts) for r in records(h).values()} == {("pending", 0)}
    ScriptedSparkStep(h).register()
    assert h.run(EMR, tick(1), test_case="ScriptedStep", name=unique("next")).status == "SUCCEEDED"
    assert set(states(h).values()) == {"done"}


def test_a_retried_record_slots_routes_the_run_by_what_the_first_attempt_recorded(h: OfflineHarness):
    # GIVEN a run whose step fails one slot, and RecordSlots' first answer lost after it recorded
    for s in (A, B):
        put_landing(h, s)
    ScriptedSparkStep(h, fail={B}).register()
    h.inject(LambdaFault("RecordSlotsFunction", "Lambda.ServiceException"))
    result = h.run(EMR, TICK, test_case="ScriptedStep")
    # THEN the retry counted the failure the first attempt recorded: the run still fails, nothing charged twice
    assert len(result.tasks("RecordSlots")) == 2
    assert result.states_entered[-1] == "SparkStepFailed"
    assert (records(h)[B].state, records(h)[B].attempts) == ("failed", 1)


def test_a_quarantine_whose_message_sns_refused_is_sent_once_by_the_retried_record_slots(
    h: OfflineHarness, monkeypatch
):
    put_landing(h, A)
    ScriptedSparkStep(h, fail={A}).register()
    for i in range(2):
        at(h, NOW + timedelta(minutes=15 * i))
        h.run(EMR, tick(i), test_case="ScriptedStep", name=unique(f"tick-{i}"))
    # GIVEN SNS refuses the next publish, the one telling of A's quarantine
    module = h.lambdas.module("RecordSlotsFunction")
    _, _, topic, _ = module.ports()
    real = topic._sns
    refused = {"left": 1}

    class Flaky:
        def publish(self, **kwargs: Any) -> Any:
            if refused["left"]:
                refused["left"] -= 1
                raise ClientError({"Error": {"Code": "KMSThrottlingException", "Message": "slow"}}, "Publish")
            return real.publish(**kwargs)

    monkeypatch.setattr(topic, "_sns", Flaky())
    at(h, NOW + timedelta(minutes=30))
    result = h.run(EMR, tick(2), test_case="ScriptedStep", name=unique("tick-2"))
    # THEN Step Functions retried RecordSlots on NotificationNotSent and the message went out exactly once
    assert len(result.tasks("RecordSlots")) == 2
    assert states(h) == {A: "quarantined"}
    assert len([m for m in h.published() if "quarantined" in m.subject]) == 1
    assert boto3.client("dynamodb")  # the ledger says the notice was delivered
    assert not records(h)[A].owes()
