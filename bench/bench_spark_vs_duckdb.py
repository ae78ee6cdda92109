"""Benchmark: the Spark job (jobs/csv_to_parquet.py) against Spark's own floor and DuckDB on the same CSV.

    PYTHONPATH=.:layers/shared .venv/bin/python bench/bench_spark_vs_duckdb.py [--rows 5000000]

Generates the characters CSV once (cached under ``.bench/``, git-ignored), then times:

* Spark start-up: building a ``local[N]`` SparkSession (JVM launch) and a first trivial job;
* the Spark job: ``run()`` on one slot with the explicit schema, as the EMR step runs it
  (checks, repartition by the column, commit, vanished-partition clean-up, manifest, run
  report), first on the fresh JVM (what a transient cluster pays), then again on the
  warmed-up JVM (the slot's output replaced);
* Spark "plain": ``read.csv(schema).write.partitionBy(class)`` with dynamic partition
  overwrite, the engine's floor without the job's checks, repartition or manifest (warm JVM,
  between the two job runs);
* DuckDB: ``COPY (SELECT * FROM read_csv(...)) TO ... (FORMAT parquet, PARTITION_BY (class))``.

Each Spark figure also gives the CPU seconds the JVM used (the machine is shared, so wall
time is noisy; CPU time much less). The job's rows per class (its manifest), the Parquet it
wrote and DuckDB's output are compared. Numbers are printed beside their targets, never asserted.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import duckdb

REPO_ROOT = Path(__file__).resolve().parent.parent
SCHEMA = REPO_ROOT / "jobs" / "schemas" / "characters.json"
#: Issue 12's target for the warm job over the plain read→write.
TARGET_JOB_OVER_PLAIN = 1.15


@dataclass(frozen=True)
class Timing:
    name: str
    seconds: float
    cpu_seconds: float | None = None
    rows: int | None = None


def ensure_csv(cache_dir: Path, rows: int, seed: int) -> tuple[Path, float | None]:
    """The cached CSV for (rows, seed), generated if missing; returns (path, seconds or None if cached)."""
    from jobs.generate_characters import generate_file

    path = cache_dir / f"characters-{rows}-seed{seed}.csv"
    if path.is_file():
        return path, None
    started = time.perf_counter()
    generate_file(path, rows, seed)
    return path, time.perf_counter() - started


def _jvm_cpu_seconds(spark: object) -> float:
    """User + system CPU seconds of the driver JVM so far (Linux /proc)."""
    pid = spark.sparkContext._gateway.proc.pid  # type: ignore[attr-defined]
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _timed(spark: object, name: str, action: Callable[[], int | None]) -> Timing:
    cpu = _jvm_cpu_seconds(spark)
    started = time.perf_counter()
    rows = action()
    return Timing(name, time.perf_counter() - started, _jvm_cpu_seconds(spark) - cpu, rows)


def time_spark(csv_path: Path, out_dir: Path, cores: int, driver_memory: str) -> tuple[list[Timing], dict[str, int]]:
    """The Spark timings and the job's rows per class (from its manifest)."""
    os.environ["PYSPARK_PYTHON"] = os.environ["PYSPARK_DRIVER_PYTHON"] = sys.executable
    started = time.perf_counter()
    from pyspark.sql import SparkSession

    spark = (
        SparkSession.builder.master(f"local[{cores}]")
        .appName("bench-csv-to-parquet")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.driver.memory", driver_memory)
        .getOrCreate()
    )
    spark.sparkContext.setLogLevel("ERROR")
    spark.range(1).count()  # the first job pays for executor/task start-up
    startup = Timing("spark start-up (JVM + session)", time.perf_counter() - started)

    from jobs.csv_to_parquet import JobArgs, SlotArgs, load_schema, run

    job_out = out_dir / "spark-job"
    args = JobArgs(
        slots=(SlotArgs("2026-11-25T20:15Z", str(csv_path), str(job_out) + "/", "0" * 16),),
        partition_column="class",
        schema=str(SCHEMA),
        run_id="bench",
        report=str(out_dir / "report.json"),
    )

    def job() -> int:
        (result,) = run(spark, args).slots
        if result.status != "converted":
            raise SystemExit(f"the job failed: {result.error}")
        return result.rows_written

    schema = load_schema(spark, str(SCHEMA))

    def plain() -> None:
        (
            spark.read.options(header="true")
            .schema(schema)
            .csv(str(csv_path))
            .write.mode("overwrite")
            .option("partitionOverwriteMode", "dynamic")
            .partitionBy("class")
            .parquet(str(out_dir / "spark-plain"))
        )

    first = _timed(spark, "spark job, first run in the JVM", job)
    floor = _timed(spark, "spark plain read→write, warm (no checks)", plain)
    warm = _timed(spark, "spark job, second run (warm JVM)", job)
    spark.stop()
    manifest = json.loads((job_out / "_manifest.json").read_text())
    timings = [startup, first, Timing("spark start-up + first run", startup.seconds + first.seconds), warm, floor]
    return timings, {str(k): int(v) for k, v in manifest["partitions"].items()}


