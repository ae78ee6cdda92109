"""Constants and helpers shared by the state machine execution tests."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from offline import ExecutionResult

ROOT = Path(__file__).resolve().parents[2]
MOCK_CONFIG = Path(__file__).with_name("mock-config.json")
EMR = "EmrPipelineStateMachine"
TRANSFORM = "BatchTransformStateMachine"
#: The clock of prepare_run during every test: one minute after the 20:15 slot of the fixtures.
NOW = datetime(2026, 11, 25, 20, 16, 5, tzinfo=UTC)


def execution_input(name: str) -> dict[str, Any]:
    """An execution input from events/executions/ (what the scheduler or an operator sends)."""
    return dict(json.loads((ROOT / "events" / "executions" / f"{name}.json").read_text()))


class Gate:
    """Holds a runner until the test releases it (or the execution is stopped)."""

    def __init__(self) -> None:
        self.entered = threading.Event()
        self._released = threading.Event()

    def release(self) -> None:
        self._released.set()

    def hold(self, cancelled: Callable[[], bool]) -> None:
        """Block the calling runner; returns when released or once ``cancelled()`` is true."""
        self.entered.set()
        while not self._released.wait(0.01):
            if cancelled():
                return


def transform_fails_through_a_fail_state() -> bool:
    """Whether RunTransformJob's Catch leads to a Fail state (the shipped ASL) or the task fails the run itself.

    The two shapes fail with the same error and cause; they differ in the last state entered
    and in what a redrive re-runs (the Fail state, or the job).
    """
    definition = json.loads((ROOT / "statemachines" / "batch_transform.asl.json").read_text())
    catchers = definition["States"]["RunTransformJob"].get("Catch", [])
    return any(definition["States"][c["Next"]]["Type"] == "Fail" for c in catchers)


def plan_of(result: ExecutionResult) -> dict[str, Any]:
    """The run plan PrepareRun returned, from its TaskSucceeded event (failed runs have no output)."""
    for event in result.events("TaskSucceeded"):
        details = event["taskSucceededEventDetails"]
        if details["resource"] == "invoke":
            return dict(json.loads(details["output"])["Payload"])
    raise AssertionError(f"{result.arn}: PrepareRun returned no plan")


def task_sequence(result: ExecutionResult) -> list[tuple[str, str]]:
    """``(state, resource)`` of every TaskScheduled event, in order (one per attempt)."""
    return [(t.state, t.resource) for t in result.scheduled_tasks]


def check_prepare_run_request(result: ExecutionResult, pipeline: str, execution_input: dict[str, Any]) -> None:
    """PrepareRun was sent the pipeline, the execution's input and its own $$ context, each attempt."""
    for task in result.tasks("PrepareRun"):
        assert task.resource == "invoke"
        assert task.parameters["Payload"] == {
            "pipeline": pipeline,
            "input": execution_input,
            "execution": {
                "id": result.arn,
                "name": result.name,
                "state_machine_arn": result.description["stateMachineArn"],
            },
        }


def check_emr_requests(result: ExecutionResult, execution_input: dict[str, Any], cluster_id: str | None) -> None:
    """Every EMR request the run scheduled carries what the plan says (and the cluster it got)."""
    check_prepare_run_request(result, "emr", execution_input)
    plan = plan_of(result)["emr"]
    for task in result.tasks("CreateCluster"):
        assert task.parameters["Name"] == plan["cluster_name"]
        assert task.parameters["LogUri"] == plan["log_uri"]
        assert task.parameters["Instances"] == plan["instances"]
        assert task.parameters["Configurations"] == plan["configurations"]
        assert task.parameters["AutoTerminationPolicy"] == plan["auto_termination"]
        assert task.parameters["Tags"] == plan["tags"]
    for task in result.tasks("RunSparkStep"):
        assert task.parameters["ClusterId"] == cluster_id
        assert task.parameters["Step"]["HadoopJarStep"]["Args"] == plan["spark_submit_args"]
        assert task.timeout_seconds == plan["step_timeout_seconds"]
    for state in ("TerminateCluster", "TerminateClusterAfterStepFailure"):
        for task in result.tasks(state):
            assert task.parameters == {"ClusterId": cluster_id}


def check_transform_requests(result: ExecutionResult, execution_input: dict[str, Any]) -> None:
    """Every CreateTransformJob request carries the plan's paths, instance and tags, and a fresh job name."""
    check_prepare_run_request(result, "transform", execution_input)
    plan = plan_of(result)["transform"]
    names = []
    for task in result.tasks("RunTransformJob"):
        request = task.parameters
        names.append(request["TransformJobName"])
        assert request["TransformJobName"].startswith(plan["job_name_prefix"] + "-")
        assert request["TransformInput"]["DataSource"]["S3DataSource"]["S3Uri"] == plan["input_uri"]
        assert request["TransformOutput"]["S3OutputPath"] == plan["output_uri"]
        assert request["TransformResources"] == {
            "InstanceType": plan["instance_type"],
            "InstanceCount": plan["instance_count"],
        }
        assert request["MaxPayloadInMB"] == plan["max_payload_mb"]
        assert request["Tags"] == plan["tags"]
        assert task.timeout_seconds == plan["timeout_seconds"]
    assert len(set(names)) == len(names), f"a job name was reused: {names}"
