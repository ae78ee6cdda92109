"""The EMR pipeline deployed with ``SparkBackend=serverless``, executed offline, when its job run does not
succeed: a failed job, a job past its ExecutionTimeoutMinutes, an execution stopped mid-job (Step Functions
cancels the job; if that best effort is lost the failure notifier does), an application that cannot start.
After each, the ledger holds what the job's report says, nothing converts twice, and the next run recovers.
"""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import boto3

from offline.harness import OfflineHarness
from offline.integrations import TaskContext
from offline.runners.emr_serverless_api import EMR_SERVERLESS_START_JOB_RUN
from offline.runners.serverless_job import JobOutcome, JobRequest
from tests.statemachines.ledger_support import put_landing, records, states
from tests.statemachines.serverless_support import (
    SERVERLESS_FAILED_STATES,
    SERVERLESS_HAPPY_STATES,
    SimulatedServerlessJob,
    application_id,
    check_serverless_requests,
    job_run,
    module_harness,
    runner,
)
from tests.statemachines.sfn_support import EMR, Gate, caught_error, check_record_slots_request, unique

__all__ = ["module_harness"]

TICK = {"scheduled_time": "2026-11-25T20:15:00Z", "trigger": "schedule"}
NEXT = {"scheduled_time": "2026-11-25T20:30:00Z", "trigger": "schedule"}
A, B, C = "2026-11-25T19:30Z", "2026-11-25T19:45Z", "2026-11-25T20:00Z"


@dataclasses.dataclass
class HeldJob:
    """A simulated job that waits at ``gate`` (or until its job run is cancelled) before it converts."""

    gate: Gate
    job: SimulatedServerlessJob = dataclasses.field(default_factory=SimulatedServerlessJob)

    def __call__(self, request: JobRequest, context: TaskContext) -> JobOutcome:
        self.gate.hold(context.cancelled)
        return self.job(request, context)


def test_a_failed_job_run_fails_the_run_with_its_cause_and_only_the_failed_slot_is_retried(h: OfflineHarness, tmp_path):
    # GIVEN three slots, the job failing to convert B (bad rows beyond the limit) and converting A and C
    for s in (A, B, C):
        put_landing(h, s)
    twin = runner(h, tmp_path, SimulatedServerlessJob(fail={B}))
    # WHEN the run goes
    result = h.run(EMR, TICK)
    # THEN the task failed with States.TaskFailed, its cause the job run's description (FAILED, the job's error)
    assert (result.status, result.states_entered) == ("FAILED", SERVERLESS_FAILED_STATES)
    [run] = twin.job_runs
    cause = json.loads(result.cause or "{}")
    assert result.error == "States.TaskFailed"
    assert (cause["JobRunId"], cause["State"]) == (run.job_run_id, "FAILED")
    assert "3 bad rows" in cause["StateDetails"]
    # AND RecordSlots got the error (the job run found by its name for the bill: the task returned no id)
    check_record_slots_request(result, "step_failed", caught_error(result, "RunServerlessJob"))
    assert {s: (r.state, r.attempts) for s, r in records(h).items()} == {
        A: ("done", 0),
        B: ("failed", 1),
        C: ("done", 0),
    }
    # AND the next run converts B alone, under a new job run
    twin.job = SimulatedServerlessJob()
    nxt = h.run(EMR, NEXT, name=unique("next"))
    assert nxt.states_entered == SERVERLESS_HAPPY_STATES
    assert [s["slot"] for s in nxt.output["plan"]["slots"]] == [B]
    assert states(h) == {A: "done", B: "done", C: "done"}


def test_a_job_run_past_its_execution_timeout_is_cancelled_by_the_service_and_charges_only_the_slot_it_was_on(
    h: OfflineHarness, tmp_path
):
    # GIVEN three slots; the job converts A and is still on B when ExecutionTimeoutMinutes runs out
    for s in (A, B, C):
        put_landing(h, s)
    twin = runner(h, tmp_path, SimulatedServerlessJob(time_out_at={B}))
    result = h.run(EMR, TICK)
    # THEN EMR Serverless cancelled the run (CANCELLED, "timed out"), which fails the task
    assert (result.status, result.states_entered) == ("FAILED", SERVERLESS_FAILED_STATES)
    [run] = twin.job_runs
    described = job_run(h, run.job_run_id)
    assert described["state"] == "CANCELLED" and "timed out" in described["stateDetails"]
    # AND A (converted before) is done, B (being converted) charged one attempt, C (not reached) released
    assert {s: (r.state, r.attempts) for s, r in records(h).items()} == {
        A: ("done", 0),
        B: ("failed", 1),
        C: ("pending", 0),
    }


