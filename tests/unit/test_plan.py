"""build_plan: the run plan for the batch of slots a run claimed (jobs/README.md: the Spark job's command line)."""

from datetime import UTC, datetime, timedelta, timezone

import pytest

from tests.support import load_event
from transient_analytics import naming
from transient_analytics.errors import InvalidEventError
from transient_analytics.models import PrepareRunEvent, parse_event
from transient_analytics.runs.plan import build_plan, resolve_scheduled_time
from transient_analytics.settings import PrepareRunSettings
from transient_analytics.slots import Fingerprint
from transient_analytics.tags import (
    TAG_EMR_MANAGED_POLICIES,
    TAG_EXECUTION,
    TAG_MODEL,
    TAG_PIPELINE,
    TAG_RUN_ID,
    TAG_STACK,
)

NOW = datetime(2026, 11, 25, 20, 16, 5, tzinfo=UTC)
SCHEDULED = datetime(2026, 11, 25, 20, 15, tzinfo=UTC)
SETTINGS = PrepareRunSettings(
    DATA_BUCKET="ta-dev-data",
    NAME_PREFIX="transient-analytics-dev",
    TRANSFORM_JOB_BASE_NAME="ta-abalone",
    LEDGER_TABLE="ta-dev-ledger",
    EMR_CONFIGURATIONS='[{"Classification": "spark-defaults", "Properties": {"spark.executor.memory": "4g"}}]',
)
FP_A = Fingerprint(digest="a" * 32, objects=2, bytes=300)
FP_B = Fingerprint(digest="b" * 32, objects=1, bytes=120)
SLOT_1 = datetime(2026, 11, 25, 19, 45, tzinfo=UTC)
SLOT_2 = datetime(2026, 11, 25, 20, 0, tzinfo=UTC)
DAY_1 = datetime(2026, 11, 23, tzinfo=UTC)
DAY_2 = datetime(2026, 11, 24, tzinfo=UTC)


def event(name: str) -> PrepareRunEvent:
    return parse_event(load_event(name), PrepareRunEvent)


def emr_plan(claimed=((SLOT_1, FP_A), (SLOT_2, FP_B)), settings=SETTINGS):
    return build_plan(event("prepare_run/scheduled_emr"), settings, SCHEDULED, "schedule", list(claimed), "2 claimed")


MODEL = "ta-abalone-v3-1a2b3c4d"


def transform_plan(claimed=((DAY_1, FP_A), (DAY_2, FP_B)), model_name: str | None = MODEL):
    ev = event("prepare_run/scheduled_transform")
    at = datetime(2026, 11, 25, 6, tzinfo=UTC)
    return build_plan(ev, SETTINGS, at, "schedule", list(claimed), "2 claimed", model_name)


def test_every_claimed_slot_gets_its_input_output_and_manifest_paths_oldest_first():
    plan = emr_plan()
    assert plan.work is True
    assert [s.slot for s in plan.slots] == ["2026-11-25T19:45Z", "2026-11-25T20:00Z"]
    first = plan.slots[0]
    assert first.input_uri == "s3://ta-dev-data/landing/characters/dt=2026-11-25/hour=19/minute=45/"
    assert first.output_uri == "s3://ta-dev-data/curated/characters/dt=2026-11-25/hour=19/minute=45/"
    assert first.manifest_uri == "s3://ta-dev-data/curated/characters/dt=2026-11-25/hour=19/minute=45/_manifest.json"
    assert (first.fingerprint, first.objects, first.bytes) == ("a" * 32, 2, 300)
    assert first.job_name_prefix is None


