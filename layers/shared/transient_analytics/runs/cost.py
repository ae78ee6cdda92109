"""The estimated cost of a Spark run, for both backends, from what AWS reports it billed. Pure: no AWS calls.

* serverless: ``GetJobRun``'s ``billedResourceUtilization`` (it includes the one-minute minimum per
  worker and only the storage above each worker's free 20 GB) at the prices of the application's
  architecture, which the caller passes (``GetJobRun`` does not carry it).
* cluster: per instance group, count x billed seconds at the EC2 on-demand rate plus the EMR uplift;
  each instance billed per second, one minute at least, from the cluster's ``CreationDateTime`` to its
  ``EndDateTime`` (an upper bound). Not included: EBS, data transfer, S3 requests; Spot is priced at
  on-demand (an upper bound; the group's ``market`` says so).

Money is :class:`~decimal.Decimal`, rounded to a micro-dollar (``ROUND_HALF_UP``): prices carry seven
decimals and :func:`slot_costs` must return shares that add up to the run's cost exactly, which
floats cannot promise; convert to ``float`` only when emitting a metric. :class:`PriceTable`'s fields
are the environment variables that set them (``settings.load_settings(PriceTable, os.environ)``),
each default commented with its source and date (docs/emr-serverless.md cites them); a price no
public source confirmed has no default, and costing a run that needs it raises :class:`MissingPrice`.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from datetime import datetime
from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError, ValidationInfo, field_validator

from transient_analytics.errors import describe_validation_error

#: Costs are rounded to this (one micro-dollar).
MICRO_USD = Decimal("0.000001")
#: EC2 and EMR bill each instance per second, with a one-minute minimum.
MINIMUM_BILLED_SECONDS = 60
#: The job run states after which ``billedResourceUtilization`` is final.
FINAL_JOB_RUN_STATES = frozenset({"SUCCESS", "FAILED", "CANCELLED"})

Usd = Annotated[Decimal, Field(ge=0)]
#: A usage figure; a JSON or boto3 float becomes the decimal it prints as (``0.1`` -> ``Decimal("0.1")``).
Quantity = Annotated[Decimal, Field(ge=0, allow_inf_nan=False)]


class CostInputError(ValueError):
    """A response or slot list the cost cannot be computed from; the message names the field."""


class MissingPrice(LookupError):
    """The price table has no price for something the run used; the message names the variable to set."""


class Architecture(StrEnum):
    """An EMR Serverless application's ``Architecture`` (botocore ``emr-serverless`` enum)."""

    X86_64 = "X86_64"
    ARM64 = "ARM64"


