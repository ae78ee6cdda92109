"""The slot ledger's rules: every transition, allowed and refused (the refusal names the rule), and select."""

from datetime import UTC, datetime, timedelta

import pytest

from transient_analytics.ledger import transitions
from transient_analytics.ledger.records import SlotCounts, SlotRecord, is_due, lease_expired
from transient_analytics.ledger.selection import select
from transient_analytics.ledger.transitions import TransitionRefused
from transient_analytics.slots import Fingerprint

NOW = datetime(2026, 11, 25, 20, 16, tzinfo=UTC)
LEASE = timedelta(hours=3)
SLOT = "2026-11-25T20:00Z"
FP = Fingerprint(digest="a" * 32, objects=2, bytes=300)
LATE = Fingerprint(digest="b" * 32, objects=3, bytes=420)
A, B = "arn:exec:A", "arn:exec:B"


def claim(record, holder=A, observed=FP, now=NOW, slot=SLOT):
    return transitions.claim(
        record,
        pipeline="emr",
        slot=slot,
        observed=observed,
        holder=holder,
        run_id=f"run-{holder[-1]}",
        now=now,
        lease=LEASE,
    )


def complete(record, holder=A, now=NOW):
    counts = SlotCounts(rows_read=10, rows_written=9, bad_rows=1)
    return transitions.complete(record, holder=holder, counts=counts, now=now, retention=timedelta(days=400))


def fail(record, holder=A, error="boom", max_attempts=3):
    return transitions.fail(record, holder=holder, error=error, now=NOW, max_attempts=max_attempts)


def release(record, holder=A):
    return transitions.release(record, holder=holder, error="no cluster", now=NOW)


def requeue(record, now=NOW):
    return transitions.requeue(record, pipeline="emr", slot=SLOT, now=now)


def refused(rule: str):
    return pytest.raises(TransitionRefused, match=rule)


# --------------------------------------------------------------------------- claim


def test_a_slot_without_a_record_is_claimed_running_for_its_contents_with_a_lease():
    r = claim(None)
    assert (r.state, r.version, r.attempts, r.holder, r.run_id) == ("running", 1, 0, A, "run-A")
    assert (r.fingerprint, r.objects, r.bytes) == ("a" * 32, 2, 300)
    assert r.lease_expires_at == NOW + LEASE
    assert r.is_open


def test_a_pending_slot_is_claimed_with_the_next_version():
    pending = release(claim(None))
    r = claim(pending, holder=B)
    assert (r.state, r.version, r.holder) == ("running", 3, B)


def test_a_failed_slot_is_claimed_again_keeping_its_attempts_and_last_error():
    failed = fail(claim(None))
    r = claim(failed, holder=B)
    assert (r.state, r.attempts, r.error, r.version) == ("running", 1, "boom", 3)


def test_a_running_slot_is_refused_to_another_holder_while_its_lease_runs():
    held = claim(None)
    with refused(rf"cannot claim emr slot {SLOT} \(running\): held by {A} until its lease ends"):
        claim(held, holder=B, now=NOW + LEASE - timedelta(seconds=1))


def test_a_running_slot_whose_lease_expired_is_claimable_by_another_holder():
    held = claim(None)
    assert lease_expired(held, NOW + LEASE)
    r = claim(held, holder=B, now=NOW + LEASE)
    assert (r.state, r.holder, r.version) == ("running", B, 2)
    assert r.lease_expires_at == NOW + 2 * LEASE


def test_a_done_slot_with_the_same_contents_is_refused():
    done = complete(claim(None))
    assert not is_due(done, FP, NOW)
    with refused(r"\(done\): already converted with these contents \(same fingerprint\)"):
        claim(done, holder=B)


def test_late_data_makes_a_done_slot_due_and_its_claim_starts_afresh():
    done = complete(claim(None))
    assert is_due(done, LATE, NOW)
    r = claim(done, holder=B, observed=LATE)
    assert (r.state, r.fingerprint, r.objects, r.attempts, r.error) == ("running", "b" * 32, 3, 0, None)


