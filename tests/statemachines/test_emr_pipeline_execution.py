"""The EMR pipeline's deployed definition, executed offline: every path from plan to termination.

PrepareRun is the real ``prepare_run`` handler (clock frozen at 20:16:05Z); the EMR ``.sync``
tasks answer from ``mock-config.json`` (``stateMachineArn#TestCase``) or from a runner.
"""

from __future__ import annotations

import json
from typing import Any

from offline import ExecutionResult, OfflineHarness, Sleep, TaskContext, TaskFailure
from tests.statemachines.sfn_support import EMR, Gate, check_emr_requests, execution_input, task_sequence

CREATE_CLUSTER = "arn:aws:states:::elasticmapreduce:createCluster.sync"
CLUSTER_ID = "j-2AXXXXXXGAPLF"
SLOT = "dt=2026-11-25/hour=20/minute=15"
HAPPY_STATES = [
    "PrepareRun",
    "SkipIfAnotherRunIsActive",
    "CreateCluster",
    "RunSparkStep",
    "TerminateCluster",
    "Succeeded",
]
#: The scheduler's input for the 20:15 slot (events/executions/scheduled.json).
SCHEDULED = execution_input("scheduled")
#: (state, resource) of the TaskScheduled events.
PREPARE = ("PrepareRun", "invoke")
CREATE = ("CreateCluster", "createCluster.sync")
STEP = ("RunSparkStep", "addStep.sync")


def bucket(harness: OfflineHarness) -> str:
    return harness.stack.ref("DataBucket")


def terminations(result: ExecutionResult) -> list[dict[str, Any]]:
    return [t.parameters for t in result.scheduled_tasks if t.resource == "terminateCluster.sync"]


def test_a_scheduled_run_runs_spark_on_the_slots_dated_paths_and_terminates_its_cluster_once(harness: OfflineHarness):
    # GIVEN the scheduler's input for the 20:15 slot, and EMR starting, running and terminating as asked
    # WHEN the EMR pipeline runs
    result = harness.run(EMR, SCHEDULED, test_case="HappyPath")

    # THEN it walks the happy path and succeeds
    assert result.states_entered == HAPPY_STATES
    assert (result.status, result.error) == ("SUCCEEDED", None)
    # AND PrepareRun received the execution's own context
    [prepare] = result.tasks("PrepareRun")
    assert prepare.parameters["FunctionName"] == harness.functions["PrepareRunFunction"].arn
    assert prepare.parameters["Payload"] == {
        "pipeline": "emr",
        "input": {"scheduled_time": "2026-11-25T20:15:00Z", "trigger": "schedule"},
        "execution": {"id": result.arn, "name": result.name, "state_machine_arn": harness.state_machine_arn(EMR)},
    }
    # AND the cluster is the plan's, with the template's release and roles, tagged with the execution
    [create] = result.tasks("CreateCluster")
    plan = result.output["plan"]
    assert create.parameters["Name"] == plan["emr"]["cluster_name"]
    assert create.parameters["ReleaseLabel"] == "emr-7.12.0"
    assert create.parameters["ServiceRole"] == "transient-analytics-dev-EmrServiceRole"
    assert create.parameters["JobFlowRole"] == "transient-analytics-dev-EmrEc2Role"
    assert create.parameters["LogUri"] == f"s3://{bucket(harness)}/logs/emr/{SLOT}/"
    assert {"Key": "transient-analytics:execution", "Value": result.arn} in create.parameters["Tags"]
    assert create.parameters["Instances"]["KeepJobFlowAliveWhenNoSteps"] is True
    # AND spark-submit gets the dated input and output paths and the partition column
    [step] = result.tasks("RunSparkStep")
    assert step.parameters["ClusterId"] == CLUSTER_ID
    assert step.parameters["Step"]["HadoopJarStep"]["Jar"] == "command-runner.jar"
    args = step.parameters["Step"]["HadoopJarStep"]["Args"]
    assert args[:3] == ["spark-submit", "--deploy-mode", "cluster"]
    assert args[args.index("--input") + 1] == f"s3://{bucket(harness)}/landing/characters/{SLOT}/"
    assert args[args.index("--output") + 1] == f"s3://{bucket(harness)}/curated/characters/{SLOT}/"
    assert args[args.index("--partition-column") + 1] == "class"
    # AND the step's time-out comes from the plan (TimeoutSecondsPath)
    assert step.timeout_seconds == 3600
    # AND the cluster is terminated exactly once, and the results are kept where the ASL puts them
    assert terminations(result) == [{"ClusterId": CLUSTER_ID}]
    assert result.output["cluster"] == {"cluster_id": CLUSTER_ID}
    assert result.output["step"] == {"StepId": "s-2ABCDEF3GHIJK"}
    # AND every request follows the plan; nothing slept; the state machine published nothing
    assert task_sequence(result) == [PREPARE, CREATE, STEP, ("TerminateCluster", "terminateCluster.sync")]
    check_emr_requests(result, SCHEDULED, CLUSTER_ID)
    assert harness.sleeps == []
    assert harness.published() == []


