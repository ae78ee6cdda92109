import json
from pathlib import Path

from demo.picture import edges, layers, render_svg, visits_from_history

EMR = json.loads(Path("statemachines/emr_pipeline.asl.json").read_text())


def test_every_state_is_placed_once_starting_from_startat():
    rows = layers(EMR)
    placed = [name for row in rows for name in row]
    assert rows[0] == ["PrepareRun"]
    assert sorted(placed) == sorted(EMR["States"])


def test_catch_transitions_are_edges_too():
    assert any(e.kind == "catch" and e.source == "RunSparkStep" for e in edges(EMR))


def test_states_are_coloured_by_what_the_run_did():
    history = [
        {"type": "TaskStateEntered", "stateEnteredEventDetails": {"name": "RunSparkStep"}},
        {"type": "TaskFailed", "taskFailedEventDetails": {"error": "States.TaskFailed"}},
        {"type": "FailStateEntered", "stateEnteredEventDetails": {"name": "SparkStepFailed"}},
        {"type": "ExecutionFailed"},
    ]
    visits = visits_from_history(history, EMR)
    assert visits == {"RunSparkStep": "failed", "SparkStepFailed": "fail"}
    svg = render_svg(EMR, visits, "t")
    assert svg.count("<rect x=") >= len(EMR["States"])
    assert "Task · failed" in svg and "Fail · fail" in svg and "Succeed · not run" in svg
