"""A run that leaves its EMR cluster running (stopped, or broken by a runtime error the Catch does not
see): the failure notifier finds the cluster by the execution's tag in moto EMR and terminates it.
"""

from __future__ import annotations

import json
from typing import Any

import boto3

from offline.harness import OfflineHarness
from offline.integrations import Runner, TaskContext
from tests.statemachines.ledger_support import ScriptedSparkStep, put_landing, states
from tests.statemachines.sfn_support import EMR, SLOTS, Gate, execution_input

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


def test_a_stopped_emr_run_has_its_still_running_cluster_terminated_by_the_notifier(h: OfflineHarness, gate: Gate):
    # GIVEN a run with a slot to convert, whose cluster started (in moto EMR, tagged by the plan) and whose step hangs
    put_landing(h, SLOTS[EMR][0])
    h.runners.register(CREATE_CLUSTER, cluster_in_moto_emr(h))

    def add_step(parameters: dict[str, Any], context: TaskContext) -> dict[str, Any]:
        gate.hold(context.cancelled)
        return {"StepId": "s-1"}

    h.runners.register(ADD_STEP, add_step)
    arn = h.start_execution(EMR, execution_input("scheduled"))
    assert gate.entered.wait(10)
    assert cluster_states(h, arn) == ["WAITING"]

    # WHEN the operator stops it (no Catch runs on ABORTED, so the ASL cannot terminate the cluster)
    h.stop_execution(arn)
    stopped = h.wait(arn)
    assert stopped.status == "ABORTED"
    assert not [t for t in stopped.scheduled_tasks if t.resource == "terminateCluster.sync"]
    result = h.invoke_function("NotifyFailureFunction", h.status_change_event(arn))

    # THEN the notifier finds the cluster by its execution tag and terminates it, and says so
    assert cluster_states(h, arn) == ["TERMINATED"]
    [cluster_id] = result["cleanup"]["terminated"]
    assert cluster_id.startswith("j-")
    [message] = h.published()
    assert message.subject.startswith("[transient-analytics] EMR pipeline ABORTED at RunSparkStep: ")
    assert "Cleanup:       terminated EMR cluster(s) still running for this execution: j-" in message.message
    # AND no RecordSlots ran, so it gives the slot back (a stop counts no attempt) and the re-run converts it now
    slot = SLOTS[EMR][0]
    assert states(h) == {slot: "pending"}
    assert f"  slots:            {slot}\n" in message.message
    assert "the notifier gave them back to the ledger (released: " + slot in message.message
    [now] = [x for x in message.message.splitlines() if x.startswith("Re-run now:")]
    ScriptedSparkStep(h).register()
    rerun = h.run(EMR, json.loads(now.split("--input '", 1)[1].split("'", 1)[0]), test_case="ScriptedStep")
    assert rerun.status == "SUCCEEDED" and states(h) == {slot: "done"}


def test_a_runtime_error_after_the_cluster_started_escapes_the_catch_and_the_notifier_cleans_up(h: OfflineHarness):
    # GIVEN a slot to convert, a cluster that starts, and a step whose integration breaks with a runtime error
    put_landing(h, SLOTS[EMR][0])
    h.runners.register(CREATE_CLUSTER, cluster_in_moto_emr(h))

    def broken_step(parameters: dict, context: object) -> dict:
        raise RuntimeError("integration broke while polling the step")

    h.runners.register(ADD_STEP, broken_step)

    # WHEN the pipeline runs
    failed = h.run(EMR, execution_input("scheduled"))

    # THEN States.Runtime is not caught by RunSparkStep's States.ALL Catch (as on AWS): no termination in the ASL
    assert failed.states_entered[-1] == "RunSparkStep"
    assert (failed.status, failed.error) == ("FAILED", "States.Runtime")
    assert "integration broke while polling the step" in str(failed.cause)
    assert cluster_states(h, failed.arn) == ["WAITING"]
    # AND the failure notification's cleanup terminates the cluster the run left behind
    h.invoke_function("NotifyFailureFunction", h.status_change_event(failed.arn))
    assert cluster_states(h, failed.arn) == ["TERMINATED"]
    [message] = h.published()
    assert "FAILED at RunSparkStep" in message.subject
    assert "Error:         States.Runtime" in message.message
