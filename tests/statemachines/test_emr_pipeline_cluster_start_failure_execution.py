"""The EMR pipeline's deployed definition, executed offline, when its cluster does not start: the
slot is released to the ledger, the run fails with EMR's error, a redrive fails again at once, and the
next tick converts the slot.
"""

from __future__ import annotations

from offline.harness import OfflineHarness
from offline.runners.simulated_step import slot_args
from tests.statemachines.ledger_support import ScriptedSparkStep, put_landing, records
from tests.statemachines.sfn_support import (
    CREATE,
    EMR,
    EMR_CLUSTER_NOT_STARTED_STATES,
    NEXT_TICK,
    PREPARE,
    RECORD,
    SCHEDULED,
    SLOT,
    caught_error,
    check_emr_requests,
    check_record_slots_request,
    plan_of,
    task_sequence,
    unique,
)


def test_a_cluster_that_fails_to_start_fails_the_run_with_emrs_error_after_releasing_its_slot(h: OfflineHarness):
    # GIVEN a slot with data, and EMR terminating the new cluster with errors (bad instance type)
    put_landing(h, SLOT)

    # WHEN the pipeline runs
    result = h.run(EMR, SCHEDULED, test_case="ClusterCreationFails")

    # THEN the failure is caught, the slot released, and the run FAILED with EMR's own error and cause
    assert result.states_entered == EMR_CLUSTER_NOT_STARTED_STATES
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
    assert result.states_entered == EMR_CLUSTER_NOT_STARTED_STATES
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
