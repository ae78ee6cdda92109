"""Every failed path, end to end: the failed execution → its status-change event → notify_failure → one SNS
message naming where the run went wrong, its slots and how to re-run them; once per event.

The event is built from the moto execution's real DescribeExecution output (offline.events),
and given to the real ``notify_failure`` handler with its template environment; it reads the
real execution history from moto, records idempotency in moto DynamoDB and publishes to the
template's topic, read back through an SQS subscription. Each run has a closed slot with data
(EMR: 20:00 for the 20:15 tick; transform: 24 November for the 06:00 run), so it does work.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from offline.harness import OfflineHarness
from tests.statemachines.ledger_support import ScriptedSparkStep, put_batch, put_landing, states
from tests.statemachines.sfn_support import EMR, SLOTS, TRANSFORM, execution_input, unique

TRANSFORM_RUN = {"scheduled_time": "2026-11-25T06:00:00Z", "trigger": "schedule"}

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
        "ScriptedStepTerminationFails",
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
        "SlotsFailed",
        "2026-11-24T00:00Z: States.TaskFailed: ClientError: See job logs for more details: "
        "line 3, field 'length': 'abc' is not a number",
        id="transform-job-fails",
    ),
]


def run_input(state_machine: str) -> dict[str, Any]:
    return execution_input("scheduled") if state_machine == EMR else dict(TRANSFORM_RUN)


def with_work(harness: OfflineHarness, state_machine: str) -> None:
    """Data in the run's closed slot; the Spark step (where no test case mocks it) is the scripted one."""
    if state_machine == EMR:
        put_landing(harness, SLOTS[EMR][0])
        ScriptedSparkStep(harness).register()
    else:
        put_batch(harness, SLOTS[TRANSFORM][0])


def rerun_input(message: str) -> dict[str, Any]:
    """The execution input of the message's "Re-run now:" command."""
    [line] = [x for x in message.splitlines() if x.startswith("Re-run now:")]
    return dict(json.loads(line.split("--input '", 1)[1].rstrip("'")))


@pytest.mark.parametrize(("state_machine", "test_case", "failed_state", "error", "cause_text"), FAILED_RUNS)
def test_a_failed_run_becomes_one_message_naming_the_failed_state_error_cause_and_slots(
    h: OfflineHarness, state_machine: str, test_case: str, failed_state: str, error: str, cause_text: str
):
    # GIVEN a run that failed offline, and the status-change event AWS would emit for it
    with_work(h, state_machine)
    failed = h.run(state_machine, run_input(state_machine), test_case=test_case)
    assert (failed.status, failed.error) == ("FAILED", error)
    assert failed.states_entered[-1] != failed_state  # the run ended in a Fail state after RecordSlots
    event = h.status_change_event(failed.arn)
    assert event["detail"]["error"] == error
    assert event["detail"]["cause"] == failed.cause

    # WHEN EventBridge delivers it: the template's rule routes it to the real notifier, and only to it
    delivered = h.deliver_status_change(failed.arn)
    assert list(delivered) == ["NotifyFailureFunction"]
    result = delivered["NotifyFailureFunction"]

    # THEN exactly one message is published, naming the state where the run went wrong, the error and the cause
    assert result["published"] is True
    assert result["failed_state"] == failed_state
    [message] = h.published()
    assert message.topic_arn == h.stack.ref("NotificationTopic")
    title = "EMR pipeline" if state_machine == EMR else "Batch transform"
    assert message.subject.startswith(f"[transient-analytics] {title} FAILED at {failed_state}: {failed.name[:8]}")
    assert len(message.subject) < 100
    assert f"Failed state:  {failed_state}\n" in message.message
    assert f"Error:         {error}\n" in message.message
    assert cause_text in message.message
    assert f"States:        {' -> '.join(failed.states_entered)}" in message.message
    # AND the run's parameters and slots, from the plan PrepareRun returned (read back from the real history)
    run_id = "20261125T2015Z-" if state_machine == EMR else "20261125T0600Z-"
    assert f"run id:           {run_id}" in message.message
    first, end = SLOTS[state_machine]
    assert f"  slots:            {first}\n" in message.message
    # AND how the slot recovers, with the command that re-runs it now
    assert "Recovery:      automatic:" in message.message
    arn = h.state_machine_arn(state_machine)
    assert (
        f"Re-run now:    aws stepfunctions start-execution --state-machine-arn {arn} "
        f"""--input '{{"backfill": {{"from": "{first}", "to": "{end}"}}, "trigger": "backfill"}}'\n"""
    ) in message.message


