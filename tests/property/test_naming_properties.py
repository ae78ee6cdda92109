"""Property-based: whatever the execution, time, retry and redrive, names and paths stay valid."""

import re
from datetime import UTC, datetime, timedelta, timezone

from hypothesis import given, settings
from hypothesis import strategies as st

from transient_analytics import layout, naming
from transient_analytics.slots import GRIDS, parse_slot_id, slot_id

# Step Functions execution names: 1-80 characters, no whitespace, no : and a few other symbols.
execution_names = st.text(
    alphabet=st.characters(
        blacklist_categories=("Cs", "Zs", "Zl", "Zp", "Cc"), blacklist_characters=':<>{}[]?*"#%\\^|~`$&,;/'
    ),
    min_size=1,
    max_size=80,
)
state_machine_names = st.from_regex(r"[A-Za-z0-9_-]{1,80}", fullmatch=True)
base_names = st.text(min_size=1, max_size=100).filter(lambda s: re.search(r"[A-Za-z0-9]", s))
times = st.datetimes(
    min_value=datetime(2000, 1, 1),
    max_value=datetime(2099, 12, 31),
    timezones=st.sampled_from([UTC, timezone(timedelta(hours=-7)), timezone(timedelta(hours=5, minutes=30))]),
)
retries = st.integers(0, naming.MAX_RETRY_COUNT)
redrives = st.integers(0, naming.MAX_REDRIVE_COUNT)


def execution_arn(sm: str, name: str) -> str:
    return f"arn:aws:states:us-east-1:123456789012:execution:{sm}:{name}"


@settings(max_examples=400)
@given(base=base_names, sm=state_machine_names, name=execution_names, t=times, retry=retries, redrive=redrives)
def test_any_execution_time_retry_and_redrive_give_a_valid_sagemaker_job_name(base, sm, name, t, retry, redrive):
    prefix = naming.transform_job_name_prefix(base, t, execution_arn(sm, name))
    job = naming.transform_job_name(prefix, retry, redrive)
    assert len(job) <= 63
    assert naming.SAGEMAKER_JOB_NAME_PATTERN.fullmatch(job)


@settings(max_examples=200)
@given(
    name=execution_names,
    t=times,
    attempts=st.lists(st.tuples(retries, redrives), min_size=2, max_size=20, unique=True),
)
def test_every_attempt_and_redrive_of_one_execution_gets_its_own_name(name, t, attempts):
    prefix = naming.transform_job_name_prefix("ta-abalone", t, execution_arn("sm", name))
    names = [naming.transform_job_name(prefix, r, d) for r, d in attempts]
    assert len(set(names)) == len(names)


@settings(max_examples=200)
@given(names=st.lists(execution_names, min_size=2, max_size=30, unique=True), t=times)
def test_different_executions_in_the_same_minute_get_different_prefixes(names, t):
    prefixes = {naming.transform_job_name_prefix("ta-abalone", t, execution_arn("sm", n)) for n in names}
    assert len(prefixes) == len(names)


@settings(max_examples=100)
@given(t=times, name=execution_names)
def test_dated_paths_are_hive_style_utc_and_end_with_a_slash(t, name):
    run_id = naming.run_id(t, execution_arn("sm", name))
    utc = t.astimezone(UTC)
    emr_slot = GRIDS["emr"].start_of(t)
    day = GRIDS["transform"].start_of(t)
    for prefix in (layout.emr_input_prefix(emr_slot), layout.emr_output_prefix(emr_slot)):
        assert prefix.endswith("/") and "//" not in prefix
        assert f"/dt={utc:%Y-%m-%d}/hour={utc:%H}/minute={emr_slot:%M}/" in prefix
        assert re.fullmatch(r"[a-z/]+/dt=\d{4}-\d{2}-\d{2}/hour=\d{2}/minute=(00|15|30|45)/", prefix)
    for prefix in (layout.transform_input_prefix(day), layout.transform_output_prefix(day, run_id)):
        assert prefix.endswith("/") and "//" not in prefix
        assert f"/dt={utc:%Y-%m-%d}/" in prefix and "hour=" not in prefix
        assert re.fullmatch(r"[a-z/]+/dt=\d{4}-\d{2}-\d{2}/(run=\d{8}T\d{4}Z-[0-9a-f]{8}/)?", prefix)


@settings(max_examples=100)
@given(
    t=times, pipeline=st.sampled_from(["emr", "transform"]), name=st.from_regex(r"[a-z0-9-]{1,20}\.csv", fullmatch=True)
)
def test_every_landing_object_belongs_to_the_slot_whose_input_prefix_holds_it(t, pipeline, name):
    start = GRIDS[pipeline].start_of(t)
    key = layout.input_prefix(pipeline, start) + name
    assert layout.slot_of_key(pipeline, key) == start
    assert key.startswith(layout.input_day_prefix(pipeline, start))  # one day listing finds it
    assert layout.slot_of_key(pipeline, layout.input_prefix(pipeline, start) + "_" + name) is None
    other = "transform" if pipeline == "emr" else "emr"
    assert layout.slot_of_key(other, key) is None


@settings(max_examples=100)
@given(t=times, pipeline=st.sampled_from(["emr", "transform"]))
def test_slot_ids_round_trip_for_any_slot(t, pipeline):
    start = GRIDS[pipeline].start_of(t)
    assert parse_slot_id(slot_id(start)) == start
    assert GRIDS[pipeline].is_boundary(start) and GRIDS[pipeline].end_of(start) - start == GRIDS[pipeline].length


@given(t=times, name=execution_names, base=base_names)
def test_cluster_names_fit_emr_and_carry_the_run_id(t, name, base):
    arn = execution_arn("sm", name)
    cluster = naming.cluster_name(base, "emr", t, arn)
    assert len(cluster) <= naming.EMR_CLUSTER_NAME_MAX
    assert cluster.endswith(naming.run_id(t, arn))
