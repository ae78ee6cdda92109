"""CSV (with a header row) to Parquet partitioned by one column, slot by slot: the EMR step's PySpark job.

Run on EMR 7.x (Spark 3.5, Python 3.9) as::

    spark-submit --deploy-mode cluster s3://BUCKET/artifacts/jobs/csv_to_parquet.py \\
        --schema s3://BUCKET/artifacts/jobs/schemas/characters.json \\
        --partition-column class \\
        --run-id 20261125T2030Z-1a2b3c4d \\
        --report s3://BUCKET/runs/emr/20261125T2030Z-1a2b3c4d/report.json \\
        --slot 2026-11-25T20:00Z s3://BUCKET/landing/…/minute=00/ s3://BUCKET/curated/…/minute=00/ FINGERPRINT \\
        --slot 2026-11-25T20:15Z s3://BUCKET/landing/…/minute=15/ s3://BUCKET/curated/…/minute=15/ FINGERPRINT \\
        [--partition-values Titan,Hunter,Warlock] [--max-bad-rows N] [--max-records-per-file N] [--fail-on-empty]

This file is uploaded on its own: it imports nothing from the project, and its syntax
stays within Python 3.9 (what EMR 7 runs PySpark drivers with).

Behaviour, decided once here:

* **Slots**: each ``--slot ID INPUT OUTPUT FINGERPRINT`` is read, checked, written and
  committed on its own, one after the other. A slot that fails (header mismatch, too many
  bad rows, empty with ``--fail-on-empty``, an unexpected Spark error) is reported as
  failed and the next slot still runs; nothing of a failed slot is committed and its
  previous output (data and manifest) is left as it was.
* **Input**: a slot's input is a CSV file, a directory/prefix (read recursively, no Hive
  partition discovery) or a glob. Every file must start with a header row. Files whose
  names start with ``_`` or ``.`` are ignored (Spark's rule). The files are listed once
  and exactly those are read.
* **Schema** (``--schema``, required): a ``StructType.jsonValue()`` JSON document, read
  through Spark so ``s3://`` and local paths both work; the data is parsed with it (no
  inference pass) and each file's header must name its columns in order
  (``enforceSchema=false``), otherwise the slot fails naming the file and the column.
* **Bad rows**: a row is *bad* when a value cannot be parsed as its column's type, when it
  has more or fewer fields than the header, or when a column the schema declares
  ``"nullable": false`` is empty. Bad rows are never written. With the default
  ``--max-bad-rows 0`` the input is read once: parsing is FAILFAST and an empty
  non-nullable column raises (``raise_error``) inside the write job, so the write aborts
  before its commit; only then a diagnostic pass counts the bad rows and names the first
  one's file for the error message. With ``--max-bad-rows N > 0`` the tolerance needs the
  count before anything is written: a first pass counts the bad rows (the slot fails if
  there are more than N), a second writes the good ones.
* **Empty slot** (no such path, no files, header-only files, or no valid row): committed
  as empty (the slot's previous partition directories are removed, a manifest with 0 rows
  is written), unless ``--fail-on-empty`` is given, which makes it a slot failure.
* **Output**: Parquet (snappy), ``partitionBy(<column>)`` with dynamic partition overwrite:
  only the partition values in the new data are replaced, never appended to; after the
  commit, the slot's partition directories the new data no longer contains are removed,
  so the output holds exactly the new data. The rows are rebalanced by the column (200
  hash partitions, coalesced and split by adaptive execution; see ``SESSION_CONF``), so a
  partition value is written by one task, one file, unless it holds more than about
  32 MB of rows: then one file per about 32 MB, so that every core writes (and more files
  when ``--max-records-per-file`` caps their size). Each task keeps one open file per value
  it holds instead of sorting its rows by the column first. Timestamps are written as Parquet
  ``INT64 TIMESTAMP(MICROS, isAdjustedToUTC=true)``, never INT96, and are interpreted in
  UTC (the session time zone is UTC while the job runs). Spark writes no ``_SUCCESS``
  marker with dynamic partition overwrite: the manifest is the signal.
* **Manifest**: once a slot is committed, ``<output>_manifest.json`` (``<output>/`` when the
  URI has no trailing slash) is (re)written: ``format, pipeline, slot, run_id, input_uri,
  output_uri, input_fingerprint, rows_read, rows_written, bad_rows, partitions,
  partition_column, written_at``. ``partitions`` maps each written partition value (as in
  the directory name before escaping, ``__HIVE_DEFAULT_PARTITION__`` for null or empty)
  to its rows, counted from the footers of the Parquet files just committed; their sum must equal the
  rows the write job saw, or the slot fails without a manifest.
* **Null or empty partition values** end up in ``<column>=__HIVE_DEFAULT_PARTITION__``
  (Spark and Hive's convention), unless the schema declares the column non-nullable, in
  which case those rows are bad rows (see above).
* **Run report, written as the job goes**: ``--report`` gets ``{"format": 1, "run_id", "final",
  "slots": [...]}``. It is written before the first slot (every slot ``pending``), again as each
  slot starts (that slot ``running``) and as it ends (``converted``: ``manifest_uri``, rows read,
  written, bad, and ``unlisted_partition_values`` when some; or ``failed``: ``error``:
  ``csv_to_parquet: error: …``), and a last time with ``"final": true``. So when the step dies
  without finishing (its driver killed by an out-of-memory, the step timed out, the cluster
  lost), the last report still says which slots were converted, which one was running when it
  died, and which were never started: the ledger charges the crash to the running slot only
  (two small PUTs per slot). A failure that concerns every slot (the schema cannot be read,
  the partition column is not in it) is reported as each slot's error.
* **Partition values the catalog shows** (``--partition-values``, optional, comma-separated: the
  stack's ``PartitionValues``, which the Glue table projects as an enum): a slot's rows whose
  partition value is not in that list are written (the data is kept) but no Athena query sees
  them until the list names the value; the manifest and the report give them per value
  (``unlisted_partition_values``: ``{value: rows}``, ``__HIVE_DEFAULT_PARTITION__`` for null or
  empty), so the run says so instead of hiding them.
* **Exit codes** of ``main()``: 0 when every slot converted; 2 when any slot failed (the
  other slots are committed), stderr's last line ``csv_to_parquet: error: N of M slots
  failed: <slot>: <error>; …``, or for bad arguments (argparse's message, no report).
  The last stdout line before it is ``csv_to_parquet: result: {report json}``. Anything
  unexpected outside a slot (the report cannot be written) propagates with its trace.
"""