def test_a_cluster_that_fails_to_start_fails_the_run_with_emrs_error_and_nothing_is_terminated(harness: OfflineHarness):
    # GIVEN EMR terminating the new cluster with errors (bad instance type)
    # WHEN the pipeline runs
    result = harness.run(EMR, SCHEDULED, test_case="ClusterCreationFails")

    # THEN the run stops at CreateCluster (no Catch there), FAILED with EMR's own error and cause
    assert result.states_entered == ["PrepareRun", "SkipIfAnotherRunIsActive", "CreateCluster"]
    assert result.status == "FAILED"
    assert result.error == "States.TaskFailed"
    assert result.cause_json["Status"]["StateChangeReason"]["Code"] == "VALIDATION_ERROR"
    # AND States.TaskFailed is not retried (only EMR API errors are), and no termination is attempted
    assert task_sequence(result) == [PREPARE, CREATE]
    check_emr_requests(result, SCHEDULED, cluster_id=None)
    assert harness.sleeps == []
    assert harness.published() == []


def test_a_failed_spark_step_terminates_the_cluster_then_fails_with_the_steps_error_and_cause(harness: OfflineHarness):
    # GIVEN a Spark step that fails (the job cannot find the partition column)
    # WHEN the pipeline runs
    result = harness.run(EMR, SCHEDULED, test_case="SparkStepFails")

    # THEN the cluster is terminated first, then the run fails at SparkStepFailed
    assert result.states_entered == [
        "PrepareRun",
        "SkipIfAnotherRunIsActive",
        "CreateCluster",
        "RunSparkStep",
        "TerminateClusterAfterStepFailure",
        "SparkStepFailed",
    ]
    assert terminations(result) == [{"ClusterId": CLUSTER_ID}]
    # AND the execution's error is the step's own (States.TaskFailed kept, not a runtime error)
    assert result.status == "FAILED"
    assert result.error == "States.TaskFailed"
    failure = result.cause_json["Step"]["Status"]["FailureDetails"]
    assert failure["Message"] == "ValueError: partition column 'class' not found; available columns: id, name, level"
    # AND the step was submitted once (a step that ran is never submitted again), all requests per the plan
    assert task_sequence(result) == [
        PREPARE,
        CREATE,
        STEP,
        ("TerminateClusterAfterStepFailure", "terminateCluster.sync"),
    ]
    check_emr_requests(result, SCHEDULED, CLUSTER_ID)
    assert harness.sleeps == []
    assert harness.published() == []


