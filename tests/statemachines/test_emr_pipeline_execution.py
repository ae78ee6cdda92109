"""The EMR pipeline's deployed definition, executed offline: every path from plan to termination to the ledger.

PrepareRun and RecordSlots are the real handlers (clocks frozen at 20:16:05Z, moto S3 and the
ledger table); the EMR ``.sync`` tasks answer from ``mock-config.json`` (``stateMachineArn#TestCase``)
or from a runner (``ScriptedSparkStep`` writes the run report the real Spark job writes). The
20:15 tick works on the closed slots before it: the tests land data in 20:00 (and 19:45).
"""

from __future__ import annotations

from typing import Any

from offline.engine import Sleep
from offline.harness import ExecutionResult, OfflineHarness
from offline.runners.simulated_step import slot_args
from tests.statemachines.ledger_support import ScriptedSparkStep, put_landing, records, states
from tests.statemachines.sfn_support import (
    EMR,
    EMR_HAPPY_STATES,
    check_emr_requests,
    check_record_slots_request,
    execution_input,
    plan_of,
    task_sequence,
    unique,
)

CLUSTER_ID = "j-2AXXXXXXGAPLF"
#: The newest slot closed at the 20:15 tick, and the one before it.
SLOT, EARLIER = "2026-11-25T20:00Z", "2026-11-25T19:45Z"
SLOT_PATH, EARLIER_PATH = "dt=2026-11-25/hour=20/minute=00", "dt=2026-11-25/hour=19/minute=45"
#: Cluster logs are filed under the run's own scheduled minute, not a slot's.
LOG_PATH = "dt=2026-11-25/hour=20/minute=15"
HAPPY_STATES = EMR_HAPPY_STATES
#: The scheduler's input for the 20:15 tick (events/executions/scheduled.json).
SCHEDULED = execution_input("scheduled")
NEXT_TICK = {"scheduled_time": "2026-11-25T20:30:00Z", "trigger": "schedule"}
#: (state, resource) of the TaskScheduled events.
PREPARE = ("PrepareRun", "invoke")
CREATE = ("CreateCluster", "createCluster.sync")
STEP = ("RunSparkStep", "addStep.sync")
TERMINATE = ("TerminateCluster", "terminateCluster.sync")
CLEANUP = ("TerminateClusterAfterStepFailure", "terminateCluster.sync")
RECORD = ("RecordSlots", "invoke")
STEP_ERROR = "ValueError: partition column 'class' not found; available columns: id, name, level"


def bucket(harness: OfflineHarness) -> str:
    return harness.stack.ref("DataBucket")


def terminations(result: ExecutionResult) -> list[dict[str, Any]]:
    return [t.parameters for t in result.scheduled_tasks if t.resource == "terminateCluster.sync"]


def caught_error(result: ExecutionResult, state: str) -> dict[str, str]:
    """The ``{"Error", "Cause"}`` the run's Catch put in ``$.error``: the last failure of ``state``."""
    current, last = None, None
    for event in result.history:
        if "stateEnteredEventDetails" in event:
            current = event["stateEnteredEventDetails"]["name"]
        elif event["type"] == "TaskFailed" and current == state:
            details = event["taskFailedEventDetails"]
            last = {"Error": details["error"], "Cause": details["cause"]}
    assert last is not None, f"{state} never failed"
    return last


