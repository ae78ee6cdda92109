"""bench.bench_slot_day on a short day: the ledger's invariants hold when the layer's real code drives the runs.

Invariants only (never durations): with the ledger no slot with data is lost, no cluster is created
for a run without data, the poison slot ends quarantined and every other slot converted; today's
behaviour loses at least the poison slot and the late file and pays for clusters on empty slots.
"""

from __future__ import annotations

import pytest

from bench import bench_slot_day as bench

SHORT_DAY = bench.Assumptions(ticks=32)


@pytest.fixture(scope="module")
def outcomes() -> tuple[bench.Outcome, bench.Outcome]:
    return bench.simulate(SHORT_DAY)


def test_the_ledger_loses_no_slot_and_pays_no_cluster_for_an_empty_tick(
    outcomes: tuple[bench.Outcome, bench.Outcome],
) -> None:
    _, new = outcomes
    assert new.lost == 0
    assert new.empty_clusters == 0
    assert new.waiting == 0
    # the poison slot is quarantined; every other slot with data has its final contents (late file included) converted
    assert new.quarantined == 1
    assert new.converted == new.slots_with_data - 1
    assert any("quarantined after 3 attempts" in note for note in new.notes)


def test_v1_loses_the_poison_slot_and_the_late_file_and_creates_clusters_for_empty_slots(
    outcomes: tuple[bench.Outcome, bench.Outcome],
) -> None:
    v1, new = outcomes
    assert v1.slots_with_data == new.slots_with_data  # the same day for both
    assert v1.lost >= 2
    assert v1.converted + v1.lost == v1.slots_with_data
    assert v1.empty_clusters > 0
    assert v1.most_clusters_at_once == 1  # one run at a time: the overlap guard


def test_the_simulation_is_deterministic() -> None:
    first, second = bench.simulate(SHORT_DAY), bench.simulate(SHORT_DAY)
    assert bench.table(*first) == bench.table(*second)


def test_the_report_states_its_assumptions_before_the_table(capsys: pytest.CaptureFixture[str]) -> None:
    assert bench.main(["--ticks", "24"]) == 0
    printed = capsys.readouterr().out
    assert printed.index("Assumptions:") < printed.index("clusters created")
    for row in ("clusters for ticks without data", "cluster-minutes per slot with data", "slots lost", "maximum lag"):
        assert row in printed
    assert "rows / 166,667 rows/s" in printed
