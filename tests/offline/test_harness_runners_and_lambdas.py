"""Runners and mocked responses behind Task states, and the Lambda contract the harness keeps."""

from __future__ import annotations

import json
import re
from typing import Any

import boto3

from offline.harness import OfflineHarness
from offline.integrations import TaskContext, TaskFailure
from tests.statemachines.ledger_support import put_landing
from tests.statemachines.sfn_support import EMR, EMR_STEP_FAILED_TAIL, TRANSFORM, execution_input

#: The newest slot closed at the 20:15 tick of events/executions/scheduled.json: an EMR run given
#: landing data there has work, so it gets past HasWork to the cluster tasks these tests exercise.
CLOSED_SLOT = "2026-11-25T20:00Z"

CREATE_CLUSTER = "arn:aws:states:::elasticmapreduce:createCluster.sync"
ADD_STEP = "arn:aws:states:::elasticmapreduce:addStep.sync"
TERMINATE_CLUSTER = "arn:aws:states:::elasticmapreduce:terminateCluster.sync"
ISO_MILLIS = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$")


# ---------------------------------------------------------------------- runners and mocked responses
def test_a_runners_task_failure_reaches_the_state_machine_like_a_real_failed_step(h: OfflineHarness):
    # GIVEN a slot with data, runners for the three EMR .sync integrations, the step's failing with States.TaskFailed
    put_landing(h, CLOSED_SLOT)
    seen: dict[str, tuple[dict[str, Any], TaskContext]] = {}

    def create_cluster(parameters: dict[str, Any], context: TaskContext) -> dict[str, Any]:
        seen["create"] = (parameters, context)
        context.submit({"ClusterId": "j-LOCAL1"})
        return {"ClusterId": "j-LOCAL1"}

    def add_step(parameters: dict[str, Any], context: TaskContext) -> dict[str, Any]:
        seen["step"] = (parameters, context)
        raise TaskFailure("States.TaskFailed", json.dumps({"Step": {"Status": {"State": "FAILED"}}}))

    def terminate_cluster(parameters: dict[str, Any], context: TaskContext) -> dict[str, Any]:
        seen["terminate"] = (parameters, context)
        return {}

    for arn, runner in ((CREATE_CLUSTER, create_cluster), (ADD_STEP, add_step), (TERMINATE_CLUSTER, terminate_cluster)):
        h.runners.register(arn, runner)

    # WHEN the pipeline runs without a test case
    result = h.run(EMR, execution_input("scheduled"))

    # THEN the failure is caught by RunSparkStep's Catch, the cluster terminated, the slot recorded, the run failed
    assert result.states_entered[-6:] == EMR_STEP_FAILED_TAIL
    assert (result.status, result.error) == ("FAILED", "States.TaskFailed")
    assert result.cause_json == {"Step": {"Status": {"State": "FAILED"}}}
    [failed] = result.events("TaskFailed")
    assert failed["taskFailedEventDetails"]["resource"] == "addStep.sync"
    assert failed["taskFailedEventDetails"]["resourceType"] == "elasticmapreduce"
    # AND each runner got exactly the parameters the TaskScheduled event records
    assert seen["step"][0] == result.tasks("RunSparkStep")[0].parameters
    assert seen["terminate"][0] == {"ClusterId": "j-LOCAL1"}
    # AND a runner may record the TaskSubmitted event of a .sync task
    [submitted] = result.events("TaskSubmitted")
    assert json.loads(submitted["taskSubmittedEventDetails"]["output"]) == {"ClusterId": "j-LOCAL1"}
    # AND the context tells the runner where it runs
    context = seen["step"][1]
    assert (context.state_name, context.resource, context.retry_count, context.redrive_count) == (
        "RunSparkStep",
        ADD_STEP,
        0,
        0,
    )
    assert (context.execution_arn, context.test_case) == (result.arn, None)
    assert context.state_machine_arn == h.state_machine_arn(EMR)
    # AND $$.Execution.StartTime is an ISO-8601 string and $$.Execution.RedriveCount exists, as on AWS
    execution = context.context_object["Execution"]
    assert ISO_MILLIS.match(execution["StartTime"])
    assert execution["RedriveCount"] == 0


def test_a_mocked_response_takes_precedence_over_a_registered_runner(h: OfflineHarness):
    # GIVEN a slot with data, a runner for createCluster.sync, and a test case that mocks CreateCluster
    put_landing(h, CLOSED_SLOT)
    calls: list[str] = []

    def create_cluster(parameters: dict[str, Any], context: TaskContext) -> dict[str, Any]:
        calls.append(context.state_name)
        return {"ClusterId": "j-FROM-RUNNER"}

    h.runners.register(CREATE_CLUSTER, create_cluster)

    # WHEN the pipeline runs on that test case
    result = h.run(EMR, execution_input("scheduled"), test_case="HappyPath")

    # THEN the mocked response answers, the runner is never called
    [create] = [
        e for e in result.events("TaskSucceeded") if e["taskSucceededEventDetails"]["resource"] == "createCluster.sync"
    ]
    assert json.loads(create["taskSucceededEventDetails"]["output"])["ClusterId"] == "j-2AXXXXXXGAPLF"
    assert [t.parameters["ClusterId"] for t in result.tasks("RunSparkStep")] == ["j-2AXXXXXXGAPLF"]
    assert calls == []