def test_a_scheduled_run_converts_every_closed_slot_with_one_cluster_and_terminates_it_once(h: OfflineHarness):
    # GIVEN landing data in the two slots closed before the 20:15 tick, and in the 20:15 slot still filling
    put_landing(h, EARLIER)
    put_landing(h, SLOT)
    put_landing(h, "2026-11-25T20:15Z")
    step = ScriptedSparkStep(h).register()

    # WHEN the scheduler's 20:15 run executes, EMR starting and terminating the cluster as asked
    result = h.run(EMR, SCHEDULED, test_case="ScriptedStep")

    # THEN it walks the happy path and succeeds
    assert result.states_entered == HAPPY_STATES
    assert (result.status, result.error) == ("SUCCEEDED", None)
    # AND PrepareRun received the execution's own context
    [prepare] = result.tasks("PrepareRun")
    assert prepare.parameters["FunctionName"] == h.functions["PrepareRunFunction"].arn
    assert prepare.parameters["Payload"] == {
        "pipeline": "emr",
        "input": {"scheduled_time": "2026-11-25T20:15:00Z", "trigger": "schedule"},
        "execution": {"id": result.arn, "name": result.name, "state_machine_arn": h.state_machine_arn(EMR)},
    }
    # AND the cluster is the plan's, with the template's release and roles, tagged with the execution
    [create] = result.tasks("CreateCluster")
    plan = result.output["plan"]
    assert create.parameters["Name"] == plan["emr"]["cluster_name"]
    assert create.parameters["ReleaseLabel"] == "emr-7.13.0"
    assert create.parameters["ServiceRole"] == "transient-analytics-dev-EmrServiceRole"
    assert create.parameters["JobFlowRole"] == "transient-analytics-dev-EmrEc2Role"
    assert create.parameters["LogUri"] == f"s3://{bucket(h)}/logs/emr/{LOG_PATH}/"
    assert {"Key": "transient-analytics:execution", "Value": result.arn} in create.parameters["Tags"]
    assert {"Key": "transient-analytics:run-id", "Value": plan["run_id"]} in create.parameters["Tags"]
    assert create.parameters["Instances"]["KeepJobFlowAliveWhenNoSteps"] is True
    # AND one spark-submit converts both closed slots (oldest first), as CONTRACT.md spells its command line
    [request] = result.tasks("RunSparkStep")
    assert request.parameters["ClusterId"] == CLUSTER_ID
    assert request.parameters["Step"]["HadoopJarStep"]["Jar"] == "command-runner.jar"
    args = request.parameters["Step"]["HadoopJarStep"]["Args"]
    b = bucket(h)
    ledger = records(h)
    assert args == [
        "spark-submit", "--deploy-mode", "cluster", f"s3://{b}/artifacts/jobs/csv_to_parquet.py",
        "--schema", f"s3://{b}/artifacts/jobs/schemas/characters.json",
        "--partition-column", "class",
        "--run-id", plan["run_id"],
        "--report", f"s3://{b}/runs/emr/{plan['run_id']}/report.json",
        "--slot", EARLIER, f"s3://{b}/landing/characters/{EARLIER_PATH}/", f"s3://{b}/curated/characters/{EARLIER_PATH}/",
        ledger[EARLIER].fingerprint,
        "--slot", SLOT, f"s3://{b}/landing/characters/{SLOT_PATH}/", f"s3://{b}/curated/characters/{SLOT_PATH}/",
        ledger[SLOT].fingerprint,
    ]  # fmt: skip
    assert plan["report_uri"] == f"s3://{b}/runs/emr/{plan['run_id']}/report.json"
    # AND the step's time-out comes from the plan (TimeoutSecondsPath)
    assert request.timeout_seconds == 3600
    # AND the cluster is terminated exactly once, before the slots are recorded done from the job's report
    assert terminations(result) == [{"ClusterId": CLUSTER_ID}]
    assert task_sequence(result) == [PREPARE, CREATE, STEP, TERMINATE, RECORD]
    assert result.output["cluster"] == {"cluster_id": CLUSTER_ID}
    assert result.output["step"] == {"StepId": "s-SIMULATED"}
    assert result.output["record"]["converted"] == 2 and result.output["record"]["failed"] == 0
    assert states(h) == {EARLIER: "done", SLOT: "done"}
    assert [s[0] for s in step.calls[0]] == [EARLIER, SLOT]
    # AND every request follows the plan; nothing slept; the state machine published nothing
    check_emr_requests(result, SCHEDULED, CLUSTER_ID)
    check_record_slots_request(result, "step_succeeded", None)
    assert h.sleeps == []
    assert h.published() == []