from __future__ import annotations

import argparse
import json
import logging
import re
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, TypeVar

from pyspark.errors import AnalysisException
from pyspark.sql import Column, DataFrame, DataFrameReader, Row, SparkSession
from pyspark.sql import functions as F
from pyspark.sql import types as T

LOG = logging.getLogger("csv_to_parquet")

#: Directory name Spark/Hive use for a null (or empty-string) partition value.
HIVE_DEFAULT_PARTITION = "__HIVE_DEFAULT_PARTITION__"
MANIFEST_NAME = "_manifest.json"
PIPELINE = "emr"
FORMAT_VERSION = 1

#: Internal column holding the raw text of rows Spark could not parse.
CORRUPT_COLUMN = "_corrupt_record"
_BAD_COLUMN = "_csv_to_parquet_bad"
_FILE_COLUMN = "_csv_to_parquet_file"
_ROWS_VIEW = "_csv_to_parquet_rows"
#: Start of the message ``raise_error`` throws for an empty non-nullable column.
_NULL_MARKER = "csv_to_parquet-null:"

#: Session settings the job relies on; set for the duration of ``run`` and restored after.
SESSION_CONF = {
    "spark.sql.session.timeZone": "UTC",
    "spark.sql.parquet.outputTimestampType": "TIMESTAMP_MICROS",
    # The rebalance by the partition column hashes each value to one of 200 shuffle
    # partitions: enough that a slot's few values rarely share one (Murmur3 puts Titan, Hunter
    # and Warlock in the same partition for every power of two up to 32; 200 separates them).
    # Adaptive execution then coalesces the empty ones, and values smaller than the advisory
    # size together, into a few write tasks (200 mostly empty write tasks cost seconds), and
    # splits a value larger than the advisory size (about 32 MB of shuffled rows, a Parquet
    # file of about 10 MB of characters) over several tasks so that every core writes
    # (5M rows: 8 files instead of 3; a 15-minute slot of 20k rows: one file per value).
    "spark.sql.shuffle.partitions": "200",
    "spark.sql.adaptive.enabled": "true",
    "spark.sql.adaptive.coalescePartitions.enabled": "true",
    "spark.sql.adaptive.coalescePartitions.parallelismFirst": "false",
    "spark.sql.adaptive.optimizeSkewsInRebalancePartitions.enabled": "true",
    "spark.sql.adaptive.advisoryPartitionSizeInBytes": "32m",
    # Input splits of at most 32 MB of CSV: a slot of a few hundred MB is read by several
    # tasks per core, so the cores finish together (Spark's 128 MB default reads 358 MB
    # with three tasks on two cores: the third runs alone).
    "spark.sql.files.maxPartitionBytes": "32m",
    # Write with one open file per partition value in a task instead of sorting the task's
    # rows by the column first (the sort a planned write would add): a task mostly holds one
    # value, so one writer; beyond 16 values in a task it falls back to sorting.
    "spark.sql.optimizer.plannedWrite.enabled": "false",
    "spark.sql.maxConcurrentOutputFileWriters": "16",
}

_MAX_EXAMPLES = 5
_SLOT_ID = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}Z$")
_HEX = re.compile(r"^[0-9a-fA-F]+$")
_RUN_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:-]*$")

_T = TypeVar("_T")


