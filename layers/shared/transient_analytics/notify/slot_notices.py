"""The messages the slots' notices are delivered as (``ledger.notices.deliver`` renders each kind with them).

A quarantine names every quarantined slot, its last error and the command that releases it; unlisted
partition values name the rows the curated table cannot show and the parameter that fixes it. Pure.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from transient_analytics.ledger.records import SlotRecord
from transient_analytics.notify.message import PIPELINE_TITLES, Notification, backfill_command, sns_subject
from transient_analytics.slots import GRIDS, parse_slot_id, slot_id


def quarantine_notification(
    stack: str, pipeline: str, state_machine_arn: str, records: list[SlotRecord], max_attempts: int
) -> Notification:
    """One message naming every slot a run quarantined, its last error and the command that releases it."""
    title = PIPELINE_TITLES.get(pipeline, pipeline)
    names = ", ".join(r.slot for r in records)
    subject = sns_subject(f"[transient-analytics] {title}: {len(records)} slot(s) quarantined: {names}")
    lines = [
        f"{len(records)} slot(s) of the {title} ({stack}) failed {max_attempts} times and are quarantined.",
        "Later runs leave them alone; the other slots go on. Fix the data (or the job), then release them.",
        "",
    ]
    for r in records:
        lines += [
            f"Slot:          {r.slot}",
            f"Attempts:      {r.attempts}",
            f"Last run:      {r.run_id or '-'}",
            f"Last error:    {r.error or '-'}",
            f"Objects:       {r.objects} ({r.bytes} bytes, fingerprint {r.fingerprint or '-'})",
            f"Release:       {backfill_command(pipeline, state_machine_arn, r.slot, r.slot)}",
            f"               or: make backfill STACK={stack} PIPELINE={pipeline} FROM={r.slot} "
            f"TO={slot_id(GRIDS['emr' if pipeline == 'emr' else 'transform'].end_of(parse_slot_id(r.slot)))}",
            "",
        ]
    return Notification(subject=subject, message="\n".join(lines))


def notice_renderer(
    settings: Any, pipeline: str, state_machine_arn: str
) -> Callable[[str, list[SlotRecord]], Notification]:
    """The message for each kind of notice a slot can owe (``notices.deliver`` calls it per kind).

    ``settings`` is RecordSlots' or NotifyFailure's: both carry NAME_PREFIX, MAX_SLOT_ATTEMPTS,
    PARTITION_COLUMN and PARTITION_VALUES.
    """
    values = [v for v in str(settings.PARTITION_VALUES).split(",") if v]

    def render_notice(kind: str, records: list[SlotRecord]) -> Notification:
        if kind == "quarantined":
            return quarantine_notification(
                settings.NAME_PREFIX, pipeline, state_machine_arn, records, settings.MAX_SLOT_ATTEMPTS
            )
        return unlisted_values_notification(settings.NAME_PREFIX, records, settings.PARTITION_COLUMN, values)

    return render_notice


def unlisted_values_notification(
    stack: str, records: list[SlotRecord], partition_column: str, partition_values: list[str]
) -> Notification:
    """One message naming the slots whose rows the curated table cannot show, and the parameter that fixes it.

    The rows are in S3 (nothing was dropped); Athena's partition projection lists the partition
    column's values (``PartitionValues``), so a value missing from it stays invisible to every query.
    """
    unlisted: dict[str, int] = {}
    for r in records:
        for value, rows in (r.unlisted_values or {}).items():
            unlisted[value] = unlisted.get(value, 0) + rows
    values = ", ".join(sorted(unlisted))
    hidden = sum(unlisted.values())
    subject = sns_subject(
        f"[transient-analytics] EMR pipeline: {hidden} row(s) hidden from Athena: {partition_column}={values}"
    )
    wanted = ",".join([*partition_values, *sorted(v for v in unlisted if v not in partition_values)])
    lines = [
        f"Rows of the EMR pipeline ({stack}) were written under {partition_column} values that the",
        f"curated_characters table does not project, so no Athena query shows them (PartitionValues: "
        f"{','.join(partition_values) or '-'}). Nothing was dropped: the files are in S3.",
        "",
    ]
    for r in records:
        per_value = ", ".join(f"{v}: {n} row(s)" for v, n in sorted((r.unlisted_values or {}).items()))
        lines += [f"Slot:          {r.slot} (run {r.run_id or '-'})", f"Hidden:        {per_value}", ""]
    lines += [
        "Make them visible: add the values to the PartitionValues parameter and deploy, e.g.",
        f"  sam deploy --stack-name {stack} --parameter-overrides PartitionValues={wanted}",
        "(a value for null or empty is __HIVE_DEFAULT_PARTITION__; declare the column non-nullable in the",
        "schema to reject such rows instead).",
    ]
    return Notification(subject=subject, message="\n".join(lines) + "\n")
