"""csv_to_parquet: what a converted slot's output holds after reruns, null partition values, a
file-size limit, and the session settings the job leaves behind.
"""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from jobs import csv_to_parquet as job

from .csv_to_parquet_support import (
    GOOD,
    HUNTER,
    SCHEMA,
    SMALL,
    WARLOCK,
    manifest,
    parquet_files,
    read_output,
    rows_per_partition_of_parquet,
    run_slots,
    slot,
    with_id,
    write_csv,
)

pytestmark = pytest.mark.spark


# --------------------------------------------------------------------------- rerunning a slot


def test_rerunning_a_slot_replaces_its_output_and_removes_a_vanished_partition(spark: object, tmp_path: Path) -> None:
    out = tmp_path / "out"
    first = write_csv(tmp_path / "first" / "c.csv", [GOOD, HUNTER, WARLOCK])
    second = write_csv(tmp_path / "second" / "c.csv", [with_id(GOOD, 10), with_id(GOOD, 11), with_id(WARLOCK, 12)])
    assert run_slots(spark, tmp_path / "r1.json", slot(SMALL, first, out)).slots[0].status == "converted"
    # WHEN the slot is converted again from data that has no Hunter any more (late data)
    report = run_slots(spark, tmp_path / "r2.json", slot(SMALL, second, out))
    # THEN the output holds exactly the new rows: Titan and Warlock replaced, Hunter gone
    assert report.slots[0].status == "converted"
    ids = {row["id"]: row["class"] for row in read_output(out).to_pylist()}
    assert ids == {10: "Titan", 11: "Titan", 12: "Warlock"}
    assert sorted(p.name for p in out.iterdir() if p.is_dir()) == ["class=Titan", "class=Warlock"]
    assert manifest(out)["partitions"] == {"Titan": 2, "Warlock": 1} == rows_per_partition_of_parquet(out)


def test_rerunning_the_same_input_never_appends(spark: object, tmp_path: Path) -> None:
    out = tmp_path / "out"
    source = write_csv(tmp_path / "in" / "c.csv", [GOOD, HUNTER])
    for attempt in range(2):
        run_slots(spark, tmp_path / f"r{attempt}.json", slot(SMALL, source, out))
    assert sorted(read_output(out).column("id").to_pylist()) == [1, 2]
    assert len(parquet_files(out)) == 2


# --------------------------------------------------------------------------- partitions and files


def test_null_and_empty_partition_values_go_to_the_hive_default_partition(spark: object, tmp_path: Path) -> None:
    # GIVEN a schema where class may be null, and rows whose class is empty or an empty quoted string
    schema = tmp_path / "schema.json"
    doc = json.loads(Path(SCHEMA).read_text())
    for f in doc["fields"]:
        if f["name"] == "class":
            f["nullable"] = True
    schema.write_text(json.dumps(doc))
    lines = [GOOD, with_id(GOOD.replace(",Titan,", ",,"), 2), with_id(GOOD.replace(",Titan,", ',"",'), 3)]
    source = write_csv(tmp_path / "in" / "c.csv", lines)
    out = tmp_path / "out"
    (result,) = run_slots(spark, tmp_path / "r.json", slot(SMALL, source, out), schema=str(schema)).slots
    assert result.partitions == {"Titan": 1, job.HIVE_DEFAULT_PARTITION: 2} == manifest(out)["partitions"]
    assert sorted(p.name for p in out.iterdir() if p.is_dir()) == ["class=Titan", "class=__HIVE_DEFAULT_PARTITION__"]


def test_max_records_per_file_splits_a_large_partition_value(spark: object, tmp_path: Path) -> None:
    source = write_csv(tmp_path / "in" / "c.csv", [with_id(GOOD, i) for i in range(1, 6)])
    out = tmp_path / "out"
    run_slots(spark, tmp_path / "r.json", slot(SMALL, source, out), max_records_per_file=2)
    files = parquet_files(out / "class=Titan")
    assert sorted(pq.ParquetFile(f).metadata.num_rows for f in files) == [1, 2, 2]
    assert manifest(out)["partitions"] == {"Titan": 5}


def test_session_settings_are_restored_after_a_run(spark: object, tmp_path: Path) -> None:
    conf = spark.conf  # type: ignore[attr-defined]
    conf.set("spark.sql.session.timeZone", "America/New_York")
    try:
        source = write_csv(tmp_path / "in" / "c.csv", [GOOD])
        run_slots(spark, tmp_path / "r.json", slot(SMALL, source, tmp_path / "out"))
        assert conf.get("spark.sql.session.timeZone") == "America/New_York"
        assert conf.get("spark.sql.parquet.outputTimestampType", None) in (None, "INT96")
        # AND the timestamp was still read as UTC while the job ran
        (written,) = read_output(tmp_path / "out").column("last_played").to_pylist()
        assert written.isoformat() == "2025-12-31T10:00:00+00:00"
    finally:
        conf.unset("spark.sql.session.timeZone")