def test_the_rerun_command_of_a_failed_steps_message_converts_its_slot(h: OfflineHarness):
    # GIVEN the message of a run whose Spark step failed before the job reported (its slot released)
    with_work(h, EMR)
    failed = h.run(EMR, execution_input("scheduled"), test_case="SparkStepFails")
    h.invoke_function("NotifyFailureFunction", h.status_change_event(failed.arn))
    [message] = h.published()
    slot = SLOTS[EMR][0]
    assert states(h) == {slot: "pending"}

    # WHEN the operator runs its "Re-run now" command
    rerun = h.run(EMR, rerun_input(message.message), test_case="ScriptedStep", name=unique("rerun"))

    # THEN that execution takes the slot (a backfill of exactly it) and converts it
    assert rerun.status == "SUCCEEDED"
    assert [s["slot"] for s in rerun.output["plan"]["slots"]] == [slot]
    assert rerun.output["plan"]["trigger"] == "backfill"
    assert states(h) == {slot: "done"}


def test_a_throttled_call_that_its_retry_got_through_is_not_named_as_where_the_run_went_wrong(h: OfflineHarness):
    # GIVEN a run whose cluster creation was throttled twice (then started), and whose Spark step then failed
    put_landing(h, SLOTS[EMR][0])
    ScriptedSparkStep(h, fail={SLOTS[EMR][0]}).register()
    failed = h.run(EMR, execution_input("scheduled"), test_case="ScriptedStepClusterThrottledTwice")
    assert len(failed.events("TaskFailed")) == 3  # two throttled CreateCluster attempts, then the step
    assert failed.error == "States.TaskFailed"

    # WHEN the notifier handles its event
    result = h.invoke_function("NotifyFailureFunction", h.status_change_event(failed.arn))

    # THEN the message names the step, not the throttled state its retries recovered
    assert result["failed_state"] == "RunSparkStep"
    [message] = h.published()
    assert "FAILED at RunSparkStep" in message.subject
    assert "1 of 1 slots failed" in message.message


def test_a_failed_ledger_update_is_named_and_the_notifier_records_what_the_jobs_report_says_was_converted(
    h: OfflineHarness, monkeypatch: pytest.MonkeyPatch
):
    # GIVEN a run whose step converted its slot, but whose RecordSlots cannot reach the ledger
    with_work(h, EMR)

    def broken(*args: Any, **kwargs: Any) -> None:
        raise ConnectionError("DynamoDB unreachable")

    monkeypatch.setattr(h.lambdas.module("RecordSlotsFunction"), "record", broken)
    failed = h.run(EMR, execution_input("scheduled"), test_case="ScriptedStep")
    assert failed.states_entered[-2:] == ["RecordSlots", "LedgerUpdateFailed"]

    # WHEN the notifier handles its event
    result = h.invoke_function("NotifyFailureFunction", h.status_change_event(failed.arn))

    # THEN it names RecordSlots and the Lambda error, and records the slot the job's report says it converted
    assert result["failed_state"] == "RecordSlots"
    [message] = h.published()
    assert "Error:         ConnectionError\n" in message.message
    assert "DynamoDB unreachable" in message.message
    assert "the notifier gave them back to the ledger" in message.message
    assert result["released"] == {"released": [], "failed": [], "converted": [SLOTS[EMR][0]], "error": None}
    assert states(h) == {SLOTS[EMR][0]: "done"}


def test_a_redelivered_failure_event_publishes_nothing_twice(h: OfflineHarness):
    # GIVEN a failed EMR run and its status-change event
    with_work(h, EMR)
    failed = h.run(EMR, execution_input("scheduled"), test_case="SparkStepFails")
    event = h.status_change_event(failed.arn, event_id="6c8f3f0e-0000-4000-8000-000000000001")

    # WHEN EventBridge delivers the same event twice
    first = h.invoke_function("NotifyFailureFunction", event)
    second = h.invoke_function("NotifyFailureFunction", event)

    # THEN one message only (the event id is the idempotency key, kept in the template's DynamoDB table)
    assert first == second
    assert len(h.published()) == 1


def test_a_redriven_run_that_fails_again_says_so_in_its_message(h: OfflineHarness):
    # GIVEN a transform run that failed and was redriven, failing again
    with_work(h, TRANSFORM)
    failed = h.run(TRANSFORM, TRANSFORM_RUN, test_case="TransformJobFails")
    again = h.redrive(failed.arn)
    assert (again.status, again.description["redriveCount"]) == ("FAILED", 1)

    # WHEN the notifier handles the second failure's event
    event = h.status_change_event(again.arn)
    result = h.invoke_function("NotifyFailureFunction", event)

    # THEN the event and the message carry the redrive count, and still name the job as where it went wrong
    assert event["detail"]["redriveCount"] == 1
    assert result["failed_state"] == "RunTransformJob"
    [message] = h.published()
    assert "Redrives:      1\n" in message.message
