from datetime import timedelta

import boto3
import pytest

from tests.support import FakeLambdaContext, load_event
from transient_analytics.errors import ConfigurationError, InvalidEventError


def test_scheduled_emr_event_returns_a_plan_dated_by_the_scheduled_time(prepare_run, state_machines):
    plan = prepare_run.lambda_handler(load_event("prepare_run/scheduled_emr"), FakeLambdaContext())
    assert plan["skip"] is False
    assert plan["scheduled_time"] == "2026-11-25T20:15:00Z"
    assert (
        plan["emr"]["input_uri"]
        == "s3://transient-analytics-dev-databucket/landing/characters/dt=2026-11-25/hour=20/minute=15/"
    )
    assert plan["emr"]["spark_submit_args"][0] == "spark-submit"


def test_transform_event_returns_a_job_name_prefix_and_no_emr_section(prepare_run, state_machines):
    plan = prepare_run.lambda_handler(load_event("prepare_run/scheduled_transform"), FakeLambdaContext())
    assert plan["emr"] is None
    assert plan["transform"]["job_name_prefix"].startswith("ta-abalone-202611250600-")


def test_a_run_is_skipped_while_an_earlier_execution_of_its_state_machine_runs(prepare_run, state_machines):
    sfn = boto3.client("stepfunctions")
    earlier = sfn.start_execution(stateMachineArn=state_machines["emr"], name="earlier")["executionArn"]
    event = load_event("prepare_run/scheduled_emr")
    plan = prepare_run.lambda_handler(event, FakeLambdaContext())
    assert plan["skip"] is True
    assert plan["blocking_execution_arn"] == earlier


def test_a_running_execution_of_the_other_state_machine_does_not_block(prepare_run, state_machines):
    sfn = boto3.client("stepfunctions")
    sfn.start_execution(stateMachineArn=state_machines["transform"], name="transform-running")
    plan = prepare_run.lambda_handler(load_event("prepare_run/scheduled_emr"), FakeLambdaContext())
    assert plan["skip"] is False


def test_once_the_earlier_execution_stops_the_next_run_goes_ahead(prepare_run, state_machines):
    sfn = boto3.client("stepfunctions")
    earlier = sfn.start_execution(stateMachineArn=state_machines["emr"], name="earlier")["executionArn"]
    sfn.stop_execution(executionArn=earlier)
    plan = prepare_run.lambda_handler(load_event("prepare_run/scheduled_emr"), FakeLambdaContext())
    assert plan["skip"] is False


def test_malformed_event_fails_with_an_error_naming_fields_before_any_aws_call(prepare_run, monkeypatch):
    calls = []
    monkeypatch.setattr(prepare_run, "executions", lambda: calls.append("called"))
    with pytest.raises(InvalidEventError, match=r"pipeline: Input should be 'emr' or 'transform'"):
        prepare_run.lambda_handler(load_event("prepare_run/malformed"), FakeLambdaContext())
    assert calls == []


def test_a_backfill_beyond_the_limit_is_refused(prepare_run, state_machines, monkeypatch):
    monkeypatch.setattr(prepare_run, "now", lambda: prepare_run_now(prepare_run) + timedelta(days=400))
    with pytest.raises(InvalidEventError, match="MAX_BACKFILL_DAYS"):
        prepare_run.lambda_handler(load_event("prepare_run/backfill_emr"), FakeLambdaContext())


def prepare_run_now(module):
    from tests.functions.conftest import NOW

    return NOW


def test_a_missing_environment_variable_is_named(prepare_run, state_machines, monkeypatch):
    monkeypatch.delenv("DATA_BUCKET")
    prepare_run.settings.cache_clear()
    with pytest.raises(ConfigurationError, match="environment.DATA_BUCKET: Field required"):
        prepare_run.lambda_handler(load_event("prepare_run/scheduled_emr"), FakeLambdaContext())


def test_with_two_runs_in_flight_the_earlier_goes_ahead_and_the_later_skips(prepare_run, state_machines):
    sfn = boto3.client("stepfunctions")
    first = sfn.start_execution(stateMachineArn=state_machines["emr"], name="first")["executionArn"]
    second = sfn.start_execution(stateMachineArn=state_machines["emr"], name="second")["executionArn"]

    def event_for(arn: str) -> dict:
        event = load_event("prepare_run/scheduled_emr")
        event["execution"]["id"], event["execution"]["name"] = arn, arn.rsplit(":", 1)[-1]
        return event

    first_plan = prepare_run.lambda_handler(event_for(first), FakeLambdaContext())
    second_plan = prepare_run.lambda_handler(event_for(second), FakeLambdaContext())
    assert (first_plan["skip"], second_plan["skip"]) == (False, True)
    assert second_plan["blocking_execution_arn"] == first
    # WHEN the first finishes while a third starts, the third goes ahead (the second has ended skipped)
    sfn.stop_execution(executionArn=first)
    sfn.stop_execution(executionArn=second)
    third = sfn.start_execution(stateMachineArn=state_machines["emr"], name="third")["executionArn"]
    assert prepare_run.lambda_handler(event_for(third), FakeLambdaContext())["skip"] is False
