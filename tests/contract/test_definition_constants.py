"""The values the definitions send unchanged on every run, for the longest stack name the template allows.

A deployed definition holds constants (DefinitionSubstitutions, literals) in its Task
parameters; they do not vary per execution, so the execution test above sees them for one
stack name only. Here every constant of every Task is checked against its API model's
constraints (patterns, lengths, enums) with the longest stack name: the schedules are named
``<stack>-batch-transform`` and EventBridge Scheduler allows 64 characters, so 48.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from checks.api_constraints import constraint_problems, operation_model
from checks.request_shapes import integration_for
from offline.cfn.definitions import render_definition
from offline.cfn.stack import Stack
from offline.cfn.template import load_template
from tests.statemachines.sfn_support import ROOT

#: EventBridge Scheduler names are at most 64 characters: ``<stack>-batch-transform`` (16) leaves 48.
LONGEST_STACK = "s" * (64 - len("-batch-transform"))
MACHINES = ("EmrPipelineStateMachine", "BatchTransformStateMachine", "TrainModelStateMachine")


def constants(value: Any) -> Any:
    """``value`` without its paths and intrinsic calls (keys ending in ``.$``): what is sent as written."""
    if isinstance(value, dict):
        return {k: constants(v) for k, v in value.items() if not k.endswith(".$")}
    if isinstance(value, list):
        return [constants(v) for v in value]
    return value


def task_constants(machine: str, parameters: dict[str, str]) -> list[tuple[str, str, dict[str, Any]]]:
    stack = Stack(load_template(ROOT / "template.yaml"), parameters=parameters, stack_name=LONGEST_STACK)
    definition = render_definition(stack, ROOT, machine).definition
    return [
        (name, state["Resource"], constants(state.get("Parameters", {})))
        for name, state in definition["States"].items()
        if state["Type"] == "Task"
    ]


def problems(machine: str, parameters: dict[str, str]) -> list[str]:
    found = []
    for state, resource, static in task_constants(machine, parameters):
        integration = integration_for(resource)
        shape = operation_model(integration.service, integration.operation).input_shape
        found += [f"{state}: {p}" for p in constraint_problems(integration.render(static), shape)]
    return found


@pytest.mark.parametrize("machine", MACHINES)
def test_the_constants_of_every_task_are_valid_for_the_longest_stack_name(machine):
    assert problems(machine, {}) == []


def test_the_constants_of_every_task_are_valid_with_existing_roles(machine="TrainModelStateMachine"):
    existing = {"ExistingSageMakerRoleArn": "arn:aws:iam::123456789012:role/path/" + "m" * 64}
    assert problems(machine, existing) == []


def test_constants_keep_literals_and_drop_paths():
    assert constants({"A": 1, "B.$": "$.x", "C": [{"D.$": "$$.y", "E": "e"}]}) == {"A": 1, "C": [{"E": "e"}]}
    assert json.dumps(task_constants("EmrPipelineStateMachine", {})).count("emr-7.") == 1
