"""What an EMR Serverless job run does offline: the job itself (local Spark or simulated) and its workers' bill.

:class:`LocalSparkJob` runs ``EntryPoint`` + ``EntryPointArguments`` with ``spark-submit`` on
local Spark (:mod:`offline.runners.spark`), its ``s3://`` files mapped by
:mod:`offline.runners.step_files`, exactly as the cluster runner runs the step.
:class:`SimulatedServerlessJob` reports what the job reports without Spark, through
:class:`~offline.runners.simulated_step.SimulatedSparkStep`.

``SparkSubmitParameters``' ``--conf`` pairs reach local Spark except those sizing EMR Serverless
workers (:data:`WORKER_SIZING_CONF`): ``spark.driver/executor.memory`` and ``.cores``,
``spark.executor.instances``, ``spark.dynamicAllocation.*`` and ``spark.emr-serverless.*`` describe
4 vCPU / 16 GB containers, not this machine, where driver and executors share one ``local[2]`` JVM
(a 14 GB driver heap would claim most of it); every other setting (``spark.sql.*``) changes what the
job computes and is kept.

:func:`worker_utilization` is a *model* of ``billedResourceUtilization``, not a measurement: one
driver and ``spark.executor.instances`` executors (EMR Serverless' defaults where the parameters are
silent: 4 vCPU, 14 GB + 10 % overhead rounded up to the GB, 20 GB disk, 3 executors), all alive for
the job's wall time, each billed at least a minute, disk billed only above each worker's free 20 GB.
Dynamic allocation, start-up and queueing are not modelled.
"""

from __future__ import annotations

import gzip
import json
import math
import re
import shlex
import tempfile
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from offline.integrations import TaskContext, TaskFailure
from offline.runners.s3 import parse_s3_uri
from offline.runners.simulated_step import SimulatedSparkStep
from offline.runners.spark import last_error_line, run_spark, spark_submit_command
from offline.runners.step_files import StepFiles

#: EMR Serverless' Spark defaults (User Guide, "Spark job properties"), used where the job sets none.
SPARK_DEFAULTS = {
    "spark.driver.cores": "4",
    "spark.driver.memory": "14g",
    "spark.executor.cores": "4",
    "spark.executor.memory": "14g",
    "spark.executor.instances": "3",
    "spark.emr-serverless.driver.disk": "20g",
    "spark.emr-serverless.executor.disk": "20g",
    "spark.emr-serverless.memoryOverheadFactor": "0.1",
}
#: Settings that size EMR Serverless workers, not local Spark (see the module).
WORKER_SIZING_CONF = re.compile(
    r"^spark\.((driver|executor)\.(memory|cores)|executor\.instances|dynamicAllocation\..*|emr-serverless\..*)$"
)
#: Disk each worker gets free (``billedResourceUtilization`` counts only what is above it).
FREE_DISK_GB = 20
MINIMUM_WORKER_SECONDS = 60


@dataclass(frozen=True)
class JobRequest:
    """The job of one job run: its script, arguments and ``--conf`` pairs, and its wall-clock budget."""

    job_run_id: str
    entry_point: str
    arguments: list[str]
    conf: dict[str, str]
    #: ``ExecutionTimeoutMinutes`` in seconds of this machine (the runner may scale it).
    timeout_seconds: float


@dataclass
class JobOutcome:
    """How the job ended. ``exit_code`` None: it was stopped (cancelled or out of time)."""

    exit_code: int | None
    seconds: float
    #: The job's own error line, s3:// URIs as the job was given them.
    error_line: str = ""
    #: What the driver printed (the runner uploads it under the job run's ``LogUri``).
    log: str = ""


class ServerlessJob(Protocol):
    """Runs one job; ``context.cancelled()`` turns true when the job run is cancelled or out of time."""

    def __call__(self, job: JobRequest, context: TaskContext, /) -> JobOutcome: ...


def parse_spark_submit_parameters(text: str) -> dict[str, str]:
    """``--conf k=v --conf k2=v2`` → ``{k: v, k2: v2}``; anything else is refused (the runner passes only confs)."""
    words = shlex.split(text or "")
    conf: dict[str, str] = {}
    for i in range(0, len(words), 2):
        flag, pair = words[i], words[i + 1] if i + 1 < len(words) else ""
        if flag != "--conf" or "=" not in pair:
            raise ValueError(
                f"SparkSubmitParameters: only '--conf key=value' pairs are supported offline, got {flag!r}"
            )
        key, value = pair.split("=", 1)
        conf[key] = value
    return conf


def local_conf(conf: Mapping[str, str]) -> dict[str, str]:
    """The ``--conf`` pairs local Spark gets: all but :data:`WORKER_SIZING_CONF`."""
    return {k: v for k, v in conf.items() if not WORKER_SIZING_CONF.match(k)}


def _gigabytes(text: str) -> float:
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([kmgt]?)b?\s*", text.lower())
    if not match:
        raise ValueError(f"not a size: {text!r}")
    return float(match.group(1)) * {"k": 2**-20, "m": 2**-10, "": 2**-30, "g": 1, "t": 1024}[match.group(2)]


