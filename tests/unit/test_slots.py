"""Slots: the grid, closed slots in a window, slot ids, fingerprints, and backfill ranges."""

from datetime import UTC, datetime, timedelta, timezone

import pytest

from transient_analytics.errors import InvalidEventError
from transient_analytics.slots import GRIDS, ObjectRef, fingerprint, parse_range, parse_slot_id, slot_id

EMR = GRIDS["emr"]
DAY = GRIDS["transform"]


def t(hh: int, mm: int, ss: int = 0, day: int = 25) -> datetime:
    return datetime(2026, 11, day, hh, mm, ss, tzinfo=UTC)


def test_emr_slots_are_15_minutes_and_transform_slots_one_utc_day():
    assert EMR.start_of(t(20, 29, 59)) == t(20, 15)
    assert EMR.start_of(t(20, 30)) == t(20, 30)  # half-open: the end belongs to the next slot
    assert EMR.end_of(t(20, 15)) == t(20, 30)
    assert DAY.start_of(t(23, 59, 59)) == t(0, 0)
    assert DAY.end_of(t(0, 0)) == t(0, 0, day=26)


def test_the_grid_is_utc_whatever_the_offset_of_the_given_time():
    india = t(0, 10).astimezone(timezone(timedelta(hours=5, minutes=30)))  # 05:40 local
    assert EMR.start_of(india) == t(0, 0)
    assert DAY.start_of(india) == t(0, 0)


def test_boundaries_are_exactly_the_slot_starts():
    assert EMR.is_boundary(t(20, 15)) and not EMR.is_boundary(t(20, 16))
    assert not EMR.is_boundary(t(20, 15, 1))
    assert DAY.is_boundary(t(0, 0)) and not DAY.is_boundary(t(20, 15))


def test_naive_times_are_refused():
    with pytest.raises(ValueError, match="timezone-aware"):
        EMR.start_of(datetime(2026, 11, 25, 20, 15))


def test_between_lists_the_slots_from_the_one_holding_first_up_to_end_excluded():
    assert EMR.between(t(20, 20), t(21, 0)) == [t(20, 15), t(20, 30), t(20, 45)]
    assert EMR.between(t(21, 0), t(21, 0)) == []


def test_closed_slots_in_a_window_end_at_or_before_now_oldest_first():
    # at 20:16:05 the 20:15 slot is still filling: the last closed slot is 20:00
    slots = EMR.closed_in_window(t(20, 16, 5), timedelta(hours=1))
    assert slots == [t(19, 15), t(19, 30), t(19, 45), t(20, 0)]
    # exactly at a boundary the slot that just ended is closed
    assert EMR.closed_in_window(t(20, 15), timedelta(minutes=15)) == [t(20, 0)]


def test_a_24_hour_window_holds_96_emr_slots_across_two_utc_days():
    slots = EMR.closed_in_window(t(20, 16), timedelta(hours=24))
    assert len(slots) == 96
    assert slots[0] == t(20, 15, day=24) and slots[-1] == t(20, 0)
    assert {s.date() for s in slots} == {t(0, 0, day=24).date(), t(0, 0).date()}


def test_a_daily_window_holds_the_closed_days_only():
    assert DAY.closed_in_window(t(6, 0), timedelta(days=2)) == [t(0, 0, day=23), t(0, 0, day=24)]


def test_slot_ids_round_trip_and_are_utc():
    for start in (t(20, 15), t(0, 0), datetime(2024, 2, 29, 23, 45, tzinfo=UTC)):
        assert parse_slot_id(slot_id(start)) == start
    assert slot_id(t(20, 15)) == "2026-11-25T20:15Z"
    assert slot_id(t(20, 15).astimezone(timezone(timedelta(hours=-7)))) == "2026-11-25T20:15Z"


@pytest.mark.parametrize("text", ["2026-11-25T20:15", "2026-11-25 20:15Z", "2026-11-25T20:15:00Z", "", "x", 5, None])
def test_a_malformed_slot_id_names_the_field_and_the_expected_form(text):
    with pytest.raises(InvalidEventError, match=r"^input\.slot: must be a slot id like 2026-11-25T20:15Z"):
        parse_slot_id(text, "input.slot")