class PriceTable(BaseModel):
    """USD prices, us-east-1, on-demand. Field names are the environment variable names."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    # EMR Serverless, Linux/x86: GoogleCloudPlatform/PerfKitBenchmarker
    # perfkitbenchmarker/providers/aws/aws_dpb_emr_serverless_prices.py ("generated automatically",
    # from https://aws.amazon.com/emr/pricing), commit 804d012c of 2023-02-03, unchanged at 946ea317
    # (2026-08-20); the same figures in public cost tables dated 2026.
    EMR_SERVERLESS_X86_64_VCPU_HOUR_USD: Usd | None = Decimal("0.052624")
    EMR_SERVERLESS_X86_64_MEMORY_GB_HOUR_USD: Usd | None = Decimal("0.0057785")
    # EMR Serverless, Linux/ARM (Graviton): no us-east-1 figure could be read; derived from the x86 prices
    # above less the 20 % AWS states for Graviton ("offered at a 20% lower cost than the x86 architecture
    # option", AWS Big Data Blog, 2023-02). The template's PriceServerless* parameters override them.
    EMR_SERVERLESS_ARM64_VCPU_HOUR_USD: Usd | None = Decimal("0.0420992")
    EMR_SERVERLESS_ARM64_MEMORY_GB_HOUR_USD: Usd | None = Decimal("0.0046228")
    # Ephemeral storage beyond the free 20 GB per worker, both architectures: same source and date.
    EMR_SERVERLESS_STORAGE_GB_HOUR_USD: Usd | None = Decimal("0.000111")
    # EC2 on-demand, Linux, per instance-hour: m7g.xlarge $0.1632, in several independent public
    # price tables (2024-2026); AWS's own page renders prices with JavaScript and was not readable.
    EC2_INSTANCE_HOUR_USD: dict[str, Usd] = Field(default_factory=lambda: {"m7g.xlarge": Decimal("0.1632")})
    # The EMR uplift per instance-hour: no figure for m7g.xlarge could be read; 25 % of the EC2 price, the
    # ratio of the published m5.xlarge ($0.048 on $0.192) and m6i.xlarge figures. Confirm on AWS's page.
    EMR_INSTANCE_HOUR_USD: dict[str, Usd] = Field(default_factory=lambda: {"m7g.xlarge": Decimal("0.0408")})

    @field_validator("*", mode="before")
    @classmethod
    def _from_environment(cls, value: object, info: ValidationInfo) -> object:
        """Environment text: a blank price means none; a mapping is a JSON object ``{"m7g.xlarge": "0.1632"}``."""
        if not isinstance(value, str):
            return value
        if info.field_name not in ("EC2_INSTANCE_HOUR_USD", "EMR_INSTANCE_HOUR_USD"):
            return value if value.strip() else None
        try:
            return json.loads(value) if value.strip() else {}
        except json.JSONDecodeError as exc:
            raise ValueError(f"must be a JSON object of instance type -> USD per hour ({exc.msg})") from exc


class ServerlessUsage(BaseModel):
    """What AWS billed one job run; reads ``billedResourceUtilization``'s names too (``vCPUHour``, …)."""

    model_config = ConfigDict(frozen=True, extra="ignore", validate_by_name=True, validate_by_alias=True)

    backend: Literal["serverless"] = "serverless"
    architecture: Architecture
    vcpu_hours: Quantity = Field(validation_alias="vCPUHour")
    memory_gb_hours: Quantity = Field(validation_alias="memoryGBHour")
    #: Storage beyond the free 20 GB per worker.
    storage_gb_hours: Quantity = Field(validation_alias="storageGBHour")


class InstanceGroupUsage(BaseModel):
    """``count`` instances, each billed ``billed_seconds``; reads ``ListInstanceGroups``' names too."""

    model_config = ConfigDict(frozen=True, extra="ignore", validate_by_name=True, validate_by_alias=True)

    role: Literal["MASTER", "CORE", "TASK"] = Field(validation_alias="InstanceGroupType")
    instance_type: str = Field(min_length=1, validation_alias="InstanceType")
    market: Literal["ON_DEMAND", "SPOT"] = Field(default="ON_DEMAND", validation_alias="Market")
    count: int = Field(ge=0, validation_alias="RequestedInstanceCount")
    #: Per instance, whole seconds, the one-minute minimum applied (:func:`billed_seconds`).
    billed_seconds: int = Field(ge=0)


class ClusterUsage(BaseModel):
    """A transient cluster's instance groups."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    backend: Literal["cluster"] = "cluster"
    groups: tuple[InstanceGroupUsage, ...] = Field(min_length=1)


Usage = Annotated[ServerlessUsage | ClusterUsage, Field(discriminator="backend")]


class CostItem(BaseModel):
    """One line of a run's bill: ``quantity`` units of ``item`` at ``unit_price``."""

    model_config = ConfigDict(frozen=True)

    item: str
    quantity: Decimal
    unit: str
    unit_price: Decimal

    @property
    def amount(self) -> Decimal:
        return self.quantity * self.unit_price


