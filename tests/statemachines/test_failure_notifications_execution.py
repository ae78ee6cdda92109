"""Every failed path, end to end: the failed execution → its status-change event → notify_failure → SNS.

The event is built from the moto execution's real DescribeExecution output (offline.events),
and given to the real ``notify_failure`` handler with its template environment; it reads the
real execution history from moto, records idempotency in moto DynamoDB and publishes to the
template's topic, read back through an SQS subscription.
"""

from __future__ import annotations

from typing import Any

import boto3
import pytest

from offline import OfflineHarness, Runner, TaskContext
from tests.statemachines.sfn_support import EMR, TRANSFORM, Gate, execution_input

TRANSFORM_SLOT = {"scheduled_time": "2026-11-25T06:00:00Z", "trigger": "schedule"}

FAILED_RUNS = [
    pytest.param(
        EMR,
        "ClusterCreationFails",
        "CreateCluster",
        "States.TaskFailed",
        "VALIDATION_ERROR The requested instance type m7g.xlarge is not supported",
        id="emr-cluster-creation-fails",
    ),
    pytest.param(
        EMR,
        "SparkStepFails",
        "RunSparkStep",
        "States.TaskFailed",
        "ValueError: partition column 'class' not found; available columns: id, name, level",
        id="emr-spark-step-fails",
    ),
    pytest.param(
        EMR,
        "SparkStepFailsAndTerminationFails",
        "RunSparkStep",
        "States.TaskFailed",
        "ValueError: partition column 'class' not found",
        id="emr-spark-step-and-cleanup-fail",
    ),
    pytest.param(
        EMR,
        "TerminationFails",
        "TerminateCluster",
        "EMR.AmazonElasticMapReduceException",
        "Cluster j-2AXXXXXXGAPLF could not be terminated",
        id="emr-termination-fails",
    ),
    pytest.param(
        EMR,
        "CreateClusterAlwaysThrottled",
        "CreateCluster",
        "EMR.AmazonElasticMapReduceException",
        "Rate exceeded",
        id="emr-throttled-beyond-retries",
    ),
    pytest.param(
        TRANSFORM,
        "TransformJobFails",
        "RunTransformJob",
        "States.TaskFailed",
        "ClientError: See job logs for more details: line 3, field 'length': 'abc' is not a number",
        id="transform-job-fails",
    ),
]


def run_input(state_machine: str) -> dict[str, Any]:
    return execution_input("scheduled") if state_machine == EMR else dict(TRANSFORM_SLOT)


@pytest.mark.parametrize(("state_machine", "test_case", "failed_state", "error", "cause_text"), FAILED_RUNS)
def test_a_failed_run_becomes_one_message_naming_the_failed_state_error_and_cause(
    harness: OfflineHarness, state_machine: str, test_case: str, failed_state: str, error: str, cause_text: str
):
    # GIVEN a run that failed offline, and the status-change event AWS would emit for it
    failed = harness.run(state_machine, run_input(state_machine), test_case=test_case)
    assert (failed.status, failed.error) == ("FAILED", error)
    event = harness.status_change_event(failed.arn)
    assert event["detail"]["error"] == error
    assert event["detail"]["cause"] == failed.cause

    # WHEN the real notifier handles it
    result = harness.invoke_function("NotifyFailureFunction", event)

    # THEN exactly one message is published, naming the failed state, the error and the cause
    assert result["published"] is True
    assert result["failed_state"] == failed_state
    [message] = harness.published()
    assert message.topic_arn == harness.stack.ref("NotificationTopic")
    title = "EMR pipeline" if state_machine == EMR else "Batch transform"
    assert message.subject.startswith(f"[transient-analytics] {title} FAILED at {failed_state}: {failed.name[:8]}")
    assert len(message.subject) < 100
    assert f"Failed state:  {failed_state}\n" in message.message
    assert f"Error:         {error}\n" in message.message
    assert cause_text in message.message
    assert f"States:        {' -> '.join(failed.states_entered)}" in message.message
    # AND the run's parameters, from the plan PrepareRun returned (read back from the real history)
    slot = "20261125T2015Z-" if state_machine == EMR else "20261125T0600Z-"
    assert f"run id:           {slot}" in message.message


def test_a_redelivered_failure_event_publishes_nothing_twice(harness: OfflineHarness):
    # GIVEN a failed EMR run and its status-change event
    failed = harness.run(EMR, execution_input("scheduled"), test_case="SparkStepFails")
    event = harness.status_change_event(failed.arn, event_id="6c8f3f0e-0000-4000-8000-000000000001")

    # WHEN EventBridge delivers the same event twice
    first = harness.invoke_function("NotifyFailureFunction", event)
    second = harness.invoke_function("NotifyFailureFunction", event)

    # THEN one message only (the event id is the idempotency key, kept in the template's DynamoDB table)
    assert first == second
    assert len(harness.published()) == 1