def test_a_slot_id_that_is_no_real_time_says_so():
    with pytest.raises(InvalidEventError, match=r"^slot: not a real date and time"):
        parse_slot_id("2026-02-30T25:00Z")


def ref(key: str, etag: str = '"e1"', size: int = 10) -> ObjectRef:
    return ObjectRef(key=key, etag=etag, size=size)


def test_a_fingerprint_does_not_depend_on_the_listing_order_or_duplicates():
    a, b = ref("landing/a.csv"), ref("landing/b.csv", '"e2"', 20)
    assert fingerprint([a, b]) == fingerprint([b, a]) == fingerprint([a, b, a])
    fp = fingerprint([a, b])
    assert (fp.objects, fp.bytes, len(fp.digest)) == (2, 30, 32)


def test_a_fingerprint_changes_with_any_key_etag_or_size_and_with_a_new_object():
    base = fingerprint([ref("a.csv"), ref("b.csv")])
    for changed in (
        [ref("a.csv"), ref("c.csv")],
        [ref("a.csv"), ref("b.csv", '"e9"')],
        [ref("a.csv"), ref("b.csv", size=11)],
        [ref("a.csv"), ref("b.csv"), ref("late.csv")],
        [ref("a.csv")],
    ):
        assert fingerprint(changed).digest != base.digest


def test_a_fingerprint_ignores_the_quotes_s3_puts_around_etags():
    assert fingerprint([ref("a.csv", '"e1"')]) == fingerprint([ref("a.csv", "e1")])


def test_an_empty_slot_has_the_empty_fingerprint():
    assert (fingerprint([]).objects, fingerprint([]).bytes) == (0, 0)


def test_a_valid_range_lists_its_slots_end_excluded():
    rng = parse_range("2026-11-25T19:00Z", "2026-11-25T20:00Z", EMR, 10)
    assert rng.slots(EMR) == [t(19, 0), t(19, 15), t(19, 30), t(19, 45)]
    day = parse_range("2026-11-23T00:00Z", "2026-11-25T00:00Z", DAY, 10)
    assert day.slots(DAY) == [t(0, 0, day=23), t(0, 0, day=24)]


def test_a_range_ending_before_or_at_its_start_is_refused_naming_to_and_the_rule():
    for end in ("2026-11-25T19:00Z", "2026-11-25T18:45Z"):
        with pytest.raises(InvalidEventError, match=r"^input\.backfill\.to: must be after input\.backfill\.from"):
            parse_range("2026-11-25T19:00Z", end, EMR, 10, field="input.backfill")


def test_a_range_wider_than_the_limit_is_refused_naming_the_limit_and_the_count():
    with pytest.raises(InvalidEventError, match=r"^backfill: at most 4 slots per backfill \(got 5 slots"):
        parse_range("2026-11-25T19:00Z", "2026-11-25T20:15Z", EMR, 4)
    assert len(parse_range("2026-11-25T19:00Z", "2026-11-25T20:00Z", EMR, 4).slots(EMR)) == 4


def test_a_range_off_the_slot_boundaries_is_refused_naming_the_end_and_the_nearest_boundary():
    with pytest.raises(InvalidEventError, match=r"^backfill\.from: must be on a slot boundary \(slots are 15 minutes"):
        parse_range("2026-11-25T19:05Z", "2026-11-25T20:00Z", EMR, 10)
    with pytest.raises(
        InvalidEventError,
        match=r"^backfill\.to: must be on a slot boundary.*nearest earlier boundary 2026-11-25T19:45Z",
    ):
        parse_range("2026-11-25T19:00Z", "2026-11-25T19:50Z", EMR, 10)
    with pytest.raises(
        InvalidEventError, match=r"^backfill\.from: must be on a slot boundary \(slots are 1440 minutes"
    ):
        parse_range("2026-11-25T06:00Z", "2026-11-26T00:00Z", DAY, 10)


def test_a_malformed_range_end_is_refused_naming_which_end():
    with pytest.raises(InvalidEventError, match=r"^backfill\.from: must be a slot id"):
        parse_range("yesterday", "2026-11-25T20:00Z", EMR, 10)
    with pytest.raises(InvalidEventError, match=r"^backfill\.to: must be a slot id"):
        parse_range("2026-11-25T19:00Z", "2026-11-25T20:00", EMR, 10)
