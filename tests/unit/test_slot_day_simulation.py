"""bench.bench_slot_day on a short day: the ledger's invariants hold when the layer's real code drives the runs.

Invariants only (never durations): with the ledger no slot with data is lost, no run is started
for a tick without data, the poison slot ends quarantined and every other slot converted, on either
Spark backend; today's behaviour (v1) loses at least the poison slot and the late file and pays for
clusters on empty slots.
"""

from __future__ import annotations

import pytest

from bench import bench_slot_day as bench
from bench.slot_day_model import Assumptions

SHORT_DAY = Assumptions(ticks=32)


@pytest.fixture(scope="module")
def results() -> bench.Results:
    return bench.simulate(SHORT_DAY)


@pytest.mark.parametrize("backend", ["cluster", "serverless"])
def test_the_ledger_loses_no_slot_and_starts_no_run_for_an_empty_tick(results: bench.Results, backend: str) -> None:
    new = getattr(results, backend)
    assert new.backend == backend
    assert new.lost == 0
    assert new.empty_runs == 0
    assert new.waiting == 0
    # the poison slot is quarantined; every other slot with data has its final contents (late file included) converted
    assert new.quarantined == 1
    assert new.converted == new.slots_with_data - 1
    assert any("quarantined after 3 attempts" in note for note in new.notes)


def test_v1_loses_the_poison_slot_and_the_late_file_and_creates_clusters_for_empty_slots(
    results: bench.Results,
) -> None:
    v1, new = results.v1, results.cluster
    assert v1.slots_with_data == new.slots_with_data  # the same day for both
    assert v1.lost >= 2
    assert v1.converted + v1.lost == v1.slots_with_data
    assert v1.empty_runs > 0
    assert v1.most_at_once == 1  # one run at a time: the overlap guard
    assert v1.cost_usd > new.cost_usd  # its empty clusters are paid for


def test_the_simulation_is_deterministic() -> None:
    assert bench.table(bench.simulate(SHORT_DAY)) == bench.table(bench.simulate(SHORT_DAY))


def test_the_report_states_its_assumptions_before_the_table(capsys: pytest.CaptureFixture[str]) -> None:
    assert bench.main(["--ticks", "24"]) == 0
    printed = capsys.readouterr().out
    assert printed.index("Assumptions:") < printed.index("runs (clusters / job runs)")
    for row in ("runs for ticks without data", "cluster-minutes", "slots lost", "maximum lag"):
        assert row in printed
    assert "rows / 166,667 rows/s" in printed
