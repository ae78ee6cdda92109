"""The offline harness as pytest fixtures, for the suites that execute state machines (tests/statemachines)
and the tests of the twin itself (tests/offline).

One harness per test module (moto, the template's resources and both state machines are
created once, in about a second); each test gets it reset (runners, clock, recorded sleeps,
invocations and messages, handler caches) with the clock of ``prepare_run`` frozen at NOW.
``h`` is that harness with an empty data bucket and ledger, a production model in the pointer (transform
runs score with it), and both ledger functions' clocks at NOW.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from offline.harness import OfflineHarness
from tests.statemachines.ledger_support import at, clear
from tests.statemachines.sfn_support import MOCK_CONFIG, NOW, ROOT, Gate
from tests.statemachines.training_support import seed_production


@pytest.fixture(scope="module")
def module_harness() -> Iterator[OfflineHarness]:
    with OfflineHarness(ROOT, mock_config=MOCK_CONFIG) as harness:
        yield harness


@pytest.fixture
def harness(module_harness: OfflineHarness) -> Iterator[OfflineHarness]:
    module_harness.reset()
    module_harness.freeze_clock(NOW)
    try:
        yield module_harness
    finally:
        module_harness.reset()


@pytest.fixture
def h(harness: OfflineHarness) -> Iterator[OfflineHarness]:
    clear(harness)
    seed_production(harness)
    at(harness, NOW)
    yield harness
    clear(harness)


@pytest.fixture
def gate() -> Iterator[Gate]:
    g = Gate()
    try:
        yield g
    finally:
        g.release()
