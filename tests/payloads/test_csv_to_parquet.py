"""The PySpark CSV → partitioned Parquet job, run on a real local Spark (``local[2]``).

Outputs are read back with pyarrow (not with Spark), so the checks do not depend on the
engine that wrote them.
"""

from __future__ import annotations

import ast
import csv
import json
import os
import subprocess
import sys
from collections import Counter
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

EXPECTED_ARROW_TYPES = {
    "id": pa.int64(),
    "name": pa.string(),
    "race": pa.string(),
    "level": pa.int32(),
    "light": pa.int32(),
    "guardian_rank": pa.int32(),
    "is_active": pa.bool_(),
    "last_played": pa.timestamp("us", tz="UTC"),
}


# --------------------------------------------------------------------------- helpers


def write_csv(path: Path, header: str, lines: list[str]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(header + "\n" + "".join(line + "\n" for line in lines))
    return path


def class_counts_of_csv(*paths: Path) -> Counter[str]:
    counts: Counter[str] = Counter()
    for path in paths:
        counts.update(row["class"] for row in csv.DictReader(path.open()))
    return counts


def read_output(path: Path) -> pa.Table:
    """The written dataset, partition column included, read by pyarrow."""
    return ds.dataset(str(path), format="parquet", partitioning="hive").to_table()


def class_counts_of_output(path: Path) -> Counter[str]:
    return Counter(read_output(path).column("class").to_pylist())


def parquet_files(path: Path) -> list[Path]:
    return sorted(p for p in path.rglob("*.parquet") if not p.name.startswith((".", "_")))


def header_line() -> str:
    return ",".join(gen.COLUMNS)


GOOD = "1,Ana Vesper,Titan,Human,50,2001,9,true,2025-12-31T10:00:00Z"


@pytest.fixture(scope="module")
def characters_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Generated characters split over two CSV files (each with its header) in one directory."""
    directory = tmp_path_factory.mktemp("landing") / "dt=2026-11-25" / "hour=20" / "minute=15"
    lines = gen.generate_csv_bytes(ROWS, SEED).decode().splitlines()
    header, body = lines[0], lines[1:]
    write_csv(directory / "part-a.csv", header, body[:2_500])
    write_csv(directory / "part-b.csv", header, body[2_500:])
    return directory


@pytest.fixture(scope="module")
def explicit_run(
    spark: object, characters_dir: Path, tmp_path_factory: pytest.TempPathFactory
) -> tuple[job.JobResult, Path]:
    out = tmp_path_factory.mktemp("curated") / "characters"
    args = job.JobArgs(input=str(characters_dir), output=str(out), partition_column="class", schema=SCHEMA)
    return job.run(spark, args), out


# --------------------------------------------------------------------------- output layout and counts


def test_output_has_one_directory_per_class_value(explicit_run: tuple[job.JobResult, Path]) -> None:
    result, out = explicit_run
    assert result.status == "written"
    assert sorted(p.name for p in out.iterdir() if p.is_dir()) == ["class=Hunter", "class=Titan", "class=Warlock"]


def test_rows_per_partition_equal_the_input_counts(
    explicit_run: tuple[job.JobResult, Path], characters_dir: Path
) -> None:
    # GIVEN the class counts of the input CSV files
    expected = class_counts_of_csv(*sorted(characters_dir.glob("*.csv")))
    assert sum(expected.values()) == ROWS
    result, out = explicit_run
    # THEN the job's own report and the Parquet actually written both have the same counts
    assert result.rows_per_partition == dict(expected)
    assert class_counts_of_output(out) == expected
    assert result.rows_read == result.rows_written == ROWS
    assert result.bad_rows == 0
    assert result.input_files == 2
    assert result.schema_source == "explicit"


def test_each_partition_value_is_written_as_a_single_file(explicit_run: tuple[job.JobResult, Path]) -> None:
    _, out = explicit_run
    per_directory = Counter(p.parent.name for p in parquet_files(out))
    assert per_directory == {"class=Hunter": 1, "class=Titan": 1, "class=Warlock": 1}


def test_output_columns_have_the_declared_types(explicit_run: tuple[job.JobResult, Path]) -> None:
    _, out = explicit_run
    for path in parquet_files(out):
        schema = pq.read_schema(path)
        assert {name: schema.field(name).type for name in schema.names} == EXPECTED_ARROW_TYPES
        assert "class" not in schema.names  # it lives in the directory name


def test_timestamps_are_int64_timestamp_micros_not_int96(explicit_run: tuple[job.JobResult, Path]) -> None:
    _, out = explicit_run
    for path in parquet_files(out):
        parquet_schema = pq.ParquetFile(path).schema
        physical = {
            parquet_schema.column(i).name: parquet_schema.column(i).physical_type for i in range(len(parquet_schema))
        }
        assert "INT96" not in physical.values()
        column = parquet_schema.column(list(physical).index("last_played"))
        assert column.physical_type == "INT64"
        logical = json.loads(column.logical_type.to_json())
        assert (logical["Type"], logical["timeUnit"], logical["isAdjustedToUTC"]) == ("Timestamp", "microseconds", True)


def test_values_round_trip_exactly(explicit_run: tuple[job.JobResult, Path], characters_dir: Path) -> None:
    _, out = explicit_run
    source = {row["id"]: row for path in characters_dir.glob("*.csv") for row in csv.DictReader(path.open())}
    written = read_output(out).to_pylist()
    assert len(written) == ROWS
    for row in written[:: ROWS // 50]:
        original = source[str(row["id"])]
        assert row["name"] == original["name"] and row["class"] == original["class"]
        assert row["level"] == int(original["level"]) and row["light"] == int(original["light"])
        assert row["is_active"] == (original["is_active"] == "true")
        assert row["last_played"].strftime("%Y-%m-%dT%H:%M:%SZ") == original["last_played"]


# --------------------------------------------------------------------------- schema handling


def test_explicit_schema_runs_no_inference_pass(spark: object, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # GIVEN inference would fail loudly if the job tried it
    def no_inference(*_: object) -> None:
        raise AssertionError("schema inference must not run when --schema is given")

    monkeypatch.setattr(job, "infer_schema", no_inference)
    # AND a schema that declares `level` as a string, which inference would type as int
    schema = tmp_path / "schema.json"
    schema.write_text(
        Path(SCHEMA)
        .read_text()
        .replace('"name": "level",\n      "type": "integer"', '"name": "level",\n      "type": "string"')
    )
    source = write_csv(tmp_path / "in" / "c.csv", header_line(), [GOOD, GOOD.replace("1,", "2,", 1)])
    # WHEN the job runs with that schema
    result = job.run(
        spark,
        job.JobArgs(input=str(source), output=str(tmp_path / "out"), partition_column="class", schema=str(schema)),
    )
    # THEN it succeeds and the output carries the declared type
    assert result.schema_source == "explicit" and result.rows_written == 2
    assert read_output(tmp_path / "out").schema.field("level").type == pa.string()


def test_without_schema_the_types_are_inferred(spark: object, characters_dir: Path, tmp_path: Path) -> None:
    result = job.run(
        spark, job.JobArgs(input=str(characters_dir), output=str(tmp_path / "out"), partition_column="class")
    )
    assert result.schema_source == "inferred"
    assert result.rows_per_partition == dict(class_counts_of_csv(*sorted(characters_dir.glob("*.csv"))))
    schema = read_output(tmp_path / "out").schema
    assert schema.field("last_played").type == pa.timestamp("us", tz="UTC")
    assert schema.field("is_active").type == pa.bool_()
    assert pa.types.is_integer(schema.field("level").type)


@pytest.mark.parametrize("schema", [SCHEMA, None], ids=["explicit-schema", "inferred-schema"])
def test_unknown_partition_column_fails_listing_available_columns(
    spark: object, characters_dir: Path, tmp_path: Path, schema: str | None
) -> None:
    args = job.JobArgs(input=str(characters_dir), output=str(tmp_path / "out"), partition_column="klass", schema=schema)
    with pytest.raises(job.JobError) as error:
        job.run(spark, args)
    message = str(error.value)
    assert "\n" not in message
    assert "partition column 'klass' not found" in message
    assert "available columns: " + ", ".join(gen.COLUMNS) in message
    assert not (tmp_path / "out").exists()


def test_header_that_does_not_match_the_schema_is_a_clear_error(spark: object, tmp_path: Path) -> None:
    source = write_csv(tmp_path / "in" / "swapped.csv", header_line().replace("level,light", "light,level"), [GOOD])
    with pytest.raises(job.JobError) as error:
        job.run(
            spark, job.JobArgs(input=str(source), output=str(tmp_path / "out"), partition_column="class", schema=SCHEMA)
        )
    message = str(error.value)
    assert "\n" not in message
    assert "Expected: level but found: light" in message and "swapped.csv" in message


def test_schema_file_declares_id_and_class_required_and_the_rest_nullable() -> None:
    schema = job.parse_schema(Path(SCHEMA).read_text())
    assert [f.name for f in schema.fields if not f.nullable] == ["id", "class"]
    assert schema.simpleString() == (
        "struct<id:bigint,name:string,class:string,race:string,level:int,light:int,"
        "guardian_rank:int,is_active:boolean,last_played:timestamp>"
    )


@pytest.mark.parametrize(
    ("document", "expected"),
    [
        ("not json", "not a Spark StructType JSON document"),
        ('{"type": "struct", "fields": []}', "declares no columns"),
        (
            '{"type":"struct","fields":[{"name":"a","type":{"type":"array","elementType":"string","containsNull":true},"nullable":true,"metadata":{}}]}',
            "must be atomic types",
        ),
        (
            '{"type":"struct","fields":[{"name":"a","type":"string","nullable":true,"metadata":{}},{"name":"a","type":"long","nullable":true,"metadata":{}}]}',
            "duplicate columns: a",
        ),
    ],
    ids=["not-json", "no-columns", "nested-type", "duplicate"],
)
def test_invalid_schema_documents_are_rejected_with_the_reason(document: str, expected: str) -> None:
    with pytest.raises(job.JobError, match=expected):
        job.parse_schema(document, "schema.json")


def test_missing_schema_file_is_a_clear_error(spark: object, characters_dir: Path, tmp_path: Path) -> None:
    args = job.JobArgs(
        input=str(characters_dir),
        output=str(tmp_path / "out"),
        partition_column="class",
        schema=str(tmp_path / "nope.json"),
    )
    with pytest.raises(job.JobError, match="cannot read schema file"):
        job.run(spark, args)


# --------------------------------------------------------------------------- bad rows and null partitions

BAD_LINES = [
    "2,Bo Graves,Hunter,Exo,forty,1900,5,false,2025-06-01T00:00:00Z",  # level not an int
    "3,Cy Lumen,Warlock,Awoken,20,1750,4,true,2025-06-01T00:00:00Z,extra",  # one field too many
    "4,Di Pyre,,Human,30,1800,6,false,2025-06-01T00:00:00Z",  # class required, empty
]


def test_rows_not_matching_the_schema_fail_the_job_before_anything_is_written(spark: object, tmp_path: Path) -> None:
    source = write_csv(tmp_path / "in" / "c.csv", header_line(), [GOOD, *BAD_LINES])
    out = tmp_path / "out"
    with pytest.raises(job.JobError) as error:
        job.run(spark, job.JobArgs(input=str(source), output=str(out), partition_column="class", schema=SCHEMA))
    assert str(error.value) == "3 of 4 rows do not match the schema (at most 0 allowed); nothing was written"
    assert not out.exists()


def test_tolerated_bad_rows_are_dropped_and_counted(spark: object, tmp_path: Path) -> None:
    source = write_csv(tmp_path / "in" / "c.csv", header_line(), [GOOD, *BAD_LINES])
    out = tmp_path / "out"
    args = job.JobArgs(input=str(source), output=str(out), partition_column="class", schema=SCHEMA, max_bad_rows=3)
    result = job.run(spark, args)
    assert (result.rows_read, result.bad_rows, result.rows_written) == (4, 3, 1)
    assert result.rows_per_partition == {"Titan": 1}
    assert read_output(out).column("id").to_pylist() == [1]


def test_null_and_empty_partition_values_go_to_the_hive_default_partition(spark: object, tmp_path: Path) -> None:
    # GIVEN rows whose class is empty or an empty quoted string, and no schema (so class is nullable)
    lines = [
        GOOD,
        GOOD.replace(",Titan,", ",,").replace("1,", "2,", 1),
        GOOD.replace(",Titan,", ',"",').replace("1,", "3,", 1),
    ]
    source = write_csv(tmp_path / "in" / "c.csv", header_line(), lines)
    out = tmp_path / "out"
    # WHEN the job runs
    result = job.run(spark, job.JobArgs(input=str(source), output=str(out), partition_column="class"))
    # THEN they are written under class=__HIVE_DEFAULT_PARTITION__
    assert result.rows_per_partition == {"Titan": 1, job.HIVE_DEFAULT_PARTITION: 2}
    assert sorted(p.name for p in out.iterdir() if p.is_dir()) == ["class=Titan", "class=__HIVE_DEFAULT_PARTITION__"]
    assert len(pq.read_table(parquet_files(out / "class=__HIVE_DEFAULT_PARTITION__")[0])) == 2


# --------------------------------------------------------------------------- empty input


@pytest.mark.parametrize("kind", ["missing-path", "empty-directory", "header-only-file"])
def test_empty_input_writes_nothing_and_succeeds(spark: object, tmp_path: Path, kind: str) -> None:
    if kind == "missing-path":
        source = tmp_path / "does" / "not" / "exist"
    elif kind == "empty-directory":
        source = tmp_path / "in"
        source.mkdir()
    else:
        source = write_csv(tmp_path / "in" / "c.csv", header_line(), [])
    out = tmp_path / "out"
    result = job.run(spark, job.JobArgs(input=str(source), output=str(out), partition_column="class", schema=SCHEMA))
    assert result.status == "empty"
    assert result.rows_written == 0 and result.rows_per_partition == {}
    assert result.message
    assert not out.exists()


def test_empty_input_is_an_error_when_asked_to_fail_on_empty(spark: object, tmp_path: Path) -> None:
    args = job.JobArgs(
        input=str(tmp_path / "missing"), output=str(tmp_path / "out"), partition_column="class", fail_on_empty=True
    )
    with pytest.raises(job.JobError, match=r"empty input: no input files at .*\(--fail-on-empty\)"):
        job.run(spark, args)


# --------------------------------------------------------------------------- write modes


def test_overwrite_replaces_only_the_partition_values_in_the_new_data(spark: object, tmp_path: Path) -> None:
    out = tmp_path / "out"
    full = write_csv(
        tmp_path / "full" / "c.csv",
        header_line(),
        [
            GOOD,
            "2,Bo Graves,Hunter,Exo,40,1900,5,false,2025-06-01T00:00:00Z",
            "3,Cy Lumen,Warlock,Awoken,20,1750,4,true,2025-06-01T00:00:00Z",
        ],
    )
    titans = write_csv(
        tmp_path / "titans" / "c.csv", header_line(), [GOOD.replace("1,", "10,", 1), GOOD.replace("1,", "11,", 1)]
    )
    job.run(spark, job.JobArgs(input=str(full), output=str(out), partition_column="class", schema=SCHEMA))
    # WHEN a second run only has Titans
    job.run(
        spark,
        job.JobArgs(input=str(titans), output=str(out), partition_column="class", schema=SCHEMA, mode="overwrite"),
    )
    # THEN the Titan partition is replaced and the others are kept
    ids = {row["id"]: row["class"] for row in read_output(out).to_pylist()}
    assert ids == {10: "Titan", 11: "Titan", 2: "Hunter", 3: "Warlock"}


def test_max_records_per_file_splits_a_large_partition_value(spark: object, tmp_path: Path) -> None:
    titans = [GOOD.replace("1,", f"{i},", 1) for i in range(1, 6)]
    source = write_csv(tmp_path / "in" / "c.csv", header_line(), titans)
    args = job.JobArgs(
        input=str(source), output=str(tmp_path / "out"), partition_column="class", schema=SCHEMA, max_records_per_file=2
    )
    job.run(spark, args)
    files = parquet_files(tmp_path / "out" / "class=Titan")
    assert sorted(pq.ParquetFile(f).metadata.num_rows for f in files) == [1, 2, 2]


def test_append_adds_to_existing_partitions(spark: object, tmp_path: Path) -> None:
    out = tmp_path / "out"
    source = write_csv(tmp_path / "in" / "c.csv", header_line(), [GOOD])
    for _ in range(2):
        job.run(
            spark,
            job.JobArgs(input=str(source), output=str(out), partition_column="class", schema=SCHEMA, mode="append"),
        )
    assert class_counts_of_output(out) == {"Titan": 2}


def test_error_mode_refuses_an_existing_output_without_reading_the_input(spark: object, tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    args = job.JobArgs(input=str(tmp_path / "missing"), output=str(out), partition_column="class", mode="error")
    with pytest.raises(job.JobError, match="output already exists"):
        job.run(spark, args)


def test_session_settings_are_restored_after_a_run(spark: object, tmp_path: Path) -> None:
    conf = spark.conf  # type: ignore[attr-defined]
    conf.set("spark.sql.session.timeZone", "America/New_York")
    try:
        source = write_csv(tmp_path / "in" / "c.csv", header_line(), [GOOD])
        job.run(
            spark, job.JobArgs(input=str(source), output=str(tmp_path / "out"), partition_column="class", schema=SCHEMA)
        )
        assert conf.get("spark.sql.session.timeZone") == "America/New_York"
        assert conf.get("spark.sql.parquet.outputTimestampType", None) in (None, "INT96")
        # AND the timestamp was still read as UTC while the job ran
        (written,) = read_output(tmp_path / "out").column("last_played").to_pylist()
        assert written.isoformat() == "2025-12-31T10:00:00+00:00"
    finally:
        conf.unset("spark.sql.session.timeZone")


# --------------------------------------------------------------------------- as spark-submit runs it


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
        "spark.sql.shuffle.partitions=4",
        "--conf",
        "spark.driver.host=127.0.0.1",
        "--conf",
        "spark.driver.bindAddress=127.0.0.1",
        str(REPO_ROOT / "jobs" / "csv_to_parquet.py"),
        *args,
    ]
    return subprocess.run(command, env=env, capture_output=True, text=True, timeout=240, check=False)


@pytest.mark.slow
def test_spark_submit_runs_the_job_and_prints_its_result(characters_dir: Path, tmp_path: Path) -> None:
    # GIVEN the job file run exactly as the EMR step runs it (spark-submit FILE ARGS), with URIs
    out = tmp_path / "out"
    completed = spark_submit(
        "--input",
        f"file://{characters_dir}",
        "--output",
        f"file://{out}",
        "--partition-column",
        "class",
        "--schema",
        f"file://{SCHEMA}",
    )
    # THEN it exits 0, prints its result, and wrote the input's rows per class
    assert completed.returncode == 0, completed.stdout[-3000:] + completed.stderr[-3000:]
    (line,) = [text for text in completed.stdout.splitlines() if text.startswith("csv_to_parquet: result: ")]
    result = json.loads(line.removeprefix("csv_to_parquet: result: "))
    expected = class_counts_of_csv(*sorted(characters_dir.glob("*.csv")))
    assert result["status"] == "written" and result["rows_written"] == ROWS
    assert result["rows_per_partition"] == dict(expected)
    assert class_counts_of_output(out) == expected


def test_main_with_an_unknown_column_exits_2_with_a_one_line_error(
    spark: object, characters_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # GIVEN a session already running (main reuses it and leaves it running)
    argv = [
        "--input",
        str(characters_dir),
        "--output",
        str(tmp_path / "out"),
        "--partition-column",
        "guild",
        "--schema",
        SCHEMA,
    ]
    # WHEN main runs with a column the data does not have
    code = job.main(argv)
    # THEN it exits 2 with exactly one error line and no traceback
    captured = capsys.readouterr()
    assert code == 2
    assert captured.err.splitlines() == [
        "csv_to_parquet: error: partition column 'guild' not found; available columns: " + ", ".join(gen.COLUMNS)
    ]
    assert "Traceback" not in captured.out + captured.err
    assert not spark.sparkContext._jsc.sc().isStopped()  # type: ignore[attr-defined]


# --------------------------------------------------------------------------- the file itself (no Spark needed)


def test_command_line_requires_input_output_and_partition_column() -> None:
    with pytest.raises(SystemExit) as exit_info:
        job.parse_args(["--input", "x", "--output", "y"])
    assert exit_info.value.code == 2
    args = job.parse_args(
        ["--input", "s3://b/in/", "--output", "s3://b/out/", "--partition-column", "class", "--max-bad-rows", "5"]
    )
    assert args == job.JobArgs(input="s3://b/in/", output="s3://b/out/", partition_column="class", max_bad_rows=5)


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


def test_job_accepts_the_arguments_the_run_plan_sends() -> None:
    # The EMR step's arguments are built by the shared layer's run plan: both sides of that contract.
    from transient_analytics.plan import spark_submit_args

    argv = spark_submit_args(
        "s3://b/artifacts/jobs/csv_to_parquet.py",
        "s3://b/landing/characters/dt=2026-11-25/hour=20/minute=15/",
        "s3://b/curated/characters/dt=2026-11-25/hour=20/minute=15/",
        "class",
        "s3://b/artifacts/jobs/schemas/characters.json",
    )
    job_argv = argv[argv.index("s3://b/artifacts/jobs/csv_to_parquet.py") + 1 :]
    assert job.parse_args(job_argv) == job.JobArgs(
        input="s3://b/landing/characters/dt=2026-11-25/hour=20/minute=15/",
        output="s3://b/curated/characters/dt=2026-11-25/hour=20/minute=15/",
        partition_column="class",
        schema="s3://b/artifacts/jobs/schemas/characters.json",
        mode="overwrite",
    )
