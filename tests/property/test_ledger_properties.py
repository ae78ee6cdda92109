"""Property-based: the slot ledger's rules and conditional writes, against moto DynamoDB.

The table is created exactly as template.yaml declares it (keys, the sparse open-slots index).
Several holders act on a few slots, each from its own, possibly stale, view of the ledger, as
executions that read at different times do. Whatever the sequence:

- a write succeeds exactly when the writer's view is the stored version (so a stale view never
  overwrites a newer record), and every stored version is the previous one plus one;
- no slot is ever taken from a holder whose lease still runs: two holders never hold one slot;
- what DynamoDB stores (table and open-slots index) is always what the pure model computes.

Two claims racing from threads with the same observed version: exactly one wins.
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from moto import mock_aws
from moto.dynamodb.models import DynamoDBBackend

from tests.support import create_ledger_table
from transient_analytics.ledger import transitions
from transient_analytics.ledger.records import OPEN_STATES, SlotCounts, SlotRecord, lease_expired
from transient_analytics.ledger.store import SlotLedger
from transient_analytics.ledger.transitions import TransitionRefused
from transient_analytics.slots import Fingerprint

TABLE = "ledger-properties"
START = datetime(2026, 11, 25, 20, 16, tzinfo=UTC)
LEASE = timedelta(minutes=30)
MAX_ATTEMPTS = 3
SLOTS = ["2026-11-25T19:30Z", "2026-11-25T19:45Z", "2026-11-25T20:00Z"]
HOLDERS = ["arn:exec:A", "arn:exec:B", "arn:exec:C"]
CONTENTS = [Fingerprint("a" * 32, 1, 10), Fingerprint("b" * 32, 2, 25)]
PROPERTIES = settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])

operations = st.lists(
    st.tuples(
        st.sampled_from(["read", "claim", "complete", "fail", "release", "requeue"]),
        st.sampled_from(HOLDERS),
        st.sampled_from(SLOTS),
        st.sampled_from(range(len(CONTENTS))),
        st.sampled_from([0, 0, 1, 10, 31]),  # minutes the clock moves before the operation
    ),
    min_size=1,
    max_size=30,
)


_TABLES = itertools.count()


@pytest.fixture(scope="module")
def dynamodb() -> Iterator[Any]:
    """One moto DynamoDB for the module (a client costs more than a hundred examples' calls)."""
    with mock_aws():
        yield boto3.client("dynamodb", region_name="us-east-1")


def new_ledger(client: Any) -> SlotLedger:
    """A fresh, empty ledger table for one example."""
    name = f"{TABLE}-{next(_TABLES)}"
    create_ledger_table(client, name)
    return SlotLedger(client, name)


def transition(
    action: str, view: SlotRecord | None, holder: str, slot: str, contents: Fingerprint, now: datetime
) -> SlotRecord:
    """The pure rule for ``action`` on what the holder last saw (raises TransitionRefused)."""
    if action == "claim":
        return transitions.claim(
            view, pipeline="emr", slot=slot, observed=contents, holder=holder, run_id=holder[-1], now=now, lease=LEASE
        )
    if action == "requeue":
        return transitions.requeue(view, pipeline="emr", slot=slot, now=now)
    if view is None:
        raise TransitionRefused("no record")
    if action == "complete":
        return transitions.complete(
            view, holder=holder, counts=SlotCounts(rows_written=1), now=now, retention=timedelta(days=1)
        )
    if action == "fail":
        return transitions.fail(view, holder=holder, error=f"failed by {holder}", now=now, max_attempts=MAX_ATTEMPTS)
    return transitions.release(view, holder=holder, error="released", now=now)


@dataclass
class World:
    """The truth (the pure model of what is stored) and each holder's view of it."""

    truth: dict[str, SlotRecord] = field(default_factory=dict)
    views: dict[tuple[str, str], SlotRecord | None] = field(default_factory=dict)


def stored(store: SlotLedger) -> dict[str, SlotRecord]:
    return store.get_many("emr", SLOTS)


@PROPERTIES
@given(ops=operations)
def test_any_sequence_of_transitions_by_several_holders_keeps_the_ledger_consistent(
    dynamodb: Any, ops: list[tuple[Any, ...]]
) -> None:
    store = new_ledger(dynamodb)
    world = World()
    now = START
    for action, holder, slot, content_index, minutes in ops:
        now += timedelta(minutes=minutes)
        if action == "read":
            world.views[(holder, slot)] = stored(store).get(slot)
            continue
        view = world.views.get((holder, slot))
        try:
            new = transition(action, view, holder, slot, CONTENTS[content_index], now)
        except TransitionRefused:
            continue
        before = world.truth.get(slot)
        wrote = store.write(new, view.version if view else None)
        # a conditional write succeeds exactly when the writer saw the stored version
        assert wrote == ((view.version if view else None) == (before.version if before else None))
        if not wrote:
            continue
        assert new.version == (before.version if before else 0) + 1
        if action == "claim":
            # nobody's live claim is ever taken over: two holders never hold one slot
            assert before is None or before.state != "running" or lease_expired(before, now)
        elif action in ("complete", "fail", "release"):
            # only the holder of a running slot records it
            assert before is not None and (before.state, before.holder) == ("running", holder)
        world.truth[slot] = new
        world.views[(holder, slot)] = new
        # what is stored is what the model computed, in the table and in the open-slots index
        assert stored(store) == world.truth
        assert set(store.open("emr")) == {s for s, r in world.truth.items() if r.state in OPEN_STATES}
        holders = {r.holder for r in world.truth.values() if r.state == "running"}
        assert None not in holders
    # at the end, too: a single read of the window gives the model
    assert store.window("emr", SLOTS[0], SLOTS[-1]) == world.truth
    for r in world.truth.values():
        assert (r.state == "running") == (r.holder is not None)
        assert r.attempts < MAX_ATTEMPTS or r.state == "quarantined"


@PROPERTIES
@given(
    ops=st.lists(
        st.tuples(st.sampled_from(HOLDERS), st.sampled_from(SLOTS), st.sampled_from([0, 5, 31])),
        min_size=1,
        max_size=20,
    )
)
def test_a_slot_is_never_held_by_two_holders_whose_leases_overlap(
    dynamodb: Any, ops: list[tuple[str, str, int]]
) -> None:
    """Holders that always read before claiming (as prepare_run does): each slot's claims never overlap."""
    store = new_ledger(dynamodb)
    now = START
    leases: dict[str, list[tuple[str, datetime, datetime]]] = {}
    for holder, slot, minutes in ops:
        now += timedelta(minutes=minutes)
        current = stored(store).get(slot)
        try:
            new = transition("claim", current, holder, slot, CONTENTS[0], now)
        except TransitionRefused:
            continue
        if store.write(new, current.version if current else None):
            leases.setdefault(slot, []).append((holder, now, new.lease_expires_at))
    for held in leases.values():
        for (h1, _, end1), (h2, start2, _) in zip(held, held[1:], strict=False):
            assert start2 >= end1, f"{h2} claimed at {start2} while {h1} held the slot until {end1}"


@pytest.fixture(scope="module")
def serialized_puts() -> Iterator[None]:
    """DynamoDB applies conditional writes to one item one at a time; moto does not lock, so two threads
    can both pass its condition check. Serialize moto's PutItem as the service does: what is tested is
    that the conditions our writes carry let exactly one claim through, not moto's locking."""
    lock = threading.Lock()
    original = DynamoDBBackend.put_item

    def put_item(self: DynamoDBBackend, *args: Any, **kwargs: Any) -> Any:
        with lock:
            return original(self, *args, **kwargs)

    DynamoDBBackend.put_item = put_item  # type: ignore[method-assign]
    yield
    DynamoDBBackend.put_item = original  # type: ignore[method-assign]


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    prior=st.sampled_from(["none", "pending", "failed", "done-late", "expired"]),
    holders=st.integers(min_value=2, max_value=4),
)
def test_claims_racing_from_threads_with_the_same_observed_version_have_exactly_one_winner(
    dynamodb: Any, serialized_puts: None, prior: str, holders: int
) -> None:
    store = new_ledger(dynamodb)
    slot = SLOTS[0]
    seed: SlotRecord | None = None
    if prior != "none":
        seed = transition("claim", None, "arn:exec:seed", slot, CONTENTS[0], START - timedelta(hours=1))
        if prior == "pending":
            seed = transition("release", seed, "arn:exec:seed", slot, CONTENTS[0], START)
        elif prior == "failed":
            seed = transition("fail", seed, "arn:exec:seed", slot, CONTENTS[0], START)
        elif prior == "done-late":
            seed = transition("complete", seed, "arn:exec:seed", slot, CONTENTS[0], START)
        # "expired": the seed's claim (START - 1 h, 30 min lease) ran out
        assert store.write(seed, None)
    observed = stored(store).get(slot)
    assert observed == seed
    barrier = threading.Barrier(holders)
    results: dict[str, bool] = {}

    def race(holder: str) -> None:
        new = transition("claim", observed, holder, slot, CONTENTS[1], START)
        barrier.wait()
        results[holder] = store.write(new, observed.version if observed else None)

    threads = [threading.Thread(target=race, args=(f"arn:exec:racer-{i}",)) for i in range(holders)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    winners = [h for h, won in results.items() if won]
    assert len(results) == holders and len(winners) == 1, results
    final = stored(store)[slot]
    assert (final.state, final.holder, final.version) == ("running", winners[0], (seed.version if seed else 0) + 1)