class JobError(Exception):
    """An expected failure (bad arguments or data) reported as one line, without a trace."""


@dataclass(frozen=True)
class SlotArgs:
    """One ``--slot``: what to convert, where to, and the input's fingerprint (for the manifest)."""

    slot: str
    input: str
    output: str
    fingerprint: str

    @property
    def manifest_uri(self) -> str:
        return self.output + ("" if self.output.endswith("/") else "/") + MANIFEST_NAME


@dataclass(frozen=True)
class JobArgs:
    """The job's parameters (what the command line carries)."""

    slots: tuple[SlotArgs, ...]
    partition_column: str
    schema: str
    run_id: str
    report: str
    max_bad_rows: int = 0
    max_records_per_file: int = 0
    fail_on_empty: bool = False
    #: The partition values the catalog projects (``--partition-values``); empty: not checked.
    partition_values: tuple[str, ...] = ()

    def unlisted(self, partitions: dict[str, int]) -> dict[str, int]:
        """Rows per written partition value the catalog does not project (none when no list was given)."""
        if not self.partition_values:
            return {}
        return {value: rows for value, rows in sorted(partitions.items()) if value not in self.partition_values}


#: A slot's status in the run report: not started yet, being converted now, or its result.
SLOT_STATUSES = ("pending", "running", "converted", "failed")


@dataclass(frozen=True)
class SlotResult:
    """What the job did with one slot. ``partitions`` maps each written partition value (as
    the string Spark uses in the directory name) to its number of rows."""

    slot: str
    status: str  # one of SLOT_STATUSES
    manifest_uri: str = ""
    rows_read: int = 0
    rows_written: int = 0
    bad_rows: int = 0
    partitions: dict[str, int] = field(default_factory=dict)
    error: str = ""
    unlisted: dict[str, int] = field(default_factory=dict)

    def report_entry(self) -> dict[str, Any]:
        if self.status == "failed":
            return {"slot": self.slot, "status": "failed", "error": f"csv_to_parquet: error: {self.error}"}
        if self.status in ("pending", "running"):
            return {"slot": self.slot, "status": self.status}
        entry: dict[str, Any] = {
            "slot": self.slot,
            "status": self.status,
            "manifest_uri": self.manifest_uri,
            "rows_read": self.rows_read,
            "rows_written": self.rows_written,
            "bad_rows": self.bad_rows,
        }
        if self.unlisted:
            entry["unlisted_partition_values"] = dict(self.unlisted)
        return entry


@dataclass(frozen=True)
class RunReport:
    run_id: str
    slots: tuple[SlotResult, ...]
    #: False while the job is still going (a progress report), True once every slot was tried.
    final: bool = True

    @property
    def failed(self) -> tuple[SlotResult, ...]:
        return tuple(s for s in self.slots if s.status == "failed")

    def to_dict(self) -> dict[str, Any]:
        return {
            "format": FORMAT_VERSION,
            "run_id": self.run_id,
            "final": self.final,
            "slots": [s.report_entry() for s in self.slots],
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), sort_keys=True)

    def failure_line(self) -> str:
        """``N of M slots failed: <slot>: <error>; …`` (empty when none failed)."""
        if not self.failed:
            return ""
        details = "; ".join(f"{s.slot}: {s.error}" for s in self.failed)
        return f"{len(self.failed)} of {len(self.slots)} slots failed: {details}"


def manifest_document(
    args: JobArgs, slot: SlotArgs, rows_read: int, rows_written: int, bad_rows: int, partitions: dict[str, int]
) -> dict[str, Any]:
    """The ``_manifest.json`` of a committed slot."""
    return {
        "format": FORMAT_VERSION,
        "pipeline": PIPELINE,
        "slot": slot.slot,
        "run_id": args.run_id,
        "input_uri": slot.input,
        "output_uri": slot.output,
        "input_fingerprint": slot.fingerprint,
        "rows_read": rows_read,
        "rows_written": rows_written,
        "bad_rows": bad_rows,
        "partitions": partitions,
        "partition_column": args.partition_column,
        "unlisted_partition_values": args.unlisted(partitions),
        "written_at": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),  # noqa: UP017 - 3.9
    }


