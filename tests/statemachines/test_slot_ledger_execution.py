"""The slot ledger through the deployed state machines: every slot with data converted exactly once per version.

PrepareRun and RecordSlots are the real handlers against moto S3 and the ledger table; the cluster
tasks answer from mock-config.json, the Spark step from ``ScriptedSparkStep`` (it writes the run
report the real job writes). The real Spark job runs in tests/offline and ``make demo-day``.
"""

from __future__ import annotations

import threading
from datetime import timedelta

from offline.harness import OfflineHarness
from tests.statemachines.ledger_support import ScriptedSparkStep, at, hold_first_step_at, put_landing, records, states
from tests.statemachines.sfn_support import EMR, EMR_HAPPY_STATES, NOW, unique

TICK = {"scheduled_time": "2026-11-25T20:15:00Z", "trigger": "schedule"}
NEXT_TICK = {"scheduled_time": "2026-11-25T20:30:00Z", "trigger": "schedule"}


S1, S2, S3 = "2026-11-25T19:30Z", "2026-11-25T19:45Z", "2026-11-25T20:00Z"


def test_a_tick_without_new_data_ends_in_no_new_data_without_a_cluster(h: OfflineHarness):
    result = h.run(EMR, TICK, test_case="ScriptedStep")
    assert result.states_entered == ["PrepareRun", "HasWork", "NoNewData"]
    assert result.status == "SUCCEEDED"
    assert result.output["plan"]["work"] is False
    assert "no new data" in result.output["plan"]["reason"]
    assert not result.tasks("CreateCluster")


def test_every_closed_slot_with_data_is_converted_by_one_cluster_and_recorded_done(h: OfflineHarness):
    for s in (S1, S2, S3):
        put_landing(h, s)
    put_landing(h, "2026-11-25T20:15Z")  # still filling at 20:15: left to a later run
    step = ScriptedSparkStep(h).register()
    result = h.run(EMR, TICK, test_case="ScriptedStep")
    assert result.status == "SUCCEEDED"
    assert result.states_entered == EMR_HAPPY_STATES
    assert [s[0] for s in step.calls[0]] == [S1, S2, S3]
    assert len(result.tasks("CreateCluster")) == 1
    assert states(h) == {S1: "done", S2: "done", S3: "done"}
    assert {r.rows_written for r in records(h).values()} == {1}
    assert result.output["record"]["converted"] == 3


def test_a_run_overlapping_another_takes_only_the_slots_nobody_holds(h: OfflineHarness, gate):
    for s in (S1, S2):
        put_landing(h, s)
    step = ScriptedSparkStep(h)

    hold_first_step_at(gate, step)
    first = h.start_execution(EMR, TICK, test_case="ScriptedStep")
    h.wait_for_state(first, "RunSparkStep")
    put_landing(h, S3)  # lands while the first run's cluster works
    second = h.run(EMR, NEXT_TICK, test_case="ScriptedStep", name=unique("second-tick"))
    assert second.status == "SUCCEEDED"
    assert states(h)[S3] == "done"
    assert [s[0] for s in step.calls[0]] == [S3]  # the second run converted only the new slot
    gate.release()
    assert h.wait(first).status == "SUCCEEDED"
    assert [s[0] for s in step.calls[1]] == [S1, S2]  # the first run's batch, claimed before S3 landed
    assert states(h) == {S1: "done", S2: "done", S3: "done"}


def test_a_run_whose_slots_are_all_held_elsewhere_ends_without_a_cluster(h: OfflineHarness, gate):
    put_landing(h, S1)
    step = ScriptedSparkStep(h)

    hold_first_step_at(gate, step)
    first = h.start_execution(EMR, TICK, test_case="ScriptedStep")
    h.wait_for_state(first, "RunSparkStep")
    second = h.run(EMR, NEXT_TICK, test_case="ScriptedStep", name=unique("second-tick"))
    assert second.states_entered == ["PrepareRun", "HasWork", "NoNewData"]
    assert "held by another execution" in second.output["plan"]["reason"]
    gate.release()
    assert h.wait(first).status == "SUCCEEDED"
    assert states(h) == {S1: "done"}


def test_more_slots_than_the_per_run_maximum_leave_the_newest_to_the_next_run(h: OfflineHarness):
    slots = [f"2026-11-25T{hh:02d}:{mm:02d}Z" for hh in (17, 18, 19) for mm in (0, 15, 30, 45)]
    for s in slots:
        put_landing(h, s)
    step = ScriptedSparkStep(h).register()
    first = h.run(EMR, TICK, test_case="ScriptedStep")
    assert first.output["plan"]["reason"] == "8 slot(s) claimed; 4 more left to the next run"
    assert [s[0] for s in step.calls[0]] == slots[:8]
    h.run(EMR, NEXT_TICK, test_case="ScriptedStep", name=unique("next"))
    assert [s[0] for s in step.calls[1]] == slots[8:]
    assert set(states(h).values()) == {"done"}


