"""Running a step's ``spark-submit`` on local Spark: the command, the process, its progress and its error line."""

from __future__ import annotations

import io
import os
import re
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from importlib.util import find_spec
from pathlib import Path
from typing import Any

from offline.integrations import TaskContext

_SPARK_LINE = re.compile(r"(\[Stage \d+:.*\]|ERROR|Exception|csv_to_parquet|JobError|wrote|rows)")


def spark_submit_command(master: str, spark_defaults: dict[str, str], args: list[str]) -> list[str]:
    """``spark-submit`` on ``master`` with the cluster's ``spark-defaults`` as ``--conf``, no ``--deploy-mode``."""
    return [
        _spark_submit(),
        "--master",
        master,
        "--conf",
        "spark.ui.enabled=false",
        "--conf",
        "spark.ui.showConsoleProgress=true",
        *[x for k, v in sorted(spark_defaults.items()) for x in ("--conf", f"{k}={v}")],
        *_drop_deploy_mode(args),
    ]


def spark_defaults(emr: Any, cluster_id: str) -> dict[str, str]:
    """The cluster's ``spark-defaults`` classification, less what is sized for a cluster node."""
    cluster = emr.describe_cluster(ClusterId=cluster_id)["Cluster"]
    props: dict[str, str] = {}
    for configuration in cluster.get("Configurations", []):
        if configuration.get("Classification") == "spark-defaults":
            props.update({str(k): str(v) for k, v in configuration.get("Properties", {}).items()})
    # Sized for a cluster node, not this machine: local[2] keeps the driver's own memory.
    for key in ("spark.executor.memory", "spark.dynamicAllocation.enabled"):
        props.pop(key, None)
    return props


def run_spark(
    command: list[str],
    workdir: Path,
    context: TaskContext,
    step_id: str,
    *,
    progress: Callable[[str], None],
    heartbeat_seconds: float,
) -> tuple[int, str]:
    """Run the command, printing Spark's progress; killed when the execution stops. (exit code, output)."""
    env = {**os.environ, "PYSPARK_PYTHON": sys.executable, "PYSPARK_DRIVER_PYTHON": sys.executable}
    env.pop("SPARK_HOME", None)
    process = subprocess.Popen(command, cwd=workdir, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    lines: list[str] = []
    lock = threading.Lock()
    started = time.monotonic()
    last_beat = started
    reader_done = threading.Event()

    def read() -> None:
        stdout = process.stdout
        assert isinstance(stdout, io.BufferedReader)
        buffer = b""
        while chunk := stdout.read1(4096):  # what is there now: progress bars end in \r
            buffer += chunk
            *complete, buffer = re.split(rb"[\r\n]", buffer)
            for raw in complete:
                line = raw.decode("utf-8", "replace").rstrip()
                if not line:
                    continue
                with lock:
                    lines.append(line)
                if _SPARK_LINE.search(line) and "WARN" not in line:
                    progress(f"  [spark] {line.strip()[:160]}")
        if buffer:
            lines.append(buffer.decode("utf-8", "replace"))
        reader_done.set()

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    while process.poll() is None:
        if context.cancelled():
            process.kill()
            progress(f"step {step_id}: execution stopped, spark-submit killed")
            break
        now = time.monotonic()
        if now - last_beat >= heartbeat_seconds:
            progress(f"  … step {step_id} still running ({now - started:.0f} s)")
            last_beat = now
        time.sleep(0.2)
    process.wait()
    reader_done.wait(10)
    with lock:
        text = "\n".join(lines)
    return process.returncode, text


def last_error_line(stderr: str) -> str:
    """The line that says why the step failed: the job's own error first, else the last error or exception."""
    candidates = [
        line.strip()
        for line in stderr.splitlines()
        if "error:" in line.lower() or "exception:" in line.lower() or "joberror" in line.lower()
    ]
    own = [line for line in candidates if "csv_to_parquet" in line]
    chosen = (own or candidates or [""])[-1]
    return chosen[:500]


def _drop_deploy_mode(args: list[str]) -> list[str]:
    """Local Spark has no cluster to deploy to: ``--deploy-mode X`` is left out."""
    return [a for i, a in enumerate(args) if "--deploy-mode" not in (a, args[i - 1] if i else None)]


def _spark_submit() -> str:
    """pyspark's own ``bin/spark-submit`` (found without starting a JVM or importing pyspark)."""
    spec = find_spec("pyspark")
    if spec is None or spec.origin is None:
        raise RuntimeError("pyspark is not installed in this environment: the EMR runner needs it")
    return str(Path(spec.origin).parent / "bin" / "spark-submit")
