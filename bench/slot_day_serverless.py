"""EMR Serverless in the simulated day: whether the application is started, how long a job run waits, what it bills.

**Start-up.** AWS publishes no figure for how long a job run waits before its driver runs; the model's
two numbers are assumptions, stated with the observations they rest on (:data:`SOURCES`):

* ``job_start``: a job run on a *started* application without pre-initialized capacity (the
  template's) still waits for its own driver and executors: such an application keeps no workers
  between jobs ("For applications without pre-initialized capacity, resources are released
  immediately after job completion", AWS Big Data Blog, *Top 10 best practices for Amazon EMR
  Serverless*); only pre-initialized capacity lets jobs "start in seconds" (User Guide,
  ``pre-init-capacity.html``; docs/emr-serverless.md section 4). Third-party observations of this
  wait run from 15-30 s to 2-3 minutes; 90 s is assumed.
* ``app_start``: added when the application had auto-stopped, i.e. no job ran for ``idle_timeout``
  (the template's ``ServerlessIdleTimeoutMinutes``). AWS: "The state of an application with no
  pre-initialized capacity can immediately change from CREATED to STARTED" (User Guide,
  ``application-capacity.html``), but users report a cold application taking "tens of seconds to
  minutes" (flyteorg/flytekit PR #3458); 60 s more is assumed.

Ticks come every 15 minutes and the application stops after 15 idle minutes, so a run whose
predecessor ended a few minutes after its tick finds the application started; a tick without data
(no job) lets it stop, and the next run starts cold.

**Billing.** ``billedResourceUtilization`` as the offline twin models it
(:func:`offline.runners.serverless_job.worker_utilization`, one model of it in the project): the
driver and the executors of ``SparkSubmitParameters`` (memory + 10 % overhead rounded up to the GB,
disk above each worker's free 20 GB), every worker billed for the job's execution, one minute at
least. Executors: the dynamic-allocation maximum for the whole run (an upper bound; EMR Serverless
starts 3, the twin bills 3). Start-up is latency, not billed usage (docs/emr-serverless.md section 4:
billing counts from the job's execution); ``bill_start_up`` bills it too, for the sensitivity line.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from offline.runners.serverless_job import parse_spark_submit_parameters, worker_utilization

#: template.yaml ``ServerlessIdleTimeoutMinutes``, ``ServerlessMaximumVcpu``, ``ServerlessMaximumMemoryGB`` defaults.
TEMPLATE_IDLE_TIMEOUT_MINUTES = 30
TEMPLATE_MAXIMUM_VCPU = 48
TEMPLATE_MAXIMUM_MEMORY_GB = 128
APPLICATION_ID = "00benchapplication"
#: Where the start-up assumptions come from (printed with them).
SOURCES = (
    "AWS publishes no start-up time for a job run without pre-initialized capacity (docs/emr-serverless.md "
    "section 4: not found; User Guide pre-init-capacity.html: only pre-initialized workers 'start in seconds')",
    "third-party observations: worker start-up 'typically 15-30 seconds' (awsi.click glossary, EMR Serverless); "
    "'60-90 seconds per job' and 'cold start: 1-2 minutes', '2-3 minutes' (public design notes, find_string ids "
    "55037907616, 67270712288, 56678726717); a cold application 'tens of seconds to minutes' (flyteorg/flytekit "
    "PR #3458, 2026-08); 'seconds' (gchq/sleeper PR #1181, 2023-08)",
    "AWS: without pre-initialized capacity an application 'can immediately change from CREATED to STARTED' "
    "(User Guide application-capacity.html) and releases its workers after each job (AWS Big Data Blog, "
    "'Top 10 best practices for Amazon EMR Serverless')",
)


@dataclass(frozen=True)
class ServerlessTiming:
    """The serverless backend's assumptions (module docstring)."""

    job_start: timedelta = timedelta(seconds=90)
    app_start: timedelta = timedelta(seconds=60)
    idle_timeout: timedelta = timedelta(minutes=TEMPLATE_IDLE_TIMEOUT_MINUTES)
    bill_start_up: bool = False

    def scaled(self, factor: float, bill_start_up: bool | None = None) -> ServerlessTiming:
        """Both start-up figures times ``factor`` (the sensitivity lines)."""
        return replace(
            self,
            job_start=self.job_start * factor,
            app_start=self.app_start * factor,
            bill_start_up=self.bill_start_up if bill_start_up is None else bill_start_up,
        )

    def start_up(self, cold: bool) -> timedelta:
        """From StartJobRun to the driver running."""
        return self.job_start + (self.app_start if cold else timedelta(0))

    def lines(self, spark_submit_parameters: str) -> list[str]:
        conf = worker_conf(spark_submit_parameters)
        vcpu, memory = worker_totals(conf)
        executors = conf["spark.executor.instances"]
        return [
            f"- serverless start-up (ASSUMED): {self.job_start.total_seconds():.0f} s from StartJobRun to the driver "
            f"on a started application, {self.start_up(True).total_seconds():.0f} s when it had stopped (auto-start "
            f"after {minutes_text(self.idle_timeout)} min without a job: template ServerlessIdleTimeoutMinutes); "
            "no pre-initialized capacity (the template's)",
            *(f"  source: {s}" for s in SOURCES),
            f"- serverless workers (plan's SparkSubmitParameters): 1 driver + {executors} executors "
            f"(dynamicAllocation.maxExecutors, for the whole run: an upper bound) = {vcpu} vCPU, {memory} GB "
            "(memory + 10 % overhead, rounded up); billed for the job's execution, 1 minute at least per worker, "
            "disk over 20 GB/worker (none here); start-up "
            + ("BILLED too (sensitivity)" if self.bill_start_up else "not billed"),
            f"- serverless capacity (template): {TEMPLATE_MAXIMUM_VCPU} vCPU, {TEMPLATE_MAXIMUM_MEMORY_GB} GB "
            "for all running jobs; ARM64, priced with runs.cost.PriceTable's ARM64 prices",
        ]


