"""The batch transform's daily slots through its deployed state machine: one job per due slot, each recorded.

PrepareRun and RecordSlots are the real handlers (moto S3 and the ledger); the transform jobs answer
from mock-config.json. The real model scores real rows in tests/offline and ``make demo``.
"""

from __future__ import annotations

from offline.harness import OfflineHarness
from tests.statemachines.ledger_support import put_batch, records, states
from tests.statemachines.sfn_support import TRANSFORM, unique
from transient_analytics.naming import is_valid_transform_job_name

DAILY = {"scheduled_time": "2026-11-25T06:00:00Z", "trigger": "schedule"}
D1, D2 = "2026-11-23T00:00Z", "2026-11-24T00:00Z"


def test_a_day_without_a_batch_file_starts_no_job(h: OfflineHarness):
    result = h.run(TRANSFORM, DAILY, test_case="HappyPath", name=unique("empty"))
    assert result.states_entered == ["PrepareRun", "HasWork", "NoNewData"]
    assert not result.tasks("RunTransformJob")


def test_each_due_daily_slot_gets_its_own_validly_named_job_and_is_recorded_done(h: OfflineHarness):
    put_batch(h, D1)
    put_batch(h, D2)
    put_batch(h, "2026-11-25T00:00Z")  # today: still filling at 06:00
    result = h.run(TRANSFORM, DAILY, test_case="HappyPath", name=unique("daily"))
    assert result.status == "SUCCEEDED"
    jobs = result.tasks("RunTransformJob")
    names = [j.parameters["TransformJobName"] for j in jobs]
    assert len(names) == 2 and len(set(names)) == 2
    assert all(is_valid_transform_job_name(n) and n.endswith("-0-0") for n in names)
    inputs = sorted(j.parameters["TransformInput"]["DataSource"]["S3DataSource"]["S3Uri"] for j in jobs)
    assert [i.rsplit("/", 2)[-2] for i in inputs] == ["dt=2026-11-23", "dt=2026-11-24"]
    outputs = [j.parameters["TransformOutput"]["S3OutputPath"] for j in jobs]
    assert all(f"/run={result.output['plan']['run_id']}/" in o for o in outputs)
    assert states(h, "transform") == {D1: "done", D2: "done"}


def test_a_failed_job_fails_only_its_slot_and_the_next_run_takes_it_again(h: OfflineHarness):
    put_batch(h, D1)
    result = h.run(TRANSFORM, DAILY, test_case="TransformJobFails", name=unique("fails"))
    assert result.status == "FAILED"
    assert result.error == "SlotsFailed"
    assert D1 in result.cause and "'length': 'abc' is not a number" in result.cause
    assert (records(h, "transform")[D1].state, records(h, "transform")[D1].attempts) == ("failed", 1)
    again = h.run(TRANSFORM, DAILY, test_case="HappyPath", name=unique("retry"))
    assert again.status == "SUCCEEDED"
    assert states(h, "transform") == {D1: "done"}


def test_an_instance_limit_is_retried_with_a_longer_back_off_under_a_new_job_name(h: OfflineHarness):
    put_batch(h, D1)
    result = h.run(TRANSFORM, DAILY, test_case="ResourceLimitOnce", name=unique("limit"))
    assert result.status == "SUCCEEDED"
    names = [j.parameters["TransformJobName"] for j in result.tasks("RunTransformJob")]
    assert [n[-4:] for n in names] == ["-0-0", "-1-0"]
    assert [s.seconds for s in h.sleeps if s.state == "RunTransformJob"] == [120]