def test_a_quarantined_slot_is_refused_and_the_refusal_says_how_to_release_it():
    quarantined = fail(claim(None), max_attempts=1)
    assert not is_due(quarantined, LATE, NOW)
    with refused(r"\(quarantined\): quarantined: release it with a backfill of its range"):
        claim(quarantined, holder=B, observed=LATE)


# ------------------------------------------------------------------- complete, fail, release


def test_complete_records_done_with_counts_clears_holder_attempts_and_error_and_sets_the_ttl():
    failed_once = claim(fail(claim(None)))
    r = complete(failed_once)
    assert (r.state, r.version, r.attempts, r.holder, r.lease_expires_at, r.error) == ("done", 4, 0, None, None, None)
    assert (r.rows_read, r.rows_written, r.bad_rows) == (10, 9, 1)
    assert r.done_at == NOW
    assert r.expires_at == int((NOW + timedelta(days=400)).timestamp())
    assert not r.is_open
    assert r.fingerprint == FP.digest  # what was converted


def test_fail_counts_an_attempt_and_keeps_the_error_bounded():
    r = fail(claim(None), error="x" * 5000)
    assert (r.state, r.attempts, r.holder, r.version) == ("failed", 1, None, 2)
    assert len(r.error) == transitions.ERROR_MAX_CHARS


def test_the_attempt_that_reaches_the_maximum_quarantines_the_slot():
    r = claim(None)
    for attempt in (1, 2):
        r = fail(r)
        assert (r.state, r.attempts) == ("failed", attempt)
        r = claim(r)
    r = fail(r, error="bad header")
    assert (r.state, r.attempts, r.error) == ("quarantined", 3, "bad header")
    assert r.is_open


def test_release_puts_the_slot_back_pending_without_counting_an_attempt():
    r = release(claim(fail(claim(None))))
    assert (r.state, r.attempts, r.holder, r.lease_expires_at, r.error) == ("pending", 1, None, None, "no cluster")


@pytest.mark.parametrize("action", [complete, fail, release])
def test_only_the_holder_may_record_its_slot(action):
    with refused(rf"cannot {action.__name__} emr slot {SLOT} \(running\): held by {A}, not by {B}"):
        action(claim(None), holder=B)


@pytest.mark.parametrize("action", [complete, fail, release])
@pytest.mark.parametrize("state", ["pending", "failed", "done", "quarantined"])
def test_a_slot_that_is_not_running_cannot_be_recorded(action, state):
    record = {
        "pending": lambda: release(claim(None)),
        "failed": lambda: fail(claim(None)),
        "done": lambda: complete(claim(None)),
        "quarantined": lambda: fail(claim(None), max_attempts=1),
    }[state]()
    with refused(rf"cannot {action.__name__} emr slot {SLOT} \({state}\): only a running slot can be"):
        action(record)


# --------------------------------------------------------------------------- requeue


def test_requeue_releases_a_quarantined_slot_pending_with_its_attempts_reset():
    quarantined = fail(claim(None), max_attempts=1)
    r = requeue(quarantined)
    assert (r.state, r.attempts, r.error, r.version) == ("pending", 0, None, 3)
    assert is_due(r, FP, NOW)


@pytest.mark.parametrize(
    "make",
    [lambda: None, lambda: complete(claim(None)), lambda: fail(claim(None)), lambda: release(claim(None))],
    ids=["no record", "done", "failed", "pending"],
)
def test_requeue_makes_any_idle_slot_pending(make):
    before = make()
    r = requeue(before)
    assert (r.state, r.attempts, r.holder) == ("pending", 0, None)
    assert r.version == (before.version + 1 if before else 1)


def test_requeue_of_a_done_slot_keeps_its_fingerprint_but_makes_it_due_anyway():
    r = requeue(complete(claim(None)))
    assert r.fingerprint == FP.digest and is_due(r, FP, NOW)


def test_requeue_is_refused_while_another_run_holds_the_slot_and_allowed_after_its_lease():
    held = claim(None)
    with refused(rf"cannot requeue emr slot {SLOT} \(running\): held by {A}: requeue it after that run ends"):
        requeue(held)
    assert requeue(held, now=NOW + LEASE).state == "pending"


