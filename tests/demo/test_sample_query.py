"""The README's sample query on DuckDB over Parquet laid out as layout.py writes it (docs/architecture.md, S3 layout) (written with pyarrow).

No Spark: the files are written directly in the layout the Spark job commits, with the column
types of jobs/schemas/characters.json, so the query, the table's projection layout and the
schema are checked together in well under a second.
"""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import boto3
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from moto import mock_aws

from demo import sample_query as sq
from offline.cfn.template import load_template
from offline.runners.s3 import download_prefix

ROOT = Path(__file__).resolve().parents[2]
SCHEMA = json.loads((ROOT / "jobs" / "schemas" / "characters.json").read_text())
ARROW_TYPES = {
    "long": pa.int64(),
    "string": pa.string(),
    "integer": pa.int32(),
    "boolean": pa.bool_(),
    "timestamp": pa.timestamp("us", tz="UTC"),
}


def write_slot(root: Path, slot: str, rows_per_value: dict[str, int], column: str = "class") -> Path:
    """One committed slot: ``<column>=<value>/part-00000-….parquet`` per value, plus its manifest."""
    t = datetime.strptime(slot, "%Y-%m-%dT%H:%MZ")
    slot_dir = root / "curated" / "characters" / f"dt={t:%Y-%m-%d}" / f"hour={t:%H}" / f"minute={t:%M}"
    slot_dir.mkdir(parents=True)
    fields = [f for f in SCHEMA["fields"] if f["name"] != column]
    arrow_schema = pa.schema([pa.field(f["name"], ARROW_TYPES[f["type"]], f["nullable"]) for f in fields])
    for value, n in rows_per_value.items():
        data = {f.name: pa.array([_value(f.type, i) for i in range(n)], f.type) for f in arrow_schema}
        part = slot_dir / f"{column}={value}"
        part.mkdir()
        pq.write_table(pa.table(data, schema=arrow_schema), part / "part-00000-5e1f.c000.snappy.parquet")
        (part / ".part-00000-5e1f.c000.snappy.parquet.crc").write_bytes(b"crc")
    manifest = {"format": 1, "pipeline": "emr", "slot": slot, "rows_written": sum(rows_per_value.values())}
    (slot_dir / "_manifest.json").write_text(json.dumps(manifest))
    return slot_dir


def _value(kind: pa.DataType, i: int):
    if pa.types.is_integer(kind):
        return i
    if pa.types.is_string(kind):
        return f"v{i}"
    if pa.types.is_boolean(kind):
        return i % 2 == 0
    return datetime(2026, 11, 25, 20, 0)


@pytest.fixture
def bucket(tmp_path: Path) -> Path:
    write_slot(tmp_path, "2026-11-25T20:00Z", {"Titan": 3, "Hunter": 5})
    write_slot(tmp_path, "2026-11-25T20:15Z", {"Titan": 2, "Warlock": 4})
    write_slot(tmp_path, "2026-11-24T23:45Z", {"Titan": 100})
    empty = write_slot(tmp_path, "2026-11-25T20:30Z", {})  # an empty slot: manifest, no Parquet
    assert not any(empty.rglob("*.parquet"))
    return tmp_path


def test_counts_per_dt_and_class_for_the_day_over_every_slot_of_that_day(bucket):
    assert sq.run_sample_query(bucket, "2026-11-25") == [
        ("2026-11-25", "Hunter", 5),
        ("2026-11-25", "Titan", 5),
        ("2026-11-25", "Warlock", 4),
    ]


def test_other_days_are_not_counted_and_a_day_without_data_gives_no_rows(bucket):
    assert sq.run_sample_query(bucket, "2026-11-24") == [("2026-11-24", "Titan", 100)]
    assert sq.run_sample_query(bucket, "2026-11-23") == []


def test_no_output_at_all_gives_no_rows(tmp_path):
    assert sq.run_sample_query(tmp_path, "2026-11-25") == []


def test_another_partition_column_is_queried_by_its_own_name(tmp_path):
    write_slot(tmp_path, "2026-11-25T06:00Z", {"Exo": 2, "Human": 1}, column="race")
    assert sq.run_sample_query(tmp_path, "2026-11-25", column="race") == [
        ("2026-11-25", "Exo", 2),
        ("2026-11-25", "Human", 1),
    ]


@pytest.mark.parametrize("day", ["2026-11-31", "25/11/2026", "2026-11-25' OR '1'='1", ""])
def test_a_bad_day_is_refused_naming_the_field(bucket, day):
    with pytest.raises(ValueError, match="day: must be a date yyyy-MM-dd"):
        sq.run_sample_query(bucket, day)


def test_a_column_that_is_not_an_identifier_is_refused(bucket):
    with pytest.raises(ValueError, match="column: must be a plain SQL identifier"):
        sq.run_sample_query(bucket, "2026-11-25", column='class"; DROP')


def test_the_query_is_the_templates_sample_query_output_word_for_word():
    output = load_template(ROOT / "template.yaml")["Outputs"]["SampleQuery"]["Value"]["Fn::Sub"]
    assert output == sq.SAMPLE_QUERY_TEMPLATE.format(
        database="${CatalogDatabase}", table="${CuratedCharactersTable}", column="${PartitionColumn}"
    )


def test_the_database_name_is_the_templates_for_the_stack_name():
    database = load_template(ROOT / "template.yaml")["Resources"]["CatalogDatabase"]["Properties"]["DatabaseInput"]
    assert database["Name"] == {"Fn::Join": ["_", {"Fn::Split": ["-", {"Ref": "AWS::StackName"}]}]}
    assert sq.database_name("transient-analytics-dev") == "transient_analytics_dev"


def test_the_result_is_printed_as_an_aligned_table():
    assert sq.format_result([("2026-11-25", "Titan", 5), ("2026-11-25", "Warlock", 14)]).splitlines() == [
        "dt          class    row_count",
        "2026-11-25  Titan    5",
        "2026-11-25  Warlock  14",
    ]


def test_a_local_copy_of_the_curated_prefix_answers_the_query_as_the_bucket_does(tmp_path_factory, bucket):
    with mock_aws():
        s3 = boto3.client("s3", region_name="us-east-1")
        s3.create_bucket(Bucket="data")
        for path in bucket.rglob("*"):
            if path.is_file():
                s3.upload_file(str(path), "data", path.relative_to(bucket).as_posix())
        s3.put_object(Bucket="data", Key="landing/characters/x.csv", Body=b"id\n")
        local = tmp_path_factory.mktemp("mirror")
        copied = download_prefix(s3, "data", "curated/characters/", local / "curated" / "characters")
    assert copied == sum(1 for p in bucket.rglob("*") if p.is_file())
    assert not (local / "landing").exists()
    assert sq.run_sample_query(local, "2026-11-25") == sq.run_sample_query(bucket, "2026-11-25")