def minutes_text(d: timedelta) -> str:
    return f"{d.total_seconds() / 60:g}"


def worker_conf(spark_submit_parameters: str) -> dict[str, str]:
    """The ``--conf`` pairs the bill is modelled from; executors = the dynamic-allocation maximum when one is set."""
    conf = parse_spark_submit_parameters(spark_submit_parameters)
    if "spark.executor.instances" not in conf and "spark.dynamicAllocation.maxExecutors" in conf:
        conf["spark.executor.instances"] = conf["spark.dynamicAllocation.maxExecutors"]
    conf.setdefault("spark.executor.instances", "3")
    return conf


def worker_totals(conf: dict[str, str]) -> tuple[int, int]:
    """(vCPU, GB) of all the job's workers together: their billed usage for one hour."""
    billed, _ = worker_utilization(conf, 3600)
    return round(billed["vCPUHour"]), round(billed["memoryGBHour"])


def job_run_response(name: str, job_run_id: str, state: str, conf: dict[str, str], seconds: float) -> dict[str, Any]:
    """What ``GetJobRun`` would answer for a finished job run whose workers were billed ``seconds``."""
    billed, total = worker_utilization(conf, seconds)
    return {
        "jobRun": {
            "applicationId": APPLICATION_ID,
            "jobRunId": job_run_id,
            "name": name,
            "state": state,
            "billedResourceUtilization": billed,
            "totalResourceUtilization": total,
        }
    }


class Application:
    """The application's auto-start and auto-stop: started while a job runs and ``idle_timeout`` after the last."""

    def __init__(self, idle_timeout: timedelta) -> None:
        self.idle_timeout = idle_timeout
        self.jobs: list[tuple[datetime, datetime]] = []

    def started(self, at: datetime) -> bool:
        """Whether a job submitted at ``at`` finds the application started (jobs are added in time order)."""
        begun = [end for start, end in self.jobs if start <= at]
        if not begun:
            return False
        return any(end > at for end in begun) or at - max(begun) < self.idle_timeout

    def add(self, start: datetime, end: datetime) -> None:
        self.jobs.append((start, end))

    def most_at_once(self) -> int:
        events = sorted([(s, 1) for s, _ in self.jobs] + [(e, -1) for _, e in self.jobs])
        running = most = 0
        for _, step in events:
            running += step
            most = max(most, running)
        return most
