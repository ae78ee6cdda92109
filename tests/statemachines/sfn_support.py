"""Constants and helpers shared by the state machine execution tests."""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from offline.harness import ExecutionResult, OfflineHarness

ROOT = Path(__file__).resolve().parents[2]
MOCK_CONFIG = Path(__file__).with_name("mock-config.json")
EMR = "EmrPipelineStateMachine"
#: The states a successful EMR run enters, in order.
EMR_HAPPY_STATES = [
    "PrepareRun",
    "HasWork",
    "ChooseBackend",
    "CreateCluster",
    "RunSparkStep",
    "TerminateCluster",
    "StepSucceeded",
    "RecordSlots",
    "RouteOutcome",
    "Succeeded",
]
#: How a run whose Spark step fails ends: the cluster terminated, the slot recorded, the run failed.
EMR_STEP_FAILED_TAIL = [
    "RunSparkStep",
    "TerminateClusterAfterStepFailure",
    "StepFailed",
    "RecordSlots",
    "RouteOutcome",
    "SparkStepFailed",
]
#: Every state of a run whose cluster does not start: its slots released, the run failed.
EMR_CLUSTER_NOT_STARTED_STATES = [
    "PrepareRun",
    "HasWork",
    "ChooseBackend",
    "CreateCluster",
    "ClusterDidNotStart",
    "RecordSlots",
    "RouteOutcome",
    "ClusterStartFailed",
]
TRANSFORM = "BatchTransformStateMachine"
#: The clock of prepare_run (and record_slots, see ledger_support.at) during every test: one
#: minute after the 20:15 tick, whose newest closed slot is 20:00.
NOW = datetime(2026, 11, 25, 20, 16, 5, tzinfo=UTC)
#: The slot each pipeline's run works on, and the end of it (the backfill range's "to").
SLOTS = {EMR: ("2026-11-25T20:00Z", "2026-11-25T20:15Z"), TRANSFORM: ("2026-11-24T00:00Z", "2026-11-25T00:00Z")}


def unique(prefix: str) -> str:
    """An execution name unique per state machine (each module shares one harness)."""
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


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


def plan_of(result: ExecutionResult) -> dict[str, Any]:
    """The run plan PrepareRun returned, from its TaskSucceeded event (failed runs have no output)."""
    state = None
    for event in result.history:
        if "stateEnteredEventDetails" in event:
            state = event["stateEnteredEventDetails"]["name"]
        elif event["type"] == "TaskSucceeded" and state == "PrepareRun":
            return dict(json.loads(event["taskSucceededEventDetails"]["output"])["Payload"])
    raise AssertionError(f"{result.arn}: PrepareRun returned no plan")


def task_sequence(result: ExecutionResult) -> list[tuple[str, str]]:
    """``(state, resource)`` of every TaskScheduled event, in order (one per attempt)."""
    return [(t.state, t.resource) for t in result.scheduled_tasks]


def _execution_context(result: ExecutionResult) -> dict[str, str]:
    return {"id": result.arn, "name": result.name, "state_machine_arn": result.description["stateMachineArn"]}


def start_time_of(result: ExecutionResult) -> str:
    """``$$.Execution.StartTime`` of the execution: ISO 8601, milliseconds, UTC, as AWS writes it."""
    started = result.description["startDate"].astimezone(UTC)
    return started.strftime("%Y-%m-%dT%H:%M:%S.") + f"{started.microsecond // 1000:03d}Z"


def check_prepare_run_request(result: ExecutionResult, pipeline: str, execution_input: dict[str, Any]) -> None:
    """PrepareRun was sent the pipeline, the execution's input and its own $$ context (start time too), each attempt."""
    for task in result.tasks("PrepareRun"):
        assert task.resource == "invoke"
        assert task.parameters["Payload"] == {
            "pipeline": pipeline,
            "input": execution_input,
            "execution": {**_execution_context(result), "start_time": start_time_of(result)},
        }


