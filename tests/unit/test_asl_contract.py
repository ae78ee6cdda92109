"""The state names and result paths the Python side relies on exist in both deployed definitions."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from offline.cfn.definitions import all_states
from transient_analytics.runs import asl_contract as asl

ROOT = Path(__file__).resolve().parents[2]


def definition(name: str) -> dict[str, Any]:
    return dict(json.loads((ROOT / "statemachines" / name).read_text()))


@pytest.mark.parametrize(
    ("file", "names"), [("emr_pipeline.asl.json", asl.EMR_STATES), ("batch_transform.asl.json", asl.TRANSFORM_STATES)]
)
def test_every_state_name_the_code_relies_on_is_a_state_of_the_definition(file: str, names: tuple[str, ...]):
    states = all_states(definition(file))
    assert [n for n in names if n not in states] == []


@pytest.mark.parametrize("file", ["emr_pipeline.asl.json", "batch_transform.asl.json"])
def test_prepare_run_puts_the_plan_and_record_slots_the_record_where_the_readers_look(file: str):
    states = definition(file)["States"]
    assert states[asl.PREPARE_RUN]["ResultSelector"] == {f"{asl.PLAN_KEY}.$": "$.Payload"}
    assert states[asl.RECORD_SLOTS]["ResultPath"] == f"$.{asl.RECORD_KEY}"
    [rule] = states[asl.HAS_WORK]["Choices"]
    assert (rule["Variable"], rule["BooleanEquals"], rule["Next"]) == (
        f"$.{asl.PLAN_KEY}.{asl.WORK_KEY}",
        False,
        asl.NO_NEW_DATA,
    )


def test_the_cluster_id_is_kept_where_the_history_reader_finds_it():
    create = definition("emr_pipeline.asl.json")["States"][asl.CREATE_CLUSTER]
    assert create["ResultPath"] == f"$.{asl.CLUSTER_KEY}"
    assert create["ResultSelector"] == {f"{asl.CLUSTER_ID_KEY}.$": "$.ClusterId"}