def worker_utilization(conf: Mapping[str, str], seconds: float) -> tuple[dict[str, float], dict[str, float]]:
    """(billed, total) ``{vCPUHour, memoryGBHour, storageGBHour}`` of a job that ran ``seconds`` (a model)."""
    c = {**SPARK_DEFAULTS, **conf}
    overhead = 1 + float(c["spark.emr-serverless.memoryOverheadFactor"])
    billed_h = max(MINIMUM_WORKER_SECONDS, math.ceil(seconds)) / 3600
    total_h = seconds / 3600
    billed = dict.fromkeys(("vCPUHour", "memoryGBHour", "storageGBHour"), 0.0)
    total = dict(billed)
    for role, count in (("driver", 1), ("executor", int(c["spark.executor.instances"]))):
        vcpu = int(c[f"spark.{role}.cores"])
        memory = math.ceil(_gigabytes(c[f"spark.{role}.memory"]) * overhead)
        disk = _gigabytes(c[f"spark.emr-serverless.{role}.disk"])
        for usage, hours, disk_counted in ((billed, billed_h, max(0.0, disk - FREE_DISK_GB)), (total, total_h, disk)):
            usage["vCPUHour"] += count * vcpu * hours
            usage["memoryGBHour"] += count * memory * hours
            usage["storageGBHour"] += count * disk_counted * hours
    return ({k: round(v, 6) for k, v in billed.items()}, {k: round(v, 6) for k, v in total.items()})


def upload_driver_log(s3: Any, log_uri: str, application_id: str, job_run_id: str, log: str) -> None:
    """The driver's output where EMR Serverless puts it: ``<LogUri>applications/<app>/jobs/<run>/SPARK_DRIVER/``."""
    if not log_uri.startswith("s3://"):
        return
    bucket, prefix = parse_s3_uri(log_uri.rstrip("/") + "/")
    key = f"{prefix}applications/{application_id}/jobs/{job_run_id}/SPARK_DRIVER/stderr.gz"
    s3.put_object(Bucket=bucket, Key=key, Body=gzip.compress(log.encode()))


@dataclass
class LocalSparkJob:
    """The job on local Spark, its s3:// files mapped to a work folder and its outputs synced back."""

    work_dir: Path
    s3: Any
    progress: Callable[[str], None] = lambda line: None
    spark_master: str = "local[2]"
    heartbeat_seconds: float = 5.0

    def __call__(self, job: JobRequest, context: TaskContext) -> JobOutcome:
        files = StepFiles(self.s3, self.progress)
        workdir = Path(tempfile.mkdtemp(prefix=f"{job.job_run_id}-", dir=self.work_dir))
        localized = files.localize([job.entry_point, *job.arguments], workdir)
        command = spark_submit_command(self.spark_master, local_conf(job.conf), localized.args)
        self.progress(f"job run {job.job_run_id}: spark-submit --master {self.spark_master} (local Spark)")
        started = time.monotonic()
        code, log = run_spark(
            command, workdir, context, job.job_run_id, progress=self.progress, heartbeat_seconds=self.heartbeat_seconds
        )
        seconds = time.monotonic() - started
        # Whatever the exit code: a job that failed on some slots committed the others.
        files.sync_back(localized)
        return JobOutcome(
            exit_code=None if context.cancelled() and code != 0 else code,
            seconds=seconds,
            error_line=localized.to_s3(last_error_line(log)),
            log=localized.to_s3(log),
        )


@dataclass
class SimulatedServerlessJob:
    """What the job reports, without Spark: :class:`SimulatedSparkStep`'s slots, manifests and report.

    ``seconds``: how long the job is said to run (the bill's and the time-out's input; nothing sleeps).
    ``fail``: slots whose conversion fails; ``crash``: the job dies before writing a report; ``crash_at``:
    slots that kill the job while it converts them (its progress report stays); ``time_out_at``: slots
    being converted when ``ExecutionTimeoutMinutes`` runs out (the service cancels the run).
    """

    seconds: float = 75.0
    fail: set[str] = field(default_factory=set)
    crash: bool = False
    crash_at: set[str] = field(default_factory=set)
    time_out_at: set[str] = field(default_factory=set)
    region: str = "us-east-1"
    #: The arguments of every job it ran, in order.
    calls: list[list[str]] = field(default_factory=list)

    def __call__(self, job: JobRequest, context: TaskContext) -> JobOutcome:
        self.calls.append([job.entry_point, *job.arguments])
        if self.seconds > job.timeout_seconds:
            return JobOutcome(exit_code=None, seconds=job.timeout_seconds, log="killed: out of time")
        step = SimulatedSparkStep(
            region=self.region, fail=self.fail, crash=self.crash, crash_at=self.crash_at, time_out_at=self.time_out_at
        )
        args = ["spark-submit", job.entry_point, *job.arguments]
        try:
            step({"Step": {"HadoopJarStep": {"Args": args}}}, context)
        except TaskFailure as failure:
            if failure.error == "States.Timeout":
                return JobOutcome(exit_code=None, seconds=job.timeout_seconds, log=failure.cause)
            message = json.loads(failure.cause)["Step"]["Status"]["FailureDetails"]["Message"]
            return JobOutcome(exit_code=1, seconds=self.seconds, error_line=message, log=message)
        return JobOutcome(exit_code=0, seconds=self.seconds, log="simulated: the job succeeded")
