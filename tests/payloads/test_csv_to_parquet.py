"""The PySpark CSV → partitioned Parquet job, slot by slot, run on a real local Spark (``local[2]``).

Outputs are read back with pyarrow (not with Spark), so the checks do not depend on the
engine that wrote them. The session is shared (JVM start-up costs ~10 s); the expensive
multi-slot run is built once per module.
"""

from __future__ import annotations

import ast
import csv
import json
import os
import re
import subprocess
import sys
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.parquet as pq
import pytest

from jobs import csv_to_parquet as job
from jobs import generate_characters as gen

from .conftest import REPO_ROOT, TEST_JVM_OPTIONS, spark_env

pytestmark = pytest.mark.spark

SCHEMA = str(REPO_ROOT / "jobs" / "schemas" / "characters.json")
ROWS = 4_000
SEED = 2026
RUN_ID = "20261125T2030Z-1a2b3c4d"
FINGERPRINT = "9f86d081884c7d65"

GOOD = "1,Ana Vesper,Titan,Human,50,2001,9,true,2025-12-31T10:00:00Z"
HUNTER = "2,Bo Graves,Hunter,Exo,40,1900,5,false,2025-06-01T00:00:00Z"
WARLOCK = "3,Cy Lumen,Warlock,Awoken,20,1750,4,true,2025-06-01T00:00:00Z"
BAD_LINES = {
    "unparseable-int": "5,Bo Graves,Hunter,Exo,forty,1900,5,false,2025-06-01T00:00:00Z",
    "extra-field": "6,Cy Lumen,Warlock,Awoken,20,1750,4,true,2025-06-01T00:00:00Z,extra",
    "empty-required-class": "7,Di Pyre,,Human,30,1800,6,false,2025-06-01T00:00:00Z",
}

MANIFEST_FIELDS = {
    "format",
    "pipeline",
    "slot",
    "run_id",
    "input_uri",
    "output_uri",
    "input_fingerprint",
    "rows_read",
    "rows_written",
    "bad_rows",
    "partitions",
    "partition_column",
    "written_at",
}


# --------------------------------------------------------------------------- helpers


def write_csv(path: Path, lines: list[str], header: str | None = None) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text((header or ",".join(gen.COLUMNS)) + "\n" + "".join(line + "\n" for line in lines))
    return path


def with_id(line: str, new_id: int) -> str:
    return f"{new_id}," + line.split(",", 1)[1]


def class_counts_of_csv(*paths: Path) -> Counter[str]:
    counts: Counter[str] = Counter()
    for path in paths:
        counts.update(row["class"] for row in csv.DictReader(path.open()))
    return counts


def read_output(path: Path) -> pa.Table:
    """The written dataset, partition column included, read by pyarrow."""
    return ds.dataset(str(path), format="parquet", partitioning="hive").to_table()


def parquet_files(path: Path) -> list[Path]:
    return sorted(p for p in path.rglob("*.parquet") if not any(part.startswith((".", "_")) for part in p.parts[-2:]))


def rows_per_partition_of_parquet(path: Path) -> dict[str, int]:
    """Rows per ``class=<value>`` directory, from the Parquet footers (pyarrow)."""
    counts: Counter[str] = Counter()
    for file in parquet_files(path):
        counts[file.parent.name.split("=", 1)[1]] += pq.ParquetFile(file).metadata.num_rows
    return dict(counts)


def snapshot(path: Path) -> dict[str, bytes]:
    """Every file under ``path`` (hidden ones included) with its bytes."""
    return {p.relative_to(path).as_posix(): p.read_bytes() for p in sorted(path.rglob("*")) if p.is_file()}


def manifest(out: Path) -> dict[str, object]:
    return json.loads((out / job.MANIFEST_NAME).read_text())


def slot(slot_id: str, source: Path, out: Path) -> job.SlotArgs:
    return job.SlotArgs(slot=slot_id, input=str(source), output=str(out) + "/", fingerprint=FINGERPRINT)


def run_slots(spark: object, report: Path, *slots: job.SlotArgs, **options: object) -> job.RunReport:
    args = job.JobArgs(
        slots=tuple(slots),
        partition_column=str(options.pop("partition_column", "class")),
        schema=str(options.pop("schema", SCHEMA)),
        run_id=RUN_ID,
        report=str(report),
        **options,  # type: ignore[arg-type]
    )
    return job.run(spark, args)


def by_slot(report: job.RunReport) -> dict[str, job.SlotResult]:
    return {s.slot: s for s in report.slots}


