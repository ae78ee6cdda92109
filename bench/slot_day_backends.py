"""The two Spark backends of the simulated day: how long a run takes, and what AWS would report it billed.

Each backend starts the run a plan describes (:class:`~transient_analytics.runs.plan.RunPlan`'s ``emr`` or
``serverless`` part, built by the layer from ``SPARK_BACKEND``) and keeps the response AWS would give
for it: ``DescribeCluster`` + ``ListInstanceGroups`` for a cluster, ``GetJobRun`` for a job run. It is
also RecordSlots' :class:`~transient_analytics.runs.costing.Meter`: the usage comes from those responses
through ``runs.cost.usage_from_cluster`` / ``runs.cost.usage_from_job_run``, so the run's cost is the
layer's (``runs.costing.estimate``), with no price or formula here.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

from bench.slot_day_model import Assumptions, cluster_time, spark_time
from bench.slot_day_serverless import (
    APPLICATION_ID,
    TEMPLATE_MAXIMUM_MEMORY_GB,
    TEMPLATE_MAXIMUM_VCPU,
    Application,
    ServerlessTiming,
    job_run_response,
    worker_conf,
    worker_totals,
)
from transient_analytics.runs.cost import (
    Architecture,
    ClusterUsage,
    ServerlessUsage,
    usage_from_cluster,
    usage_from_job_run,
)
from transient_analytics.runs.plan import RunPlan

#: vCPU and memory (GiB) per instance, for a cluster's vCPU- and GB-minutes (Amazon EC2 M7g: m7g.xlarge is
#: 4 vCPU, 16 GiB; the same in public price tables, e.g. find_string "m7g.xlarge | 4 | 16 GiB").
INSTANCE_SPECS: dict[str, tuple[int, int]] = {"m7g.xlarge": (4, 16)}


@dataclass(frozen=True)
class Run:
    """One run as RecordSlots sees it: when it ends after its tick, and the ids it reports."""

    duration: timedelta
    cluster_id: str | None = None
    job_run_id: str | None = None
    cold: bool = False


class Backend(Protocol):
    name: str

    def start(self, at: datetime, plan: RunPlan, rows: int, fails: bool) -> Run: ...
    def cluster_usage(self, cluster_id: str) -> ClusterUsage: ...
    def job_run_usage(
        self, application_id: str, job_run_id: str | None, job_name: str, architecture: Architecture
    ) -> ServerlessUsage: ...
    def notes(self) -> list[str]: ...


def cluster_responses(
    cluster_id: str, created: datetime, ended: datetime, instance_groups: list[dict[str, Any]]
) -> tuple[dict[str, Any], dict[str, Any]]:
    """``DescribeCluster`` and ``ListInstanceGroups`` of a terminated cluster made from CreateCluster's groups."""
    describe = {
        "Cluster": {
            "Id": cluster_id,
            "Status": {"State": "TERMINATED", "Timeline": {"CreationDateTime": created, "EndDateTime": ended}},
        }
    }
    groups = {
        "InstanceGroups": [
            {
                "InstanceGroupType": g["InstanceRole"],
                "InstanceType": g["InstanceType"],
                "Market": g["Market"],
                "RequestedInstanceCount": g["InstanceCount"],
                "RunningInstanceCount": 0,
            }
            for g in instance_groups
        ]
    }
    return describe, groups


def billed_minutes(usage: ClusterUsage | ServerlessUsage) -> tuple[float, float, float]:
    """(cluster-minutes, vCPU-minutes, GB-minutes) of one run's billed usage."""
    if isinstance(usage, ServerlessUsage):
        return 0.0, float(usage.vcpu_hours) * 60, float(usage.memory_gb_hours) * 60
    cluster = max(g.billed_seconds for g in usage.groups) / 60
    vcpu = gb = 0.0
    for g in usage.groups:
        cpus, memory = INSTANCE_SPECS.get(g.instance_type, (0, 0))
        vcpu += g.count * cpus * g.billed_seconds / 60
        gb += g.count * memory * g.billed_seconds / 60
    return cluster, vcpu, gb


