from datetime import UTC, datetime, timedelta, timezone

import pytest

from transient_analytics import naming

T = datetime(2026, 11, 25, 20, 15, tzinfo=UTC)
ARN = "arn:aws:states:us-east-1:123456789012:execution:transient-analytics-dev-batch-transform:run-1"


def test_run_id_names_the_scheduled_minute_in_utc_and_the_execution():
    assert naming.run_id(T, ARN) == f"20261125T2015Z-{naming.execution_digest(ARN)}"


def test_run_id_is_the_same_for_the_same_instant_in_another_time_zone():
    berlin = T.astimezone(timezone(timedelta(hours=1)))
    assert naming.run_id(berlin, ARN) == naming.run_id(T, ARN)


def test_naive_times_are_rejected_because_their_meaning_depends_on_the_machine():
    with pytest.raises(ValueError, match="timezone-aware"):
        naming.run_id(datetime(2026, 11, 25, 20, 15), ARN)


def test_two_executions_in_the_same_minute_get_different_job_name_prefixes():
    a = naming.transform_job_name_prefix("ta-abalone", T, ARN)
    b = naming.transform_job_name_prefix("ta-abalone", T, ARN + "x")
    assert a != b


def test_job_name_prefix_leaves_room_for_the_longest_retry_and_redrive_suffix():
    prefix = naming.transform_job_name_prefix("x" * 200, T, ARN)
    longest = naming.transform_job_name(prefix, naming.MAX_RETRY_COUNT, naming.MAX_REDRIVE_COUNT)
    assert len(longest) <= naming.SAGEMAKER_JOB_NAME_MAX
    assert naming.is_valid_transform_job_name(longest)


def test_job_name_is_prefix_retry_and_redrive_as_the_state_machine_formats_it():
    assert naming.transform_job_name("ta-abalone-202611250600-0123abcd", 1, 2) == "ta-abalone-202611250600-0123abcd-1-2"


@pytest.mark.parametrize("retry, redrive", [(-1, 0), (0, -1), (100, 0), (0, 1001)])
def test_job_name_rejects_counts_outside_what_step_functions_can_produce(retry, redrive):
    with pytest.raises(ValueError, match="must be between"):
        naming.transform_job_name("ta-abalone-202611250600-0123abcd", retry, redrive)


@pytest.mark.parametrize(
    "base, expected",
    [("TA_Abalone", "ta-abalone"), ("--a--b--", "a-b"), ("stack.name/with spaces", "stack-name-with-spaces")],
)
def test_base_names_are_lowercased_and_reduced_to_letters_digits_and_single_hyphens(base, expected):
    assert naming.sanitize_base_name(base, 33) == expected


def test_a_base_name_without_letters_or_digits_is_rejected():
    with pytest.raises(ValueError, match="no letters or digits"):
        naming.sanitize_base_name("---", 33)


@pytest.mark.parametrize(
    "name, valid",
    [("a", True), ("a-b--c", True), ("-a", False), ("a-", False), ("a_b", False), ("a" * 63, True), ("a" * 64, False)],
)
def test_sagemaker_job_name_rule(name, valid):
    assert naming.is_valid_transform_job_name(name) is valid


def test_cluster_name_is_readable_and_unique_per_execution():
    name = naming.cluster_name("transient-analytics-dev", "emr", T, ARN)
    assert name.startswith("transient-analytics-dev-emr-20261125T2015Z-")
    assert name != naming.cluster_name("transient-analytics-dev", "emr", T, ARN + "2")