def billed_seconds(started: datetime, ended: datetime) -> int:
    """Seconds an instance is billed for: the interval rounded up to a second, at least one minute."""
    if started.tzinfo is None or ended.tzinfo is None:
        raise CostInputError("started/ended: must be timezone-aware datetimes")
    seconds = (ended - started).total_seconds()
    if seconds < 0:
        raise CostInputError(f"ended: {ended.isoformat()} is before started {started.isoformat()}")
    return max(MINIMUM_BILLED_SECONDS, math.ceil(seconds))


# --- parsing the API responses -------------------------------------------------------------------


def _at(response: Any, path: str, operation: str, kind: type = object) -> Any:
    """``response[a][b]…`` for the path ``a.b…``; a missing key or a value not of ``kind`` is named."""
    node = response
    for i, key in enumerate(path.split(".")):
        if not isinstance(node, Mapping) or key not in node:
            raise CostInputError(f"{operation}: {'.'.join(path.split('.')[: i + 1])}: Field required")
        node = node[key]
    if not isinstance(node, kind):
        raise CostInputError(f"{operation}: {path}: should be a {kind.__name__}, got {type(node).__name__}")
    return node


def _read[T](adapter: TypeAdapter[T], value: Any, operation: str, path: str) -> T:
    try:
        return adapter.validate_python(value)
    except ValidationError as exc:
        raise CostInputError(f"{operation}: {describe_validation_error(exc, prefix=path)}") from None


_DATETIME = TypeAdapter(datetime)


def usage_from_job_run(
    get_job_run_response: Mapping[str, Any], architecture: Architecture | str = Architecture.X86_64
) -> ServerlessUsage:
    """The billed usage of a finished job run, from boto3's ``get_job_run`` response."""
    state = _at(get_job_run_response, "jobRun.state", "GetJobRun")
    if state not in FINAL_JOB_RUN_STATES:
        raise CostInputError(
            f"GetJobRun: jobRun.state: {state!r} is not final {sorted(FINAL_JOB_RUN_STATES)}: "
            "billedResourceUtilization is not yet what AWS bills"
        )
    where = "jobRun.billedResourceUtilization"
    billed = _at(get_job_run_response, where, "GetJobRun", Mapping)
    return _read(TypeAdapter(ServerlessUsage), {**billed, "architecture": architecture}, "GetJobRun", where)


def usage_from_cluster(
    describe_cluster_response: Mapping[str, Any], list_instance_groups_response: Mapping[str, Any]
) -> ClusterUsage:
    """A terminated cluster's usage, from boto3's ``describe_cluster`` and ``list_instance_groups``.

    Each instance is billed from the cluster's creation to its end; a group's count is its
    ``RequestedInstanceCount`` (after termination ``RunningInstanceCount`` reads 0 on AWS).
    """
    where = "Cluster.Status.Timeline"
    paths = [f"{where}.{key}" for key in ("CreationDateTime", "EndDateTime")]
    times = [
        _read(_DATETIME, _at(describe_cluster_response, p, "DescribeCluster"), "DescribeCluster", p) for p in paths
    ]
    try:
        seconds = billed_seconds(*times)
    except CostInputError as exc:
        raise CostInputError(f"DescribeCluster: {where}: {exc}") from None
    groups = _at(list_instance_groups_response, "InstanceGroups", "ListInstanceGroups", list)
    if not groups:
        raise CostInputError("ListInstanceGroups: InstanceGroups: List should have at least 1 item")
    rows = [{**g, "billed_seconds": seconds} if isinstance(g, Mapping) else g for g in groups]
    return ClusterUsage(
        groups=_read(TypeAdapter(tuple[InstanceGroupUsage, ...]), rows, "ListInstanceGroups", "InstanceGroups")
    )


# --- pricing -----------------------------------------------------------------------------------------


def _item(item: str, quantity: Decimal, unit: str, field: str, price: Decimal | None) -> CostItem:
    if price is None:
        raise MissingPrice(f"{field}: no price configured (no published figure was found; set it)")
    return CostItem(item=item, quantity=quantity, unit=unit, unit_price=price)


