from datetime import UTC, datetime, timedelta, timezone

import pytest

from transient_analytics import layout

T = datetime(2026, 11, 25, 20, 15, 42, tzinfo=UTC)


def test_slot_path_is_hive_style_and_truncated_to_the_minute():
    assert layout.slot_path(T) == "dt=2026-11-25/hour=20/minute=15"


def test_slot_path_is_dated_in_utc_whatever_the_offset_of_the_given_time():
    tokyo = T.astimezone(timezone(timedelta(hours=9)))
    assert layout.slot_path(tokyo) == "dt=2026-11-25/hour=20/minute=15"


def test_slot_path_rejects_naive_times():
    with pytest.raises(ValueError):
        layout.slot_path(datetime(2026, 11, 25))


def test_each_pipeline_reads_and_writes_below_its_own_root():
    assert layout.emr_input_prefix(T) == "landing/characters/dt=2026-11-25/hour=20/minute=15/"
    assert layout.emr_output_prefix(T) == "curated/characters/dt=2026-11-25/hour=20/minute=15/"
    assert layout.transform_input_prefix(T) == "batch/abalone/input/dt=2026-11-25/hour=20/minute=15/"
    assert (
        layout.transform_output_prefix(T, "20261125T2015Z-0123abcd")
        == "batch/abalone/output/dt=2026-11-25/hour=20/minute=15/run=20261125T2015Z-0123abcd/"
    )


def test_s3_uri_joins_bucket_and_key_with_one_slash():
    assert layout.s3_uri("b", "/a/b") == "s3://b/a/b"
