import pytest

from tests.support import load_event
from transient_analytics.errors import ConfigurationError, InvalidEventError
from transient_analytics.models import ExecutionStatusChangeEvent, PrepareRunEvent, parse_event
from transient_analytics.settings import NotifyFailureSettings, PrepareRunSettings, load_settings


def test_malformed_prepare_run_event_names_every_bad_field_and_its_rule():
    with pytest.raises(InvalidEventError) as err:
        parse_event(load_event("prepare_run/malformed"), PrepareRunEvent)
    message = str(err.value)
    for expected in (
        "pipeline: Input should be 'emr' or 'transform'",
        "input.scheduled_time:",
        "input.trigger: Input should be 'schedule', 'backfill' or 'manual'",
        "input.bucket: Extra inputs are not permitted",
        "execution.id: String should match pattern",
        "execution.state_machine_arn: Field required",
    ):
        assert expected in message


def test_a_non_object_event_is_rejected_with_a_clear_message():
    with pytest.raises(InvalidEventError, match="must be a JSON object"):
        parse_event(["not", "an", "object"], PrepareRunEvent)


def test_a_time_without_offset_is_rejected_because_it_has_no_single_meaning():
    raw = load_event("prepare_run/scheduled_emr")
    raw["input"]["scheduled_time"] = "2026-11-25T20:15:00"
    with pytest.raises(InvalidEventError, match="input.scheduled_time: Input should have timezone info"):
        parse_event(raw, PrepareRunEvent)


@pytest.mark.parametrize(
    "name", ["failed_emr_step", "failed_transform", "timed_out_emr", "aborted_emr", "other_state_machine"]
)
def test_every_status_change_fixture_parses(name):
    change = parse_event(load_event(f"notify_failure/{name}"), ExecutionStatusChangeEvent)
    assert change.detail.executionArn.startswith("arn:aws:states:")


def test_malformed_status_change_names_the_fields():
    with pytest.raises(InvalidEventError) as err:
        parse_event(load_event("notify_failure/malformed"), ExecutionStatusChangeEvent)
    message = str(err.value)
    assert "detail.status: Input should be" in message
    assert "detail.startDate: Input should be a valid integer" in message
    assert "detail.stateMachineArn: Field required" in message


def test_settings_report_the_missing_or_malformed_variable_by_name():
    with pytest.raises(ConfigurationError) as err:
        load_settings(PrepareRunSettings, {"DATA_BUCKET": "Bad_Bucket", "EMR_CONFIGURATIONS": "[not json"})
    message = str(err.value)
    assert "environment.DATA_BUCKET: String should match pattern" in message
    assert "environment.NAME_PREFIX: Field required" in message
    assert "environment.EMR_CONFIGURATIONS: Value error, must be a JSON list of EMR configurations" in message


def test_notify_settings_know_which_state_machines_are_ours(monkeypatch):
    env = load_event("env")["NotifyFailureFunction"]
    settings = load_settings(NotifyFailureSettings, env)
    assert settings.pipeline_for(env["EMR_STATE_MACHINE_ARN"]) == "emr"
    assert settings.pipeline_for(env["TRANSFORM_STATE_MACHINE_ARN"]) == "transform"
    assert settings.pipeline_for(env["EMR_STATE_MACHINE_ARN"] + "-other") is None