def test_a_step_reported_successful_without_a_run_report_leaves_its_slots_failed_for_the_next_run(h: OfflineHarness):
    # GIVEN a slot with data, and EMR reporting the step COMPLETED although the job wrote no report (mocked step)
    put_landing(h, SLOT)

    # WHEN the pipeline runs
    result = h.run(EMR, SCHEDULED, test_case="HappyPath")

    # THEN the run fails in SlotsFailed (a notification goes out) instead of succeeding silently
    assert result.states_entered == [*HAPPY_STATES[:-1], "SlotsFailed"]
    assert (result.status, result.error) == ("FAILED", "SlotsFailed")
    assert SLOT in result.cause and "wrote no report" in result.cause
    # AND no slot is recorded done without the job's word for it: it is failed, attempt 1, taken by the next run
    assert "0 slot(s) converted, 1 failed" in result.cause
    record = records(h)[SLOT]
    assert (record.state, record.attempts) == ("failed", 1)
    assert "wrote no report" in (record.error or "")
    assert task_sequence(result) == [PREPARE, CREATE, STEP, TERMINATE, RECORD]


def test_a_cluster_that_fails_to_start_fails_the_run_with_emrs_error_after_releasing_its_slot(h: OfflineHarness):
    # GIVEN a slot with data, and EMR terminating the new cluster with errors (bad instance type)
    put_landing(h, SLOT)

    # WHEN the pipeline runs
    result = h.run(EMR, SCHEDULED, test_case="ClusterCreationFails")

    # THEN the failure is caught, the slot released, and the run FAILED with EMR's own error and cause
    assert result.states_entered == [
        "PrepareRun",
        "HasWork",
        "CreateCluster",
        "ClusterDidNotStart",
        "RecordSlots",
        "RouteOutcome",
        "ClusterStartFailed",
    ]
    assert result.status == "FAILED"
    assert result.error == "States.TaskFailed"
    assert result.cause_json["Status"]["StateChangeReason"]["Code"] == "VALIDATION_ERROR"
    record = records(h)[SLOT]
    assert (record.state, record.attempts, record.holder) == ("pending", 0, None)
    assert "not attempted" in (record.error or "") and "m7g.xlarge" in (record.error or "")
    # AND States.TaskFailed is not retried (only EMR API errors are), and no termination is attempted
    assert task_sequence(result) == [PREPARE, CREATE, RECORD]
    check_emr_requests(result, SCHEDULED, cluster_id=None)
    check_record_slots_request(result, "cluster_failed", caught_error(result, "CreateCluster"))
    assert h.sleeps == []
    assert h.published() == []


def test_a_failed_spark_step_terminates_the_cluster_then_fails_with_the_steps_error_and_cause(h: OfflineHarness):
    # GIVEN a slot with data, and a Spark step that fails (the job cannot find the partition column)
    put_landing(h, SLOT)

    # WHEN the pipeline runs
    result = h.run(EMR, SCHEDULED, test_case="SparkStepFails")

    # THEN the cluster is terminated first, the slot recorded, then the run fails at SparkStepFailed
    assert result.states_entered == [
        "PrepareRun",
        "HasWork",
        "CreateCluster",
        "RunSparkStep",
        "TerminateClusterAfterStepFailure",
        "StepFailed",
        "RecordSlots",
        "RouteOutcome",
        "SparkStepFailed",
    ]
    assert terminations(result) == [{"ClusterId": CLUSTER_ID}]
    # AND the execution's error is the step's own (States.TaskFailed kept, not a runtime error)
    assert result.status == "FAILED"
    assert result.error == "States.TaskFailed"
    assert result.cause_json["Step"]["Status"]["FailureDetails"]["Message"] == STEP_ERROR
    # AND the slot (no report from the job) is failed with the step's error, for the next run to retry
    record = records(h)[SLOT]
    assert (record.state, record.attempts) == ("failed", 1)
    assert STEP_ERROR in (record.error or "")
    # AND the step was submitted once (a step that ran is never submitted again), all requests per the plan
    assert task_sequence(result) == [PREPARE, CREATE, STEP, CLEANUP, RECORD]
    check_emr_requests(result, SCHEDULED, CLUSTER_ID)
    check_record_slots_request(result, "step_failed", caught_error(result, "RunSparkStep"))
    assert h.sleeps == []
    assert h.published() == []


