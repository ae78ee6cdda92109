"""The SNS message a failed, timed-out or aborted run produces. Pure: no AWS calls."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from transient_analytics.asl_contract import recorded
from transient_analytics.history import ExecutionFacts
from transient_analytics.ledger import SlotRecord
from transient_analytics.models import ExecutionStatusChangeDetail
from transient_analytics.slots import GRIDS, parse_slot_id, slot_id

#: SNS: "Subjects must be ASCII text that begins with a letter, number, or punctuation mark;
#: must not include line breaks or control characters; and must be less than 100 characters long."
SNS_SUBJECT_MAX = 99
PIPELINE_TITLES = {"emr": "EMR pipeline", "transform": "Batch transform", "train": "Model training"}
#: Where each workflow's plan keeps its work's details (the training plan: ``training``).
_PLAN_SECTIONS = {"train": "training"}
_NOT_SUBJECT = re.compile(r"[^\x20-\x7e]+")


@dataclass(frozen=True)
class CleanupReport:
    """Compute the notifier found still running for this execution (clusters, job runs), and what it did."""

    terminated: tuple[str, ...] = ()
    error: str | None = None
    what: str = "EMR cluster"


@dataclass(frozen=True)
class ReleaseReport:
    """Slots the notifier gave back to the ledger for a run that ended before recording them."""

    released: tuple[str, ...] = ()
    failed: tuple[str, ...] = ()
    #: Slots the job had converted before the run died (its report says so): recorded done.
    converted: tuple[str, ...] = ()
    error: str | None = None


@dataclass(frozen=True)
class Notification:
    subject: str
    message: str


def sns_subject(text: str) -> str:
    """``text`` made a valid SNS subject: printable ASCII, one line, under 100 characters."""
    cleaned = _NOT_SUBJECT.sub(" ", text).strip()
    cleaned = re.sub(r" {2,}", " ", cleaned)
    if len(cleaned) > SNS_SUBJECT_MAX:
        cleaned = cleaned[: SNS_SUBJECT_MAX - 3].rstrip() + "..."
    return cleaned or "transient-analytics notification"


def trim_middle(text: str, limit: int) -> str:
    """Keep the head and the tail of a long text (where errors usually say what went wrong)."""
    if len(text) <= limit:
        return text
    marker = f"\n  … [{len(text) - limit} characters trimmed] …\n"
    head = (limit * 2) // 3
    tail = limit - head
    return text[:head].rstrip() + marker + text[-tail:].lstrip()


def summarize_cause(cause: str | None, limit: int) -> str:
    """A readable cause: the message inside a Lambda, EMR or SageMaker JSON cause, trimmed."""
    if not cause:
        return "(none given)"
    data: Any
    try:
        data = json.loads(cause)
    except ValueError:
        data = None
    if isinstance(data, dict):
        parts: list[str] = []
        if "errorMessage" in data:  # a Lambda function's error
            parts.append(f"{data.get('errorType', 'Error')}: {data['errorMessage']}")
        failure = (data.get("Step") or {}).get("Status", {}).get("FailureDetails") if "Step" in data else None
        if isinstance(failure, dict):  # an EMR step (addStep.sync)
            parts += [str(failure[k]) for k in ("Reason", "Message") if failure.get(k)]
            if failure.get("LogFile"):
                parts.append(f"log: {failure['LogFile']}")
        state_change = (data.get("Status") or {}).get("StateChangeReason") if "Status" in data else None
        if isinstance(state_change, dict) and state_change.get("Message"):  # an EMR cluster
            parts.append(f"{state_change.get('Code', '')} {state_change['Message']}".strip())
        if data.get("FailureReason"):  # a SageMaker job
            parts.append(str(data["FailureReason"]))
        if parts:
            return trim_middle(" | ".join(parts), limit)
    return trim_middle(cause, limit)


def _when(epoch_ms: int | None) -> str:
    if epoch_ms is None:
        return "-"
    return datetime.fromtimestamp(epoch_ms / 1000, tz=UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def _duration(start_ms: int, stop_ms: int | None) -> str:
    if stop_ms is None or stop_ms < start_ms:
        return ""
    seconds = (stop_ms - start_ms) // 1000
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    text = f"{hours} h {minutes} min {secs} s" if hours else f"{minutes} min {secs} s"
    return f" ({text})"


def console_url(region: str, execution_arn: str) -> str:
    return f"https://{region}.console.aws.amazon.com/states/home?region={region}#/v2/executions/details/{execution_arn}"


def render(
    detail: ExecutionStatusChangeDetail,
    pipeline: str,
    facts: ExecutionFacts,
    cleanup: CleanupReport | None,
    region: str,
    cause_limit: int = 1500,
    release: ReleaseReport | None = None,
) -> Notification:
    """Subject and body of the notification for one execution that did not succeed."""
    title = PIPELINE_TITLES.get(pipeline, pipeline)
    state = facts.failed_state or "-"
    error = detail.error or facts.first_error or ("States.Timeout" if detail.status == "TIMED_OUT" else "-")
    cause = detail.cause or facts.first_cause
    if detail.status == "ABORTED" and not cause:
        cause = "The execution was stopped (StopExecution) before it finished."
    if detail.status == "TIMED_OUT" and not cause:
        cause = "The execution ran longer than the state machine's TimeoutSeconds."
    subject = sns_subject(f"[transient-analytics] {title} {detail.status} at {state}: {detail.name}")

    plan = facts.plan or {}
    lines = [
        f"The {title} run {detail.name} ended {detail.status}.",
        "",
        f"Pipeline:      {pipeline} ({detail.stateMachineArn.rsplit(':', 1)[-1]})",
        f"Execution:     {detail.name}",
        f"Status:        {detail.status}",
        f"Failed state:  {state}",
        f"Error:         {error}",
        f"Cause:         {summarize_cause(cause, cause_limit)}",
        f"Started:       {_when(detail.startDate)}",
        f"Stopped:       {_when(detail.stopDate)}{_duration(detail.startDate, detail.stopDate)}",
    ]
    if detail.redriveCount:
        lines.append(f"Redrives:      {detail.redriveCount}")
    if facts.states_entered:
        lines.append(f"States:        {' -> '.join(facts.states_entered)}")
    if plan:
        lines += ["", "Run parameters:"]
        lines.append(f"  run id:           {plan.get('run_id', '-')}")
        lines.append(f"  scheduled time:   {plan.get('scheduled_time', '-')} ({plan.get('trigger', '-')})")
        found = plan.get(_PLAN_SECTIONS.get(pipeline, pipeline))
        section: dict[str, Any] = found if isinstance(found, dict) else {}
        for key in ("cluster_name", "log_uri", "partition_column", "job_name_prefix", "output_uri"):
            if section.get(key):
                lines.append(f"  {key.replace('_', ' ') + ':':<18}{section[key]}")
        slots = [s.get("slot", "?") for s in plan.get("slots") or [] if isinstance(s, dict)]
        if slots:
            lines.append(f"  slots:            {', '.join(slots)}")
    else:
        lines += ["", "Run parameters: none (the run failed before PrepareRun returned a plan)."]
    if facts.cluster_id:
        lines.append(f"  cluster id:       {facts.cluster_id}")
    if cleanup is not None:
        lines.append("")
        verb = "cancelled" if "job run" in cleanup.what else "terminated"
        if cleanup.terminated:
            lines.append(
                f"Cleanup:       {verb} {cleanup.what}(s) still running for this execution: "
                + ", ".join(cleanup.terminated)
            )
        elif cleanup.error:
            lines.append(f"Cleanup:       FAILED to check or stop this execution's {cleanup.what}s: {cleanup.error}")
        else:
            lines.append(f"Cleanup:       no {cleanup.what} of this execution was still running.")
    lines += ["", f"Console:       {console_url(region, detail.executionArn)}"]
    if pipeline == "train":
        lines.append(
            "Recovery:      production is unchanged (a promotion is one conditional write, never half done); "
            f"train again: aws stepfunctions start-execution --state-machine-arn {detail.stateMachineArn} "
            """--input '{"trigger": "manual"}'"""
        )
    slots = [s["slot"] for s in plan.get("slots") or [] if isinstance(s, dict) and isinstance(s.get("slot"), str)]
    gave_back = release is not None and bool(release.released or release.failed or release.converted)
    if gave_back and release is not None:
        held = sorted({*release.released, *release.failed, *release.converted})
        slots = sorted({*slots, *held})
    if slots:
        lines += _recovery(pipeline, detail.stateMachineArn, slots, facts, cleanup, release)
    return Notification(subject=subject, message="\n".join(lines) + "\n")


def _recovery(
    pipeline: str,
    state_machine_arn: str,
    slots: list[str],
    facts: ExecutionFacts,
    cleanup: CleanupReport | None,
    release: ReleaseReport | None,
) -> list[str]:
    """What becomes of the run's slots, and the command that converts them now (or later)."""
    rerun = backfill_command(pipeline, state_machine_arn, slots[0], slots[-1])
    if recorded(facts.states_entered, facts.failed_state):
        return [
            "Recovery:      automatic: the slot ledger holds these slots as failed (or released) and the next run "
            "takes them again; a slot that fails its maximum number of attempts is quarantined and reported.",
            f"Re-run now:    {rerun}",
        ]
    if release is not None and (release.released or release.failed or release.converted):
        return [
            "Recovery:      automatic: this run ended before recording its slots, so the notifier gave them "
            f"back to the ledger (released: {', '.join(release.released) or '-'}; "
            f"failed, one attempt counted: {', '.join(release.failed) or '-'}; "
            f"converted before it ended: {', '.join(release.converted) or '-'}); "
            "the next run takes the others again.",
            f"Re-run now:    {rerun}",
        ]
    lines = []  # nothing held any more, or the notifier could not give the slots back
    if release is not None and release.error:
        lines.append(f"Ledger:        FAILED to release this run's slots: {release.error}")
    if cleanup is not None and cleanup.error:
        lines.append("Ledger:        slots left claimed: the cluster may still be converting them")
    return [
        *lines,
        "Recovery:      automatic: a slot this run still holds is taken again by the next run once its "
        "claim's lease ends (the lease is the run's own worst case: README, Lease arithmetic).",
        f"Re-run later:  {rerun}  (after the lease ends; until then a backfill leaves them alone)",
    ]


def backfill_command(pipeline: str, state_machine_arn: str, first_slot: str, last_slot: str) -> str:
    """The command that queues the slots ``first_slot`` .. ``last_slot`` again (and releases quarantined ones)."""
    grid = GRIDS["emr" if pipeline == "emr" else "transform"]
    end = slot_id(grid.end_of(parse_slot_id(last_slot)))
    payload = json.dumps({"backfill": {"from": first_slot, "to": end}, "trigger": "backfill"})
    return f"aws stepfunctions start-execution --state-machine-arn {state_machine_arn} --input '{payload}'"


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
