"""Every request both state machines send, as the AWS API models would judge it.

The offline harness runs the deployed definitions (the real ``prepare_run``, the template's
parameters) for a spread of settings and execution names; stand-in runners answer the
``.sync`` integrations (succeeding, throttled, failing into the Catch branches) and record
what they receive. Then every ``TaskScheduled`` event of every execution, whatever its state
and resource, is mapped to its API operation and validated with botocore's model
(:mod:`checks.request_shapes`). Nothing here names a state or a request field: a new Task
(the slot ledger's DynamoDB calls, EventBridge events) is checked as soon as it runs, and a
resource with no API mapping fails the test instead of being skipped.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest

from checks.request_shapes import integration_key, task_request_problems
from offline.harness import ExecutionResult, OfflineHarness
from offline.integrations import TaskContext, TaskFailure
from tests.statemachines.ledger_support import at, clear, put_batch, put_landing
from tests.statemachines.sfn_support import EMR, NOW, ROOT, TRANSFORM
from tests.statemachines.training_support import seed_production

#: Characters StartExecution allows in a name beyond letters and digits (its reference forbids
#: white space, < > { } [ ] ? * " # % \ ^ | ~ ` $ & , ; : / and control characters).
NAME_SYMBOLS = "()!'+=.@_-"
#: 80 characters (StartExecution's maximum), every allowed ASCII symbol and some non-ASCII letters.
ODD_NAME = ("rerun(2)!'s+fix=ok.v@ß_é-日本-😀" + "x" * 80)[:80]
PLAIN_NAME = "manual-backfill-2026-11-25"
#: A long stack name (the harness derives bucket names from it, so not the 64 characters
#: `<stack>-batch-transform` would allow: that limit is left to a static check).
LONG_STACK = "ta-" + "s" * 37
LONGEST_ROLE = "r" * 64
SCHEDULED = {"scheduled_time": "2026-11-25T20:15:00Z", "trigger": "backfill"}
CREATE_CLUSTER = "arn:aws:states:::elasticmapreduce:createCluster.sync"
ADD_STEP = "arn:aws:states:::elasticmapreduce:addStep.sync"
TERMINATE_CLUSTER = "arn:aws:states:::elasticmapreduce:terminateCluster.sync"
CREATE_TRANSFORM_JOB = "arn:aws:states:::sagemaker:createTransformJob.sync"
START_JOB_RUN = "arn:aws:states:::emr-serverless:startJobRun.sync"
#: The integrations today's definitions use; a run of both pipelines must have exercised each.
EXPECTED_AT_LEAST = {
    "lambda:invoke",
    "elasticmapreduce:createCluster",
    "elasticmapreduce:addStep",
    "elasticmapreduce:terminateCluster",
    "sagemaker:createTransformJob",
    "emr-serverless:startJobRun",
}

SETTINGS: dict[str, tuple[str, dict[str, str]]] = {
    "defaults": ("transient-analytics-dev", {}),
    "spot-subnet-existing-roles-longest-names": (
        LONG_STACK,
        {
            "EmrTaskSpotInstanceCount": "50",
            "EmrCoreInstanceCount": "50",
            "EmrSubnetId": "subnet-0123456789abcdef0",
            "ExistingEmrServiceRoleName": LONGEST_ROLE,
            "ExistingEmrEc2RoleName": "i" * 64,
            "ExistingSageMakerRoleArn": "arn:aws:iam::123456789012:role/" + "m" * 64,
            "TransformJobBaseName": "a" + "-b" * 16,
            "PartitionColumn": "c" * 64,
            "EmrIdleTimeoutSeconds": "604800",
            "SparkStepTimeoutSeconds": "7200",
            "EmrClusterStartTimeoutSeconds": "1800",
            "TransformInstanceCount": "20",
            "TransformMaxPayloadMB": "100",
            "TransformTimeoutSeconds": "7200",
            "TransformMaxSlotsPerRun": "4",
        },
    ),
    "serverless-longest-timeout": (
        "transient-analytics-dev",
        {"SparkBackend": "serverless", "SparkStepTimeoutSeconds": "7200", "ServerlessIdleTimeoutMinutes": "1"},
    ),
}


@dataclass
class Recorder:
    """Stand-ins for the ``.sync`` services: each attempt's outcome is chosen by the scenario."""

    #: ``(integration key, attempt)`` → the error to raise; anything not listed succeeds.
    failures: dict[tuple[str, int], tuple[str, str]] = field(default_factory=dict)
    received: list[tuple[str, dict[str, Any], TaskContext]] = field(default_factory=list)

    def runner(self, resource: str, result: Any) -> Any:
        key = integration_key(resource)

        def run(parameters: dict[str, Any], context: TaskContext) -> Any:
            self.received.append((resource, parameters, context))
            attempt = context.retry_count + context.redrive_count
            if (key, attempt) in self.failures:
                raise TaskFailure(*self.failures[(key, attempt)])
            return result(parameters) if callable(result) else result

        return run

    def register(self, harness: OfflineHarness) -> None:
        harness.runners.register(CREATE_CLUSTER, self.runner(CREATE_CLUSTER, {"ClusterId": "j-2AXXXXXXGAPLF"}))
        harness.runners.register(ADD_STEP, self.runner(ADD_STEP, {"StepId": "s-1K4CJ8QGQ0LJN"}))
        harness.runners.register(TERMINATE_CLUSTER, self.runner(TERMINATE_CLUSTER, {}))
        harness.runners.register(
            START_JOB_RUN,
            self.runner(START_JOB_RUN, lambda p: {"ApplicationId": p["ApplicationId"], "JobRunId": "00fh3jk4u5b2s60a"}),
        )
        harness.runners.register(
            CREATE_TRANSFORM_JOB,
            self.runner(
                CREATE_TRANSFORM_JOB,
                lambda p: {"TransformJobName": p["TransformJobName"], "TransformJobStatus": "Completed"},
            ),
        )


