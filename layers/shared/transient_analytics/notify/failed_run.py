"""The SNS message a failed, timed-out or aborted run produces. Pure: no AWS calls."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from transient_analytics.models import ExecutionStatusChangeDetail
from transient_analytics.notify.history import ExecutionFacts
from transient_analytics.notify.message import (
    PIPELINE_TITLES,
    Notification,
    backfill_command,
    sns_subject,
    summarize_cause,
)
from transient_analytics.runs.asl_contract import recorded

#: Where each workflow's plan keeps its work's details (the training plan: ``training``).
_PLAN_SECTIONS = {"train": "training"}


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