# --------------------------------------------------------------------------- arguments


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="csv_to_parquet",
        description="Convert each slot's CSV files (with a header row) to Parquet partitioned by one column.",
    )
    parser.add_argument(
        "--slot",
        nargs=4,
        action="append",
        required=True,
        metavar=("SLOT_ID", "INPUT_URI", "OUTPUT_URI", "FINGERPRINT"),
        help="a slot to convert (repeatable): id like 2026-11-25T20:15Z, CSV input, output directory, input digest",
    )
    parser.add_argument("--schema", required=True, help="JSON schema file in Spark's StructType.jsonValue() format")
    parser.add_argument("--partition-column", required=True, help="column to partition the output by")
    parser.add_argument("--run-id", required=True, help="the run's id, written into every manifest and the report")
    parser.add_argument("--report", required=True, help="where to write the run report (JSON, URI or path)")
    parser.add_argument(
        "--partition-values",
        type=_value_list,
        default=(),
        help="the partition values the catalog shows (comma-separated); rows with other values are reported",
    )
    parser.add_argument(
        "--max-bad-rows",
        type=_non_negative_int,
        default=0,
        help="rows per slot not matching the schema that are tolerated (dropped) before the slot fails (default 0)",
    )
    parser.add_argument(
        "--max-records-per-file",
        type=_non_negative_int,
        default=0,
        help="cap on rows per output file (0: no cap, one file per partition value)",
    )
    parser.add_argument(
        "--fail-on-empty",
        action="store_true",
        help="treat an empty slot (no files, or header only) as a failure instead of committing it as empty",
    )
    return parser


def _value_list(text: str) -> tuple[str, ...]:
    values = tuple(v.strip() for v in text.split(","))
    if not all(values):
        raise argparse.ArgumentTypeError(f"must be comma-separated values, none empty, got {text!r}")
    return values


def _non_negative_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an integer") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be >= 0, got {value}")
    return value


def slot_problems(slots: Sequence[SlotArgs]) -> list[str]:
    """What is wrong with the ``--slot`` values, one message per problem, naming the field."""
    problems = []
    for s in slots:
        if not _SLOT_ID.match(s.slot) or _parse_slot_id(s.slot) is None:
            problems.append(f"slot id must be a UTC minute like 2026-11-25T20:15Z, got {s.slot!r}")
        for name, value in (("input URI", s.input), ("output URI", s.output)):
            if not value.strip():
                problems.append(f"slot {s.slot}: {name} must not be empty")
        if not _HEX.match(s.fingerprint):
            problems.append(f"slot {s.slot}: fingerprint must be hexadecimal, got {s.fingerprint!r}")
        if s.input.rstrip("/") == s.output.rstrip("/"):
            problems.append(f"slot {s.slot}: output URI must differ from the input URI")
    for what, key in (("slot id", lambda s: s.slot), ("output URI", lambda s: s.output.rstrip("/"))):
        seen: dict[str, str] = {}
        for s in slots:
            if key(s) in seen:
                problems.append(f"{what} {key(s)!r} is given twice (slots {seen[key(s)]} and {s.slot})")
            seen.setdefault(key(s), s.slot)
    return problems


def _parse_slot_id(text: str) -> datetime | None:
    try:
        return datetime.strptime(text, "%Y-%m-%dT%H:%MZ")
    except ValueError:
        return None


def parse_args(argv: Sequence[str] | None = None) -> JobArgs:
    parser = build_parser()
    ns = parser.parse_args(argv)
    slots = tuple(SlotArgs(*values) for values in ns.slot)
    problems = slot_problems(slots)
    if problems:
        parser.error("argument --slot: " + "; ".join(problems))
    if not _RUN_ID.match(ns.run_id):
        parser.error(f"argument --run-id: must be letters, digits and ._:- only, got {ns.run_id!r}")
    return JobArgs(
        slots=slots,
        partition_column=ns.partition_column,
        schema=ns.schema,
        run_id=ns.run_id,
        report=ns.report,
        max_bad_rows=ns.max_bad_rows,
        max_records_per_file=ns.max_records_per_file,
        fail_on_empty=ns.fail_on_empty,
        partition_values=ns.partition_values,
    )


# --------------------------------------------------------------------------- schema


def load_schema(spark: SparkSession, uri: str) -> T.StructType:
    """Read a ``StructType.jsonValue()`` document through Spark (works for s3:// and local)."""
    try:
        rows = spark.read.text(uri, wholetext=True).collect()
    except AnalysisException as exc:
        raise JobError(f"cannot read schema file {uri}: {_first_line(str(exc))}") from None
    if len(rows) != 1:
        raise JobError(f"schema {uri} must be exactly one file, found {len(rows)}")
    return parse_schema(rows[0][0], uri)


def parse_schema(text: str, source: str = "schema") -> T.StructType:
    """Parse and check a schema document; only flat, atomic column types fit a CSV."""
    try:
        doc = json.loads(text)
        schema = T.StructType.fromJson(doc)
    except (ValueError, KeyError, TypeError) as exc:
        raise JobError(f"{source} is not a Spark StructType JSON document: {exc}") from None
    if not schema.fields:
        raise JobError(f"{source} declares no columns")
    names = [f.name for f in schema.fields]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise JobError(f"{source} declares duplicate columns: {', '.join(duplicates)}")
    for f in schema.fields:
        if not isinstance(f.dataType, T.AtomicType):
            raise JobError(
                f"{source}: column {f.name!r} has type {f.dataType.simpleString()}; CSV columns must be atomic types"
            )
        if f.name in (CORRUPT_COLUMN, _BAD_COLUMN, _FILE_COLUMN):
            raise JobError(f"{source}: column name {f.name!r} is reserved by the job")
    return schema