def test_a_failed_slot_is_retried_by_the_next_run_while_the_healthy_ones_commit(h: OfflineHarness):
    for s in (S1, S2):
        put_landing(h, s)
    step = ScriptedSparkStep(h, fail={S1}).register()
    first = h.run(EMR, TICK, test_case="ScriptedStep")
    assert first.status == "FAILED"
    assert first.states_entered[-4:] == ["StepFailed", "RecordSlots", "RouteOutcome", "SparkStepFailed"]
    assert first.error == "States.TaskFailed"
    assert "1 of 2 slots failed" in first.cause
    assert len(first.tasks("TerminateClusterAfterStepFailure")) == 1
    assert states(h) == {S1: "failed", S2: "done"}
    assert records(h)[S1].attempts == 1
    step.fail.clear()
    second = h.run(EMR, NEXT_TICK, test_case="ScriptedStep", name=unique("retry"))
    assert second.status == "SUCCEEDED"
    assert [s[0] for s in step.calls[1]] == [S1]
    assert states(h) == {S1: "done", S2: "done"}


def test_a_poison_slot_is_quarantined_after_the_maximum_and_never_delays_healthy_slots(h: OfflineHarness):
    put_landing(h, S1)
    step = ScriptedSparkStep(h, fail={S1}).register()
    ticks = [NOW + timedelta(minutes=15 * i) for i in range(4)]
    for i, moment in enumerate(ticks):
        at(h, moment)
        healthy = f"2026-11-25T{20 + (i * 15 + 0) // 60:02d}:{(i * 15) % 60:02d}Z"
        put_landing(h, healthy)
        scheduled = (moment.replace(second=0) - timedelta(minutes=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
        h.run(
            EMR,
            {"scheduled_time": scheduled, "trigger": "schedule"},
            test_case="ScriptedStep",
            name=unique(f"tick-{i}"),
        )
        if i < 3:
            # every healthy slot closed by this tick is done in the same run as the poison slot's attempt
            assert all(st == "done" for s, st in states(h).items() if s != S1 and s < scheduled[:16] + "Z")
    assert states(h)[S1] == "quarantined"
    assert records(h)[S1].attempts == 3
    assert [S1 in [s[0] for s in call] for call in step.calls] == [True, True, True, False]
    quarantine = [m for m in h.published() if "quarantined" in m.subject]
    assert len(quarantine) == 1
    assert S1 in quarantine[0].message and "3 bad rows" in quarantine[0].message
    assert '"backfill": {"from": "2026-11-25T19:30Z", "to": "2026-11-25T19:45Z"}' in quarantine[0].message


def test_late_data_in_a_done_slot_makes_the_next_run_convert_it_again(h: OfflineHarness):
    put_landing(h, S1)
    step = ScriptedSparkStep(h).register()
    h.run(EMR, TICK, test_case="ScriptedStep")
    before = records(h)[S1].fingerprint
    again = h.run(EMR, NEXT_TICK, test_case="ScriptedStep", name=unique("nothing-new"))
    assert again.states_entered[-1] == "NoNewData"
    put_landing(h, S1, name=unique("late.csv"))
    late = h.run(EMR, NEXT_TICK, test_case="ScriptedStep", name=unique("late"))
    assert late.status == "SUCCEEDED"
    assert [s[0] for s in step.calls[-1]] == [S1]
    assert records(h)[S1].fingerprint != before and records(h)[S1].objects == 2


def test_a_cluster_that_does_not_start_releases_its_slots_without_counting_an_attempt(h: OfflineHarness):
    put_landing(h, S1)
    result = h.run(EMR, TICK, test_case="ClusterCreationFails")
    assert result.status == "FAILED"
    assert result.states_entered[-4:] == ["ClusterDidNotStart", "RecordSlots", "RouteOutcome", "ClusterStartFailed"]
    assert result.error == "States.TaskFailed"
    assert (records(h)[S1].state, records(h)[S1].attempts) == ("pending", 0)


def test_a_failing_ledger_update_leaks_no_cluster_and_loses_no_slot(h: OfflineHarness, monkeypatch):
    put_landing(h, S1)
    ScriptedSparkStep(h).register()
    module = h.lambdas.module("RecordSlotsFunction")

    def broken(*args, **kwargs):
        raise ConnectionError("DynamoDB unreachable")

    monkeypatch.setattr(module, "record", broken)
    result = h.run(EMR, TICK, test_case="ScriptedStep")
    assert result.status == "FAILED"
    assert result.states_entered[-2:] == ["RecordSlots", "LedgerUpdateFailed"]
    assert len(result.tasks("TerminateCluster")) == 1  # terminated before the ledger was touched
    assert records(h)[S1].state == "running"
    monkeypatch.undo()
    # before the claim's lease ends nobody takes the slot; after it, the next run converts it
    assert h.run(EMR, NEXT_TICK, test_case="ScriptedStep", name=unique("too-early")).states_entered[-1] == "NoNewData"
    at(h, NOW + timedelta(hours=4))
    later = h.run(EMR, {"scheduled_time": "2026-11-26T00:15:00Z"}, test_case="ScriptedStep", name=unique("after-lease"))
    assert later.status == "SUCCEEDED"
    assert records(h)[S1].state == "done"


def test_a_backfill_range_requeues_its_slots_and_releases_quarantined_ones(h: OfflineHarness):
    old = ["2026-11-20T06:00Z", "2026-11-20T06:15Z"]
    for s in old:
        put_landing(h, s)
    step = ScriptedSparkStep(h, fail={old[0]}).register()
    backfill = {"backfill": {"from": "2026-11-20T06:00Z", "to": "2026-11-20T06:30Z"}, "trigger": "backfill"}
    h.run(EMR, backfill, test_case="ScriptedStep", name=unique("backfill"))
    assert states(h) == {old[0]: "failed", old[1]: "done"}
    # a failed slot older than the lookback window is still taken by the scheduled runs (open-slots index)
    for i in range(2):
        h.run(EMR, TICK, test_case="ScriptedStep", name=unique(f"tick-{i}"))
    assert states(h) == {old[0]: "quarantined", old[1]: "done"}
    step.fail.clear()
    released = h.run(EMR, backfill, test_case="ScriptedStep", name=unique("release"))
    assert released.status == "SUCCEEDED"
    assert [s[0] for s in step.calls[-1]] == old  # both requeued: the done one is converted again too
    assert states(h) == {old[0]: "done", old[1]: "done"}


def test_a_bad_backfill_range_fails_at_prepare_run_naming_the_field_and_the_rule(h: OfflineHarness):
    bad = {"backfill": {"from": "2026-11-20T06:30Z", "to": "2026-11-20T06:00Z"}}
    result = h.run(EMR, bad, test_case="ScriptedStep")
    assert result.status == "FAILED"
    assert result.states_entered == ["PrepareRun"]
    assert "input.backfill.to: must be after input.backfill.from" in result.cause
    assert not result.tasks("CreateCluster")


def test_two_runs_started_together_never_convert_the_same_slot(h: OfflineHarness):
    for s in (S1, S2, S3):
        put_landing(h, s)
    step = ScriptedSparkStep(h).register()
    arns: list[str] = []
    starters = [
        threading.Thread(target=lambda n=n: arns.append(h.start_execution(EMR, TICK, test_case="ScriptedStep", name=n)))
        for n in (unique("together-a"), unique("together-b"))
    ]
    for t in starters:
        t.start()
    for t in starters:
        t.join()
    results = [h.wait(a) for a in arns]
    assert {r.status for r in results} == {"SUCCEEDED"}
    converted = [s[0] for call in step.calls for s in call]
    assert sorted(converted) == [S1, S2, S3]  # each slot exactly once across both runs
    assert states(h) == {S1: "done", S2: "done", S3: "done"}


def test_a_throttled_add_step_call_is_retried_with_back_off_and_the_step_submitted_once(h: OfflineHarness):
    put_landing(h, S1)
    result = h.run(EMR, TICK, test_case="ScriptedStepThrottledOnce")
    assert [t.state for t in result.scheduled_tasks].count("RunSparkStep") == 2
    assert [s.seconds for s in h.sleeps if s.state == "RunSparkStep"] == [15]


def test_a_lambda_client_timeout_is_retried_with_back_off(h: OfflineHarness):
    # GIVEN a slot with data, and RecordSlots' first invoke ending in Lambda.ClientExecutionTimeoutException
    put_landing(h, S1)
    ScriptedSparkStep(h).register()

    # WHEN the run records its slots
    result = h.run(EMR, TICK, test_case="RecordSlotsTimesOutOnce")

    # THEN RecordSlots is invoked again after the 2-second back-off and the run succeeds
    assert result.status == "SUCCEEDED"
    assert [t.state for t in result.scheduled_tasks].count("RecordSlots") == 2
    assert [s.seconds for s in h.sleeps if s.state == "RecordSlots"] == [2]
