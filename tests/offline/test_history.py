from offline.history import state_visits


def entered(name: str, at: int, state_input: str = "{}") -> dict:
    return {
        "type": "TaskStateEntered",
        "timestamp": at,
        "stateEnteredEventDetails": {"name": name, "input": state_input},
    }


def exited(name: str, at: int) -> dict:
    return {"type": "TaskStateExited", "timestamp": at, "stateExitedEventDetails": {"name": name}}


def test_each_exit_closes_the_latest_open_visit_of_its_state_and_an_error_marks_the_last_open_one():
    # GIVEN a Map whose two iterations of Score interleave, the second failing, then a Fail state
    history = [
        entered("ScoreSlots", 0),
        entered("Score", 1, '{"slot": "a"}'),
        entered("Score", 2, '{"slot": "b"}'),
        {"type": "TaskFailed", "timestamp": 3, "taskFailedEventDetails": {"error": "States.TaskFailed"}},
        exited("Score", 4),
        exited("ScoreSlots", 5),
        {"type": "FailStateEntered", "timestamp": 6, "stateEnteredEventDetails": {"name": "SlotsFailed"}},
    ]
    visits = state_visits(history)
    # THEN every entry is a visit, in order, with its input
    assert [(v.name, v.input) for v in visits] == [
        ("ScoreSlots", {}),
        ("Score", {"slot": "a"}),
        ("Score", {"slot": "b"}),
        ("SlotsFailed", None),
    ]
    # AND the exit closed the later Score visit, which is the one that failed; the Fail state stays open
    assert [(v.exited, v.failed) for v in visits] == [(5, False), (None, False), (4, True), (None, False)]
