"""make demo-day's scenario, played with the simulated step (the real Spark tick runs in make demo-day itself)."""

from __future__ import annotations

from pathlib import Path

import pytest

from demo.day import Scenario, play


@pytest.mark.parametrize("backend", ["cluster", "serverless"])
def test_a_day_of_ticks_loses_no_slot_pays_no_compute_for_an_empty_tick_and_quarantines_the_poison_slot(
    tmp_path: Path, backend: str
):
    scenario = Scenario(ticks=12, rows=50, real_spark_ticks=0)
    report = play(scenario, tmp_path, echo=lambda line: None, backend=backend)

    assert report.lost == []
    assert report.compute_without_data == 0
    assert report.quarantined == [scenario.poison]
    # every slot with data but the poison one ends converted, the late one included
    assert report.converted == report.slots_with_data - 1
    # the overlapping tick's next tick took only the slot nobody held
    overlap = report.lines[scenario.overlap_tick]
    after = report.lines[scenario.overlap_tick + 1]
    assert "still running" in overlap.note and not set(overlap.claimed) & set(after.claimed)
    # the late file's tick converted its slot again
    late = report.lines[scenario.late_at_tick]
    assert "late file" in late.note and "2026-11-25T06:00Z" in late.claimed
    # no cluster or job run was started by a tick that found nothing to do
    assert all(line.compute == bool(line.claimed) for line in report.lines)
    assert report.compute == sum(1 for line in report.lines if line.claimed)