def test_a_redriven_run_that_fails_again_says_so_in_its_message(harness: OfflineHarness):
    # GIVEN a transform run that failed and was redriven, failing again
    failed = harness.run(TRANSFORM, TRANSFORM_SLOT, test_case="TransformJobFails")
    again = harness.redrive(failed.arn)
    assert (again.status, again.description["redriveCount"]) == ("FAILED", 1)

    # WHEN the notifier handles the second failure's event
    event = harness.status_change_event(again.arn)
    harness.invoke_function("NotifyFailureFunction", event)

    # THEN the event and the message carry the redrive count
    assert event["detail"]["redriveCount"] == 1
    [message] = harness.published()
    assert "Redrives:      1\n" in message.message


CREATE_CLUSTER = "arn:aws:states:::elasticmapreduce:createCluster.sync"
ADD_STEP = "arn:aws:states:::elasticmapreduce:addStep.sync"


def cluster_in_moto_emr(harness: OfflineHarness) -> Runner:
    """A createCluster.sync runner that starts a real (moto) EMR cluster from the task's RunJobFlow parameters."""

    def create_cluster(parameters: dict[str, Any], context: TaskContext) -> dict[str, Any]:
        emr = boto3.client("emr", region_name=context.region)
        created = emr.run_job_flow(**parameters)
        context.submit({"ClusterId": created["JobFlowId"], "ClusterArn": created["ClusterArn"]})
        return {"ClusterId": created["JobFlowId"], "ClusterArn": created["ClusterArn"]}

    return create_cluster


def cluster_states(harness: OfflineHarness, execution_arn: str) -> list[str]:
    """States of the moto EMR clusters tagged with the execution (the plan's tag)."""
    emr = boto3.client("emr", region_name=harness.region)
    states = []
    for summary in emr.list_clusters()["Clusters"]:
        cluster = emr.describe_cluster(ClusterId=summary["Id"])["Cluster"]
        if {"Key": "transient-analytics:execution", "Value": execution_arn} in cluster.get("Tags", []):
            states.append(cluster["Status"]["State"])
    return states


def test_a_stopped_emr_run_has_its_still_running_cluster_terminated_by_the_notifier(
    harness: OfflineHarness, gate: Gate
):
    # GIVEN a run whose cluster started (in moto EMR, tagged by the plan) and whose step hangs
    harness.runners.register(CREATE_CLUSTER, cluster_in_moto_emr(harness))

    def add_step(parameters: dict[str, Any], context: TaskContext) -> dict[str, Any]:
        gate.hold(context.cancelled)
        return {"StepId": "s-1"}

    harness.runners.register(ADD_STEP, add_step)
    arn = harness.start_execution(EMR, execution_input("scheduled"))
    assert gate.entered.wait(10)
    assert cluster_states(harness, arn) == ["WAITING"]

    # WHEN the operator stops it (no Catch runs on ABORTED, so the ASL cannot terminate the cluster)
    harness.stop_execution(arn)
    stopped = harness.wait(arn)
    assert stopped.status == "ABORTED"
    assert not [t for t in stopped.scheduled_tasks if t.resource == "terminateCluster.sync"]
    result = harness.invoke_function("NotifyFailureFunction", harness.status_change_event(arn))

    # THEN the notifier finds the cluster by its execution tag and terminates it, and says so
    assert cluster_states(harness, arn) == ["TERMINATED"]
    [cluster_id] = result["cleanup"]["terminated"]
    assert cluster_id.startswith("j-")
    [message] = harness.published()
    assert message.subject.startswith("[transient-analytics] EMR pipeline ABORTED at RunSparkStep: ")
    assert "Cleanup:       terminated EMR cluster(s) still running for this execution: j-" in message.message


def test_a_runtime_error_after_the_cluster_started_escapes_the_catch_and_the_notifier_cleans_up(
    harness: OfflineHarness,
):
    # GIVEN a cluster that starts, and a step whose integration breaks with a runtime error
    harness.runners.register(CREATE_CLUSTER, cluster_in_moto_emr(harness))

    def broken_step(parameters: dict, context: object) -> dict:
        raise RuntimeError("integration broke while polling the step")

    harness.runners.register(ADD_STEP, broken_step)

    # WHEN the pipeline runs
    failed = harness.run(EMR, execution_input("scheduled"))

    # THEN States.Runtime is not caught by RunSparkStep's States.ALL Catch (as on AWS): no termination in the ASL
    assert failed.states_entered[-1] == "RunSparkStep"
    assert (failed.status, failed.error) == ("FAILED", "States.Runtime")
    assert "integration broke while polling the step" in str(failed.cause)
    assert cluster_states(harness, failed.arn) == ["WAITING"]
    # AND the failure notification's cleanup terminates the cluster the run left behind
    harness.invoke_function("NotifyFailureFunction", harness.status_change_event(failed.arn))
    assert cluster_states(harness, failed.arn) == ["TERMINATED"]
    [message] = harness.published()
    assert "FAILED at RunSparkStep" in message.subject
    assert "Error:         States.Runtime" in message.message