def test_when_the_cleanup_after_a_failed_step_fails_too_the_run_still_fails_with_the_steps_error(
    harness: OfflineHarness,
):
    # GIVEN a failed Spark step, and a cluster that then refuses to terminate
    # WHEN the pipeline runs
    result = harness.run(EMR, SCHEDULED, test_case="SparkStepFailsAndTerminationFails")

    # THEN termination is tried 1 + 3 times (10, 20, 40 s apart), then the run fails with the step's error
    assert result.states_entered[-2:] == ["TerminateClusterAfterStepFailure", "SparkStepFailed"]
    assert len(terminations(result)) == 4
    assert harness.sleeps == [
        Sleep("TerminateClusterAfterStepFailure", "retry", 1, 10.0),
        Sleep("TerminateClusterAfterStepFailure", "retry", 2, 20.0),
        Sleep("TerminateClusterAfterStepFailure", "retry", 3, 40.0),
    ]
    assert result.status == "FAILED"
    assert result.error == "States.TaskFailed"
    assert "partition column 'class' not found" in str(result.cause)
    assert (
        task_sequence(result)
        == [PREPARE, CREATE, STEP] + [("TerminateClusterAfterStepFailure", "terminateCluster.sync")] * 4
    )
    check_emr_requests(result, SCHEDULED, CLUSTER_ID)
    assert harness.published() == []


def test_a_termination_failure_after_a_good_step_fails_the_run_with_the_termination_error(harness: OfflineHarness):
    # GIVEN a step that succeeds, and a cluster that refuses to terminate
    # WHEN the pipeline runs
    result = harness.run(EMR, SCHEDULED, test_case="TerminationFails")

    # THEN termination is retried on every error (10, 20, 40 s), then the run fails at ClusterTerminationFailed
    assert result.states_entered == [
        "PrepareRun",
        "SkipIfAnotherRunIsActive",
        "CreateCluster",
        "RunSparkStep",
        "TerminateCluster",
        "ClusterTerminationFailed",
    ]
    assert terminations(result) == [{"ClusterId": CLUSTER_ID}] * 4
    assert [s.seconds for s in harness.sleeps] == [10.0, 20.0, 40.0]
    assert result.status == "FAILED"
    assert result.error == "EMR.AmazonElasticMapReduceException"
    assert "could not be terminated" in str(result.cause)
    assert task_sequence(result) == [PREPARE, CREATE, STEP] + [("TerminateCluster", "terminateCluster.sync")] * 4
    check_emr_requests(result, SCHEDULED, CLUSTER_ID)
    assert harness.published() == []


def test_throttled_cluster_creation_is_retried_after_30_then_60_seconds_and_the_run_succeeds(harness: OfflineHarness):
    # GIVEN EMR throttling RunJobFlow twice
    # WHEN the pipeline runs
    result = harness.run(EMR, SCHEDULED, test_case="CreateClusterThrottledTwice")

    # THEN CreateCluster is scheduled three times, the same request each time, with the declared back-off
    creates = result.tasks("CreateCluster")
    assert len(creates) == 3
    assert creates[0].parameters == creates[1].parameters == creates[2].parameters
    assert harness.sleeps == [Sleep("CreateCluster", "retry", 1, 30.0), Sleep("CreateCluster", "retry", 2, 60.0)]
    # AND the run then succeeds, terminating the one cluster it got
    assert result.states_entered == HAPPY_STATES
    assert result.status == "SUCCEEDED"
    assert task_sequence(result) == [
        PREPARE,
        CREATE,
        CREATE,
        CREATE,
        STEP,
        ("TerminateCluster", "terminateCluster.sync"),
    ]
    check_emr_requests(result, SCHEDULED, CLUSTER_ID)
    assert harness.published() == []


def test_cluster_creation_throttled_beyond_its_retries_fails_the_run_with_the_throttling_error(harness: OfflineHarness):
    # GIVEN EMR throttling RunJobFlow on every attempt
    # WHEN the pipeline runs
    result = harness.run(EMR, SCHEDULED, test_case="CreateClusterAlwaysThrottled")

    # THEN after 1 + 2 attempts (30 and 60 s apart) the run fails with EMR's error; no cluster to terminate
    assert len(result.tasks("CreateCluster")) == 3
    assert [s.seconds for s in harness.sleeps] == [30.0, 60.0]
    assert result.states_entered == ["PrepareRun", "SkipIfAnotherRunIsActive", "CreateCluster"]
    assert result.status == "FAILED"
    assert result.error == "EMR.AmazonElasticMapReduceException"
    assert "ThrottlingException" in str(result.cause)
    assert task_sequence(result) == [PREPARE, CREATE, CREATE, CREATE]
    check_emr_requests(result, SCHEDULED, cluster_id=None)
    assert harness.published() == []


