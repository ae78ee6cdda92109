"""The EMR pipeline's deployed definition, executed offline, when something fails once the cluster
runs: the Spark step, its run report, the cleanup after it, or the termination. The cluster is
terminated, the run fails with the error that decided it, and the ledger records each slot's fate.
"""

from __future__ import annotations

from offline.engine import Sleep
from offline.harness import OfflineHarness
from tests.statemachines.ledger_support import ScriptedSparkStep, put_landing, records, states
from tests.statemachines.sfn_support import (
    CLEANUP,
    CLUSTER_ID,
    CREATE,
    EMR,
    EMR_HAPPY_STATES,
    EMR_STEP_FAILED_TAIL,
    PREPARE,
    RECORD,
    SCHEDULED,
    SLOT,
    STEP,
    STEP_ERROR,
    TERMINATE,
    caught_error,
    check_emr_requests,
    check_record_slots_request,
    task_sequence,
    terminations,
)

#: A successful run's path: a step that wrote no report leaves it just before its end.
HAPPY_STATES = EMR_HAPPY_STATES


def test_a_step_reported_successful_without_a_run_report_leaves_its_slots_failed_for_the_next_run(h: OfflineHarness):
    # GIVEN a slot with data, and EMR reporting the step COMPLETED although the job wrote no report (mocked step)
    put_landing(h, SLOT)

    # WHEN the pipeline runs
    result = h.run(EMR, SCHEDULED, test_case="HappyPath")

    # THEN the run fails in SlotsFailed (a notification goes out) instead of succeeding silently
    assert result.states_entered == [*HAPPY_STATES[:-1], "SlotsFailed"]
    assert (result.status, result.error) == ("FAILED", "SlotsFailed")
    assert SLOT in result.cause and "reported nothing for this slot" in result.cause
    # AND no slot is recorded done without the job's word for it: it is failed, attempt 1, taken by the next run
    assert "0 slot(s) converted, 1 failed" in result.cause
    record = records(h)[SLOT]
    assert (record.state, record.attempts) == ("failed", 1)
    assert "reported nothing for this slot" in (record.error or "")
    assert task_sequence(result) == [PREPARE, CREATE, STEP, TERMINATE, RECORD]


def test_a_failed_spark_step_terminates_the_cluster_then_fails_with_the_steps_error_and_cause(h: OfflineHarness):
    # GIVEN a slot with data, and a Spark step that fails (the job cannot find the partition column)
    put_landing(h, SLOT)

    # WHEN the pipeline runs
    result = h.run(EMR, SCHEDULED, test_case="SparkStepFails")

    # THEN the cluster is terminated first, the slot recorded, then the run fails at SparkStepFailed
    assert result.states_entered == ["PrepareRun", "HasWork", "ChooseBackend", "CreateCluster", *EMR_STEP_FAILED_TAIL]
    assert terminations(result) == [{"ClusterId": CLUSTER_ID}]
    # AND the execution's error is the step's own (States.TaskFailed kept, not a runtime error)
    assert result.status == "FAILED"
    assert result.error == "States.TaskFailed"
    assert result.cause_json["Step"]["Status"]["FailureDetails"]["Message"] == STEP_ERROR
    # AND the slot (the job wrote no report: it never started) is released with the step's error, no attempt
    # charged, for the next run to retry
    record = records(h)[SLOT]
    assert (record.state, record.attempts) == ("pending", 0)
    assert STEP_ERROR in (record.error or "")
    # AND the step was submitted once (a step that ran is never submitted again), all requests per the plan
    assert task_sequence(result) == [PREPARE, CREATE, STEP, CLEANUP, RECORD]
    check_emr_requests(result, SCHEDULED, CLUSTER_ID)
    check_record_slots_request(result, "step_failed", caught_error(result, "RunSparkStep"), cluster_id=CLUSTER_ID)
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
    check_record_slots_request(result, "step_failed", caught_error(result, "RunSparkStep"), cluster_id=CLUSTER_ID)
    assert (records(h)[SLOT].state, records(h)[SLOT].attempts) == ("pending", 0)
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
        "ChooseBackend",
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
    check_record_slots_request(result, "termination_failed", caught_error(result, "TerminateCluster"), CLUSTER_ID)
    assert task_sequence(result) == [PREPARE, CREATE, STEP] + [TERMINATE] * 4 + [RECORD]
    check_emr_requests(result, SCHEDULED, CLUSTER_ID)
    assert h.published() == []