THROTTLED_EMR = ("EMR.AmazonElasticMapReduceException", "Rate exceeded (Service: AmazonElasticMapReduce)")
THROTTLED_SAGEMAKER = ("SageMaker.AmazonSageMakerException", "Rate exceeded")
STEP_FAILED = ("States.TaskFailed", json.dumps({"Step": {"Status": {"State": "FAILED"}}}))
JOB_FAILED = ("States.TaskFailed", json.dumps({"FailureReason": "ClientError: bad row"}))
THROTTLED_SERVERLESS = ("EMRServerless.ThrottlingException", "Rate exceeded (Service: EMRServerless)")
JOB_RUN_FAILED = ("States.TaskFailed", json.dumps({"JobRunId": "00fh3jk4u5b2s60a", "State": "FAILED"}))

#: name → (state machine, failures by (integration, attempt), redrive after a failure?)
SCENARIOS: dict[str, tuple[str, dict[tuple[str, int], tuple[str, str]], bool]] = {
    "emr-happy": (EMR, {}, False),
    "emr-throttled-create-then-step-fails-into-the-catch": (
        EMR,
        {("elasticmapreduce:createCluster", 0): THROTTLED_EMR, ("elasticmapreduce:addStep", 0): STEP_FAILED},
        True,
    ),
    "emr-terminate-retried": (EMR, {("elasticmapreduce:terminateCluster", 0): THROTTLED_EMR}, False),
    # on the serverless backend (the other settings take the cluster branch and succeed)
    "emr-serverless-throttled-then-job-fails-then-redriven": (
        EMR,
        {("emr-serverless:startJobRun", 0): THROTTLED_SERVERLESS, ("emr-serverless:startJobRun", 1): JOB_RUN_FAILED},
        True,
    ),
    "transform-retried-to-its-limit-then-redriven": (
        TRANSFORM,
        {("sagemaker:createTransformJob", n): THROTTLED_SAGEMAKER for n in range(0, 3)}
        | {("sagemaker:createTransformJob", 3): JOB_FAILED},
        True,
    ),
}


@pytest.fixture(scope="module", params=sorted(SETTINGS))
def configured(request: pytest.FixtureRequest) -> Iterator[tuple[str, OfflineHarness]]:
    stack_name, parameters = SETTINGS[request.param]
    with OfflineHarness(ROOT, parameters=parameters, stack_name=stack_name) as harness:
        yield request.param, harness


