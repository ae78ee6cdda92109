import pytest

from offline.cfn.template import load_template
from tests.support import ROOT, load_event
from transient_analytics.errors import ConfigurationError, InvalidEventError
from transient_analytics.models import ExecutionStatusChangeEvent, PrepareRunEvent, RecordSlotsEvent, parse_event
from transient_analytics.settings import NotifyFailureSettings, PrepareRunSettings, RecordSlotsSettings, load_settings


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


@pytest.mark.parametrize("name", ["step_succeeded_emr", "step_failed_emr", "cluster_failed_emr", "transform"])
def test_every_record_slots_fixture_parses(name):
    event = parse_event(load_event(f"record_slots/{name}"), RecordSlotsEvent)
    assert event.plan.slots and event.execution.id.startswith("arn:aws:states:")


def test_malformed_record_slots_event_names_every_bad_field_and_its_rule():
    with pytest.raises(InvalidEventError) as err:
        parse_event(load_event("record_slots/malformed"), RecordSlotsEvent)
    message = str(err.value)
    for expected in (
        "outcome: Input should be 'step_succeeded', 'step_failed', 'cluster_failed', 'termination_failed' or 'transform'",
        "execution.id: String should match pattern",
        "plan.run_id: String should have at least 1 character",
        "plan.slots: List should have at least 1 item",
    ):
        assert expected in message, expected


def test_a_backfill_request_names_its_ends_from_and_to():
    raw = load_event("prepare_run/backfill_range_emr")
    request = parse_event(raw, PrepareRunEvent).input.backfill
    assert (request.from_, request.to) == ("2026-11-25T18:00Z", "2026-11-25T19:00Z")
    raw["input"]["backfill"] = {"start": "2026-11-25T18:00Z", "to": "2026-11-25T19:00Z"}
    with pytest.raises(InvalidEventError, match=r"input\.backfill\.from: Field required"):
        parse_event(raw, PrepareRunEvent)


def _template_value(template: dict, value: object) -> object:
    if isinstance(value, dict) and set(value) == {"Ref"} and value["Ref"] in template.get("Parameters", {}):
        return str(template["Parameters"][value["Ref"]].get("Default"))
    return value if isinstance(value, str) else None  # a resource reference: its physical name is the stack's


@pytest.mark.parametrize("function", ["PrepareRunFunction", "RecordSlotsFunction", "NotifyFailureFunction"])
def test_the_sam_local_environment_names_only_variables_the_template_sets_with_the_templates_defaults(function):
    template = load_template(ROOT / "template.yaml")
    declared = template["Resources"][function]["Properties"]["Environment"]["Variables"]
    local = load_event("env")[function]
    assert set(local) <= set(declared), set(local) - set(declared)
    for key, value in local.items():
        expected = _template_value(template, declared[key])
        if expected is not None and not expected.startswith("["):
            assert value == expected, key


def test_the_sam_local_environment_of_the_ledger_functions_is_complete():
    template = load_template(ROOT / "template.yaml")
    for function in ("RecordSlotsFunction",):
        declared = template["Resources"][function]["Properties"]["Environment"]["Variables"]
        assert set(load_event("env")[function]) == set(declared)
    prepare = load_event("env")["PrepareRunFunction"]
    assert {"LEDGER_TABLE", "EMR_LOOKBACK_HOURS", "EMR_MAX_SLOTS_PER_RUN", "PARTITION_VALUES"} <= set(prepare)
    load_settings(PrepareRunSettings, prepare)
    load_settings(RecordSlotsSettings, load_event("env")["RecordSlotsFunction"])
