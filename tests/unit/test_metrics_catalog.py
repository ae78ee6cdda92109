"""The metrics catalog: the names it fixes, once each, with the emitter and pipelines."""

from __future__ import annotations

import pytest

from transient_analytics import metrics_catalog as mc


def test_the_namespace_and_dimensions_are_the_contracts():
    assert mc.NAMESPACE == "TransientAnalytics"
    assert mc.DIMENSIONS == ("service", "pipeline")


def test_each_emitter_has_the_contracts_metrics_in_order():
    assert [m.name for m in mc.PREPARE_RUN_METRICS] == [
        "SlotsClaimed",
        "SlotsWaiting",
        "OldestPendingSlotAgeSeconds",
        "QuarantinedSlots",
        "RunsWithoutWork",
        "ClustersCreated",
    ]
    assert [m.name for m in mc.RECORD_SLOTS_METRICS] == [
        "SlotsConverted",
        "SlotsFailed",
        "SlotsQuarantined",
        "RowsWritten",
        "BadRows",
        "UnlistedPartitionRows",
        "EstimatedRunCostUSD",
        "EstimatedSlotCostUSD",
        "TransformJobDurationSeconds",
    ]
    assert len(mc.CUSTOM_METRICS) == 15


def test_durations_are_seconds_and_everything_else_a_count():
    seconds = {m.name for m in mc.CUSTOM_METRICS.values() if m.unit == "Seconds"}
    assert seconds == {"OldestPendingSlotAgeSeconds", "TransformJobDurationSeconds"}


def test_pipeline_specific_metrics_are_emitted_only_for_their_pipeline():
    assert mc.CLUSTERS_CREATED not in mc.metrics_of("prepare_run", "transform")
    assert mc.CLUSTERS_CREATED in mc.metrics_of("prepare_run", "emr")
    assert mc.TRANSFORM_JOB_DURATION_SECONDS not in mc.metrics_of("record_slots", "emr")
    assert mc.TRANSFORM_JOB_DURATION_SECONDS in mc.metrics_of("record_slots", "transform")


def test_an_unknown_pipeline_or_emitter_is_refused_naming_it():
    with pytest.raises(ValueError, match="pipeline: must be one of emr, transform"):
        mc.metrics_of("prepare_run", "spark")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="emitter:"):
        mc.metrics_of("notify_failure", "emr")  # type: ignore[arg-type]
