"""The Spark compute a demo run used, on either backend, with what it billed and cost (``runs/cost.py``'s rules).

The clusters moto holds (their timelines are this machine's seconds, so their instance-hours are the
twin's, not a real cluster's ten-minute start) or the EMR Serverless job runs of the stack's application
(their ``billedResourceUtilization`` the runner's model of the job's workers), each priced with the
template's default price table, as RecordSlots prices a run.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import boto3

from offline.harness import OfflineHarness
from transient_analytics.aws import Meter
from transient_analytics.runs.cost import (
    Architecture,
    ClusterUsage,
    CostInputError,
    PriceTable,
    ServerlessUsage,
    run_cost,
)


@dataclass(frozen=True)
class Compute:
    """One cluster or job run: its id, name, final state, what it billed, and its estimated cost (USD)."""

    id: str
    name: str
    state: str
    billed: str
    cost_usd: Decimal | None


def _billed(usage: ServerlessUsage | ClusterUsage) -> str:
    if isinstance(usage, ServerlessUsage):
        return f"{usage.vcpu_hours:.4f} vCPU-h, {usage.memory_gb_hours:.4f} GB-h ({usage.architecture.value})"
    return ", ".join(f"{g.count} x {g.instance_type} x {g.billed_seconds} s" for g in usage.groups)


def _priced(meter: Any, fetch: Any) -> tuple[str, Decimal | None]:
    try:
        usage = fetch(meter)
    except (CostInputError, LookupError) as exc:
        return f"not priced: {exc}", None
    return _billed(usage), run_cost(usage, PriceTable())


def spark_compute(harness: OfflineHarness) -> list[Compute]:
    """Every cluster, or every job run of the stack's application, in the harness's moto."""
    emr = boto3.client("emr", region_name=harness.region)
    serverless = boto3.client("emr-serverless", region_name=harness.region)
    meter = Meter(emr, serverless)
    found: list[Compute] = []
    if harness.stack.condition("UseServerless"):
        application = str(harness.stack.get_att("SparkApplication", "ApplicationId"))
        for page in serverless.get_paginator("list_job_runs").paginate(applicationId=application):
            for run in page["jobRuns"]:
                billed, cost = _priced(
                    meter, lambda m, r=run: m.job_run_usage(application, r["id"], r["name"], Architecture.ARM64)
                )
                found.append(Compute(run["id"], run["name"], run["state"], billed, cost))
        return found
    for page in emr.get_paginator("list_clusters").paginate():
        for c in page["Clusters"]:
            billed, cost = _priced(meter, lambda m, c=c: m.cluster_usage(c["Id"]))
            found.append(Compute(c["Id"], c["Name"], c["Status"]["State"], billed, cost))
    return found