def test_a_run_stopped_mid_job_has_its_job_run_cancelled_and_its_slots_given_back_without_an_attempt(
    h: OfflineHarness, tmp_path, gate: Gate
):
    # GIVEN a run whose job run is converting its first slot
    for s in (A, B):
        put_landing(h, s)
    twin = runner(h, tmp_path, HeldJob(gate))
    arn = h.start_execution(EMR, TICK)
    assert gate.entered.wait(10)
    # WHEN a person stops the execution
    h.stop_execution(arn)
    stopped = h.wait(arn)
    # THEN Step Functions' cancellation reached the job run (CANCELLED), which converted nothing
    assert stopped.status == "ABORTED"
    [run] = twin.job_runs
    assert run.done.wait(10) and job_run(h, run.job_run_id)["state"] == "CANCELLED"
    # AND the notifier finds nothing left to cancel and gives both slots back, nothing charged
    [notified] = h.deliver_status_change(arn).values()
    assert notified["cleanup"] == {"terminated": [], "error": None}
    assert sorted(notified["released"]["released"]) == [A, B]
    assert {(r.state, r.attempts) for r in records(h).values()} == {("pending", 0)}
    # AND the next run converts both
    twin.job = SimulatedServerlessJob()
    assert h.run(EMR, NEXT, name=unique("next")).status == "SUCCEEDED"
    assert states(h) == {A: "done", B: "done"}


def test_when_step_functions_cancellation_is_lost_the_notifier_cancels_the_job_run_before_giving_slots_back(
    h: OfflineHarness, tmp_path, gate: Gate
):
    # GIVEN a run converting its first slot, and Step Functions' best-effort CancelJobRun lost on the stop
    put_landing(h, A)
    twin = runner(h, tmp_path, HeldJob(gate))

    def deaf(parameters: dict[str, Any], context: TaskContext) -> Any:
        return twin(parameters, dataclasses.replace(context, _is_running=lambda: True))

    h.runners.register(EMR_SERVERLESS_START_JOB_RUN, deaf)
    arn = h.start_execution(EMR, TICK)
    assert gate.entered.wait(10)
    h.stop_execution(arn)
    [run] = twin.job_runs
    assert job_run(h, run.job_run_id)["state"] == "RUNNING"  # the job goes on, billed, after its execution ended
    # WHEN the notifier handles the ABORTED event
    [notified] = h.deliver_status_change(arn).values()
    # THEN it cancelled the job run by the plan's job name, then gave the slot back; the job stopped converting
    assert notified["cleanup"] == {"terminated": [run.job_run_id], "error": None}
    assert notified["released"]["released"] == [A]
    assert run.done.wait(10) and job_run(h, run.job_run_id)["state"] == "CANCELLED"
    assert records(h)[A].state == "pending"
    assert "EMR Serverless job run" in h.published()[-1].message


def test_an_application_that_cannot_start_fails_the_run_and_releases_its_slots_without_an_attempt(
    h: OfflineHarness, tmp_path
):
    # GIVEN the stack's application stopped (idle), and unable to start (its subnets out of addresses)
    put_landing(h, A)
    boto3.client("emr-serverless", region_name=h.region).stop_application(applicationId=application_id(h))
    twin = runner(h, tmp_path, application_start_failure="insufficient free addresses in subnet subnet-0abc")
    result = h.run(EMR, TICK)
    # THEN the job run failed before its job ran, saying why; the run failed with it
    assert (result.status, result.states_entered) == ("FAILED", SERVERLESS_FAILED_STATES)
    [run] = twin.job_runs
    assert "failed to start: insufficient free addresses" in job_run(h, run.job_run_id)["stateDetails"]
    assert isinstance(twin.job, SimulatedServerlessJob) and twin.job.calls == []
    check_serverless_requests(h, result)
    # AND the slot was released with no attempt counted: nothing ran, the next run takes it at once
    assert (records(h)[A].state, records(h)[A].attempts) == ("pending", 0)
    twin.application_start_failure = None
    assert h.run(EMR, NEXT, name=unique("next")).status == "SUCCEEDED"
    assert states(h) == {A: "done"} and len(twin.job_runs) == 2
