"""What the csv_to_parquet tests share: the schema file, sample rows, slot ids, and helpers that
write landing CSV, run slots on the shared local session and read the output back with pyarrow.

Outputs are read back with pyarrow (not with Spark), so the checks do not depend on the engine
that wrote them.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.parquet as pq

from jobs import csv_to_parquet as job
from jobs import generate_characters as gen

from .conftest import REPO_ROOT

SCHEMA = str(REPO_ROOT / "jobs" / "schemas" / "characters.json")
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

#: The slots the tests convert (the multi-slot run uses all five).
CHARACTERS, SMALL, POISON, EMPTY, MISSING = (
    "2026-11-25T20:00Z",
    "2026-11-25T20:15Z",
    "2026-11-25T20:30Z",
    "2026-11-25T20:45Z",
    "2026-11-25T21:00Z",
)


def write_csv(path: Path, lines: list[str], header: str | None = None) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text((header or ",".join(gen.COLUMNS)) + "\n" + "".join(line + "\n" for line in lines))
    return path


def with_id(line: str, new_id: int) -> str:
    return f"{new_id}," + line.split(",", 1)[1]


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
