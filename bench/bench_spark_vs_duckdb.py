"""Benchmark: the Spark job (jobs/csv_to_parquet.py) against DuckDB on the same CSV.

    PYTHONPATH=.:layers/shared .venv/bin/python bench/bench_spark_vs_duckdb.py [--rows 5000000]

Generates the characters CSV once (cached under ``.bench/``, git-ignored), then times:

* Spark start-up: building a ``local[N]`` SparkSession (JVM launch) and a first trivial job;
* the Spark job: ``run()`` with the explicit schema, as the EMR step runs it, first on the
  fresh JVM (what a transient cluster pays) and again on the warmed-up JVM;
* Spark "plain": ``read.csv(schema).write.partitionBy`` alone, the engine's floor without
  the job's checks, counts, cache and repartition (after the job, so on a warm JVM);
* DuckDB (the baseline): ``COPY (SELECT * FROM read_csv(...)) TO ... (FORMAT parquet,
  PARTITION_BY (class))``.

Both outputs are read back and their per-class row counts compared. Numbers are printed,
never asserted.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import time
from pathlib import Path

import duckdb

REPO_ROOT = Path(__file__).resolve().parent.parent
SCHEMA = REPO_ROOT / "jobs" / "schemas" / "characters.json"


def ensure_csv(cache_dir: Path, rows: int, seed: int) -> tuple[Path, float | None]:
    """The cached CSV for (rows, seed), generated if missing; returns (path, seconds or None if cached)."""
    from jobs.generate_characters import generate_file

    path = cache_dir / f"characters-{rows}-seed{seed}.csv"
    if path.is_file():
        return path, None
    started = time.perf_counter()
    generate_file(path, rows, seed)
    return path, time.perf_counter() - started


def time_spark(
    csv_path: Path, out_dir: Path, cores: int, driver_memory: str
) -> tuple[float, float, float, float, dict[str, int]]:
    """(start-up, job on a fresh JVM, job again on a warm JVM, plain read→write) seconds, and
    the job's rows per class."""
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
    startup = time.perf_counter() - started

    from jobs.csv_to_parquet import JobArgs, run

    args = JobArgs(input=str(csv_path), output=str(out_dir), partition_column="class", schema=str(SCHEMA))
    started = time.perf_counter()
    result = run(spark, args)
    job = time.perf_counter() - started
    started = time.perf_counter()
    run(spark, args)  # same output, dynamic overwrite: the JIT has now compiled the hot paths
    warm = time.perf_counter() - started

    # The engine's floor on the same data: read with the schema, write partitioned; none of
    # the job's checks, counts, cache or repartition. Runs second, so on a warmed-up JVM.
    from jobs.csv_to_parquet import load_schema

    schema = load_schema(spark, str(SCHEMA))
    started = time.perf_counter()
    (
        spark.read.options(header="true")
        .schema(schema)
        .csv(str(csv_path))
        .write.mode("overwrite")
        .partitionBy("class")
        .parquet(str(out_dir.with_name("spark-plain")))
    )
    plain = time.perf_counter() - started
    spark.stop()
    return startup, job, warm, plain, result.rows_per_partition


def time_duckdb(csv_path: Path, out_dir: Path, threads: int) -> tuple[float, dict[str, int]]:
    """(seconds, rows per class) of DuckDB's CSV → hive-partitioned Parquet."""
    con = duckdb.connect()
    con.execute(f"SET threads = {threads}")
    started = time.perf_counter()
    con.execute(
        f"COPY (SELECT * FROM read_csv('{csv_path}', header = true)) "
        f"TO '{out_dir}' (FORMAT parquet, PARTITION_BY (class))"
    )
    seconds = time.perf_counter() - started
    counts = con.execute(
        f"SELECT class, count(*) FROM read_parquet('{out_dir}/**/*.parquet', hive_partitioning = true) GROUP BY class"
    ).fetchall()
    con.close()
    return seconds, {str(k): int(v) for k, v in counts}


def count_spark_output(out_dir: Path) -> dict[str, int]:
    rows = duckdb.sql(
        f"SELECT class, count(*) FROM read_parquet('{out_dir}/**/*.parquet', hive_partitioning = true) GROUP BY class"
    ).fetchall()
    return {str(k): int(v) for k, v in rows}


def table(rows: list[tuple[str, float, int | None]], baseline: float) -> str:
    lines = [f"{'engine':<42}{'seconds':>9}{'rows':>12}{'rows/s':>13}{'× duckdb':>10}", "-" * 86]
    for name, seconds, count in rows:
        rate = f"{count / seconds:,.0f}" if count else ""
        shown = f"{count:,}" if count else ""
        lines.append(f"{name:<42}{seconds:>9.2f}{shown:>12}{rate:>13}{seconds / baseline:>10.2f}")
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
    duck_seconds, duck_counts = time_duckdb(csv_path, work / "duckdb", args.cores)
    startup, job_seconds, warm_seconds, plain_seconds, spark_counts = time_spark(
        csv_path, work / "spark", args.cores, args.driver_memory
    )
    written = count_spark_output(work / "spark")

    total = sum(duck_counts.values())
    print()
    print(
        table(
            [
                ("duckdb COPY … PARTITION_BY (baseline)", duck_seconds, total),
                ("spark start-up (JVM + session)", startup, None),
                ("spark job, first run in the JVM", job_seconds, sum(spark_counts.values())),
                ("spark start-up + first run", startup + job_seconds, sum(spark_counts.values())),
                ("spark job, second run (warm JVM)", warm_seconds, sum(spark_counts.values())),
                ("spark plain read→write, warm (no checks)", plain_seconds, total),
            ],
            duck_seconds,
        )
    )
    agree = duck_counts == spark_counts == written
    print(f"\nrows per class: {dict(sorted(written.items()))}; spark and duckdb outputs agree: {agree}")
    shutil.rmtree(work, ignore_errors=True)
    return 0 if agree else 1


if __name__ == "__main__":
    sys.exit(main())