def time_duckdb(csv_path: Path, out_dir: Path, threads: int) -> tuple[Timing, dict[str, int]]:
    """DuckDB's CSV → hive-partitioned Parquet, and its rows per class."""
    con = duckdb.connect()
    con.execute(f"SET threads = {threads}")
    cpu = resource.getrusage(resource.RUSAGE_SELF)
    started = time.perf_counter()
    con.execute(
        f"COPY (SELECT * FROM read_csv('{csv_path}', header = true)) "
        f"TO '{out_dir}' (FORMAT parquet, PARTITION_BY (class))"
    )
    seconds = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_SELF)
    cpu_seconds = (after.ru_utime - cpu.ru_utime) + (after.ru_stime - cpu.ru_stime)
    counts = con.execute(
        f"SELECT class, count(*) FROM read_parquet('{out_dir}/**/*.parquet', hive_partitioning = true) GROUP BY class"
    ).fetchall()
    con.close()
    by_class = {str(k): int(v) for k, v in counts}
    return Timing("duckdb COPY … PARTITION_BY", seconds, cpu_seconds, sum(by_class.values())), by_class


def count_parquet(out_dir: Path) -> tuple[dict[str, int], int]:
    """Rows per class and number of files of a hive-partitioned Parquet folder."""
    rows = duckdb.sql(
        f"SELECT class, count(*) FROM read_parquet('{out_dir}/**/*.parquet', hive_partitioning = true) GROUP BY class"
    ).fetchall()
    return {str(k): int(v) for k, v in rows}, len(list(out_dir.rglob("*.parquet")))


def table(rows: list[Timing], duck: float) -> str:
    lines = [f"{'engine':<42}{'seconds':>9}{'cpu s':>8}{'rows':>12}{'rows/s':>13}{'× duckdb':>10}", "-" * 94]
    for t in rows:
        rate = f"{t.rows / t.seconds:,.0f}" if t.rows else ""
        shown = f"{t.rows:,}" if t.rows else ""
        cpu = f"{t.cpu_seconds:.1f}" if t.cpu_seconds is not None else ""
        lines.append(f"{t.name:<42}{t.seconds:>9.2f}{cpu:>8}{shown:>12}{rate:>13}{t.seconds / duck:>10.2f}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=5_000_000)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--cores", type=int, default=os.cpu_count() or 2, help="Spark local[N] and DuckDB threads")
    parser.add_argument("--driver-memory", default="2g")
    parser.add_argument("--cache-dir", type=Path, default=REPO_ROOT / ".bench")
    args = parser.parse_args(argv)

    csv_path, generated = ensure_csv(args.cache_dir, args.rows, args.seed)
    size_mb = csv_path.stat().st_size / 1e6
    how = f"generated in {generated:.1f} s" if generated is not None else "cached"
    print(f"input: {csv_path} ({args.rows:,} rows, {size_mb:,.0f} MB, {how}); {args.cores} cores")

    work = args.cache_dir / "out"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    duck, duck_counts = time_duckdb(csv_path, work / "duckdb", args.cores)
    timings, manifest_counts = time_spark(csv_path, work, args.cores, args.driver_memory)
    written, files = count_parquet(work / "spark-job")
    by_name = {t.name: t for t in timings}
    warm, plain = by_name["spark job, second run (warm JVM)"], by_name["spark plain read→write, warm (no checks)"]

    print()
    print(table([duck, *timings], duck.seconds))
    ratio = warm.seconds / plain.seconds
    verdict = "met" if ratio <= TARGET_JOB_OVER_PLAIN else "missed"
    print(
        f"\nspark job (warm) / plain read→write: {ratio:.2f}× wall, "
        f"{warm.cpu_seconds / plain.cpu_seconds:.2f}× JVM CPU   (target ≤ {TARGET_JOB_OVER_PLAIN:.2f}×: {verdict})"
    )
    print(f"spark job (warm) / duckdb: {warm.seconds / duck.seconds:.1f}×   (printed beside it, no target)")
    agree = duck_counts == manifest_counts == written
    print(
        f"rows per class: {dict(sorted(written.items()))} in {files} Parquet file(s); "
        f"job manifest, its Parquet and duckdb agree: {agree}"
    )
    shutil.rmtree(work, ignore_errors=True)
    return 0 if agree else 1


if __name__ == "__main__":
    sys.exit(main())