def test_a_task_with_neither_mock_nor_runner_fails_the_run_naming_the_state_and_resource(h: OfflineHarness):
    # GIVEN a slot with data, a test case that mocks CreateCluster but not RunSparkStep, and no runner
    put_landing(h, CLOSED_SLOT)
    # WHEN the pipeline runs
    result = h.run(EMR, execution_input("scheduled"), test_case="SparkStepUnhandled")

    # THEN the run fails at RunSparkStep with States.Runtime, which (as on AWS) its States.ALL Catch does not catch
    assert result.states_entered[-1] == "RunSparkStep"
    assert result.status == "FAILED"
    assert result.error == "States.Runtime"
    assert "state 'RunSparkStep'" in str(result.cause)
    assert ADD_STEP in str(result.cause)
    assert "test case 'SparkStepUnhandled'" in str(result.cause)


def test_a_runner_that_raises_an_unexpected_exception_fails_the_run_with_its_traceback(h: OfflineHarness):
    # GIVEN a slot with data, and a buggy runner
    put_landing(h, CLOSED_SLOT)

    def create_cluster(parameters: dict[str, Any], context: TaskContext) -> dict[str, Any]:
        raise KeyError("Instances")

    h.runners.register(CREATE_CLUSTER, create_cluster)

    # WHEN the pipeline runs
    result = h.run(EMR, execution_input("scheduled"), test_case="ClusterFromRunner")

    # THEN the run fails with States.Runtime (which CreateCluster's States.ALL Catch does not catch, as on AWS)
    # and a cause naming the runner's exception
    assert result.states_entered[-1] == "CreateCluster"
    assert (result.status, result.error) == ("FAILED", "States.Runtime")
    assert "KeyError: 'Instances'" in str(result.cause)
    assert "Traceback" in str(result.cause)


# ---------------------------------------------------------------------- the Lambda contract
def test_a_handler_exception_fails_the_task_with_the_exception_class_as_error(harness: OfflineHarness):
    # GIVEN an execution input prepare_run rejects
    bad_input = {"scheduled_time": "2026-13-45T99:00:00", "trigger": "cron"}

    # WHEN the pipeline runs
    result = harness.run(TRANSFORM, bad_input, test_case="HappyPath")

    # THEN PrepareRun fails with the exception class as error and Lambda's error payload as cause
    assert result.states_entered == ["PrepareRun"]
    assert (result.status, result.error) == ("FAILED", "InvalidEventError")
    cause = result.cause_json
    assert cause["errorType"] == "InvalidEventError"
    assert "input.scheduled_time" in cause["errorMessage"]
    assert "input.trigger" in cause["errorMessage"]
    assert isinstance(cause["stackTrace"], list) and cause["stackTrace"]
    # AND it is not retried: PrepareRun retries Lambda service errors only
    assert len(result.tasks("PrepareRun")) == 1
    [invocation] = harness.invocations
    assert (invocation.function, invocation.error_type) == ("PrepareRunFunction", "InvalidEventError")


def test_each_function_runs_with_its_template_environment_pointing_at_the_harness_resources(harness: OfflineHarness):
    # GIVEN the template's functions
    prepare = harness.lambdas.environment(harness.functions["PrepareRunFunction"])
    record = harness.lambdas.environment(harness.functions["RecordSlotsFunction"])
    notify = harness.lambdas.environment(harness.functions["NotifyFailureFunction"])

    # THEN their variables name the resources the harness created (from the template, Globals merged in)
    assert prepare["DATA_BUCKET"] == "transient-analytics-dev-databucket"
    assert prepare["POWERTOOLS_SERVICE_NAME"] == "transient-analytics-dev"  # the metrics' service dimension
    assert prepare["POWERTOOLS_METRICS_NAMESPACE"] == record["POWERTOOLS_METRICS_NAMESPACE"] == "TransientAnalytics"
    ledger_table = harness.stack.ref("SlotLedgerTable")
    assert prepare["LEDGER_TABLE"] == record["LEDGER_TABLE"] == ledger_table
    assert record["TOPIC_ARN"] == harness.stack.ref("NotificationTopic")  # quarantine notices
    assert prepare["POWERTOOLS_LOG_LEVEL"] == "INFO"
    assert prepare["AWS_LAMBDA_FUNCTION_NAME"] == harness.functions["PrepareRunFunction"].name
    assert "TOPIC_ARN" not in prepare
    assert notify["TOPIC_ARN"] == harness.stack.ref("NotificationTopic")
    assert notify["EMR_STATE_MACHINE_ARN"] == harness.state_machine_arn(EMR)
    assert notify["TRANSFORM_STATE_MACHINE_ARN"] == harness.state_machine_arn(TRANSFORM)
    assert "LAMBDA_TASK_ROOT" not in notify  # keeps Powertools' X-Ray tracer off
    # AND each logs to the group its LoggingConfig names (the template's, with retention and the stack key)
    assert prepare["AWS_LAMBDA_LOG_GROUP_NAME"] == harness.stack.ref("PrepareRunLogGroup")
    assert notify["AWS_LAMBDA_LOG_GROUP_NAME"] == "/aws/lambda/transient-analytics-dev-notify-failure"
    tables = boto3.client("dynamodb", region_name=harness.region).list_tables()["TableNames"]
    assert notify["IDEMPOTENCY_TABLE"] in tables
    assert ledger_table in tables