def test_when_the_cleanup_after_a_failed_step_fails_too_the_run_still_fails_with_the_steps_error(h: OfflineHarness):
    # GIVEN a slot with data, a failed Spark step, and a cluster that then refuses to terminate
    put_landing(h, SLOT)

    # WHEN the pipeline runs
    result = h.run(EMR, SCHEDULED, test_case="SparkStepFailsAndTerminationFails")

    # THEN termination is tried 1 + 3 times (10, 20, 40 s apart), the slot recorded, then the run fails
    assert result.states_entered[-5:] == [
        "TerminateClusterAfterStepFailure",
        "StepFailed",
        "RecordSlots",
        "RouteOutcome",
        "SparkStepFailed",
    ]
    assert len(terminations(result)) == 4
    assert h.sleeps == [
        Sleep("TerminateClusterAfterStepFailure", "retry", 1, 10.0),
        Sleep("TerminateClusterAfterStepFailure", "retry", 2, 20.0),
        Sleep("TerminateClusterAfterStepFailure", "retry", 3, 40.0),
    ]
    # AND with the step's error, not the cleanup's (the Catch keeps it in $.error): for the run and for the slot
    assert result.status == "FAILED"
    assert result.error == "States.TaskFailed"
    assert "partition column 'class' not found" in str(result.cause)
    check_record_slots_request(result, "step_failed", caught_error(result, "RunSparkStep"))
    assert (records(h)[SLOT].state, records(h)[SLOT].attempts) == ("failed", 1)
    assert task_sequence(result) == [PREPARE, CREATE, STEP] + [CLEANUP] * 4 + [RECORD]
    check_emr_requests(result, SCHEDULED, CLUSTER_ID)
    assert h.published() == []


def test_a_termination_failure_after_a_good_step_fails_the_run_but_keeps_the_converted_slot_done(h: OfflineHarness):
    # GIVEN a slot with data, a step that converts it, and a cluster that refuses to terminate
    put_landing(h, SLOT)
    ScriptedSparkStep(h).register()

    # WHEN the pipeline runs
    result = h.run(EMR, SCHEDULED, test_case="ScriptedStepTerminationFails")

    # THEN termination is retried on every error (10, 20, 40 s), then the run fails at ClusterTerminationFailed
    assert result.states_entered == [
        "PrepareRun",
        "HasWork",
        "CreateCluster",
        "RunSparkStep",
        "TerminateCluster",
        "TerminationFailed",
        "RecordSlots",
        "RouteOutcome",
        "ClusterTerminationFailed",
    ]
    assert terminations(result) == [{"ClusterId": CLUSTER_ID}] * 4
    assert [s.seconds for s in h.sleeps] == [10.0, 20.0, 40.0]
    assert result.status == "FAILED"
    assert result.error == "EMR.AmazonElasticMapReduceException"
    assert "could not be terminated" in str(result.cause)
    # AND the data was written: the slot is done (the job's report says so), not retried
    assert states(h) == {SLOT: "done"}
    check_record_slots_request(result, "termination_failed", caught_error(result, "TerminateCluster"))
    assert task_sequence(result) == [PREPARE, CREATE, STEP] + [TERMINATE] * 4 + [RECORD]
    check_emr_requests(result, SCHEDULED, CLUSTER_ID)
    assert h.published() == []