@pytest.fixture(scope="module")
def seen() -> dict[str, set[str]]:
    """What the module's runs exercised: integrations and Task states."""
    return {"integrations": set(), "states": set()}


def run_scenario(harness: OfflineHarness, scenario: str, name: str) -> tuple[list[ExecutionResult], Recorder]:
    machine, failures, redrive = SCENARIOS[scenario]
    harness.reset()
    clear(harness)
    at(harness, NOW)
    # one closed slot with data for each pipeline, so that every run reaches its service tasks
    put_landing(harness, "2026-11-25T20:00Z")
    put_batch(harness, "2026-11-24T00:00Z")
    seed_production(harness)  # the transform scores with the production model
    recorder = Recorder(failures=dict(failures))
    recorder.register(harness)
    result = harness.run(machine, SCHEDULED, name=name)
    results = [result]
    if redrive and result.status == "FAILED":
        recorder.failures = {}
        results.append(harness.redrive(result.arn))
    return results, recorder


def problems_of(result: ExecutionResult) -> list[str]:
    found = []
    for task in result.scheduled_tasks:
        for problem in task_request_problems(task.resource, task.parameters, task.resource_type):
            found.append(f"{task.state} ({task.resource_type}:{task.resource}): {problem}")
    return found


def task_states(definition_file: str) -> set[str]:
    definition = json.loads((ROOT / "statemachines" / definition_file).read_text())
    found: set[str] = set()

    def walk(states: dict[str, Any]) -> None:
        for state_name, state in states.items():
            if state.get("Type") == "Task":
                found.add(state_name)
            for branch in state.get("Branches", []):
                walk(branch["States"])
            if "ItemProcessor" in state or "Iterator" in state:
                walk((state.get("ItemProcessor") or state["Iterator"])["States"])

    walk(definition["States"])
    return found


@pytest.mark.slow
@pytest.mark.parametrize("name", [PLAIN_NAME, ODD_NAME], ids=["plain-name", "every-name-character"])
@pytest.mark.parametrize("scenario", sorted(SCENARIOS))
def test_every_request_of_every_task_is_valid_for_its_api(
    configured: tuple[str, OfflineHarness], scenario: str, name: str, seen: dict[str, set[str]]
):
    setting, harness = configured
    # GIVEN a stack deployed with these settings, WHEN an execution with this name runs the scenario
    suffix = f"-{sorted(SCENARIOS).index(scenario)}"
    results, recorder = run_scenario(harness, scenario, name[: 80 - len(suffix)] + suffix)
    tasks = [t for r in results for t in r.scheduled_tasks]
    assert {t.state for t in tasks} - {"PrepareRun"}, "the execution never got past PrepareRun"
    seen["integrations"].update(integration_key(t.resource, t.resource_type) for t in tasks)
    seen["states"].update(t.state for t in tasks)
    # THEN each runner received exactly what a TaskScheduled event of its state records
    for _, parameters, context in recorder.received:
        assert parameters in [t.parameters for t in tasks if t.state == context.state_name]
    # AND every request, of every state and attempt, is valid for the API it calls
    problems = [p for r in results for p in problems_of(r)]
    assert problems == [], "\n".join(problems)


@pytest.mark.slow
def test_the_runs_above_scheduled_every_task_state_of_both_definitions(seen: dict[str, set[str]]):
    # Runs after the parametrized test (pytest keeps the module's order): nothing went unchecked.
    if not seen["states"]:
        pytest.skip("meaningful only after test_every_request_of_every_task_is_valid_for_its_api")
    assert seen["integrations"] >= EXPECTED_AT_LEAST
    declared = task_states("emr_pipeline.asl.json") | task_states("batch_transform.asl.json")
    assert declared - seen["states"] == set(), "add a scenario that reaches these Task states"


def test_the_odd_name_uses_every_symbol_start_execution_accepts():
    assert len(ODD_NAME) == 80
    assert set(NAME_SYMBOLS) <= set(ODD_NAME)
    assert any(ord(c) > 0xFFFF for c in ODD_NAME) and any(not c.isascii() and c.isalpha() for c in ODD_NAME)
