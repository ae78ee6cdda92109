"""How long a run can really take, state by state, and so how long its claims are leased for.

A claim's lease must outlast everything the run that made it may still do to the slot: its
PrepareRun, its cluster start, its Spark step, the cluster's termination and its RecordSlots
(a run recording a slot after its lease ended would find another run holding it, and the slot
would have been charged a failed attempt by ``ledger.transitions.expire``). The lease is that sum, derived
here from the same numbers the ASL files declare (``TimeoutSeconds``, ``TimeoutSecondsPath`` from
the run plan, and each ``Retry``), so a longer step timeout lengthens the lease by exactly as
much. ``tests/contract/test_run_bounds.py`` walks both ASL files and checks every constant below
against the definitions, and that each lease is at least the longest path through its machine.

The model of one Task state's worst case: an attempt may run for the state's whole timeout; a
retried attempt that is not retried on time-outs failed on an API error (throttling, a service
error), which the call itself returns within :data:`API_CALL_SECONDS`; a state whose ``Retry``
also catches time-outs (the Lambda tasks, idempotent) may spend its whole timeout on every attempt.
Every back-off interval is added. Pure; the numbers are printed in README "Lease arithmetic".
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import timedelta

from transient_analytics.settings import PrepareRunSettings
from transient_analytics.slots import Pipeline

#: Serverless: the job's ExecutionTimeoutMinutes is at least this (EMR Serverless refuses less).
SERVERLESS_MIN_TIMEOUT_MINUTES = 5
#: Serverless: the task may wait this long beyond the job's own time-out (the application starting, workers).
SERVERLESS_START_ALLOWANCE_SECONDS = 600
#: A rejected API call (throttling, a validation or service error) answers within this long.
API_CALL_SECONDS = 60
#: Between the Lambda clocks that write a claim and read its lease.
CLOCK_SKEW_SECONDS = 60


def backoff(interval: float, max_attempts: int, rate: float) -> tuple[float, ...]:
    """The back-off before each retry of one ``Retry`` block (``IntervalSeconds × BackoffRate^n``)."""
    return tuple(interval * rate**n for n in range(max_attempts))


@dataclass(frozen=True)
class TaskBound:
    """A Task state's timeout and retries, as its ASL declares them."""

    timeout_seconds: float
    #: The back-off before every retry the state may make, all ``Retry`` blocks together.
    retry_intervals: tuple[float, ...] = ()
    #: Whether a timed-out attempt is retried (then every attempt may take the whole timeout).
    retries_time_outs: bool = False

    @property
    def worst_case_seconds(self) -> float:
        retries = len(self.retry_intervals)
        per_retry = self.timeout_seconds if self.retries_time_outs else API_CALL_SECONDS
        return self.timeout_seconds + retries * per_retry + sum(self.retry_intervals)


# ---------------------------------------------------------------- what the ASL files declare
#: PrepareRun and RecordSlots (both machines): 60 s, retried 3 times (2 s, ×2), time-outs included.
LAMBDA_TASK = TaskBound(60, backoff(2, 3, 2.0), retries_time_outs=True)
#: The EMR step's retries: AddJobFlowSteps API errors only (15 s, ×2, 3 times).
STEP_RETRIES = backoff(15, 3, 2.0)
#: CreateCluster: API errors only (30 s, ×2, twice); its timeout comes from the plan.
CLUSTER_START_RETRIES = backoff(30, 2, 2.0)
#: TerminateCluster and TerminateClusterAfterStepFailure: 600 s, API errors and failed terminations retried.
TERMINATE_CLUSTER = TaskBound(600, backoff(10, 3, 2.0))
#: RunTransformJob: an instance limit (120 s, ×2, 3 times) and other SageMaker API errors (15 s, ×2, twice).
TRANSFORM_JOB_RETRIES = backoff(120, 3, 2.0) + backoff(15, 2, 2.0)
#: ScoreSlots' MaxConcurrency: transform jobs of one run go this many at a time.
TRANSFORM_CONCURRENCY = 2
#: RunServerlessJob: throttling and service errors of StartJobRun (15 s, ×2, 3 times); its timeout is the plan's.
SERVERLESS_RETRIES = backoff(15, 3, 2.0)


def serverless_task_timeout(settings: PrepareRunSettings) -> int:
    """RunServerlessJob's TimeoutSecondsPath (``emr_plan.serverless_plan`` sets the plan's from this)."""
    minutes = max(SERVERLESS_MIN_TIMEOUT_MINUTES, -(-settings.SPARK_STEP_TIMEOUT_SECONDS // 60))
    return minutes * 60 + SERVERLESS_START_ALLOWANCE_SECONDS


def emr_run_bound(settings: PrepareRunSettings) -> float:
    """Seconds from an EMR run's PrepareRun to the end of its RecordSlots, at worst, on its backend."""
    if settings.SPARK_BACKEND == "serverless":
        job = TaskBound(serverless_task_timeout(settings), SERVERLESS_RETRIES).worst_case_seconds
        return LAMBDA_TASK.worst_case_seconds + job + LAMBDA_TASK.worst_case_seconds
    return sum(
        (
            LAMBDA_TASK.worst_case_seconds,
            TaskBound(settings.EMR_CLUSTER_START_TIMEOUT_SECONDS, CLUSTER_START_RETRIES).worst_case_seconds,
            TaskBound(settings.SPARK_STEP_TIMEOUT_SECONDS, STEP_RETRIES).worst_case_seconds,
            TERMINATE_CLUSTER.worst_case_seconds,
            LAMBDA_TASK.worst_case_seconds,
        )
    )


def transform_rounds(slots: int) -> int:
    """How many jobs one after the other a run of ``slots`` transform jobs waits for, at worst."""
    return math.ceil(slots / TRANSFORM_CONCURRENCY)


def transform_run_bound(settings: PrepareRunSettings) -> float:
    """Seconds from a transform run's PrepareRun to the end of its RecordSlots, at worst (a full batch)."""
    job = TaskBound(settings.TRANSFORM_TIMEOUT_SECONDS, TRANSFORM_JOB_RETRIES).worst_case_seconds
    rounds = transform_rounds(settings.TRANSFORM_MAX_SLOTS_PER_RUN)
    return LAMBDA_TASK.worst_case_seconds + rounds * job + LAMBDA_TASK.worst_case_seconds


def lease(pipeline: Pipeline, settings: PrepareRunSettings) -> timedelta:
    """How long a claim is held: the run's worst case, plus the skew between the Lambda clocks."""
    bound = emr_run_bound(settings) if pipeline == "emr" else transform_run_bound(settings)
    return timedelta(seconds=math.ceil(bound) + CLOCK_SKEW_SECONDS)