# --------------------------------------------------------------------------- the multi-slot run


@dataclass(frozen=True)
class MultiSlot:
    report: job.RunReport
    report_file: Path
    landing: Path
    outputs: dict[str, Path]
    poison_before: dict[str, bytes]


CHARACTERS, SMALL, POISON, EMPTY, MISSING = (
    "2026-11-25T20:00Z",
    "2026-11-25T20:15Z",
    "2026-11-25T20:30Z",
    "2026-11-25T20:45Z",
    "2026-11-25T21:00Z",
)


@pytest.fixture(scope="module")
def multi(spark: object, tmp_path_factory: pytest.TempPathFactory) -> MultiSlot:
    """One run of five slots: generated characters (two files), a small slot, a poison slot and
    an empty one that both had an earlier output, and a slot whose input does not exist."""
    root = tmp_path_factory.mktemp("slots")
    landing, curated = root / "landing", root / "curated"
    outputs = {s: curated / s.replace(":", "") for s in (CHARACTERS, SMALL, POISON, EMPTY, MISSING)}
    lines = gen.generate_csv_bytes(ROWS, SEED).decode().splitlines()
    write_csv(landing / CHARACTERS / "part-a.csv", lines[1:2_501])
    write_csv(landing / CHARACTERS / "part-b.csv", lines[2_501:])
    write_csv(landing / SMALL / "c.csv", [GOOD, HUNTER])
    # GIVEN the poison and the empty slots were converted once before, from good data
    write_csv(root / "earlier" / "c.csv", [GOOD, HUNTER, WARLOCK])
    earlier = run_slots(
        spark,
        root / "earlier-report.json",
        slot(POISON, root / "earlier", outputs[POISON]),
        slot(EMPTY, root / "earlier", outputs[EMPTY]),
    )
    assert [s.status for s in earlier.slots] == ["converted", "converted"]
    poison_before = snapshot(outputs[POISON])
    # AND now the poison slot's input has a bad row and the empty slot's a header only
    write_csv(landing / POISON / "c.csv", [GOOD, BAD_LINES["unparseable-int"]])
    write_csv(landing / EMPTY / "c.csv", [])
    # WHEN one job converts all five
    report_file = root / "report.json"
    report = run_slots(
        spark, report_file, *(slot(s, landing / s, outputs[s]) for s in (CHARACTERS, SMALL, POISON, EMPTY, MISSING))
    )
    return MultiSlot(report, report_file, landing, outputs, poison_before)


def test_a_poison_slot_fails_while_the_healthy_slots_commit_and_are_reported(multi: MultiSlot) -> None:
    statuses = {s.slot: s.status for s in multi.report.slots}
    assert statuses == {
        CHARACTERS: "converted",
        SMALL: "converted",
        POISON: "failed",
        EMPTY: "converted",
        MISSING: "converted",
    }
    written = json.loads(multi.report_file.read_text())
    assert written["format"] == 1 and written["run_id"] == RUN_ID
    assert [s["slot"] for s in written["slots"]] == [CHARACTERS, SMALL, POISON, EMPTY, MISSING]
    converted = written["slots"][0]
    assert converted == {
        "slot": CHARACTERS,
        "status": "converted",
        "manifest_uri": str(multi.outputs[CHARACTERS]) + "/_manifest.json",
        "rows_read": ROWS,
        "rows_written": ROWS,
        "bad_rows": 0,
    }
    failed = written["slots"][2]
    assert set(failed) == {"slot", "status", "error"}
    assert failed["error"].startswith("csv_to_parquet: error: 1 of 2 rows do not match the schema")
    assert "forty" in failed["error"] and "c.csv" in failed["error"]


def test_nothing_of_the_aborted_slot_is_committed_and_its_previous_output_survives(multi: MultiSlot) -> None:
    # THEN every file of the poison slot's earlier output is there, byte for byte, and no other
    # (no new Parquet file, no staging directory, the old manifest untouched)
    assert snapshot(multi.outputs[POISON]) == multi.poison_before
    assert manifest(multi.outputs[POISON])["partitions"] == {"Hunter": 1, "Titan": 1, "Warlock": 1}


