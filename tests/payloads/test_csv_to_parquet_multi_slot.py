"""The PySpark CSV → partitioned Parquet job converting five slots in one run on a real local Spark
(``local[2]``): a poison slot fails alone, the healthy ones commit with their manifests, and the
Parquet written agrees with the schema file. The expensive run is built once per module.
"""

from __future__ import annotations

import csv
import json
import re
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from jobs import csv_to_parquet as job
from jobs import generate_characters as gen

from .csv_to_parquet_support import (
    BAD_LINES,
    CHARACTERS,
    EMPTY,
    FINGERPRINT,
    GOOD,
    HUNTER,
    MISSING,
    POISON,
    RUN_ID,
    SCHEMA,
    SMALL,
    WARLOCK,
    manifest,
    parquet_files,
    read_output,
    rows_per_partition_of_parquet,
    run_slots,
    slot,
    snapshot,
    write_csv,
)

pytestmark = pytest.mark.spark

ROWS = 4_000
SEED = 2026

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
    "unlisted_partition_values",
    "written_at",
}


def class_counts_of_csv(*paths: Path) -> Counter[str]:
    counts: Counter[str] = Counter()
    for path in paths:
        counts.update(row["class"] for row in csv.DictReader(path.open()))
    return counts


# --------------------------------------------------------------------------- the multi-slot run


@dataclass(frozen=True)
class MultiSlot:
    report: job.RunReport
    report_file: Path
    landing: Path
    outputs: dict[str, Path]
    poison_before: dict[str, bytes]


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
