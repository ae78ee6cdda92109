"""Bad events for the handlers, and how one is judged.

The events are arbitrary JSON, or a valid fixture from events/ with one to three fields removed,
replaced or added. ``invoke`` lets each end in one of two ways only: an ``InvalidEventError`` whose
message names a field, or a clean result; anything else raised from inside fails the test.
"""

from __future__ import annotations

import copy
from typing import Any

from hypothesis import HealthCheck, settings
from hypothesis import event as record_outcome
from hypothesis import strategies as st

from tests.support import lambda_context, load_event
from transient_analytics.errors import InvalidEventError

json_leaf = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=30),
    st.sampled_from(
        ["", "FAILED", "ABORTED", "EXPLODED", "1970-01-01T00:00:00Z", "9999-12-31T23:59:59Z", "x" * 100_000]
    ),
)
json_values = st.recursive(
    json_leaf,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4),
    max_leaves=12,
)


def paths(obj: Any, prefix: tuple = ()) -> list[tuple]:
    found = [prefix] if prefix else []
    if isinstance(obj, dict):
        for k, v in obj.items():
            found += paths(v, (*prefix, k))
    return found


@st.composite
def mutated(draw: st.DrawFn, fixtures: list[str], folder: str) -> dict[str, Any]:
    """A valid fixture with one to three fields removed, replaced or added."""
    event = copy.deepcopy(load_event(f"{folder}/{draw(st.sampled_from(fixtures))}"))
    for _ in range(draw(st.integers(1, 3))):
        candidates = paths(event)
        if not candidates:
            break
        path = draw(st.sampled_from(candidates))
        parent = event
        for key in path[:-1]:
            parent = parent[key]
        if not isinstance(parent, dict):
            continue
        action = draw(st.sampled_from(["drop", "replace", "add"]))
        if action == "drop":
            parent.pop(path[-1], None)
        elif action == "replace":
            parent[path[-1]] = draw(json_values)
        else:
            parent[draw(st.text(min_size=1, max_size=10))] = draw(json_values)
    return event


def invoke(handler: Any, event: Any) -> tuple[str, Any]:
    try:
        result = handler(event, lambda_context())
        record_outcome("handled" if not isinstance(result, dict) or result.get("published", True) else "no-op")
        return "ok", result
    except InvalidEventError as exc:
        record_outcome("invalid event")
        message = str(exc)
        assert message and ":" in message, f"error does not name a field: {message!r}"
        return "invalid", message


HYPOTHESIS = settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
