from datetime import UTC, datetime, timedelta

import pytest

from tests.support import load_event
from transient_analytics import naming
from transient_analytics.errors import InvalidEventError
from transient_analytics.models import PrepareRunEvent, parse_event
from transient_analytics.overlap import RunningExecution
from transient_analytics.plan import TAG_EMR_MANAGED_POLICIES, TAG_EXECUTION, TAG_STACK, build_plan, spark_submit_args
from transient_analytics.settings import PrepareRunSettings

NOW = datetime(2026, 11, 25, 20, 16, 5, tzinfo=UTC)
SETTINGS = PrepareRunSettings(
    DATA_BUCKET="ta-dev-data",
    NAME_PREFIX="transient-analytics-dev",
    TRANSFORM_JOB_BASE_NAME="ta-abalone",
    EMR_CONFIGURATIONS='[{"Classification": "spark-defaults", "Properties": {"spark.executor.memory": "4g"}}]',
)


def event(name: str) -> PrepareRunEvent:
    return parse_event(load_event(name), PrepareRunEvent)


def test_scheduled_emr_run_dates_every_path_by_the_scheduled_time_not_the_clock():
    plan = build_plan(event("prepare_run/scheduled_emr"), SETTINGS, NOW, [])
    assert plan.scheduled_time == "2026-11-25T20:15:00Z"
    assert plan.trigger == "schedule"
    assert plan.emr.input_uri == "s3://ta-dev-data/landing/characters/dt=2026-11-25/hour=20/minute=15/"
    assert plan.emr.output_uri == "s3://ta-dev-data/curated/characters/dt=2026-11-25/hour=20/minute=15/"
    assert plan.emr.log_uri == "s3://ta-dev-data/logs/emr/dt=2026-11-25/hour=20/minute=15/"
    assert plan.transform is None


def test_spark_step_gets_the_job_the_dated_paths_and_the_partition_column():
    plan = build_plan(event("prepare_run/scheduled_emr"), SETTINGS, NOW, [])
    args = plan.emr.spark_submit_args
    assert args[:4] == ["spark-submit", "--deploy-mode", "cluster", "s3://ta-dev-data/artifacts/jobs/csv_to_parquet.py"]
    assert args[args.index("--input") + 1] == plan.emr.input_uri
    assert args[args.index("--output") + 1] == plan.emr.output_uri
    assert args[args.index("--partition-column") + 1] == "class"
    assert args[args.index("--schema") + 1] == "s3://ta-dev-data/artifacts/jobs/schemas/characters.json"


def test_cluster_is_tagged_with_its_execution_and_stack_so_it_can_be_found_and_scoped():
    plan = build_plan(event("prepare_run/scheduled_emr"), SETTINGS, NOW, [])
    tags = {t.Key: t.Value for t in plan.emr.tags}
    assert tags[TAG_EXECUTION] == plan.execution_arn
    assert tags[TAG_STACK] == "transient-analytics-dev"
    # AmazonEMRServicePolicy_v2 lets the EMR service role act only on resources with this tag.
    assert tags[TAG_EMR_MANAGED_POLICIES] == "true"


def test_cluster_shape_is_on_demand_primary_and_core_with_idle_auto_termination():
    plan = build_plan(event("prepare_run/scheduled_emr"), SETTINGS, NOW, [])
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
    plan = build_plan(event("prepare_run/scheduled_emr"), settings, NOW, [])
    task = plan.emr.instances["InstanceGroups"][-1]
    assert (task["InstanceRole"], task["Market"], task["InstanceCount"]) == ("TASK", "SPOT", 3)
    assert plan.emr.instances["Ec2SubnetId"] == "subnet-0123456789abcdef0"


def test_spark_tuning_comes_from_the_configuration_not_the_code():
    plan = build_plan(event("prepare_run/scheduled_emr"), SETTINGS, NOW, [])
    assert plan.emr.configurations == [
        {"Classification": "spark-defaults", "Properties": {"spark.executor.memory": "4g"}}
    ]


def test_transform_run_gets_a_valid_job_name_prefix_and_a_per_run_output_prefix():
    plan = build_plan(event("prepare_run/scheduled_transform"), SETTINGS, NOW, [])
    assert plan.transform.job_name_prefix.startswith("ta-abalone-202611250600-")
    assert naming.is_valid_transform_job_name(naming.transform_job_name(plan.transform.job_name_prefix, 99, 1000))
    assert plan.transform.input_uri == "s3://ta-dev-data/batch/abalone/input/dt=2026-11-25/hour=06/minute=00/"
    assert plan.transform.output_uri.endswith(f"/dt=2026-11-25/hour=06/minute=00/run={plan.run_id}/")
    assert plan.emr is None


def test_backfill_processes_the_requested_slot():
    plan = build_plan(event("prepare_run/backfill_emr"), SETTINGS, NOW, [])
    assert (plan.trigger, plan.scheduled_time) == ("backfill", "2026-11-20T06:00:00Z")


def test_empty_input_runs_now_truncated_to_the_minute_as_a_manual_run():
    plan = build_plan(event("prepare_run/empty_input_transform"), SETTINGS, NOW, [])
    assert (plan.trigger, plan.scheduled_time) == ("manual", "2026-11-25T20:16:00Z")


def test_a_time_given_without_trigger_is_a_backfill():
    raw = load_event("prepare_run/scheduled_emr")
    del raw["input"]["trigger"]
    plan = build_plan(parse_event(raw, PrepareRunEvent), SETTINGS, NOW, [])
    assert plan.trigger == "backfill"


def test_a_scheduled_time_in_the_future_is_rejected_naming_the_field_and_the_rule():
    raw = load_event("prepare_run/scheduled_emr")
    raw["input"]["scheduled_time"] = (NOW + timedelta(hours=2)).isoformat()
    with pytest.raises(
        InvalidEventError, match=r"input\.scheduled_time: must not be more than 15 minutes in the future"
    ):
        build_plan(parse_event(raw, PrepareRunEvent), SETTINGS, NOW, [])


def test_a_backfill_older_than_the_limit_is_rejected_naming_the_setting():
    raw = load_event("prepare_run/scheduled_emr")
    raw["input"]["scheduled_time"] = "2020-01-01T00:00:00Z"
    with pytest.raises(InvalidEventError, match=r"input\.scheduled_time: must be within 366 days.*MAX_BACKFILL_DAYS"):
        build_plan(parse_event(raw, PrepareRunEvent), SETTINGS, NOW, [])


def test_a_run_that_finds_an_earlier_execution_running_is_skipped_and_says_which():
    ev = event("prepare_run/scheduled_emr")
    earlier = RunningExecution(arn=ev.execution.id.replace("3f1c", "0000"), start_date=NOW - timedelta(minutes=20))
    me = RunningExecution(arn=ev.execution.id, start_date=NOW)
    plan = build_plan(ev, SETTINGS, NOW, [earlier, me])
    assert plan.skip is True
    assert plan.blocking_execution_arn == earlier.arn
    assert earlier.arn in plan.skip_reason


def test_spark_submit_args_run_in_cluster_mode_and_overwrite_the_slot():
    args = spark_submit_args("s3://b/job.py", "s3://b/in/", "s3://b/out/", "class", "s3://b/schema.json")
    assert args[1:3] == ["--deploy-mode", "cluster"]
    assert args[-2:] == ["--mode", "overwrite"]