def test_each_manifest_has_exactly_the_contract_fields(multi: MultiSlot) -> None:
    for slot_id in (CHARACTERS, SMALL, EMPTY, MISSING):
        doc = manifest(multi.outputs[slot_id])
        assert set(doc) == MANIFEST_FIELDS
        assert (doc["format"], doc["pipeline"], doc["slot"], doc["run_id"]) == (1, "emr", slot_id, RUN_ID)
        assert doc["input_uri"] == str(multi.landing / slot_id)
        assert doc["output_uri"] == str(multi.outputs[slot_id]) + "/"
        assert (doc["input_fingerprint"], doc["partition_column"]) == (FINGERPRINT, "class")
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", str(doc["written_at"]))


def test_manifest_counts_equal_the_parquet_actually_written(multi: MultiSlot) -> None:
    for slot_id in (CHARACTERS, SMALL):
        out = multi.outputs[slot_id]
        doc = manifest(out)
        assert doc["partitions"] == rows_per_partition_of_parquet(out)
        assert doc["rows_written"] == doc["rows_read"] == len(read_output(out)) == sum(doc["partitions"].values())
        assert doc["bad_rows"] == 0
    expected = class_counts_of_csv(*sorted((multi.landing / CHARACTERS).glob("*.csv")))
    assert manifest(multi.outputs[CHARACTERS])["partitions"] == dict(sorted(expected.items()))
    assert manifest(multi.outputs[SMALL])["partitions"] == {"Hunter": 1, "Titan": 1}


def test_an_empty_slot_is_committed_as_empty_and_its_previous_output_removed(multi: MultiSlot) -> None:
    for slot_id in (EMPTY, MISSING):
        out = multi.outputs[slot_id]
        doc = manifest(out)
        assert (doc["rows_read"], doc["rows_written"], doc["bad_rows"], doc["partitions"]) == (0, 0, 0, {})
        assert parquet_files(out) == []
        assert [p.name for p in out.iterdir() if p.is_dir()] == []


def test_each_partition_value_is_written_as_a_single_file(multi: MultiSlot) -> None:
    per_directory = Counter(p.parent.name for p in parquet_files(multi.outputs[CHARACTERS]))
    assert per_directory == {"class=Hunter": 1, "class=Titan": 1, "class=Warlock": 1}