def check_partition_column(schema: T.StructType, column: str) -> None:
    """Fail with the list of available columns when ``column`` is not in ``schema``."""
    names = [f.name for f in schema.fields]
    if column not in names:
        hint = [n for n in names if n.lower() == column.lower()]
        suffix = f" (did you mean {hint[0]!r}? names are case-sensitive)" if hint else ""
        raise JobError(f"partition column {column!r} not found; available columns: {', '.join(names)}{suffix}")


# --------------------------------------------------------------------------- files (Hadoop FileSystem)


def list_input_files(spark: SparkSession, uri: str) -> list[str]:
    """The files Spark would read for ``uri`` (recursively); [] when the path does not exist."""
    try:
        return list(spark.read.option("recursiveFileLookup", "true").text(uri).inputFiles())
    except AnalysisException as exc:
        if _error_class(exc) == "PATH_NOT_FOUND" or "Path does not exist" in str(exc):
            return []
        raise


def _fs_path(spark: SparkSession, uri: str) -> tuple[Any, Any]:
    jvm = spark.sparkContext._jvm
    path = jvm.org.apache.hadoop.fs.Path(uri)  # type: ignore[union-attr]
    return path.getFileSystem(spark.sparkContext._jsc.hadoopConfiguration()), path  # type: ignore[union-attr]


def partition_dirs(spark: SparkSession, uri: str, column: str) -> dict[str, frozenset[str]]:
    """``{"<column>=<value>": names of the data files in it}`` for the directories under ``uri``."""
    fs, path = _fs_path(spark, uri)
    if not fs.exists(path):
        return {}
    found = {}
    for status in fs.listStatus(path):
        name = status.getPath().getName()
        if status.isDirectory() and name.startswith(column + "="):
            files = (s.getPath().getName() for s in fs.listStatus(status.getPath()))
            found[name] = frozenset(f for f in files if not f.startswith((".", "_")))
    return found


def delete_dir(spark: SparkSession, uri: str) -> None:
    fs, path = _fs_path(spark, uri)
    if fs.exists(path) and not fs.delete(path, True):
        raise JobError(f"could not delete {uri}")


def write_text(spark: SparkSession, uri: str, text: str) -> None:
    """Create or replace one small object/file (one PUT on S3)."""
    fs, path = _fs_path(spark, uri)
    stream = fs.create(path, True)
    try:
        stream.write(bytearray(text.encode("utf-8")))
    finally:
        stream.close()


def _child(uri: str, name: str) -> str:
    return uri + ("" if uri.endswith("/") else "/") + name


# --------------------------------------------------------------------------- reading


def _csv_reader(spark: SparkSession, mode: str) -> DataFrameReader:
    return spark.read.options(header="true", enforceSchema="false", mode=mode)


def _all_nullable(schema: T.StructType, *extra: T.StructField) -> T.StructType:
    """Every column read as nullable: the CSV source cannot enforce ``nullable: false``, and
    declaring it would let the optimizer fold ``IS NULL`` checks on those columns to false.
    The declared nullability is enforced by the job instead."""
    return T.StructType([T.StructField(f.name, f.dataType, True, f.metadata) for f in schema.fields] + list(extra))


def read_checked(spark: SparkSession, files: list[str], schema: T.StructType) -> DataFrame:
    """The rows, failing the Spark job that reads them at the first bad row: FAILFAST parsing,
    and ``raise_error`` (naming the column and the file) for an empty non-nullable column."""
    df = _csv_reader(spark, "FAILFAST").schema(_all_nullable(schema)).csv(files)
    columns = []
    for f in schema.fields:
        column = F.col(f.name)
        if not f.nullable:
            message = F.concat(
                F.lit(f"{_NULL_MARKER} non-nullable column {f.name!r} is empty in "), F.input_file_name()
            )
            column = F.when(column.isNull(), F.raise_error(message)).otherwise(column).alias(f.name)
        columns.append(column)
    return df.select(*columns)


def read_marked(spark: SparkSession, files: list[str], schema: T.StructType) -> DataFrame:
    """Parse in PERMISSIVE mode and add a boolean bad-row column and the row's file.

    A bad value is only seen in a column the query reads (see :func:`count_bad`).
    """
    df = (
        _csv_reader(spark, "PERMISSIVE")
        .option("columnNameOfCorruptRecord", CORRUPT_COLUMN)
        .schema(_all_nullable(schema, T.StructField(CORRUPT_COLUMN, T.StringType(), True)))
        .csv(files)
    )
    return df.withColumn(_BAD_COLUMN, bad_row_condition(schema)).withColumn(_FILE_COLUMN, F.input_file_name())


def bad_row_condition(schema: T.StructType) -> Column:
    """True for a row Spark could not parse, or with a null in a non-nullable column."""
    cond = F.col(CORRUPT_COLUMN).isNotNull()
    for f in schema.fields:
        if not f.nullable:
            cond = cond | F.col(f.name).isNull()
    return cond