class ClusterBackend:
    """Today's behaviour: a transient cluster per run, billed from CreateCluster to its termination."""

    name = "cluster"

    def __init__(self, a: Assumptions) -> None:
        self.a = a
        self.responses: dict[str, tuple[dict[str, Any], dict[str, Any]]] = {}

    def start(self, at: datetime, plan: RunPlan, rows: int, fails: bool) -> Run:
        if plan.emr is None:
            raise ValueError(f"run {plan.run_id}: the plan has no cluster (backend {plan.backend!r})")
        duration = cluster_time(self.a, rows)
        cluster_id = f"j-{len(self.responses) + 1:013d}"
        groups = plan.emr.instances["InstanceGroups"]
        self.responses[cluster_id] = cluster_responses(cluster_id, at, at + duration, groups)
        return Run(duration, cluster_id=cluster_id)

    def cluster_usage(self, cluster_id: str) -> ClusterUsage:
        return usage_from_cluster(*self.responses[cluster_id])

    def job_run_usage(
        self, application_id: str, job_run_id: str | None, job_name: str, architecture: Architecture
    ) -> ServerlessUsage:
        raise LookupError(f"{job_name}: the cluster backend starts no job run")

    def notes(self) -> list[str]:
        return []


class ServerlessBackend:
    """The stack's EMR Serverless application: a job run per run, started or cold (:mod:`bench.slot_day_serverless`)."""

    name = "serverless"

    def __init__(self, a: Assumptions, timing: ServerlessTiming) -> None:
        self.a, self.timing = a, timing
        self.application = Application(timing.idle_timeout)
        self.responses: dict[str, dict[str, Any]] = {}
        self.demand: tuple[int, int] = (0, 0)
        #: (minutes from StartJobRun to the end, tick, start-up, Spark work, rows, slots) of every job run.
        self.lives: list[tuple[float, datetime, timedelta, timedelta, int, int]] = []

    def start(self, at: datetime, plan: RunPlan, rows: int, fails: bool) -> Run:
        job = plan.serverless
        if job is None:
            raise ValueError(f"run {plan.run_id}: the plan has no serverless job (backend {plan.backend!r})")
        cold = not self.application.started(at)
        start_up, work = self.timing.start_up(cold), spark_time(self.a, rows)
        self.application.add(at, at + start_up + work)
        conf = worker_conf(job.spark_submit_parameters)
        self.demand = worker_totals(conf)
        billed = work + start_up if self.timing.bill_start_up else work
        job_run_id = f"{len(self.responses) + 1:016x}"
        state = "FAILED" if fails else "SUCCESS"
        self.responses[job.job_name] = job_run_response(job.job_name, job_run_id, state, conf, billed.total_seconds())
        self.lives.append(((start_up + work).total_seconds() / 60, at, start_up, work, rows, len(plan.slots)))
        return Run(start_up + work, job_run_id=job_run_id, cold=cold)

    def cluster_usage(self, cluster_id: str) -> ClusterUsage:
        raise LookupError(f"{cluster_id}: the serverless backend starts no cluster")

    def job_run_usage(
        self, application_id: str, job_run_id: str | None, job_name: str, architecture: Architecture
    ) -> ServerlessUsage:
        if application_id != APPLICATION_ID:
            raise LookupError(f"application {application_id!r}: not the stack's ({APPLICATION_ID})")
        return usage_from_job_run(self.responses[job_name], architecture)

    def notes(self) -> list[str]:
        notes = [
            f"job run of {at:%H:%MZ} ({slots} slot{'s' if slots > 1 else ''}, {rows:,} rows): {total:.1f} min = "
            f"start-up {start_up.total_seconds() / 60:.1f} + Spark work {work.total_seconds() / 60:.1f}"
            for total, at, start_up, work, rows, slots in sorted(self.lives, key=lambda life: -life[0])[:4]
        ]
        at_once, (vcpu, memory) = self.application.most_at_once(), self.demand
        if at_once * vcpu > TEMPLATE_MAXIMUM_VCPU or at_once * memory > TEMPLATE_MAXIMUM_MEMORY_GB:
            notes.append(
                f"{at_once} job runs at once need {at_once * vcpu} vCPU / {at_once * memory} GB, over the "
                f"application's maximum ({TEMPLATE_MAXIMUM_VCPU} vCPU / {TEMPLATE_MAXIMUM_MEMORY_GB} GB): the later "
                "one would get fewer executors or wait; the model does not slow it (optimistic)"
            )
        return notes
