"""The local runner behind ``arn:aws:states:::emr-serverless:startJobRun.sync`` (docs/emr-serverless.md).

A request is checked as EMR Serverless would (botocore's StartJobRun model through
:mod:`checks.request_shapes`, then what the service enforces beyond it: the application exists
and takes jobs, the ``EntryPoint`` object exists, ``spark.master`` is not set), then recorded as a
job run in moto's ``emr-serverless`` backend, and its job run by a :class:`ServerlessJob` (local
Spark by default) on a thread of its own, as the service runs it whatever the caller does next.
``boto3.client("emr-serverless").get_job_run`` then reads the run's final state, ``stateDetails``
and a *modelled* ``billedResourceUtilization`` (:func:`~offline.runners.serverless_job.worker_utilization`).

Faults, and what each does (AWS's behaviour, as far as documented):

* **Retry** of the task: it re-sends the same ``ClientToken``; the same token on the same
  application returns the job run it started, which is waited for, never run twice (moto
  keeps no tokens: :class:`EmrServerlessRunner` does). The same token with other parameters
  is refused (``ConflictException``; AWS does not document this case).
* **A start that took effect but whose answer was lost** (:class:`Fault` ``after_start``): the
  job runs on; the retry finds it by its token.
* **The execution stopped** (``context.cancelled()``): Step Functions cancels the job run
  (best effort, ``CancelJobRun``): the job is killed, the run CANCELLED; so does anyone's CancelJobRun.
* **ExecutionTimeoutMinutes** passed: the service cancels the run (CANCELLED); the budget is
  ``minutes x seconds_per_timeout_minute`` seconds of this machine, so a test sets a small one.
* The job exits non-zero: FAILED, ``stateDetails`` carrying the job's own error line.
* The application cannot auto-start (``application_start_failure``): FAILED before the job ran ("failed to
  submit the job run to the application", *Job run states*), the application left STOPPED.

A run that does not end in SUCCESS fails the task with ``States.TaskFailed``, the cause being the
job run's description (:func:`failure_cause`); a refused request fails it with
``EMRServerless.<ErrorCode>``. The task's result is :func:`sync_output`.
"""

from __future__ import annotations

import dataclasses
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cached_property
from pathlib import Path
from typing import Any

import boto3
from botocore.exceptions import ClientError
from moto.emrserverless.models import emrserverless_backends

from checks.request_shapes import integration_for
from offline.cfn.resolver import DEFAULT_REGION
from offline.integrations import TaskContext, TaskFailure
from offline.runners.emr_serverless_api import (
    DEFAULT_TIMEOUT_MINUTES,
    EMR_SERVERLESS_START_JOB_RUN,
    FAILED_DETAILS,
    SERVICE,
    failure_cause,
    service_error,
    start_job_run_problems,
    sync_output,
)
from offline.runners.serverless_job import (
    JobOutcome,
    JobRequest,
    LocalSparkJob,
    ServerlessJob,
    parse_spark_submit_parameters,
    upload_driver_log,
    worker_utilization,
)


@dataclass(frozen=True)
class Fault:
    """A StartJobRun the task sees fail: before it took effect, or after (``after_start``: its answer was lost)."""

    error: str = f"{SERVICE}.ThrottlingException"
    after_start: bool = False


@dataclass
class JobRunRecord:
    """One job run this runner started, and how it ended."""

    application_id: str
    job_run_id: str
    arn: str
    client_token: str
    #: The request less its token: what a reused token must match.
    request: dict[str, Any]
    job: JobRequest
    log_uri: str = ""
    state: str = "RUNNING"
    outcome: JobOutcome | None = None
    error: BaseException | None = None
    done: threading.Event = field(default_factory=threading.Event)
    cancel_requested: threading.Event = field(default_factory=threading.Event)
    #: Held while the run's state changes in moto: a cancellation never overwrites a final state.
    lock: threading.Lock = field(default_factory=threading.Lock)


