"""The harness itself: runners, mocks, the Lambda error contract, context values, waiting, the template.

These pin the behaviours the pipeline tests (and the local runners of the next issue) rely on.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from offline.cfn import Stack, TemplateError, load_template, render_definition
from offline.cfn.print_definition import main as render_main
from offline.engine import Sleep
from offline.harness import ExecutionDidNotFinish, OfflineHarness
from offline.integrations import TaskContext, TaskFailure
from offline.mock_config import MockConfig, MockConfigError
from tests.statemachines.ledger_support import put_landing
from tests.statemachines.sfn_support import EMR, ROOT, TRANSFORM, Gate, execution_input

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
    assert result.states_entered[-6:] == [
        "RunSparkStep",
        "TerminateClusterAfterStepFailure",
        "StepFailed",
        "RecordSlots",
        "RouteOutcome",
        "SparkStepFailed",
    ]
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
    tables = boto3.client("dynamodb", region_name=harness.region).list_tables()["TableNames"]
    assert notify["IDEMPOTENCY_TABLE"] in tables
    assert ledger_table in tables


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


# ---------------------------------------------------------------------- mock configuration
@pytest.mark.parametrize(
    ("responses", "message"),
    [
        ({"R": {"0-x": {"Return": {}}}}, "'0-x' is not an attempt number"),
        ({"R": {"0": {"Return": {}}, "2": {"Return": {}}}}, "consecutively numbered"),
        ({"R": {"0": {"Return": {}, "Throw": {"Error": "E", "Cause": ""}}}}, "exactly one of 'Return' or 'Throw'"),
        ({"R": {"0": {"Throw": {"Cause": "no error"}}}}, "Throw needs an 'Error' string"),
        ({"Other": {"0": {"Return": {}}}}, "uses mocked response 'R', which MockedResponses does not define"),
    ],
)
def test_a_malformed_mock_config_is_refused_naming_the_entry(responses: dict[str, Any], message: str):
    raw = {"StateMachines": {"sm": {"TestCases": {"Case": {"State": "R"}}}}, "MockedResponses": responses}
    with pytest.raises(MockConfigError, match=re.escape(message)):
        MockConfig.from_dict(raw)


def test_a_test_case_mocking_a_state_the_definition_lacks_is_refused():
    config = MockConfig.from_dict(
        {
            "StateMachines": {"sm": {"TestCases": {"Typo": {"RunSparkStepp": "R"}}}},
            "MockedResponses": {"R": {"0": {"Return": {}}}},
        }
    )
    with pytest.raises(MockConfigError, match=r"sm#Typo mocks state\(s\) \['RunSparkStepp'\]"):
        config.check_states("sm", {"RunSparkStep"})


def test_the_shipped_mock_config_builds_a_moto_test_case_for_every_case():
    config = MockConfig.load(ROOT / "tests" / "statemachines" / "mock-config.json")
    for machine in config.state_machines():
        for case in config.test_cases(machine):
            test_case = config.test_case(machine, case)
            assert test_case is not None and test_case.test_case_name == case


# ---------------------------------------------------------------------- template and definitions
def test_definition_substitutions_follow_the_templates_conditions():
    template = load_template(ROOT / "template.yaml")
    defaults = Stack(template).state_machines()
    custom = Stack(
        template,
        parameters={
            "ModelPublished": "true",
            "ExistingEmrServiceRoleName": "ops-emr",
            "ExistingEmrEc2RoleName": "ops-ec2",
        },
    ).state_machines()

    assert (
        defaults["EmrPipelineStateMachine"].substitutions["EmrServiceRoleName"]
        == "transient-analytics-dev-EmrServiceRole"
    )
    assert (
        defaults["EmrPipelineStateMachine"].substitutions["EmrInstanceProfileName"]
        == "transient-analytics-dev-EmrEc2Role"
    )
    assert defaults["BatchTransformStateMachine"].substitutions["ModelName"] == ("abalone-model-not-published")
    assert custom["EmrPipelineStateMachine"].substitutions["EmrServiceRoleName"] == "ops-emr"
    assert custom["EmrPipelineStateMachine"].substitutions["EmrInstanceProfileName"] == "ops-ec2"
    assert custom["BatchTransformStateMachine"].substitutions["ModelName"] == "transient-analytics-dev-AbaloneModel"
    assert defaults["EmrPipelineStateMachine"].substitutions["EmrAddStepSync"] == ADD_STEP


def test_the_rendered_definitions_have_no_placeholder_left_and_use_every_substitution():
    stack = Stack(load_template(ROOT / "template.yaml"))
    for logical_id in (EMR, TRANSFORM):
        rendered = render_definition(stack, ROOT, logical_id)
        assert "${" not in rendered.text
        assert rendered.unused_substitutions == ()
        assert rendered.definition["StartAt"] == "PrepareRun"


def test_a_placeholder_without_a_substitution_is_refused(tmp_path: Path):
    (tmp_path / "machine.asl.json").write_text(
        '{"StartAt": "A", "States": {"A": {"Type": "Task", "Resource": "${Nope}", "End": true}}}'
    )
    (tmp_path / "template.yaml").write_text(
        "Resources:\n  M:\n    Type: AWS::Serverless::StateMachine\n"
        "    Properties:\n      DefinitionUri: machine.asl.json\n      DefinitionSubstitutions:\n"
        "        Fn: !Sub arn:${AWS::Partition}:states:::lambda:invoke\n"
    )
    with pytest.raises(TemplateError, match=r"placeholder\(s\) \['Nope'\] have no DefinitionSubstitutions entry in M"):
        render_definition(Stack(load_template(tmp_path / "template.yaml")), tmp_path, "M")


def test_the_cli_prints_the_deployed_definition(capsys: pytest.CaptureFixture[str]):
    assert render_main([TRANSFORM]) == 0
    printed = json.loads(capsys.readouterr().out)
    job = printed["States"]["ScoreSlots"]["ItemProcessor"]["States"]["RunTransformJob"]
    assert job["Resource"] == "arn:aws:states:::sagemaker:createTransformJob.sync"
    lambda_arn = "arn:aws:lambda:us-east-1:123456789012:function:PrepareRunFunction"
    assert render_main([EMR, "-s", f"PrepareRunFunctionArn={lambda_arn}"]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed["States"]["PrepareRun"]["Parameters"]["FunctionName"] == lambda_arn
    assert render_main(["NoSuchMachine"]) == 1
    assert "no AWS::Serverless::StateMachine 'NoSuchMachine'" in capsys.readouterr().err


def test_the_template_reader_imports_neither_moto_nor_boto3_so_checks_run_it_in_the_sam_environment():
    code = "import sys, offline.cfn; print(sorted(m for m in ('moto', 'boto3') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
