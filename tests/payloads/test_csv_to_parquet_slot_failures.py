"""csv_to_parquet: how a slot fails (bad rows, a header that does not match the schema, an empty
input with --fail-on-empty, an error of the whole job or of one slot) and that it commits nothing.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from jobs import csv_to_parquet as job
from jobs import generate_characters as gen

from .csv_to_parquet_support import (
    BAD_LINES,
    EMPTY,
    GOOD,
    HUNTER,
    SMALL,
    WARLOCK,
    manifest,
    read_output,
    run_slots,
    slot,
    snapshot,
    with_id,
    write_csv,
)

pytestmark = pytest.mark.spark


# --------------------------------------------------------------------------- bad rows


@pytest.mark.parametrize("kind", sorted(BAD_LINES))
def test_a_bad_row_aborts_the_slot_inside_the_write_and_commits_nothing(
    spark: object, tmp_path: Path, kind: str
) -> None:
    # GIVEN a slot with an earlier output
    out = tmp_path / "out"
    run_slots(spark, tmp_path / "r1.json", slot(SMALL, write_csv(tmp_path / "ok" / "c.csv", [GOOD, HUNTER]), out))
    before = snapshot(out)
    # WHEN its new data has one bad row among good ones, with the default of 0 tolerated
    source = write_csv(tmp_path / "in" / "bad.csv", [with_id(WARLOCK, 20), BAD_LINES[kind], with_id(GOOD, 21)])
    (result,) = run_slots(spark, tmp_path / "r2.json", slot(SMALL, source, out)).slots
    # THEN the slot failed naming the count, the file and the row, and its output is as it was
    assert result.status == "failed"
    assert result.error.startswith("1 of 3 rows do not match the schema (at most 0 allowed); nothing was committed")
    assert "bad.csv" in result.error and "\n" not in result.error
    assert snapshot(out) == before


def test_with_no_tolerance_the_input_is_read_once(
    spark: object, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN the counting pass would fail loudly if it ran
    def no_count_pass(*_: object) -> None:
        raise AssertionError("no counting pass may run when --max-bad-rows is 0 and the data is good")

    monkeypatch.setattr(job, "read_marked", no_count_pass)
    monkeypatch.setattr(job, "count_bad", no_count_pass)
    source = write_csv(tmp_path / "in" / "c.csv", [GOOD, HUNTER, WARLOCK])
    (result,) = run_slots(spark, tmp_path / "r.json", slot(SMALL, source, tmp_path / "out")).slots
    assert (result.status, result.rows_written, result.partitions) == (
        "converted",
        3,
        {"Hunter": 1, "Titan": 1, "Warlock": 1},
    )


def test_tolerated_bad_rows_are_dropped_and_counted_in_the_manifest(spark: object, tmp_path: Path) -> None:
    source = write_csv(tmp_path / "in" / "c.csv", [GOOD, *BAD_LINES.values()])
    out = tmp_path / "out"
    (result,) = run_slots(spark, tmp_path / "r.json", slot(SMALL, source, out), max_bad_rows=3).slots
    assert (result.status, result.rows_read, result.bad_rows, result.rows_written) == ("converted", 4, 3, 1)
    doc = manifest(out)
    assert (doc["rows_read"], doc["bad_rows"], doc["rows_written"], doc["partitions"]) == (4, 3, 1, {"Titan": 1})
    assert read_output(out).column("id").to_pylist() == [1]


def test_more_bad_rows_than_tolerated_fail_the_slot_before_anything_is_written(spark: object, tmp_path: Path) -> None:
    source = write_csv(tmp_path / "in" / "c.csv", [GOOD, *BAD_LINES.values()])
    out = tmp_path / "out"
    (result,) = run_slots(spark, tmp_path / "r.json", slot(SMALL, source, out), max_bad_rows=2).slots
    assert result.status == "failed"
    assert result.error.startswith("3 of 4 rows do not match the schema (at most 2 allowed); nothing was committed")
    assert not out.exists()


def test_a_header_that_does_not_match_the_schema_fails_its_slot_naming_file_and_column(
    spark: object, tmp_path: Path
) -> None:
    header = ",".join(gen.COLUMNS).replace("level,light", "light,level")
    swapped = write_csv(tmp_path / "swapped" / "swapped.csv", [GOOD], header=header)
    good = write_csv(tmp_path / "good" / "c.csv", [GOOD])
    report = run_slots(
        spark, tmp_path / "r.json", slot(SMALL, swapped, tmp_path / "o1"), slot(EMPTY, good, tmp_path / "o2")
    )
    failed, converted = report.slots
    assert failed.status == "failed" and "\n" not in failed.error
    assert "Expected: level but found: light" in failed.error and "swapped.csv" in failed.error
    assert converted.status == "converted" and converted.rows_written == 1


# --------------------------------------------------------------------------- empty slots, job-wide errors


def test_an_empty_slot_fails_with_fail_on_empty_and_keeps_its_previous_output(spark: object, tmp_path: Path) -> None:
    out = tmp_path / "out"
    run_slots(spark, tmp_path / "r1.json", slot(SMALL, write_csv(tmp_path / "ok" / "c.csv", [GOOD]), out))
    before = snapshot(out)
    header_only = write_csv(tmp_path / "in" / "c.csv", [])
    report = run_slots(
        spark,
        tmp_path / "r2.json",
        slot(SMALL, header_only, out),
        slot(EMPTY, tmp_path / "missing", tmp_path / "o2"),
        fail_on_empty=True,
    )
    assert [s.status for s in report.slots] == ["failed", "failed"]
    assert all("(--fail-on-empty); nothing was committed" in s.error for s in report.slots)
    assert snapshot(out) == before


@pytest.mark.parametrize(
    ("options", "expected"),
    [
        ({"partition_column": "klass"}, "partition column 'klass' not found; available columns: "),
        ({"schema": "/nonexistent/schema.json"}, "cannot read schema file /nonexistent/schema.json"),
    ],
    ids=["unknown-column", "missing-schema"],
)
def test_an_error_that_concerns_every_slot_fails_each_of_them_in_the_report(
    spark: object, tmp_path: Path, options: dict[str, str], expected: str
) -> None:
    source = write_csv(tmp_path / "in" / "c.csv", [GOOD])
    report = run_slots(
        spark,
        tmp_path / "r.json",
        slot(SMALL, source, tmp_path / "o1"),
        slot(EMPTY, source, tmp_path / "o2"),
        **options,
    )
    assert [s.status for s in report.slots] == ["failed", "failed"]
    assert all(s.error.startswith(expected) for s in report.slots)
    assert json.loads((tmp_path / "r.json").read_text())["slots"][0]["error"].startswith("csv_to_parquet: error: ")
    assert not (tmp_path / "o1").exists()


def test_an_unexpected_error_in_one_slot_fails_only_that_slot(spark: object, tmp_path: Path) -> None:
    # GIVEN a slot whose output lies below a regular file (the write cannot create it)
    blocker = tmp_path / "blocker"
    blocker.write_text("not a directory")
    source = write_csv(tmp_path / "in" / "c.csv", [GOOD])
    report = run_slots(
        spark, tmp_path / "r.json", slot(SMALL, source, blocker / "out"), slot(EMPTY, source, tmp_path / "o2")
    )
    broken, healthy = report.slots
    # THEN that slot failed with a one-line error and the next slot still converted
    assert broken.status == "failed" and broken.error and "\n" not in broken.error
    assert not broken.error.startswith("Py4JJavaError: An error occurred while calling")
    assert (healthy.status, healthy.rows_written) == ("converted", 1)
