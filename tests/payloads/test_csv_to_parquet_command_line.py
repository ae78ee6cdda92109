"""csv_to_parquet as EMR runs it: spark-submit of the job file, ``main``'s exit codes and summary
line, the contract's command line and its errors, and a job file that stands alone on Python 3.9.
"""

from __future__ import annotations

import ast
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from jobs import csv_to_parquet as job
from jobs import generate_characters as gen

from .conftest import REPO_ROOT, TEST_JVM_OPTIONS, spark_env
from .csv_to_parquet_support import (
    BAD_LINES,
    FINGERPRINT,
    GOOD,
    HUNTER,
    POISON,
    RUN_ID,
    SCHEMA,
    SMALL,
    manifest,
    write_csv,
)

pytestmark = pytest.mark.spark


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