class EmrServerlessRunner:
    """``startJobRun.sync`` on moto's EMR Serverless and a :class:`ServerlessJob` (local Spark by default)."""

    def __init__(
        self,
        work_dir: Path,
        *,
        region: str = DEFAULT_REGION,
        progress: Callable[[str], None] | None = None,
        job: ServerlessJob | None = None,
        seconds_per_timeout_minute: float = 60.0,
        faults: list[Fault] | None = None,
        application_start_failure: str | None = None,
    ) -> None:
        self.work_dir = work_dir
        self.region = region
        self.progress = progress or (lambda line: None)
        self._job = job
        self.seconds_per_timeout_minute = seconds_per_timeout_minute
        #: Consumed one per task invocation, in order.
        self.faults = list(faults or [])
        #: Why an application that must auto-start cannot (capacity, subnets): its job runs end FAILED unrun.
        self.application_start_failure = application_start_failure
        #: Every job run started, in order (a retry that found its run by token adds none).
        self.job_runs: list[JobRunRecord] = []
        self._by_token: dict[tuple[str, str], JobRunRecord] = {}
        self._lock = threading.Lock()

    def register(self, harness: Any) -> EmrServerlessRunner:
        harness.runners.register(EMR_SERVERLESS_START_JOB_RUN, self)
        return self

    @cached_property
    def s3(self) -> Any:
        return boto3.client("s3", region_name=self.region)

    @cached_property
    def job(self) -> ServerlessJob:
        """The job runner given, else local Spark (made on first use, inside the caller's moto mock)."""
        return self._job or LocalSparkJob(self.work_dir, self.s3, self.progress)

    @cached_property
    def emr_serverless(self) -> Any:
        return boto3.client("emr-serverless", region_name=self.region)

    def __call__(self, parameters: dict[str, Any], context: TaskContext) -> dict[str, str]:
        problems = start_job_run_problems(parameters, self.s3)
        if problems:
            raise service_error("ValidationException", "; ".join(problems))
        fault = self.faults.pop(0) if self.faults else None
        if fault and not fault.after_start:
            raise TaskFailure(fault.error, "Rate exceeded (the offline runner's injected fault)")
        record = self._start(parameters, context)
        context.submit(sync_output(record.application_id, record.job_run_id, record.arn))
        if fault:
            raise TaskFailure(fault.error, f"job run {record.job_run_id} started, its answer lost (injected fault)")
        while not record.done.wait(0.2):
            if context.cancelled() and not record.cancel_requested.is_set():
                self.progress(f"job run {record.job_run_id}: execution stopped, CancelJobRun")
                with record.lock:
                    if not record.done.is_set():
                        record.cancel_requested.set()
                        self._update(record, state="CANCELLING")
        if record.error is not None:
            raise record.error
        if record.state != "SUCCESS" and not context.cancelled():  # an aborted task's result is not recorded
            job_run = self.emr_serverless.get_job_run(applicationId=record.application_id, jobRunId=record.job_run_id)
            raise TaskFailure("States.TaskFailed", failure_cause(job_run["jobRun"]))
        return sync_output(record.application_id, record.job_run_id, record.arn)

    def _start(self, parameters: Mapping[str, Any], context: TaskContext) -> JobRunRecord:
        """The job run of this token: the one it already started, or a new one (its job on a thread)."""
        request = integration_for(EMR_SERVERLESS_START_JOB_RUN).render(parameters)
        token = request.pop("clientToken")
        key = (request["applicationId"], token)
        with self._lock:
            if key in self._by_token:
                if self._by_token[key].request != request:
                    raise service_error(
                        "ConflictException", f"clientToken {token!r} was used with other parameters", 409
                    )
                return self._by_token[key]
            started_now = self._check_application(request["applicationId"])
            try:
                started = self.emr_serverless.start_job_run(clientToken=token, **request)
            except ClientError as exc:
                error = exc.response["Error"]
                raise service_error(error["Code"], error.get("Message", str(exc))) from None
            submit = request["jobDriver"]["sparkSubmit"]
            minutes = request.get("executionTimeoutMinutes") or DEFAULT_TIMEOUT_MINUTES
            job = JobRequest(
                job_run_id=started["jobRunId"],
                entry_point=submit["entryPoint"],
                arguments=[str(a) for a in submit.get("entryPointArguments", [])],
                conf=parse_spark_submit_parameters(submit.get("sparkSubmitParameters", "")),
                timeout_seconds=minutes * self.seconds_per_timeout_minute,
            )
            monitoring = request.get("configurationOverrides", {}).get("monitoringConfiguration", {})
            log_uri = monitoring.get("s3MonitoringConfiguration", {}).get("logUri", "")
            record = JobRunRecord(key[0], started["jobRunId"], started["arn"], token, request, job, log_uri)
            self._by_token[key] = record
            self.job_runs.append(record)
        if started_now and self.application_start_failure:  # "failed to submit the job run to the application"
            details = f"Application {key[0]} failed to start: {self.application_start_failure}"
            self._update(record, state="FAILED", state_details=details[:256], ended_at=datetime.now(UTC))
            record.state = "FAILED"
            record.done.set()
            return record
        self._update(record, state="RUNNING", started_at=datetime.now(UTC))
        self.progress(f"job run {record.job_run_id} ({request.get('name', '')}) started on {key[0]}")
        threading.Thread(target=self._run, args=(record, context), daemon=True).start()
        return record

    def _check_application(self, application_id: str) -> bool:
        """The application exists and takes jobs; a CREATED or STOPPED one auto-starts (if allowed): True then."""
        try:
            app = self.emr_serverless.get_application(applicationId=application_id)["application"]
        except ClientError as exc:
            raise service_error(
                "ResourceNotFoundException", f"Application {application_id} does not exist", 404
            ) from exc
        auto_start = app.get("autoStartConfiguration", {}).get("enabled", True)
        if app["state"] in ("TERMINATED", "TERMINATING"):
            raise service_error("ValidationException", f"Application {application_id} is {app['state']}: no job runs")
        if app["state"] != "STARTED" and not auto_start:
            raise service_error(
                "ValidationException", f"Application {application_id} is {app['state']}, auto-start off"
            )
        if app["state"] == "STARTED":
            return False
        if not self.application_start_failure:
            self.emr_serverless.start_application(applicationId=application_id)
            self.progress(f"application {application_id} auto-started (was {app['state']})")
        return True

    def _run(self, record: JobRunRecord, context: TaskContext) -> None:
        """The job, then the run's final state, details, modelled usage and driver log."""
        deadline = time.monotonic() + record.job.timeout_seconds

        def running() -> bool:  # a CancelJobRun from anyone (the failure notifier's) cancels it too
            if self._update(record) in ("CANCELLING", "CANCELLED"):
                record.cancel_requested.set()
            return not record.cancel_requested.is_set() and time.monotonic() <= deadline

        try:
            outcome = self.job(record.job, dataclasses.replace(context, _is_running=running))
            timed_out = not record.cancel_requested.is_set() and (
                outcome.exit_code is None or (outcome.exit_code != 0 and time.monotonic() > deadline)
            )
            minutes = record.job.timeout_seconds / self.seconds_per_timeout_minute
            if record.cancel_requested.is_set():
                state, details = "CANCELLED", "Job run was cancelled (CancelJobRun)."
            elif timed_out:
                state, details = (
                    "CANCELLED",
                    f"Job run timed out: it ran longer than executionTimeoutMinutes ({minutes:g}).",
                )
            elif outcome.exit_code == 0:
                state, details = "SUCCESS", "Job run succeeded."
            else:
                last = f" Last few exceptions: {outcome.error_line}" if outcome.error_line else ""
                state, details = "FAILED", f"{FAILED_DETAILS} ExitCode: {outcome.exit_code}.{last}"
            seconds = min(outcome.seconds, record.job.timeout_seconds)
            billed, total = worker_utilization(record.job.conf, seconds)
            upload_driver_log(self.s3, record.log_uri, record.application_id, record.job_run_id, outcome.log)
            with record.lock:
                record.outcome, record.state = outcome, state
                self._update(
                    record,
                    state=state,
                    state_details=details[:256],
                    ended_at=datetime.now(UTC),
                    total_execution_duration_seconds=round(seconds),
                    billed_resource_utilization=billed,
                    total_resource_utilization=total,
                )
                record.done.set()
            self.progress(f"job run {record.job_run_id} {state} after {seconds:.1f} s: {details}")
        except BaseException as exc:  # a runner or job bug: the waiting task raises it (States.Runtime)
            record.error, record.state = exc, "FAILED"
        finally:
            record.done.set()

    def _update(self, record: JobRunRecord, **attributes: Any) -> str:
        """Set the job run's fields in moto's backend (moto's own job runs stay SUCCESS and hold no usage);
        its state after."""
        backend = emrserverless_backends[self._account(record)][self.region]
        job_run = backend.get_job_run(record.application_id, record.job_run_id)
        for name, value in {**attributes, "updated_at": datetime.now(UTC)}.items() if attributes else ():
            setattr(job_run, name, value)
        return str(job_run.state)

    @staticmethod
    def _account(record: JobRunRecord) -> str:
        return record.arn.split(":")[4]
