"""The run report as the job goes: what a step that dies mid-run leaves for the ledger, and values the catalog hides."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from jobs import csv_to_parquet as job

from .csv_to_parquet_support import (
    CHARACTERS,
    GOOD,
    HUNTER,
    POISON,
    SMALL,
    WARLOCK,
    manifest,
    run_slots,
    slot,
    write_csv,
)

pytestmark = pytest.mark.spark


class DriverKilled(BaseException):
    """What the Python driver sees when YARN kills it: nothing the job can catch and report."""


def test_every_slot_is_pending_in_the_report_before_the_first_one_starts(spark: object, tmp_path: Path, monkeypatch):
    write_csv(tmp_path / "a" / "c.csv", [GOOD])
    seen: list[dict[str, object]] = []
    convert = job.convert_slot

    def watching(spark_: object, args: job.JobArgs, schema: object, s: job.SlotArgs) -> job.SlotResult:
        seen.append(json.loads((tmp_path / "report.json").read_text()))
        return convert(spark_, args, schema, s)  # type: ignore[arg-type]

    monkeypatch.setattr(job, "convert_slot", watching)
    report = run_slots(
        spark,
        tmp_path / "report.json",
        slot(CHARACTERS, tmp_path / "a", tmp_path / "o1"),
        slot(SMALL, tmp_path / "a", tmp_path / "o2"),
    )
    assert [s["status"] for s in seen[0]["slots"]] == ["running", "pending"] and seen[0]["final"] is False
    assert [s["status"] for s in seen[1]["slots"]] == ["converted", "running"]
    final = json.loads((tmp_path / "report.json").read_text())
    assert final["final"] is True and [s["status"] for s in final["slots"]] == ["converted", "converted"]
    assert [s.status for s in report.slots] == ["converted", "converted"]


def test_a_driver_killed_while_converting_a_slot_leaves_a_report_naming_it_running_and_the_rest_pending(
    spark: object, tmp_path: Path, monkeypatch
):
    for name in ("a", "p", "b"):
        write_csv(tmp_path / name / "c.csv", [GOOD, HUNTER])
    convert = job.convert_slot

    def dies_on_poison(spark_: object, args: job.JobArgs, schema: object, s: job.SlotArgs) -> job.SlotResult:
        if s.slot == POISON:
            raise DriverKilled("Container killed by YARN for exceeding physical memory limits")
        return convert(spark_, args, schema, s)  # type: ignore[arg-type]

    monkeypatch.setattr(job, "convert_slot", dies_on_poison)
    with pytest.raises(DriverKilled):
        run_slots(
            spark,
            tmp_path / "report.json",
            slot(CHARACTERS, tmp_path / "a", tmp_path / "o1"),
            slot(POISON, tmp_path / "p", tmp_path / "o2"),
            slot(SMALL, tmp_path / "b", tmp_path / "o3"),
        )
    left = json.loads((tmp_path / "report.json").read_text())
    assert left["final"] is False
    assert {s["slot"]: s["status"] for s in left["slots"]} == {
        CHARACTERS: "converted",
        POISON: "running",
        SMALL: "pending",
    }
    assert left["slots"][0]["rows_written"] == 2  # the converted slot's result is already in it


def test_rows_with_a_partition_value_the_catalog_does_not_show_are_written_and_reported(spark: object, tmp_path: Path):
    write_csv(tmp_path / "in" / "c.csv", [GOOD, HUNTER, WARLOCK])
    report = run_slots(
        spark,
        tmp_path / "report.json",
        slot(CHARACTERS, tmp_path / "in", tmp_path / "out"),
        partition_values=("Titan", "Hunter"),
    )
    [result] = report.slots
    assert result.status == "converted" and result.rows_written == 3  # nothing dropped
    assert result.unlisted == {"Warlock": 1}
    assert manifest(tmp_path / "out")["unlisted_partition_values"] == {"Warlock": 1}
    line = json.loads((tmp_path / "report.json").read_text())["slots"][0]
    assert line["unlisted_partition_values"] == {"Warlock": 1}


def test_without_a_list_of_values_nothing_is_reported_as_unlisted(spark: object, tmp_path: Path):
    write_csv(tmp_path / "in" / "c.csv", [GOOD, WARLOCK])
    [result] = run_slots(spark, tmp_path / "report.json", slot(CHARACTERS, tmp_path / "in", tmp_path / "out")).slots
    assert result.unlisted == {} and manifest(tmp_path / "out")["unlisted_partition_values"] == {}
    assert "unlisted_partition_values" not in json.loads((tmp_path / "report.json").read_text())["slots"][0]


def test_an_empty_value_in_the_list_is_refused_naming_the_argument():
    with pytest.raises(SystemExit):
        job.parse_args(
            [
                "--slot",
                CHARACTERS,
                "in",
                "out",
                "ab",
                "--schema",
                "s",
                "--partition-column",
                "class",
                "--run-id",
                "r1",
                "--report",
                "r.json",
                "--partition-values",
                "Titan,,Hunter",
            ]
        )
