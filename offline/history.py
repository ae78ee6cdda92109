"""Reading an execution history (``GetExecutionHistory``'s events, oldest first): the state visits."""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from typing import Any


@dataclass(frozen=True)
class StateVisit:
    """One entry into a state: its input, when it was entered and left, whether it raised an error."""

    name: str
    input: Any
    entered: Any
    #: None while the state is open: a Fail state, the state a failure ended in, one still running.
    exited: Any = None
    #: A task or the state itself raised an error (caught or not) during this visit.
    failed: bool = False


def state_visits(history: list[dict[str, Any]]) -> list[StateVisit]:
    """Every state entry of a history (oldest first), in order; an error is credited to the last open state."""
    visits: list[StateVisit] = []
    open_visits: list[int] = []
    for event in history:
        etype = event.get("type", "")
        if "stateEnteredEventDetails" in event:
            details = event["stateEnteredEventDetails"]
            visits.append(
                StateVisit(details["name"], json.loads(details.get("input") or "null"), event.get("timestamp"))
            )
            open_visits.append(len(visits) - 1)
        elif "stateExitedEventDetails" in event:
            name = event["stateExitedEventDetails"]["name"]
            index = next((i for i in reversed(open_visits) if visits[i].name == name), None)
            if index is not None:
                visits[index] = replace(visits[index], exited=event.get("timestamp"))
                open_visits.remove(index)
        elif open_visits and etype.endswith(("Failed", "TimedOut")) and not etype.startswith("Execution"):
            visits[open_visits[-1]] = replace(visits[open_visits[-1]], failed=True)
    return visits
