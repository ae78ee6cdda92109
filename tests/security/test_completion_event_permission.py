"""Whoever may put events may put only the completion event, and only on the default bus.

No function has events:PutEvents yet (record_slots, which sends the "Slot Converted" events,
is added with the slot ledger); the template test then skips and says so. Once a role has it,
the statement must name the account's default bus (no "*", no other bus) and limit the
source and detail type to the completion event's (transient_analytics.runs.completion), as
RECOMMENDED does.
"""

from __future__ import annotations

from typing import Any

import pytest
from security_support import Statement, as_list, text_of

from transient_analytics.runs import completion

DEFAULT_BUS = "arn:${AWS::Partition}:events:${AWS::Region}:${AWS::AccountId}:event-bus/" + completion.EVENT_BUS_NAME

#: The statement record_slots' role needs (long form, as in the translated template).
RECOMMENDED: dict[str, Any] = {
    "Sid": "PutCompletionEventsOnTheDefaultBus",
    "Effect": "Allow",
    "Action": "events:PutEvents",
    "Resource": {"Fn::Sub": DEFAULT_BUS},
    "Condition": {"StringEquals": {"events:source": completion.SOURCE, "events:detail-type": completion.DETAIL_TYPE}},
}


def grants_put_events(statement: Statement) -> bool:
    return statement.effect == "Allow" and any(a.lower() in ("events:putevents", "events:*") for a in statement.actions)


def put_events_problems(statement: Statement) -> list[str]:
    problems = []
    if [text_of(r) for r in statement.resources] != [DEFAULT_BUS]:
        problems.append(f"{statement.where}: events:PutEvents must name the default bus only")
    condition = statement.body.get("Condition", {}).get("StringEquals", {})
    if as_list(condition.get("events:source")) != [completion.SOURCE]:
        problems.append(f"{statement.where}: events:source must be {completion.SOURCE!r}")
    if as_list(condition.get("events:detail-type")) != [completion.DETAIL_TYPE]:
        problems.append(f"{statement.where}: events:detail-type must be {completion.DETAIL_TYPE!r}")
    return problems


def test_put_events_is_granted_only_on_the_default_bus_for_the_completion_event(statements: list[Statement]) -> None:
    grants = [s for s in statements if s.kind == "identity" and grants_put_events(s)]
    if not grants:
        pytest.skip("no role may call events:PutEvents yet")
    assert [p for s in grants for p in put_events_problems(s)] == []


def test_the_recommended_statement_passes_and_looser_ones_do_not() -> None:
    assert put_events_problems(Statement("F/Policy", "AWS::IAM::Role", "identity", RECOMMENDED)) == []
    on_every_bus = {**RECOMMENDED, "Resource": "*"}
    any_source = {**RECOMMENDED, "Condition": {}}
    for body, problem in ((on_every_bus, "default bus only"), (any_source, "events:source")):
        statement = Statement("F/Policy", "AWS::IAM::Role", "identity", body)
        assert grants_put_events(statement)
        assert any(problem in p for p in put_events_problems(statement))