def test_spark_step_is_one_job_for_every_slot_with_the_contract_command_line():
    plan = emr_plan()
    run_id = plan.run_id
    assert plan.emr.spark_submit_args == [
        "spark-submit",
        "--deploy-mode",
        "cluster",
        "s3://ta-dev-data/artifacts/jobs/csv_to_parquet.py",
        "--schema",
        "s3://ta-dev-data/artifacts/jobs/schemas/characters.json",
        "--partition-column",
        "class",
        "--run-id",
        run_id,
        "--report",
        f"s3://ta-dev-data/runs/emr/{run_id}/report.json",
        "--slot",
        "2026-11-25T19:45Z",
        "s3://ta-dev-data/landing/characters/dt=2026-11-25/hour=19/minute=45/",
        "s3://ta-dev-data/curated/characters/dt=2026-11-25/hour=19/minute=45/",
        "a" * 32,
        "--slot",
        "2026-11-25T20:00Z",
        "s3://ta-dev-data/landing/characters/dt=2026-11-25/hour=20/minute=00/",
        "s3://ta-dev-data/curated/characters/dt=2026-11-25/hour=20/minute=00/",
        "b" * 32,
    ]
    assert plan.report_uri == plan.emr.report_uri == f"s3://ta-dev-data/runs/emr/{run_id}/report.json"


def test_the_run_is_named_and_its_logs_dated_by_the_scheduled_time_not_the_slots():
    plan = emr_plan()
    assert plan.scheduled_time == "2026-11-25T20:15:00Z"
    assert plan.run_id == naming.run_id(SCHEDULED, plan.execution_arn)
    assert plan.run_id.startswith("20261125T2015Z-")
    assert plan.emr.log_uri == "s3://ta-dev-data/logs/emr/dt=2026-11-25/hour=20/minute=15/"
    assert plan.emr.cluster_name == f"transient-analytics-dev-emr-{plan.run_id}"
    assert plan.transform is None


def test_no_claimed_slot_means_no_work_and_neither_an_emr_nor_a_transform_section():
    for plan in (emr_plan(claimed=()), transform_plan(claimed=())):
        assert plan.work is False
        assert (plan.slots, plan.emr, plan.transform, plan.report_uri) == ([], None, None, None)
        assert plan.reason == "2 claimed"  # the reason is the caller's, passed through


def test_cluster_is_tagged_with_its_execution_run_pipeline_and_stack_so_it_can_be_found_and_scoped():
    plan = emr_plan()
    tags = {t.Key: t.Value for t in plan.emr.tags}
    assert tags[TAG_EXECUTION] == plan.execution_arn
    assert tags[TAG_RUN_ID] == plan.run_id
    assert tags[TAG_PIPELINE] == "emr"
    assert tags[TAG_STACK] == "transient-analytics-dev"
    # AmazonEMRServicePolicy_v2 lets the EMR service role act only on resources with this tag.
    assert tags[TAG_EMR_MANAGED_POLICIES] == "true"


def test_transform_jobs_are_tagged_without_the_emr_policy_tag():
    tags = {t.Key: t.Value for t in transform_plan().transform.tags}
    assert tags[TAG_PIPELINE] == "transform" and tags[TAG_STACK] == "transient-analytics-dev"
    assert TAG_EMR_MANAGED_POLICIES not in tags


def test_a_transform_plan_scores_with_the_production_model_and_tags_each_job_with_it():
    plan = transform_plan()
    assert plan.transform.model_name == MODEL
    assert {"Key": TAG_MODEL, "Value": MODEL} in [t.model_dump() for t in plan.transform.tags]
    with pytest.raises(ValueError, match="needs the production model's name"):
        transform_plan(model_name=None)


def test_cluster_shape_is_on_demand_primary_and_core_with_idle_auto_termination():
    plan = emr_plan()
    groups = plan.emr.instances["InstanceGroups"]
    assert [(g["InstanceRole"], g["Market"]) for g in groups] == [("MASTER", "ON_DEMAND"), ("CORE", "ON_DEMAND")]
    assert all(g["InstanceType"].startswith("m7g.") for g in groups)
    assert plan.emr.instances["KeepJobFlowAliveWhenNoSteps"] is True
    assert plan.emr.auto_termination == {"IdleTimeout": 1800}
    assert "Ec2SubnetId" not in plan.emr.instances