def test_a_run_started_while_another_is_running_skips_without_creating_a_cluster(harness: OfflineHarness, gate: Gate):
    # GIVEN a first run holding its cluster creation (a runner that blocks until released)
    def slow_cluster(parameters: dict[str, Any], context: TaskContext) -> dict[str, Any]:
        gate.hold(context.cancelled)
        return {"ClusterId": CLUSTER_ID}

    harness.runners.register(CREATE_CLUSTER, slow_cluster)
    first = harness.start_execution(EMR, SCHEDULED, test_case="ClusterFromRunner")
    assert gate.entered.wait(10), "the first run never reached CreateCluster"

    # WHEN the next slot's run starts while the first is RUNNING
    second = harness.run(EMR, SCHEDULED, test_case="HappyPath")

    # THEN the second run's real PrepareRun sees the first through ListExecutions and skips
    assert second.states_entered == ["PrepareRun", "SkipIfAnotherRunIsActive", "SkippedOverlappingRun"]
    assert second.status == "SUCCEEDED"
    assert second.output["plan"]["skip"] is True
    assert second.output["plan"]["blocking_execution_arn"] == first
    # AND it scheduled no cluster task at all
    assert task_sequence(second) == [PREPARE]
    check_emr_requests(second, SCHEDULED, cluster_id=None)

    # AND the first run, once released, completes normally
    gate.release()
    first_result = harness.wait(first)
    assert first_result.states_entered == HAPPY_STATES
    assert first_result.output["plan"]["skip"] is False
    check_emr_requests(first_result, SCHEDULED, CLUSTER_ID)
    assert harness.published() == []


def test_a_run_redriven_after_its_cluster_failed_to_start_creates_a_cluster_again_and_completes(
    harness: OfflineHarness,
):
    # GIVEN a first attempt whose cluster fails to start, and EMR healthy afterwards
    calls: list[int] = []

    def create_cluster(parameters: dict[str, Any], context: TaskContext) -> dict[str, Any]:
        calls.append(context.redrive_count)
        if context.redrive_count == 0:
            raise TaskFailure("States.TaskFailed", json.dumps({"Status": {"State": "TERMINATED_WITH_ERRORS"}}))
        return {"ClusterId": CLUSTER_ID}

    harness.runners.register(CREATE_CLUSTER, create_cluster)
    failed = harness.run(EMR, SCHEDULED, test_case="ClusterFromRunner")
    assert (failed.status, failed.states_entered[-1]) == ("FAILED", "CreateCluster")

    # WHEN the operator redrives it
    result = harness.redrive(failed.arn)

    # THEN only CreateCluster onwards runs again (PrepareRun is not re-planned), with RedriveCount 1
    assert calls == [0, 1]
    assert result.status == "SUCCEEDED"
    assert result.description["redriveCount"] == 1
    assert result.states_entered == [*failed.states_entered, *HAPPY_STATES[2:]]
    assert [t.state for t in result.scheduled_tasks].count("PrepareRun") == 1
    assert result.events("ExecutionRedriven")[0]["executionRedrivenEventDetails"] == {"redriveCount": 1}
    assert result.output["plan"]["scheduled_time"] == "2026-11-25T20:15:00Z"
    assert task_sequence(result) == [PREPARE, CREATE, CREATE, STEP, ("TerminateCluster", "terminateCluster.sync")]
    check_emr_requests(result, SCHEDULED, CLUSTER_ID)
    assert harness.published() == []
