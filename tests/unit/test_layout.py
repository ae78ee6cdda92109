from datetime import UTC, datetime, timedelta, timezone

import pytest

from transient_analytics import layout

T = datetime(2026, 11, 25, 20, 15, 42, tzinfo=UTC)
SLOT = datetime(2026, 11, 25, 20, 15, tzinfo=UTC)
DAY = datetime(2026, 11, 25, tzinfo=UTC)


def test_slot_path_is_hive_style_and_truncated_to_the_minute():
    assert layout.slot_path(T) == "dt=2026-11-25/hour=20/minute=15"


def test_slot_path_is_dated_in_utc_whatever_the_offset_of_the_given_time():
    tokyo = T.astimezone(timezone(timedelta(hours=9)))
    assert layout.slot_path(tokyo) == "dt=2026-11-25/hour=20/minute=15"


def test_slot_path_rejects_naive_times():
    with pytest.raises(ValueError):
        layout.slot_path(datetime(2026, 11, 25))


def test_emr_slots_read_and_write_below_their_15_minute_paths_with_the_manifest_beside_the_output():
    assert layout.emr_input_prefix(SLOT) == "landing/characters/dt=2026-11-25/hour=20/minute=15/"
    assert layout.emr_output_prefix(SLOT) == "curated/characters/dt=2026-11-25/hour=20/minute=15/"
    assert layout.manifest_key(SLOT) == "curated/characters/dt=2026-11-25/hour=20/minute=15/_manifest.json"
    assert layout.run_report_key("emr", "20261125T2015Z-0123abcd") == "runs/emr/20261125T2015Z-0123abcd/report.json"


def test_transform_slots_are_daily_prefixes_and_each_run_writes_its_own_output_folder():
    assert layout.transform_input_prefix(DAY) == "batch/abalone/input/dt=2026-11-25/"
    assert layout.transform_input_prefix(T) == "batch/abalone/input/dt=2026-11-25/"
    assert (
        layout.transform_output_prefix(DAY, "20261125T2015Z-0123abcd")
        == "batch/abalone/output/dt=2026-11-25/run=20261125T2015Z-0123abcd/"
    )


def test_one_day_prefix_covers_every_slot_of_that_utc_day():
    assert layout.input_day_prefix("emr", T) == "landing/characters/dt=2026-11-25/"
    assert layout.input_day_prefix("transform", T) == "batch/abalone/input/dt=2026-11-25/"
    assert layout.emr_input_prefix(SLOT).startswith(layout.input_day_prefix("emr", SLOT))
    assert layout.input_prefix("emr", SLOT) == layout.emr_input_prefix(SLOT)
    assert layout.input_prefix("transform", DAY) == layout.transform_input_prefix(DAY)


def test_s3_uri_joins_bucket_and_key_with_one_slash():
    assert layout.s3_uri("b", "/a/b") == "s3://b/a/b"


@pytest.mark.parametrize(
    ("pipeline", "key", "expected"),
    [
        ("emr", "landing/characters/dt=2026-11-25/hour=20/minute=15/part-0.csv", SLOT),
        ("emr", "landing/characters/dt=2026-11-25/hour=20/minute=15/sub/dir/x.csv", SLOT),
        ("transform", "batch/abalone/input/dt=2026-11-25/batch-1.csv", DAY),
        ("transform", "batch/abalone/input/dt=2026-11-25/more/batch-2.csv", DAY),
    ],
)
def test_a_landing_object_belongs_to_the_slot_its_path_names(pipeline, key, expected):
    assert layout.slot_of_key(pipeline, key) == expected


@pytest.mark.parametrize(
    ("pipeline", "key"),
    [
        # markers and temporary files (Spark ignores them, so must the fingerprint)
        ("emr", "landing/characters/dt=2026-11-25/hour=20/minute=15/_SUCCESS"),
        ("emr", "landing/characters/dt=2026-11-25/hour=20/minute=15/.part-0.csv.crc"),
        ("transform", "batch/abalone/input/dt=2026-11-25/_tmp"),
        ("transform", "batch/abalone/input/dt=2026-11-25/.hidden.csv"),
        # folder placeholders the console creates
        ("emr", "landing/characters/dt=2026-11-25/hour=20/minute=15/"),
        ("transform", "batch/abalone/input/dt=2026-11-25/"),
        # keys outside the layout
        ("emr", "landing/other/dt=2026-11-25/hour=20/minute=15/a.csv"),
        ("emr", "landing/characters/a.csv"),
        ("emr", "landing/characters/dt=2026-11-25/a.csv"),  # no hour/minute: not an EMR slot
        ("emr", "landing/characters/dt=2026-11-25/hour=20/minute=61/a.csv"),
        ("emr", "landing/characters/dt=2026-13-01/hour=20/minute=15/a.csv"),
        ("transform", "batch/abalone/input/dt=2026-11-25/hour=20/minute=15/a.csv"),  # an EMR path in transform
        ("transform", "batch/abalone/output/dt=2026-11-25/run=x/a.csv.out"),
        ("emr", "batch/abalone/input/dt=2026-11-25/a.csv"),  # the other pipeline's root
    ],
)
def test_keys_outside_the_layout_markers_and_folders_belong_to_no_slot(pipeline, key):
    assert layout.slot_of_key(pipeline, key) is None


def test_slot_of_key_inverts_the_input_prefixes():
    assert layout.slot_of_key("emr", layout.emr_input_prefix(SLOT) + "a.csv") == SLOT
    assert layout.slot_of_key("transform", layout.transform_input_prefix(DAY) + "a.csv") == DAY


def test_split_s3_uri_is_the_inverse_of_s3_uri_and_refuses_anything_else():
    assert layout.split_s3_uri(layout.s3_uri("bucket", "a/b.json")) == ("bucket", "a/b.json")
    assert layout.split_s3_uri("s3://bucket") == ("bucket", "")
    with pytest.raises(ValueError, match="not an s3:// URI: 'https://bucket/a'"):
        layout.split_s3_uri("https://bucket/a")