def check_record_slots_request(
    result: ExecutionResult,
    outcome: str,
    error: dict[str, str] | None,
    cluster_id: str | None = None,
    job_run_id: str | None = None,
) -> None:
    """RecordSlots (EMR) was sent, once, the run's outcome, the whole plan, the error that decided it and the
    compute it ran on (the cluster, or the serverless job run: what RecordSlots prices)."""
    [task] = result.tasks("RecordSlots")
    assert task.resource == "invoke"
    assert task.parameters["Payload"] == {
        "pipeline": "emr",
        "outcome": outcome,
        "plan": plan_of(result),
        "error": error,
        "execution": _execution_context(result),
        "cluster_id": cluster_id,
        "job_run_id": job_run_id,
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
    """Every CreateTransformJob request carries its slot's paths and name prefix, the plan's instance and tags, a fresh name."""
    check_prepare_run_request(result, "transform", execution_input)
    plan = plan_of(result)
    slots = {s["input_uri"]: s for s in plan["slots"]}
    names = []
    for task in result.tasks("RunTransformJob"):
        request = task.parameters
        slot = slots[request["TransformInput"]["DataSource"]["S3DataSource"]["S3Uri"]]
        names.append(request["TransformJobName"])
        assert request["TransformJobName"].startswith(slot["job_name_prefix"] + "-")
        assert request["TransformOutput"]["S3OutputPath"] == slot["output_uri"]
        assert request["TransformResources"] == {
            "InstanceType": plan["transform"]["instance_type"],
            "InstanceCount": plan["transform"]["instance_count"],
        }
        assert request["MaxPayloadInMB"] == plan["transform"]["max_payload_mb"]
        assert request["Tags"] == plan["transform"]["tags"]
        assert task.timeout_seconds == plan["transform"]["timeout_seconds"]
    assert len(set(names)) == len(names), f"a job name was reused: {names}"
    [record] = result.tasks("RecordSlots")
    assert record.parameters["Payload"]["plan"] == plan
    assert record.parameters["Payload"]["execution"] == _execution_context(result)


# ------------------------------------------------------------------ the EMR pipeline's 20:15 tick
# PrepareRun and RecordSlots are the real handlers (clocks frozen at NOW, moto S3 and the ledger
# table); the EMR ``.sync`` tasks answer from ``mock-config.json`` (``stateMachineArn#TestCase``)
# or from a runner (``ledger_support.ScriptedSparkStep`` writes the run report the real Spark job
# writes). The 20:15 tick works on the closed slots before it: the tests land data in 20:00 (and 19:45).

CLUSTER_ID = "j-2AXXXXXXGAPLF"
#: The newest slot closed at the 20:15 tick, and the one before it.
SLOT, EARLIER = "2026-11-25T20:00Z", "2026-11-25T19:45Z"
SLOT_PATH, EARLIER_PATH = "dt=2026-11-25/hour=20/minute=00", "dt=2026-11-25/hour=19/minute=45"
#: Cluster logs are filed under the run's own scheduled minute, not a slot's.
LOG_PATH = "dt=2026-11-25/hour=20/minute=15"
#: The scheduler's input for the 20:15 tick (events/executions/scheduled.json).
SCHEDULED = execution_input("scheduled")
NEXT_TICK = {"scheduled_time": "2026-11-25T20:30:00Z", "trigger": "schedule"}
#: (state, resource) of the TaskScheduled events.
PREPARE = ("PrepareRun", "invoke")
CREATE = ("CreateCluster", "createCluster.sync")
STEP = ("RunSparkStep", "addStep.sync")
TERMINATE = ("TerminateCluster", "terminateCluster.sync")
CLEANUP = ("TerminateClusterAfterStepFailure", "terminateCluster.sync")
RECORD = ("RecordSlots", "invoke")
STEP_ERROR = "ValueError: partition column 'class' not found; available columns: id, name, level"


def bucket(harness: OfflineHarness) -> str:
    return harness.stack.ref("DataBucket")


def terminations(result: ExecutionResult) -> list[dict[str, Any]]:
    return [t.parameters for t in result.scheduled_tasks if t.resource == "terminateCluster.sync"]


def caught_error(result: ExecutionResult, state: str) -> dict[str, str]:
    """The ``{"Error", "Cause"}`` the run's Catch put in ``$.error``: the last failure of ``state``."""
    current, last = None, None
    for event in result.history:
        if "stateEnteredEventDetails" in event:
            current = event["stateEnteredEventDetails"]["name"]
        elif event["type"] == "TaskFailed" and current == state:
            details = event["taskFailedEventDetails"]
            last = {"Error": details["error"], "Cause": details["cause"]}
    assert last is not None, f"{state} never failed"
    return last