def test_a_record_survives_its_json_form_as_the_store_writes_it():
    r = complete(claim(None))
    assert SlotRecord.model_validate(r.model_dump(mode="json")) == r


# --------------------------------------------------------------------------- select


def slots(*hhmm: str) -> list[str]:
    return [f"2026-11-25T{x}Z" for x in hhmm]


def ends(ids: list[str]) -> dict[str, datetime]:
    return {s: datetime.strptime(s, "%Y-%m-%dT%H:%MZ").replace(tzinfo=UTC) + timedelta(minutes=15) for s in ids}


def test_select_claims_the_oldest_due_slots_up_to_the_maximum_and_leaves_the_rest_waiting():
    ids = slots("19:45", "19:00", "19:30", "19:15")
    sel = select({s: FP for s in ids}, {}, slot_ends=ends(ids), now=NOW, max_slots=2)
    assert sel.claim == slots("19:00", "19:15")
    assert sel.waiting == slots("19:30", "19:45")
    assert (sel.held, sel.quarantined) == ([], [])
    assert sel.lag == NOW - datetime(2026, 11, 25, 19, 15, tzinfo=UTC)  # the end of the oldest slot


def test_select_skips_done_slots_with_the_same_contents_and_takes_them_again_after_late_data():
    ids = slots("19:00", "19:15")
    done = {s: complete(claim(None, slot=s)) for s in ids}
    observed = {ids[0]: FP, ids[1]: LATE}
    sel = select(observed, done, slot_ends=ends(ids), now=NOW, max_slots=8)
    assert sel.claim == [ids[1]]
    assert sel.lag == NOW - datetime(2026, 11, 25, 19, 30, tzinfo=UTC)


def test_select_reports_slots_held_by_another_run_and_counts_them_in_the_lag():
    ids = slots("19:00", "19:15")
    records = {ids[0]: claim(None, holder=B, slot=ids[0])}
    sel = select({s: FP for s in ids}, records, slot_ends=ends(ids), now=NOW, max_slots=8)
    assert (sel.claim, sel.held) == ([ids[1]], [ids[0]])
    assert sel.lag == NOW - datetime(2026, 11, 25, 19, 15, tzinfo=UTC)


def test_select_leaves_quarantined_slots_and_lists_every_quarantined_record_even_without_data():
    ids = slots("19:00", "19:15")
    q = {s: fail(claim(None, slot=s), max_attempts=1) for s in [*ids, "2026-11-20T00:00Z"]}
    sel = select({ids[0]: FP}, q, slot_ends=ends(ids), now=NOW, max_slots=8)
    assert sel.claim == []
    assert sel.quarantined == ["2026-11-20T00:00Z", *ids]
    assert sel.lag == timedelta(0)


def test_select_with_nothing_to_do_has_zero_lag():
    sel = select({}, {}, slot_ends={}, now=NOW, max_slots=8)
    assert (sel.claim, sel.waiting, sel.held, sel.quarantined, sel.lag) == ([], [], [], [], timedelta(0))


def test_select_takes_an_expired_claim_again():
    records = {SLOT: claim(None, holder=B, now=NOW - LEASE - timedelta(minutes=1))}
    sel = select({SLOT: FP}, records, slot_ends=ends([SLOT]), now=NOW, max_slots=8)
    assert (sel.claim, sel.held) == ([SLOT], [])


def test_a_claim_whose_lease_ended_unrecorded_counts_as_one_failed_attempt_and_quarantines_at_the_maximum():
    running = claim(None)
    later = running.lease_expires_at + timedelta(seconds=1)
    assert lease_expired(running, later)
    failed = transitions.expire(running, now=later, max_attempts=3)
    assert (failed.state, failed.attempts, failed.holder, failed.version) == ("failed", 1, None, running.version + 1)
    assert "ended without recording this slot" in (failed.error or "")
    worn = running.model_copy(update={"attempts": 2})
    assert transitions.expire(worn, now=later, max_attempts=3).state == "quarantined"


def test_a_live_claim_cannot_be_expired():
    running = claim(None)
    with pytest.raises(TransitionRefused, match="its lease has not ended"):
        transitions.expire(running, now=running.updated_at, max_attempts=3)
