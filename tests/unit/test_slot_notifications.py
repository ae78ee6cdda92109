"""The quarantine notification and the backfill command it (and the failure message) offers."""

import json
import re
from datetime import UTC, datetime, timedelta

from tests.support import EMR_STATE_MACHINE_ARN, TRANSFORM_STATE_MACHINE_ARN
from transient_analytics.ledger import transitions
from transient_analytics.ledger.records import SlotRecord
from transient_analytics.models import RunRequest
from transient_analytics.notify.message import SNS_SUBJECT_MAX, backfill_command
from transient_analytics.notify.slot_notices import quarantine_notification
from transient_analytics.slots import GRIDS, Fingerprint, parse_range

NOW = datetime(2026, 11, 25, 20, 41, tzinfo=UTC)


def quarantined(slot: str, error: str, pipeline: str = "emr") -> SlotRecord:
    r = transitions.claim(
        None,
        pipeline=pipeline,
        slot=slot,
        observed=Fingerprint("c" * 32, 2, 2048),
        holder="arn:exec",
        run_id="20261125T2030Z-1a2b3c4d",
        now=NOW,
        lease=timedelta(hours=3),
    )
    return transitions.fail(r, holder="arn:exec", error=error, now=NOW, max_attempts=1).model_copy(
        update={"attempts": 3}
    )


def payload_of(command: str) -> dict:
    return json.loads(re.search(r"--input '(.*)'$", command).group(1))


def test_the_backfill_command_covers_the_slots_from_the_first_start_to_the_last_end():
    command = backfill_command("emr", EMR_STATE_MACHINE_ARN, "2026-11-25T19:45Z", "2026-11-25T20:00Z")
    assert command.startswith(f"aws stepfunctions start-execution --state-machine-arn {EMR_STATE_MACHINE_ARN} ")
    assert payload_of(command) == {
        "backfill": {"from": "2026-11-25T19:45Z", "to": "2026-11-25T20:15Z"},
        "trigger": "backfill",
    }


def test_a_transform_backfill_ends_at_the_next_day():
    command = backfill_command("transform", TRANSFORM_STATE_MACHINE_ARN, "2026-11-24T00:00Z", "2026-11-24T00:00Z")
    assert payload_of(command)["backfill"] == {"from": "2026-11-24T00:00Z", "to": "2026-11-25T00:00Z"}


def test_the_backfill_command_is_an_input_prepare_run_accepts_and_a_range_it_accepts():
    for pipeline, first, last in (
        ("emr", "2026-11-25T19:45Z", "2026-11-25T20:00Z"),
        ("transform", "2026-11-24T00:00Z", "2026-11-24T00:00Z"),
    ):
        request = RunRequest.model_validate(payload_of(backfill_command(pipeline, "arn", first, last)))
        rng = parse_range(request.backfill.from_, request.backfill.to, GRIDS[pipeline], 10)
        slots = rng.slots(GRIDS[pipeline])
        assert slots[0].strftime("%Y-%m-%dT%H:%MZ") == first and slots[-1].strftime("%Y-%m-%dT%H:%MZ") == last


def test_the_quarantine_message_names_each_slot_its_last_error_and_the_command_that_releases_it():
    records = [
        quarantined("2026-11-25T19:45Z", "csv_to_parquet: error: header mismatch"),
        quarantined("2026-11-25T20:00Z", "bad rows 12 > 10"),
    ]
    note = quarantine_notification("transient-analytics-dev", "emr", EMR_STATE_MACHINE_ARN, records, 3)
    assert note.subject == (
        "[transient-analytics] EMR pipeline: 2 slot(s) quarantined: 2026-11-25T19:45Z, 2026-11-25T20:00Z"
    )
    body = note.message
    assert "2 slot(s) of the EMR pipeline (transient-analytics-dev) failed 3 times and are quarantined." in body
    for expected in (
        "Slot:          2026-11-25T19:45Z",
        "Attempts:      3",
        "Last run:      20261125T2030Z-1a2b3c4d",
        "Last error:    csv_to_parquet: error: header mismatch",
        "Last error:    bad rows 12 > 10",
        f"Objects:       2 (2048 bytes, fingerprint {'c' * 32})",
        backfill_command("emr", EMR_STATE_MACHINE_ARN, "2026-11-25T19:45Z", "2026-11-25T19:45Z"),
        backfill_command("emr", EMR_STATE_MACHINE_ARN, "2026-11-25T20:00Z", "2026-11-25T20:00Z"),
        "make backfill STACK=transient-analytics-dev PIPELINE=emr FROM=2026-11-25T19:45Z TO=2026-11-25T20:00Z",
    ):
        assert expected in body, expected


def test_the_quarantine_subject_stays_a_valid_sns_subject_with_many_slots():
    records = [quarantined(f"2026-11-25T{h:02d}:00Z", "x") for h in range(24)]
    subject = quarantine_notification("s", "emr", EMR_STATE_MACHINE_ARN, records, 3).subject
    assert len(subject) <= SNS_SUBJECT_MAX and subject.isascii() and subject.endswith("...")


def test_a_transform_quarantine_releases_the_whole_day():
    note = quarantine_notification(
        "stack", "transform", TRANSFORM_STATE_MACHINE_ARN, [quarantined("2026-11-24T00:00Z", "e", "transform")], 3
    )
    assert note.subject.startswith("[transient-analytics] Batch transform: 1 slot(s) quarantined")
    assert "FROM=2026-11-24T00:00Z TO=2026-11-25T00:00Z" in note.message