def test_spot_task_nodes_and_a_subnet_are_added_only_when_configured():
    settings = SETTINGS.model_copy(
        update={"EMR_TASK_SPOT_INSTANCE_COUNT": 3, "EMR_SUBNET_ID": "subnet-0123456789abcdef0"}
    )
    plan = emr_plan(settings=settings)
    task = plan.emr.instances["InstanceGroups"][-1]
    assert (task["InstanceRole"], task["Market"], task["InstanceCount"]) == ("TASK", "SPOT", 3)
    assert plan.emr.instances["Ec2SubnetId"] == "subnet-0123456789abcdef0"


def test_spark_tuning_comes_from_the_configuration_not_the_code():
    assert emr_plan().emr.configurations == [
        {"Classification": "spark-defaults", "Properties": {"spark.executor.memory": "4g"}}
    ]


def test_each_transform_slot_gets_a_valid_job_name_prefix_of_its_own_and_a_per_run_output():
    plan = transform_plan()
    assert plan.emr is None and plan.transform is not None
    prefixes = [s.job_name_prefix for s in plan.slots]
    assert prefixes[0].startswith("ta-abalone-202611230000-") and prefixes[1].startswith("ta-abalone-202611240000-")
    assert len(set(prefixes)) == 2
    for prefix in prefixes:
        # the state machine appends -<retry>-<redrive>: the longest such name is still valid
        assert naming.is_valid_transform_job_name(naming.transform_job_name(prefix, 99, 1000))
    first = plan.slots[0]
    assert first.input_uri == "s3://ta-dev-data/batch/abalone/input/dt=2026-11-23/"
    assert first.output_uri == f"s3://ta-dev-data/batch/abalone/output/dt=2026-11-23/run={plan.run_id}/"
    assert first.manifest_uri is None
    assert (plan.transform.instance_type, plan.transform.instance_count) == ("ml.m5.large", 1)


def test_the_same_slot_claimed_by_two_executions_gets_two_job_name_prefixes():
    one = transform_plan(claimed=((DAY_1, FP_A),))
    raw = load_event("prepare_run/scheduled_transform")
    raw["execution"]["id"] = raw["execution"]["id"].replace("b7e04a55", "00000000")
    other = build_plan(parse_event(raw, PrepareRunEvent), SETTINGS, NOW, "schedule", [(DAY_1, FP_A)], "", MODEL)
    assert one.slots[0].job_name_prefix != other.slots[0].job_name_prefix


def test_the_plan_round_trips_through_json_as_the_state_machine_passes_it():
    plan = emr_plan()
    assert type(plan).model_validate_json(plan.model_dump_json()) == plan


def test_no_scheduled_time_means_now_truncated_to_the_minute():
    assert resolve_scheduled_time(None, NOW, 366) == (datetime(2026, 11, 25, 20, 16, tzinfo=UTC), "now")


def test_a_given_scheduled_time_is_used_in_utc():
    given = datetime(2026, 11, 25, 21, 15, 30, tzinfo=timezone(timedelta(hours=1)))
    assert resolve_scheduled_time(given, NOW, 366) == (datetime(2026, 11, 25, 20, 15, tzinfo=UTC), "given")


def test_a_scheduled_time_in_the_future_is_rejected_naming_the_field_and_the_rule():
    with pytest.raises(
        InvalidEventError, match=r"input\.scheduled_time: must not be more than 15 minutes in the future"
    ):
        resolve_scheduled_time(NOW + timedelta(hours=2), NOW, 366)


def test_a_scheduled_time_older_than_the_limit_is_rejected_naming_the_setting():
    with pytest.raises(InvalidEventError, match=r"input\.scheduled_time: must be within 366 days.*MAX_BACKFILL_DAYS"):
        resolve_scheduled_time(datetime(2020, 1, 1, tzinfo=UTC), NOW, 366)