def test_values_round_trip_exactly(multi: MultiSlot) -> None:
    source = {
        row["id"]: row for path in (multi.landing / CHARACTERS).glob("*.csv") for row in csv.DictReader(path.open())
    }
    written = read_output(multi.outputs[CHARACTERS]).to_pylist()
    assert len(written) == ROWS
    for row in written[:: ROWS // 50]:
        original = source[str(row["id"])]
        assert row["name"] == original["name"] and row["class"] == original["class"]
        assert row["level"] == int(original["level"]) and row["light"] == int(original["light"])
        assert row["is_active"] == (original["is_active"] == "true")
        assert row["last_played"].strftime("%Y-%m-%dT%H:%M:%SZ") == original["last_played"]


# --------------------------------------------------------------------------- schema agreement (issue 13)

#: How each Spark type of jobs/schemas/characters.json must land in Parquet: (physical type,
#: logical type). The Glue table's column types follow from the same schema file.
PARQUET_TYPE_OF_SPARK_TYPE = {
    "long": ("INT64", "NONE"),
    "integer": ("INT32", "NONE"),
    "string": ("BYTE_ARRAY", "STRING"),
    "boolean": ("BOOLEAN", "NONE"),
    "timestamp": ("INT64", "TIMESTAMP"),
}


def test_every_column_of_the_parquet_has_the_physical_and_logical_type_of_the_schema_file(multi: MultiSlot) -> None:
    # GIVEN the schema file, the one source of truth for the columns
    declared = json.loads(Path(SCHEMA).read_text())["fields"]
    expected = [(f["name"], *PARQUET_TYPE_OF_SPARK_TYPE[f["type"]]) for f in declared if f["name"] != "class"]
    files = parquet_files(multi.outputs[CHARACTERS])
    assert files
    for path in files:
        # WHEN each written file's Parquet schema is read back with pyarrow
        schema = pq.ParquetFile(path).schema
        columns = [schema.column(i) for i in range(len(schema))]
        actual = [(c.name, c.physical_type, c.logical_type.type) for c in columns]
        # THEN every column is there, in the schema's order, with the declared types
        assert actual == expected, path
        # AND timestamps are microseconds adjusted to UTC (never INT96 or millis)
        (stamp,) = [c for c in columns if c.name == "last_played"]
        logical = json.loads(stamp.logical_type.to_json())
        assert (logical["timeUnit"], logical["isAdjustedToUTC"]) == ("microseconds", True)
        # AND the partition column lives only in the directory name
        assert path.parent.name.startswith("class=")


def test_schema_file_declares_id_and_class_required_and_the_rest_nullable() -> None:
    schema = job.parse_schema(Path(SCHEMA).read_text())
    assert [f.name for f in schema.fields if not f.nullable] == ["id", "class"]
    assert schema.simpleString() == (
        "struct<id:bigint,name:string,class:string,race:string,level:int,light:int,"
        "guardian_rank:int,is_active:boolean,last_played:timestamp>"
    )


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


# --------------------------------------------------------------------------- as spark-submit runs it


def job_argv(report: str, *slots: tuple[str, str, str], schema: str = SCHEMA) -> list[str]:
    argv = ["--schema", schema, "--partition-column", "class", "--run-id", RUN_ID, "--report", report]
    for slot_id, source, out in slots:
        argv += ["--slot", slot_id, source, out, FINGERPRINT]
    return argv


def spark_submit(*args: str) -> subprocess.CompletedProcess[str]:
    import pyspark

    spark_home = Path(pyspark.__file__).parent
    env = {**os.environ, **spark_env(), "SPARK_HOME": str(spark_home)}
    command = [
        str(spark_home / "bin" / "spark-submit"),
        "--master",
        "local[2]",
        "--driver-java-options",
        TEST_JVM_OPTIONS,
        "--conf",
        "spark.ui.enabled=false",
        "--conf",
        "spark.driver.host=127.0.0.1",
        "--conf",
        "spark.driver.bindAddress=127.0.0.1",
        str(REPO_ROOT / "jobs" / "csv_to_parquet.py"),
        *args,
    ]
    return subprocess.run(command, env=env, capture_output=True, text=True, timeout=240, check=False)


@pytest.mark.slow
def test_spark_submit_converts_the_good_slot_reports_the_poison_one_and_exits_2(tmp_path: Path) -> None:
    # GIVEN the job file run exactly as the EMR step runs it (spark-submit FILE ARGS), with URIs
    good = write_csv(tmp_path / "good" / "c.csv", [GOOD, HUNTER]).parent
    poison = write_csv(tmp_path / "poison" / "c.csv", [GOOD, BAD_LINES["extra-field"]]).parent
    report = tmp_path / "report.json"
    completed = spark_submit(
        *job_argv(
            f"file://{report}",
            (SMALL, f"file://{good}/", f"file://{tmp_path}/o1/"),
            (POISON, f"file://{poison}/", f"file://{tmp_path}/o2/"),
            schema=f"file://{SCHEMA}",
        )
    )
    # THEN it exits 2, the driver's output ends with the one-line summary (spark-submit merges
    # the Python driver's stderr into its stdout), and the report and outputs are there
    assert completed.returncode == 2, completed.stdout[-3000:] + completed.stderr[-3000:]
    last = completed.stdout.strip().splitlines()[-1]
    assert last.startswith(f"csv_to_parquet: error: 1 of 2 slots failed: {POISON}: 1 of 2 rows do not match")
    (line,) = [text for text in completed.stdout.splitlines() if text.startswith("csv_to_parquet: result: ")]
    assert json.loads(line.removeprefix("csv_to_parquet: result: ")) == json.loads(report.read_text())
    assert [s["status"] for s in json.loads(report.read_text())["slots"]] == ["converted", "failed"]
    assert manifest(tmp_path / "o1")["partitions"] == {"Hunter": 1, "Titan": 1}
    assert not (tmp_path / "o2").exists()


def test_main_exits_0_when_every_slot_converted_and_2_with_the_summary_line_otherwise(
    spark: object, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    good = str(write_csv(tmp_path / "good" / "c.csv", [GOOD]))
    header = ",".join(gen.COLUMNS).replace("name", "nom")
    renamed = str(write_csv(tmp_path / "renamed" / "c.csv", [GOOD], header=header))
    report = str(tmp_path / "r.json")
    # GIVEN a session already running (main reuses it and leaves it running)
    assert job.main(job_argv(report, (SMALL, good, str(tmp_path / "o1")))) == 0
    assert "csv_to_parquet: error" not in capsys.readouterr().err
    code = job.main(job_argv(report, (SMALL, good, str(tmp_path / "o1")), (POISON, renamed, str(tmp_path / "o2"))))
    captured = capsys.readouterr()
    assert code == 2
    last = captured.err.strip().splitlines()[-1]
    assert re.fullmatch(
        rf"csv_to_parquet: error: 1 of 2 slots failed: {POISON}: CSV header does not conform to the schema\..*"
        r"Expected: name but found: nom.*renamed.*c\.csv; nothing was committed",
        last,
    ), last
    assert "Traceback" not in captured.out + captured.err
    assert not spark.sparkContext._jsc.sc().isStopped()  # type: ignore[attr-defined]


# --------------------------------------------------------------------------- the command line (no Spark needed)


CONTRACT_ARGV = [
    "--schema",
    "s3://B/artifacts/jobs/schemas/characters.json",
    "--partition-column",
    "class",
    "--run-id",
    "20261125T2030Z-1a2b3c4d",
    "--report",
    "s3://B/runs/emr/20261125T2030Z-1a2b3c4d/report.json",
    "--slot",
    "2026-11-25T20:00Z",
    "s3://B/landing/characters/dt=2026-11-25/hour=20/minute=00/",
    "s3://B/curated/characters/dt=2026-11-25/hour=20/minute=00/",
    "ab12",
    "--slot",
    "2026-11-25T20:15Z",
    "s3://B/landing/characters/dt=2026-11-25/hour=20/minute=15/",
    "s3://B/curated/characters/dt=2026-11-25/hour=20/minute=15/",
    "cd34",
]


def test_job_accepts_the_command_line_of_the_contract() -> None:
    args = job.parse_args([*CONTRACT_ARGV, "--max-bad-rows", "5", "--fail-on-empty"])
    assert args.slots == (
        job.SlotArgs(
            "2026-11-25T20:00Z",
            "s3://B/landing/characters/dt=2026-11-25/hour=20/minute=00/",
            "s3://B/curated/characters/dt=2026-11-25/hour=20/minute=00/",
            "ab12",
        ),
        job.SlotArgs(
            "2026-11-25T20:15Z",
            "s3://B/landing/characters/dt=2026-11-25/hour=20/minute=15/",
            "s3://B/curated/characters/dt=2026-11-25/hour=20/minute=15/",
            "cd34",
        ),
    )
    assert args.slots[1].manifest_uri == "s3://B/curated/characters/dt=2026-11-25/hour=20/minute=15/_manifest.json"
    assert (args.partition_column, args.run_id, args.max_bad_rows, args.fail_on_empty) == (
        "class",
        "20261125T2030Z-1a2b3c4d",
        5,
        True,
    )
    assert args.report == "s3://B/runs/emr/20261125T2030Z-1a2b3c4d/report.json"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda a: a.__setitem__(9, "2026-11-25 20:00"), "slot id must be a UTC minute like 2026-11-25T20:15Z"),
        (lambda a: a.__setitem__(9, "2026-13-25T20:00Z"), "slot id must be a UTC minute"),
        (lambda a: a.__setitem__(12, "not-hex"), "fingerprint must be hexadecimal, got 'not-hex'"),
        (lambda a: a.__setitem__(16, a[11]), "output URI 's3://B/curated/characters/dt=2026-11-25/hour=20/minute=00'"),
        (lambda a: a.__setitem__(14, a[9]), "slot id '2026-11-25T20:00Z' is given twice"),
        (lambda a: a.__setitem__(5, "run id"), "argument --run-id: must be letters, digits"),
        (lambda a: a.__delitem__(slice(13, 18)) or a.__delitem__(12), "argument --slot: expected 4 arguments"),
        (lambda a: a.__delitem__(slice(8, 18)), "the following arguments are required: --slot"),
    ],
    ids=["slot-format", "slot-date", "fingerprint", "duplicate-output", "duplicate-slot", "run-id", "three", "none"],
)
def test_a_bad_command_line_exits_2_naming_the_argument_and_the_rule(
    change: object, message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = list(CONTRACT_ARGV)
    change(argv)  # type: ignore[operator]
    with pytest.raises(SystemExit) as exit_info:
        job.parse_args(argv)
    assert exit_info.value.code == 2
    assert message in capsys.readouterr().err


def test_job_file_is_self_contained_and_valid_python_3_9() -> None:
    # EMR 7 runs the driver with Python 3.9 and only this file is uploaded.
    source = (REPO_ROOT / "jobs" / "csv_to_parquet.py").read_text()
    tree = ast.parse(source, feature_version=(3, 9))
    imported = {
        (node.module or "").split(".")[0] if isinstance(node, ast.ImportFrom) else alias.name.split(".")[0]
        for node in ast.walk(tree)
        if isinstance(node, (ast.Import, ast.ImportFrom))
        for alias in node.names
    }
    assert imported - set(sys.stdlib_module_names) == {"pyspark"}
