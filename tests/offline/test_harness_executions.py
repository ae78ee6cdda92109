"""Starting, waiting for and redriving executions; the interpreter's bridges on minimal definitions."""

from __future__ import annotations

import re
import uuid
from typing import Any

import pytest
from botocore.exceptions import ClientError

from offline.engine import Sleep
from offline.harness import ExecutionDidNotFinish, OfflineHarness
from offline.integrations import TaskContext
from tests.statemachines.ledger_support import put_landing
from tests.statemachines.sfn_support import EMR, TRANSFORM, Gate, execution_input

#: The newest slot closed at the 20:15 tick of events/executions/scheduled.json: an EMR run given
#: landing data there has work, so it gets past HasWork to the cluster tasks these tests exercise.
CLOSED_SLOT = "2026-11-25T20:00Z"

CREATE_CLUSTER = "arn:aws:states:::elasticmapreduce:createCluster.sync"
ISO_MILLIS = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$")


# ---------------------------------------------------------------------- starting and waiting
def test_an_unknown_test_case_is_rejected_as_step_functions_local_does(harness: OfflineHarness):
    with pytest.raises(ClientError) as raised:
        harness.start_execution(EMR, {}, test_case="NoSuchCase")
    assert raised.value.response["Error"]["Code"] == "InvalidArn"
    assert "NoSuchCase" in raised.value.response["Error"]["Message"]


def test_unnamed_executions_get_distinct_uuid_names(harness: OfflineHarness):
    first = harness.run(TRANSFORM, {}, test_case="HappyPath")
    second = harness.run(TRANSFORM, {}, test_case="HappyPath")
    assert first.name != second.name
    assert str(uuid.UUID(first.name)) == first.name
    assert first.arn.endswith(f":execution:transient-analytics-dev-batch-transform:{first.name}")
    # AND the manual run (empty input) is dated at the frozen clock's minute
    assert first.output["plan"]["scheduled_time"] == "2026-11-25T20:16:00Z"
    assert first.output["plan"]["trigger"] == "manual"


def test_waiting_gives_up_with_a_clear_error_while_an_execution_still_runs(h: OfflineHarness, gate: Gate):
    # GIVEN an execution with a slot to convert, held inside CreateCluster
    put_landing(h, CLOSED_SLOT)

    def create_cluster(parameters: dict[str, Any], context: TaskContext) -> dict[str, Any]:
        gate.hold(context.cancelled)
        return {"ClusterId": "j-1"}

    h.runners.register(CREATE_CLUSTER, create_cluster)
    arn = h.start_execution(EMR, execution_input("scheduled"), test_case="ClusterFromRunner")
    assert gate.entered.wait(10)

    h.wait_for_state(arn, "CreateCluster")
    with pytest.raises(ExecutionDidNotFinish, match="did not enter Succeeded within 0.1 s"):
        h.wait_for_state(arn, "Succeeded", timeout=0.1)

    # WHEN a test waits for it with a short timeout
    with pytest.raises(ExecutionDidNotFinish) as raised:
        h.wait(arn, timeout=0.2)

    # THEN the error says it is still RUNNING, and where
    assert "still RUNNING after 0.2 s" in str(raised.value)
    assert "'CreateCluster'" in str(raised.value)
    gate.release()
    # (the mocked step writes no run report, so the run then ends in SlotsFailed: it did finish)
    assert h.wait(arn).status == "FAILED"
    assert h.wait(arn).states_entered[-1] == "SlotsFailed"


def test_a_succeeded_execution_cannot_be_redriven(harness: OfflineHarness):
    result = harness.run(TRANSFORM, {}, test_case="HappyPath")
    with pytest.raises(ClientError) as raised:
        harness.sfn.redrive_execution(executionArn=result.arn)
    assert raised.value.response["Error"]["Code"] == "ExecutionNotRedrivable"


# ---------------------------------------------------------------------- the interpreter on minimal definitions
def test_a_wait_state_is_recorded_not_slept_and_the_context_values_format_as_on_aws(harness: OfflineHarness):
    # GIVEN a machine that waits five minutes, then formats $$.Execution.StartTime and RedriveCount
    name = f"offline-wait-{uuid.uuid4().hex[:8]}"
    harness.add_state_machine(
        name,
        {
            "StartAt": "Pause",
            "States": {
                "Pause": {"Type": "Wait", "Seconds": 300, "Next": "Report"},
                "Report": {
                    "Type": "Pass",
                    "Parameters": {
                        "started.$": "States.Format('started {}', $$.Execution.StartTime)",
                        "redrives.$": "$$.Execution.RedriveCount",
                    },
                    "End": True,
                },
            },
        },
    )

    # WHEN it runs
    result = harness.run(name, {})

    # THEN it finishes at once, the wait recorded; StartTime is an ISO string, RedriveCount 0
    assert result.status == "SUCCEEDED"
    assert harness.sleeps == [Sleep("Pause", "wait", 0, 300.0)]
    assert ISO_MILLIS.match(result.output["started"].removeprefix("started "))
    assert result.output["redrives"] == 0


def test_a_fail_state_may_re_raise_a_caught_states_error_as_on_aws(harness: OfflineHarness):
    # GIVEN a Fail state whose ErrorPath holds States.TaskFailed (what a caught EMR or SageMaker failure carries)
    name = f"offline-fail-{uuid.uuid4().hex[:8]}"
    harness.add_state_machine(
        name,
        {
            "StartAt": "Caught",
            "States": {
                "Caught": {
                    "Type": "Pass",
                    "Result": {"Error": "States.TaskFailed", "Cause": "boom"},
                    "ResultPath": "$.error",
                    "Next": "Failed",
                },
                "Failed": {"Type": "Fail", "ErrorPath": "$.error.Error", "CausePath": "$.error.Cause"},
            },
        },
    )

    # WHEN it runs
    result = harness.run(name, {})

    # THEN the execution fails with that error and cause (moto alone reports States.Runtime)
    assert (result.status, result.error, result.cause) == ("FAILED", "States.TaskFailed", "boom")


def test_a_status_change_reaches_only_the_functions_whose_template_rule_matches_it(h: OfflineHarness):
    # GIVEN a pipeline run without data (it succeeds, no cluster) and a failed run of a machine not in the stack
    succeeded = h.run(EMR, execution_input("scheduled"))
    h.add_state_machine("not-the-stacks", {"StartAt": "F", "States": {"F": {"Type": "Fail", "Error": "E"}}})
    failed_elsewhere = h.run("not-the-stacks")
    assert (succeeded.status, failed_elsewhere.status) == ("SUCCEEDED", "FAILED")
    # WHEN EventBridge would deliver their status changes
    # THEN NotifyFailure's rule (FAILED, TIMED_OUT, ABORTED of the stack's two machines) matches neither
    assert h.deliver_status_change(succeeded.arn) == {}
    assert h.deliver_status_change(failed_elsewhere.arn) == {}
    assert h.invocations[-1].function != "NotifyFailureFunction" and h.published() == []
