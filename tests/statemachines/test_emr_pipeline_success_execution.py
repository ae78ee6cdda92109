"""The EMR pipeline's deployed definition, executed offline, succeeding: one cluster converts every
closed slot, is terminated once, and the ledger records the slots done, also after throttled starts.
"""

from __future__ import annotations

from offline.engine import Sleep
from offline.harness import OfflineHarness
from tests.statemachines.ledger_support import ScriptedSparkStep, put_landing, records, states
from tests.statemachines.sfn_support import (
    CLUSTER_ID,
    CREATE,
    EARLIER,
    EARLIER_PATH,
    EMR,
    EMR_HAPPY_STATES,
    LOG_PATH,
    PREPARE,
    RECORD,
    SCHEDULED,
    SLOT,
    SLOT_PATH,
    STEP,
    TERMINATE,
    bucket,
    check_emr_requests,
    check_record_slots_request,
    task_sequence,
    terminations,
)

#: The path every run here walks, throttled or not.
HAPPY_STATES = EMR_HAPPY_STATES


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
    # AND PrepareRun received the execution's own context, its start time included ($$.Execution.StartTime)
    [prepare] = result.tasks("PrepareRun")
    assert prepare.parameters["FunctionName"] == h.functions["PrepareRunFunction"].arn
    assert prepare.parameters["Payload"] == {
        "pipeline": "emr",
        "input": {"scheduled_time": "2026-11-25T20:15:00Z", "trigger": "schedule"},
        "execution": {
            "id": result.arn,
            "name": result.name,
            "state_machine_arn": h.state_machine_arn(EMR),
            "start_time": "2026-11-25T20:16:05.000Z",  # the frozen clock's moment
        },
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
    # AND one spark-submit converts both closed slots (oldest first), as jobs/README.md spells its command line
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
        "--partition-values", "Titan,Hunter,Warlock",  # the catalog's list: the job reports rows it would hide
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
    check_record_slots_request(result, "step_succeeded", None, cluster_id=CLUSTER_ID)
    assert h.sleeps == []
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
