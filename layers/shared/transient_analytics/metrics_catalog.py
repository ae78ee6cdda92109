"""Every metric the pipelines emit or watch: the one list the code and the dashboard agree on.

The functions emit their custom metrics with Powertools Metrics (EMF) into :data:`NAMESPACE`,
with exactly the dimensions :data:`DIMENSIONS` (``service`` = the stack name, ``pipeline`` =
``emr`` | ``transform``); this catalog fixes the names (docs/architecture.md lists them).
An emitter imports its metrics from here, e.g.::

    from transient_analytics import metrics_catalog as mc

    metrics.add_dimension(name=mc.PIPELINE_DIMENSION, value=pipeline)
    metrics.add_metric(name=mc.ROWS_WRITTEN.name, unit=mc.ROWS_WRITTEN.unit, value=rows)

The template's CloudWatch dashboard is checked against this module (tests/dashboard): every
metric it shows must be listed here with the namespace, the dimension names and, for a custom
metric, a pipeline that emits it. Pure data, no AWS calls, no Powertools import.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final, Literal

from transient_analytics.slots import Pipeline

Unit = Literal["Count", "Seconds", "None"]
Emitter = Literal["prepare_run", "record_slots"]

#: Namespace of every custom metric (the functions' ``POWERTOOLS_METRICS_NAMESPACE``).
NAMESPACE: Final = "TransientAnalytics"
#: ``service`` is the stack name (``POWERTOOLS_SERVICE_NAME`` = ``${AWS::StackName}``).
SERVICE_DIMENSION: Final = "service"
PIPELINE_DIMENSION: Final = "pipeline"
#: The dimension set of every custom metric, in the order the dashboard lists them.
DIMENSIONS: Final[tuple[str, ...]] = (SERVICE_DIMENSION, PIPELINE_DIMENSION)
PIPELINES: Final[tuple[Pipeline, ...]] = ("emr", "transform")


@dataclass(frozen=True)
class CustomMetric:
    """One custom metric: its name, unit, the function that emits it and for which pipelines."""

    name: str
    unit: Unit
    emitter: Emitter
    pipelines: tuple[Pipeline, ...]
    description: str

    namespace: str = NAMESPACE
    dimensions: tuple[str, ...] = DIMENSIONS


@dataclass(frozen=True)
class AwsMetric:
    """A metric an AWS service publishes about the stack's resources (nothing of ours emits it)."""

    namespace: str
    name: str
    dimensions: tuple[str, ...]


# ---------------------------------------------------------------- prepare_run, once per run
SLOTS_CLAIMED: Final = CustomMetric("SlotsClaimed", "Count", "prepare_run", PIPELINES, "slots this run works on")
SLOTS_WAITING: Final = CustomMetric(
    "SlotsWaiting", "Count", "prepare_run", PIPELINES, "slots with work that this run did not claim"
)
OLDEST_PENDING_SLOT_AGE_SECONDS: Final = CustomMetric(
    "OldestPendingSlotAgeSeconds",
    "Seconds",
    "prepare_run",
    PIPELINES,
    "now minus the end of the oldest slot with work that is not done; 0 if none (slot lag)",
)
QUARANTINED_SLOTS: Final = CustomMetric(
    "QuarantinedSlots", "Count", "prepare_run", PIPELINES, "slots in quarantine now"
)
RUNS_WITHOUT_WORK: Final = CustomMetric(
    "RunsWithoutWork", "Count", "prepare_run", PIPELINES, "1 when the run ends in NoNewData"
)
CLUSTERS_CREATED: Final = CustomMetric(
    "ClustersCreated", "Count", "prepare_run", ("emr",), "1 when the run plans an EMR cluster"
)

# ---------------------------------------------------------------- record_slots, once per run
SLOTS_CONVERTED: Final = CustomMetric("SlotsConverted", "Count", "record_slots", PIPELINES, "slots committed")
SLOTS_FAILED: Final = CustomMetric("SlotsFailed", "Count", "record_slots", PIPELINES, "slots that failed this run")
SLOTS_QUARANTINED: Final = CustomMetric(
    "SlotsQuarantined", "Count", "record_slots", PIPELINES, "slots this run put in quarantine"
)
ROWS_WRITTEN: Final = CustomMetric("RowsWritten", "Count", "record_slots", PIPELINES, "rows in the committed output")
BAD_ROWS: Final = CustomMetric("BadRows", "Count", "record_slots", PIPELINES, "input rows rejected by the job")
UNLISTED_PARTITION_ROWS: Final = CustomMetric(
    "UnlistedPartitionRows",
    "Count",
    "record_slots",
    ("emr",),
    "rows written under partition values the catalog does not project (hidden from Athena)",
)
RUN_COST_USD: Final = CustomMetric(
    "EstimatedRunCostUSD",
    "None",
    "record_slots",
    ("emr",),
    "the run's compute at the stack's prices (cluster instance-hours, or the serverless job's billed usage), USD",
)
SLOT_COST_USD: Final = CustomMetric(
    "EstimatedSlotCostUSD", "None", "record_slots", ("emr",), "each slot's share of its run's cost (by bytes), USD"
)
TRANSFORM_JOB_DURATION_SECONDS: Final = CustomMetric(
    "TransformJobDurationSeconds", "Seconds", "record_slots", ("transform",), "one value per transform job"
)

PREPARE_RUN_METRICS: Final[tuple[CustomMetric, ...]] = (
    SLOTS_CLAIMED,
    SLOTS_WAITING,
    OLDEST_PENDING_SLOT_AGE_SECONDS,
    QUARANTINED_SLOTS,
    RUNS_WITHOUT_WORK,
    CLUSTERS_CREATED,
)
RECORD_SLOTS_METRICS: Final[tuple[CustomMetric, ...]] = (
    SLOTS_CONVERTED,
    SLOTS_FAILED,
    SLOTS_QUARANTINED,
    ROWS_WRITTEN,
    BAD_ROWS,
    UNLISTED_PARTITION_ROWS,
    RUN_COST_USD,
    SLOT_COST_USD,
    TRANSFORM_JOB_DURATION_SECONDS,
)
CUSTOM_METRICS: Final[dict[str, CustomMetric]] = {m.name: m for m in PREPARE_RUN_METRICS + RECORD_SLOTS_METRICS}

# ---------------------------------------------------------------- published by AWS
EXECUTIONS_SUCCEEDED: Final = AwsMetric("AWS/States", "ExecutionsSucceeded", ("StateMachineArn",))
EXECUTIONS_FAILED: Final = AwsMetric("AWS/States", "ExecutionsFailed", ("StateMachineArn",))
NOTIFIER_ERRORS: Final = AwsMetric("AWS/Lambda", "Errors", ("FunctionName",))
AWS_METRICS: Final[tuple[AwsMetric, ...]] = (EXECUTIONS_SUCCEEDED, EXECUTIONS_FAILED, NOTIFIER_ERRORS)


def metrics_of(emitter: Emitter, pipeline: Pipeline) -> tuple[CustomMetric, ...]:
    """The metrics ``emitter`` emits on a run of ``pipeline``, in catalog order."""
    if pipeline not in PIPELINES:
        raise ValueError(f"pipeline: must be one of {', '.join(PIPELINES)} (got {pipeline!r})")
    group = {"prepare_run": PREPARE_RUN_METRICS, "record_slots": RECORD_SLOTS_METRICS}.get(emitter)
    if group is None:
        raise ValueError(f"emitter: must be prepare_run or record_slots (got {emitter!r})")
    return tuple(m for m in group if pipeline in m.pipelines)
