"""The lease arithmetic (``transient_analytics.runs.bounds``) checked against the ASL files it mirrors.

An independent walker reads each deployed definition: every Task state's worst case from its own
``TimeoutSeconds`` (or ``TimeoutSecondsPath``, resolved from the plan's settings) and ``Retry``
blocks, a Map's iterations in rounds of its ``MaxConcurrency``, and the longest path through the
state graph (Next, Default, Choices and Catch targets). The layer's bound must equal it, every
machine's ``TimeoutSeconds`` must hold it at the parameters' maxima, and with the template's
defaults the lease of a claim must stay below the slot-lag alarm's threshold.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime
from functools import cache
from typing import Any

import pytest

from offline.cfn.definitions import render_definition
from offline.cfn.stack import Stack
from offline.cfn.template import load_template
from tests.statemachines.sfn_support import ROOT
from tests.support import load_event
from transient_analytics.models import PrepareRunEvent, parse_event
from transient_analytics.runs import bounds
from transient_analytics.runs.plan import RunPlan, build_plan
from transient_analytics.settings import PrepareRunSettings, load_settings
from transient_analytics.slots import Fingerprint

TEMPLATE = load_template(ROOT / "template.yaml")
PARAMETERS = TEMPLATE["Parameters"]
#: Where a TimeoutSecondsPath points, and the setting that fills it.
TIMEOUT_PATHS = {
    "$.plan.emr.cluster_start_timeout_seconds": "EMR_CLUSTER_START_TIMEOUT_SECONDS",
    "$.plan.emr.step_timeout_seconds": "SPARK_STEP_TIMEOUT_SECONDS",
    "$.transform.timeout_seconds": "TRANSFORM_TIMEOUT_SECONDS",
}
TIME_OUT_ERRORS = {"States.ALL", "States.Timeout", "Sandbox.Timedout"}


def settings(**overrides: int | str) -> PrepareRunSettings:
    env = {**load_event("env")["PrepareRunFunction"], **{k: str(v) for k, v in overrides.items()}}
    return load_settings(PrepareRunSettings, env)


def maximum(parameter: str) -> int:
    return int(PARAMETERS[parameter]["MaxValue"])


@cache
def definition(machine: str) -> dict[str, Any]:
    return render_definition(Stack(TEMPLATE, {}), ROOT, machine).definition


def task_worst_case(state: dict[str, Any], s: PrepareRunSettings) -> float:
    timeout = state.get("TimeoutSeconds")
    if timeout is None and state["TimeoutSecondsPath"] == "$.plan.serverless.task_timeout_seconds":
        timeout = plan_of(s).serverless.task_timeout_seconds  # type: ignore[union-attr]
    elif timeout is None:
        timeout = getattr(s, TIMEOUT_PATHS[state["TimeoutSecondsPath"]])
    intervals: list[float] = []
    time_outs = False
    for retry in state.get("Retry", []):
        attempts, interval, rate = (
            retry.get("MaxAttempts", 3),
            retry.get("IntervalSeconds", 1),
            retry.get("BackoffRate", 2.0),
        )
        intervals += [interval * rate**n for n in range(attempts)]
        time_outs |= bool(TIME_OUT_ERRORS & set(retry["ErrorEquals"]))
    per_retry = timeout if time_outs else bounds.API_CALL_SECONDS
    return timeout + len(intervals) * per_retry + sum(intervals)


def longest_path(states: dict[str, Any], start: str, s: PrepareRunSettings, items: int) -> float:
    @cache
    def from_(name: str) -> float:
        state = states[name]
        kind = state["Type"]
        if kind == "Task":
            own = task_worst_case(state, s)
        elif kind == "Map":
            inner = state["ItemProcessor"]
            rounds = math.ceil(items / state.get("MaxConcurrency", items))
            own = rounds * longest_path(inner["States"], inner["StartAt"], s, items)
        else:
            own = 0.0
        choices = state.get("Choices", [])
        if any(c.get("Variable") == "$.plan.backend" for c in choices):  # the plan's backend decides the branch
            taken = [c["Next"] for c in choices if c.get("StringEquals") == s.SPARK_BACKEND]
            successors = taken or [state.get("Default")]
        else:
            successors = [state.get("Next"), state.get("Default")]
            successors += [c.get("Next") for c in choices]
        successors += [c.get("Next") for c in state.get("Catch", [])]
        return own + max((from_(n) for n in successors if n), default=0.0)

    return from_(start)


def plan_of(s: PrepareRunSettings) -> RunPlan:
    """A plan with one slot, as PrepareRun builds it for these settings (the timeouts it sends)."""
    event = parse_event(load_event("prepare_run/scheduled_emr"), PrepareRunEvent)
    start = datetime(2026, 11, 25, 20, 0, tzinfo=UTC)
    return build_plan(event, s, start, "schedule", [(start, Fingerprint("a" * 32, 1, 1))], "")


def walked(machine: str, s: PrepareRunSettings) -> float:
    d = definition(machine)
    return longest_path(d["States"], d["StartAt"], s, s.TRANSFORM_MAX_SLOTS_PER_RUN)


CASES = [
    pytest.param({}, id="template defaults"),
    pytest.param({"SPARK_STEP_TIMEOUT_SECONDS": 600, "EMR_CLUSTER_START_TIMEOUT_SECONDS": 900}, id="short"),
    pytest.param({"SPARK_BACKEND": "serverless"}, id="serverless defaults"),
    pytest.param({"SPARK_BACKEND": "serverless", "SPARK_STEP_TIMEOUT_SECONDS": 120}, id="serverless, short"),
    pytest.param(
        {"SPARK_BACKEND": "serverless", "SPARK_STEP_TIMEOUT_SECONDS": maximum("SparkStepTimeoutSeconds")},
        id="serverless maxima",
    ),
    pytest.param(
        {
            "SPARK_STEP_TIMEOUT_SECONDS": maximum("SparkStepTimeoutSeconds"),
            "EMR_CLUSTER_START_TIMEOUT_SECONDS": maximum("EmrClusterStartTimeoutSeconds"),
            "TRANSFORM_TIMEOUT_SECONDS": maximum("TransformTimeoutSeconds"),
            "TRANSFORM_MAX_SLOTS_PER_RUN": maximum("TransformMaxSlotsPerRun"),
        },
        id="parameter maxima",
    ),
]


@pytest.mark.parametrize("overrides", CASES)
def test_the_layers_bound_of_each_run_is_the_longest_path_through_its_deployed_definition(overrides):
    s = settings(**overrides)
    assert bounds.emr_run_bound(s) == walked("EmrPipelineStateMachine", s)
    assert bounds.transform_run_bound(s) == walked("BatchTransformStateMachine", s)


@pytest.mark.parametrize("overrides", CASES)
def test_a_claims_lease_outlasts_its_run_and_each_machines_own_timeout_holds_the_run(overrides):
    s = settings(**overrides)
    for pipeline, machine in (("emr", "EmrPipelineStateMachine"), ("transform", "BatchTransformStateMachine")):
        lease = bounds.lease(pipeline, s).total_seconds()
        assert lease >= walked(machine, s) + bounds.CLOCK_SKEW_SECONDS
        assert definition(machine)["TimeoutSeconds"] >= walked(machine, s), machine


def test_with_the_templates_defaults_a_dead_runs_slot_is_held_less_long_than_the_lag_alarm_tolerates():
    s = settings()
    emr, transform = bounds.lease("emr", s), bounds.lease("transform", s)
    assert emr.total_seconds() == 6713  # 1 h 51 min 53 s: docs/reliability.md, Lease arithmetic
    serverless = bounds.lease("emr", settings(SPARK_BACKEND="serverless"))
    assert serverless.total_seconds() == 5053  # 254 + (4200 + 3 x 60 + 105) + 254 + 60: 1 h 24 min 13 s
    assert serverless.total_seconds() < int(PARAMETERS["SlotLagAlarmSeconds"]["Default"])
    assert emr.total_seconds() < int(PARAMETERS["SlotLagAlarmSeconds"]["Default"])
    assert transform.total_seconds() < int(PARAMETERS["TransformSlotLagAlarmSeconds"]["Default"])


def test_the_settings_refuse_timeouts_the_template_does_not_allow():
    with pytest.raises(Exception, match="SPARK_STEP_TIMEOUT_SECONDS"):
        settings(SPARK_STEP_TIMEOUT_SECONDS=maximum("SparkStepTimeoutSeconds") + 1)
    with pytest.raises(Exception, match="TRANSFORM_MAX_SLOTS_PER_RUN"):
        settings(TRANSFORM_MAX_SLOTS_PER_RUN=maximum("TransformMaxSlotsPerRun") + 1)