def count_bad(marked: DataFrame, schema: T.StructType) -> tuple[int, int]:
    """(rows, bad rows) of a :func:`read_marked` frame, in one pass.

    Spark's CSV reader converts only the columns a query reads, so a bad value in an unread
    column would go unnoticed: the hash over every column makes this pass read (and judge) all.
    """
    every_column = F.max(F.xxhash64(*[F.col(f.name) for f in schema.fields])).alias("_all_columns_read")
    row = _guard_spark(
        lambda: marked.agg(
            F.count(F.lit(1)).alias("rows"),
            F.coalesce(F.sum(F.col(_BAD_COLUMN).cast("long")), F.lit(0)).alias("bad"),
            every_column,
        ).first()
    )
    return int(row["rows"]), int(row["bad"])


def bad_examples(marked: DataFrame, schema: T.StructType) -> list[str]:
    """Up to five bad rows, each as ``<file>: <why>: <row>``."""
    required = [f.name for f in schema.fields if not f.nullable]
    examples = []
    for row in marked.filter(F.col(_BAD_COLUMN)).limit(_MAX_EXAMPLES).collect():
        raw = row[CORRUPT_COLUMN]
        if raw is not None:
            examples.append(f"{row[_FILE_COLUMN]}: unparseable for the schema: {raw}")
        else:
            empty = ", ".join(name for name in required if row[name] is None)
            examples.append(f"{row[_FILE_COLUMN]}: empty non-nullable column {empty}: {_row_text(row, schema)}")
    return examples


def _row_text(row: Row, schema: T.StructType) -> str:
    return ",".join("" if row[f.name] is None else str(row[f.name]) for f in schema.fields)


# --------------------------------------------------------------------------- run


@contextmanager
def session_conf(spark: SparkSession, settings: dict[str, str]) -> Iterator[None]:
    """Set session configuration for a block and restore the previous values afterwards."""
    previous = {key: spark.conf.get(key, None) for key in settings}
    for key, value in settings.items():
        spark.conf.set(key, value)
    try:
        yield
    finally:
        for key, value in previous.items():
            if value is None:
                spark.conf.unset(key)
            else:
                spark.conf.set(key, value)


def run(spark: SparkSession, args: JobArgs) -> RunReport:
    """Convert every slot of ``args`` (each on its own), writing the run report as it goes; return it."""
    done: list[SlotResult] = []

    def progress(running: SlotArgs | None) -> None:
        rest = args.slots[len(done) :]
        states = [SlotResult(s.slot, "running" if s is running else "pending") for s in rest]
        write_report(spark, args.report, RunReport(args.run_id, (*done, *states), final=False))

    with session_conf(spark, SESSION_CONF):
        progress(None)
        try:
            schema = load_schema(spark, args.schema)
            check_partition_column(schema, args.partition_column)
        except JobError as exc:
            LOG.error("no slot can be converted: %s", exc)
            done = [SlotResult(slot=s.slot, status="failed", error=str(exc)) for s in args.slots]
        else:
            for slot in args.slots:
                progress(slot)
                done.append(convert_slot_reported(spark, args, schema, slot))
    report = RunReport(run_id=args.run_id, slots=tuple(done))
    write_report(spark, args.report, report)
    return report


def write_report(spark: SparkSession, uri: str, report: RunReport) -> None:
    """(Re)write the run report: one small PUT, read back whole by the ledger (S3 is read-after-write)."""
    write_text(spark, uri, json.dumps(report.to_dict(), indent=1) + "\n")


def convert_slot_reported(spark: SparkSession, args: JobArgs, schema: T.StructType, slot: SlotArgs) -> SlotResult:
    """:func:`convert_slot`, with any failure turned into a ``failed`` result (one line)."""
    LOG.info("slot %s: %s -> %s", slot.slot, slot.input, slot.output)
    try:
        result = convert_slot(spark, args, schema, slot)
    except JobError as exc:
        message = str(exc)
    except Exception as exc:  # an unexpected Spark/S3 error fails this slot, not the others
        LOG.exception("slot %s: unexpected error", slot.slot)
        message = f"{type(exc).__name__}: {_error_summary(exc)}"
    else:
        LOG.info("slot %s converted: %d row(s) written, %d bad", slot.slot, result.rows_written, result.bad_rows)
        if result.unlisted:
            LOG.warning(
                "slot %s: rows with partition values the catalog does not show (add them to --partition-values): %s",
                slot.slot,
                result.unlisted,
            )
        return result
    LOG.error("slot %s failed: %s", slot.slot, message)
    return SlotResult(slot=slot.slot, status="failed", error=message)