def test_throttled_cluster_creation_is_retried_after_30_then_60_seconds_and_the_run_succeeds(h: OfflineHarness):
    # GIVEN a slot with data, and EMR throttling RunJobFlow twice
    put_landing(h, SLOT)
    ScriptedSparkStep(h).register()

    # WHEN the pipeline runs
    result = h.run(EMR, SCHEDULED, test_case="ScriptedStepClusterThrottledTwice")

    # THEN CreateCluster is scheduled three times, the same request each time, with the declared back-off
    creates = result.tasks("CreateCluster")
    assert len(creates) == 3
    assert creates[0].parameters == creates[1].parameters == creates[2].parameters
    assert h.sleeps == [Sleep("CreateCluster", "retry", 1, 30.0), Sleep("CreateCluster", "retry", 2, 60.0)]
    # AND the run then succeeds, terminating the one cluster it got, and the slot is done
    assert result.states_entered == HAPPY_STATES
    assert result.status == "SUCCEEDED"
    assert task_sequence(result) == [PREPARE, CREATE, CREATE, CREATE, STEP, TERMINATE, RECORD]
    assert states(h) == {SLOT: "done"}
    check_emr_requests(result, SCHEDULED, CLUSTER_ID)
    assert h.published() == []


def test_cluster_creation_throttled_beyond_its_retries_releases_the_slot_and_fails_with_the_throttling_error(
    h: OfflineHarness,
):
    # GIVEN a slot with data, and EMR throttling RunJobFlow on every attempt
    put_landing(h, SLOT)

    # WHEN the pipeline runs
    result = h.run(EMR, SCHEDULED, test_case="CreateClusterAlwaysThrottled")

    # THEN after 1 + 2 attempts (30 and 60 s apart) the error is caught; no cluster to terminate
    assert len(result.tasks("CreateCluster")) == 3
    assert [s.seconds for s in h.sleeps] == [30.0, 60.0]
    assert result.states_entered == [
        "PrepareRun",
        "HasWork",
        "CreateCluster",
        "ClusterDidNotStart",
        "RecordSlots",
        "RouteOutcome",
        "ClusterStartFailed",
    ]
    # AND the slot is released (no attempt counted: the data never met Spark), the run FAILED with EMR's error
    assert (records(h)[SLOT].state, records(h)[SLOT].attempts) == ("pending", 0)
    assert result.status == "FAILED"
    assert result.error == "EMR.AmazonElasticMapReduceException"
    assert "ThrottlingException" in str(result.cause)
    assert task_sequence(result) == [PREPARE, CREATE, CREATE, CREATE, RECORD]
    check_emr_requests(result, SCHEDULED, cluster_id=None)
    check_record_slots_request(result, "cluster_failed", caught_error(result, "CreateCluster"))
    assert h.published() == []


def test_a_run_redriven_after_its_cluster_failed_to_start_fails_again_at_once_and_the_next_tick_converts_its_slot(
    h: OfflineHarness,
):
    # GIVEN a run whose cluster failed to start (its slot released to the ledger)
    put_landing(h, SLOT)
    failed = h.run(EMR, SCHEDULED, test_case="ClusterCreationFails")
    assert (failed.status, failed.states_entered[-1]) == ("FAILED", "ClusterStartFailed")
    released = records(h)[SLOT]

    # WHEN the operator redrives it
    result = h.redrive(failed.arn)

    # THEN only the Fail state it ended in runs again: no cluster, no plan, the ledger untouched, same error
    assert result.status == "FAILED"
    assert result.description["redriveCount"] == 1
    assert result.events("ExecutionRedriven")[0]["executionRedrivenEventDetails"] == {"redriveCount": 1}
    assert result.states_entered == [*failed.states_entered, "ClusterStartFailed"]
    assert (result.error, result.cause) == (failed.error, failed.cause)
    assert task_sequence(result) == task_sequence(failed) == [PREPARE, CREATE, RECORD]
    assert records(h)[SLOT] == released
    # AND the recovery is the next tick: it claims the released slot and converts it
    step = ScriptedSparkStep(h).register()
    after = h.run(EMR, NEXT_TICK, test_case="ScriptedStep", name=unique("next-tick"))
    assert after.status == "SUCCEEDED"
    assert [s[0] for s in step.calls[0]] == [SLOT]
    assert slot_args(plan_of(after)["emr"]["spark_submit_args"])[0][0] == SLOT
    assert (records(h)[SLOT].state, records(h)[SLOT].attempts) == ("done", 0)
    assert h.published() == []