def cost_items(usage: ServerlessUsage | ClusterUsage, prices: PriceTable) -> tuple[CostItem, ...]:
    """The lines of a run's bill (unrounded): what was used, at which price."""
    if isinstance(usage, ServerlessUsage):
        a, p = usage.architecture.value, prices.model_dump()
        vcpu, memory, storage = (
            f"EMR_SERVERLESS_{a}_VCPU_HOUR_USD",
            f"EMR_SERVERLESS_{a}_MEMORY_GB_HOUR_USD",
            "EMR_SERVERLESS_STORAGE_GB_HOUR_USD",
        )
        return (
            _item(f"EMR Serverless {a} vCPU", usage.vcpu_hours, "vCPU-hour", vcpu, p[vcpu]),
            _item(f"EMR Serverless {a} memory", usage.memory_gb_hours, "GB-hour", memory, p[memory]),
            _item("EMR Serverless storage over 20 GB/worker", usage.storage_gb_hours, "GB-hour", storage, p[storage]),
        )
    items: list[CostItem] = []
    for g in usage.groups:
        hours = Decimal(g.count * g.billed_seconds) / Decimal(3600)
        for service, table in (("EC2", prices.EC2_INSTANCE_HOUR_USD), ("EMR", prices.EMR_INSTANCE_HOUR_USD)):
            field = f"{service}_INSTANCE_HOUR_USD: {g.instance_type!r}"
            label = f"{service} {g.instance_type} {g.role} ({g.market})"
            items.append(_item(label, hours, "instance-hour", field, table.get(g.instance_type)))
    return tuple(items)


def run_cost(usage: ServerlessUsage | ClusterUsage, prices: PriceTable) -> Decimal:
    """The run's estimated cost in USD, rounded to a micro-dollar."""
    total = sum((i.amount for i in cost_items(usage, prices)), Decimal(0))
    return total.quantize(MICRO_USD, rounding=ROUND_HALF_UP)


def slot_costs(run_cost: Decimal, slots: Mapping[str, int]) -> dict[str, Decimal]:
    """Split a run's cost among its slots in proportion to each slot's landing bytes.

    ``slots`` maps every slot of the run's batch to the bytes of its landing objects (the
    plan's fingerprint ``bytes``), converted or failed alike. Why bytes: the job's work (CSV
    parsing, the shuffle by partition column, the Parquet writes) grows with the input it reads;
    the bytes are known for every slot before the job starts, whereas rows need the job's report,
    which a crashed job never writes; a slot that failed still consumed its share. The fixed part of
    a run (start-up) is spread the same way: an equal split of it would need a measured fixed/variable
    breakdown that no API reports. If every slot is empty the cost is split equally.

    Shares are rounded down to a micro-dollar and the remaining micro-dollars go one each to the
    largest remainders (ties: slot order), so the shares add up to ``run_cost`` exactly.
    """
    if not slots:
        raise CostInputError(f"slots: a run's cost (${run_cost}) cannot be split among no slots")
    if any(b < 0 for b in slots.values()):
        raise CostInputError(f"slots: bytes must not be negative, got {dict(slots)}")
    if run_cost < 0:
        raise CostInputError(f"run_cost: must not be negative, got {run_cost}")
    total = run_cost.quantize(MICRO_USD, rounding=ROUND_HALF_UP)
    names = sorted(slots)
    weights = {s: Decimal(slots[s]) for s in names}
    weight_sum = sum(weights.values(), Decimal(0))
    if weight_sum == 0:
        weights, weight_sum = dict.fromkeys(names, Decimal(1)), Decimal(len(names))
    exact = {s: total * weights[s] / weight_sum for s in names}
    shares = {s: exact[s].quantize(MICRO_USD, rounding=ROUND_DOWN) for s in names}
    left = int((total - sum(shares.values(), Decimal(0))) / MICRO_USD)
    for s in sorted(names, key=lambda s: (-(exact[s] - shares[s]), names.index(s)))[:left]:
        shares[s] += MICRO_USD
    return shares