def convert_slot(spark: SparkSession, args: JobArgs, schema: T.StructType, slot: SlotArgs) -> SlotResult:
    """Read, check, write and commit one slot; raise :class:`JobError` before its commit on bad data."""
    column = args.partition_column
    before = partition_dirs(spark, slot.output, column)
    rows_read, bad_rows = convert_rows(spark, args, schema, slot)

    # Committed: the written directories are the ones whose files changed (Spark names every
    # file after its write job); any other directory of the slot holds data that is gone. The
    # rows written are counted from the committed files' footers (no Observation: its get()
    # waits for ever when adaptive execution drops an empty plan, as Spark 3.5.6 does).
    after = partition_dirs(spark, slot.output, column)
    rewritten = sorted(name for name, names in after.items() if before.get(name) != names)
    partitions = count_written(spark, slot.output, column, rewritten)
    written = sum(partitions.values())
    if rows_read is None:  # one pass: a bad row aborts the write, so every row read was written
        rows_read = written
    elif written != rows_read - bad_rows:
        raise JobError(
            f"the input changed while the job ran: counted {rows_read - bad_rows} valid rows, "
            f"the committed files of {slot.output} hold {written}"
        )
    if written == 0 and args.fail_on_empty:
        raise JobError(f"empty input: no data rows at {slot.input} (--fail-on-empty); nothing was committed")
    for name in sorted(set(after) - set(rewritten)):
        LOG.info("slot %s: removing partition %s (not in the new data)", slot.slot, name)
        delete_dir(spark, _child(slot.output, name))

    manifest = manifest_document(args, slot, rows_read, written, bad_rows, partitions)
    write_text(spark, slot.manifest_uri, json.dumps(manifest, indent=1) + "\n")
    return SlotResult(
        slot=slot.slot,
        status="converted",
        manifest_uri=slot.manifest_uri,
        rows_read=rows_read,
        rows_written=written,
        bad_rows=bad_rows,
        partitions=partitions,
        unlisted=manifest["unlisted_partition_values"],
    )


def convert_rows(spark: SparkSession, args: JobArgs, schema: T.StructType, slot: SlotArgs) -> tuple[int | None, int]:
    """Write the slot's good rows (dynamic overwrite); return (rows read, bad rows).

    Rows read is None after the one-pass write (no tolerated bad rows): every row read was written.

    Raises :class:`JobError` before the write commits when the slot has too many bad rows.
    """
    files = list_input_files(spark, slot.input)
    if not files:
        LOG.warning("slot %s: no input files at %s", slot.slot, slot.input)
        return 0, 0
    if args.max_bad_rows == 0:  # one pass: a bad row fails the write job itself, before its commit
        try:
            write_slot(spark, args, read_checked(spark, files, schema), slot.output)
        except JobError:
            raise
        except Exception as exc:
            if "MALFORMED_RECORD_IN_PARSING" not in str(exc) and _NULL_MARKER not in str(exc):
                raise
            # Aborted, nothing committed: only now find out how many rows are bad, and where.
            marked = read_marked(spark, files, schema)
            counted = count_bad(marked, schema)
            if counted[1] == 0:
                raise JobError(f"a bad row aborted the write, nothing was committed: {_spark_reason(exc)}") from None
            raise _too_many_bad_rows(marked, schema, args.max_bad_rows, counted) from None
        return None, 0
    # A tolerance needs the count before anything is written: count, then write the good rows.
    marked = read_marked(spark, files, schema)
    rows_read, bad_rows = count_bad(marked, schema)
    if bad_rows > args.max_bad_rows:
        raise _too_many_bad_rows(marked, schema, args.max_bad_rows, (rows_read, bad_rows))
    for example in bad_examples(marked, schema) if bad_rows else []:
        LOG.warning("slot %s: dropping bad row %s", slot.slot, example)
    good = marked.filter(~F.col(_BAD_COLUMN)).drop(CORRUPT_COLUMN, _BAD_COLUMN, _FILE_COLUMN)
    if rows_read > bad_rows:
        write_slot(spark, args, good, slot.output)
    return rows_read, bad_rows


def write_slot(spark: SparkSession, args: JobArgs, rows: DataFrame, output: str) -> None:
    """Write ``rows`` partitioned by the column (dynamic overwrite)."""
    # REBALANCE by the column (not a plain repartition): with adaptive execution a value
    # stays in one task, so one file, unless its rows exceed the advisory size; then it is
    # split over tasks at map boundaries (more files, each of about that size), which keeps
    # every core busy when a slot holds fewer large values than the cluster has cores.
    rows.createOrReplaceTempView(_ROWS_VIEW)
    quoted = args.partition_column.replace("`", "``")
    frame = spark.sql(f"SELECT /*+ REBALANCE(`{quoted}`) */ * FROM {_ROWS_VIEW}")
    writer = (
        frame.write.mode("overwrite").option("partitionOverwriteMode", "dynamic").partitionBy(args.partition_column)
    )
    if args.max_records_per_file:
        writer = writer.option("maxRecordsPerFile", str(args.max_records_per_file))
    try:
        _guard_spark(lambda: writer.parquet(output))
    finally:
        spark.catalog.dropTempView(_ROWS_VIEW)


def count_written(spark: SparkSession, output: str, column: str, dirs: list[str]) -> dict[str, int]:
    """Rows per partition value in the Parquet files of ``dirs``, from their footers (no Spark job)."""
    jvm = spark.sparkContext._jvm
    conf = spark.sparkContext._jsc.hadoopConfiguration()  # type: ignore[union-attr]
    fs, base = _fs_path(spark, output)
    unescape = jvm.org.apache.spark.sql.catalyst.catalog.ExternalCatalogUtils.unescapePathName  # type: ignore[union-attr]
    counts = {}
    for name in dirs:
        rows = 0
        for status in fs.listStatus(jvm.org.apache.hadoop.fs.Path(base, name)):  # type: ignore[union-attr]
            if status.getPath().getName().startswith((".", "_")):
                continue
            source = jvm.org.apache.parquet.hadoop.util.HadoopInputFile.fromStatus(status, conf)  # type: ignore[union-attr]
            reader = jvm.org.apache.parquet.hadoop.ParquetFileReader.open(source)  # type: ignore[union-attr]
            try:
                rows += int(reader.getRecordCount())
            finally:
                reader.close()
        value = name[len(column) + 1 :]
        counts[value if value == HIVE_DEFAULT_PARTITION else str(unescape(value))] = rows
    return dict(sorted(counts.items()))


def _too_many_bad_rows(
    marked: DataFrame, schema: T.StructType, allowed: int, counted: tuple[int, int] | None = None
) -> JobError:
    rows, bad = counted if counted is not None else count_bad(marked, schema)
    examples = bad_examples(marked, schema) if bad else []
    for example in examples:
        LOG.warning("bad row: %s", example)
    first = f"; first: {examples[0]}" if examples else ""
    return JobError(
        f"{bad} of {rows} rows do not match the schema (at most {allowed} allowed); nothing was committed{first}"
    )


def partition_dir_value(value: object) -> str:
    """The partition value as it appears in the directory name (before path escaping)."""
    if value is None or value == "":
        return HIVE_DEFAULT_PARTITION
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


# --------------------------------------------------------------------------- errors

# Spark's CSVHeaderChecker messages (header names or column count differ from the schema).
_HEADER_MISMATCH = re.compile(
    r"IllegalArgumentException: ((?:CSV header does not conform|Number of column in CSV header).*?CSV file: \S+)", re.S
)


def _guard_spark(action: Callable[[], _T]) -> _T:  # noqa: UP047 - PEP 695 syntax needs 3.12, EMR has 3.9
    """Run a Spark action, turning the failures a user can fix into one-line JobErrors."""
    try:
        return action()
    except Exception as exc:  # py4j / pyspark exceptions carry the JVM message
        match = _HEADER_MISMATCH.search(str(exc))
        if match:
            raise JobError(" ".join(match.group(1).split()) + "; nothing was committed") from None
        raise


def _spark_reason(exc: BaseException) -> str:
    """The line of a Spark failure that says what is wrong with the data."""
    text = str(exc)
    for pattern in (_NULL_MARKER + r"[^\n]*", r"Malformed records are detected in record parsing: [^\n]*"):
        match = re.search(pattern, text)
        if match:
            return match.group(0).strip()
    return _first_line(text)[:500]


def _error_class(exc: BaseException) -> str | None:
    getter = getattr(exc, "getErrorClass", None)
    try:
        return getter() if getter else None
    except Exception:  # pragma: no cover - defensive: py4j may be gone
        return None


def _error_summary(exc: BaseException) -> str:
    """The first line of an error that says something (py4j's first line only names the call)."""
    lines = [line.strip().lstrip(": ") for line in str(exc).splitlines() if line.strip()]
    useful = [line for line in lines if not line.startswith("An error occurred while calling")]
    return (useful or lines or [type(exc).__name__])[0][:500]


def _first_line(text: str) -> str:
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    return lines[0] if lines else text


# --------------------------------------------------------------------------- entry point


def main(argv: Sequence[str] | None = None) -> int:
    """spark-submit entry point: builds the session (no master: spark-submit sets it), runs,
    prints ``csv_to_parquet: result: {report}`` and returns the exit code. (Under
    spark-submit the Python driver's stderr is merged into stdout.)"""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("py4j").setLevel(logging.WARNING)  # its shutdown INFO would follow the summary line
    args = parse_args(argv)
    owned = SparkSession.getActiveSession() is None  # stop only a session main itself started
    spark = SparkSession.builder.appName("csv_to_parquet").getOrCreate()
    if owned:
        spark.sparkContext.setLogLevel("WARN")
    try:
        report = run(spark, args)
    finally:
        if owned:
            spark.stop()
    sys.stdout.write(f"csv_to_parquet: result: {report.to_json()}\n")
    sys.stdout.flush()
    if report.failed:
        sys.stderr.write(f"csv_to_parquet: error: {report.failure_line()}\n")
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
