"""What ``notify_failure`` does for one failed, timed-out or aborted run, with its AWS calls behind ports.

Read the execution's history; for an EMR run terminate any cluster still tagged with it; give the
run's still-claimed slots back to the ledger when it ended before recording them; render the
message (``notification.render``); publish it. The handler adds only parsing and idempotency.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Protocol

from transient_analytics.asl_contract import recorded
from transient_analytics.history import ExecutionFacts, facts_from_history
from transient_analytics.models import ExecutionStatusChangeEvent
from transient_analytics.notification import CleanupReport, Notification, ReleaseReport, render
from transient_analytics.plan import TAG_EXECUTION
from transient_analytics.recording import Ledger, give_back
from transient_analytics.settings import NotifyFailureSettings, Workflow
from transient_analytics.slots import Pipeline
from transient_analytics.tags import execution_tag_value


class History(Protocol):
    def history(self, execution_arn: str) -> list[dict[str, Any]]: ...


class Clusters(Protocol):
    def terminate_tagged(self, key: str, value: str) -> CleanupReport: ...


class Publisher(Protocol):
    def publish(self, notification: Notification) -> str: ...


def _release(
    pipeline: Pipeline, facts: ExecutionFacts, holder: str, status: str, now: datetime, store: Ledger, max_attempts: int
) -> ReleaseReport | None:
    slots = [s["slot"] for s in (facts.plan or {}).get("slots") or [] if isinstance(s, dict) and "slot" in s]
    if not slots or recorded(facts.states_entered, facts.failed_state):
        return None  # nothing claimed, or RecordSlots already recorded them
    try:
        released, failed = give_back(pipeline, slots, holder, status, now, store, max_attempts)
    except Exception as exc:  # reported in the message; the lease still frees them later
        return ReleaseReport(error=f"{type(exc).__name__}: {exc}")
    return ReleaseReport(released=tuple(released), failed=tuple(failed))


def notify(
    change: ExecutionStatusChangeEvent,
    pipeline: Workflow,
    settings: NotifyFailureSettings,
    now: datetime,
    ports: tuple[History, Clusters | None, Ledger, Publisher],
) -> dict[str, Any]:
    executions, clusters, store, topic = ports
    detail = change.detail
    facts = facts_from_history(executions.history(detail.executionArn))
    cleanup = None
    if clusters is not None and pipeline == "emr" and settings.CLEANUP_EMR_CLUSTERS:
        cleanup = clusters.terminate_tagged(TAG_EXECUTION, execution_tag_value(detail.executionArn))
    release = (
        None
        if pipeline == "train"  # a training run claims no slots
        else _release(pipeline, facts, detail.executionArn, detail.status, now, store, settings.MAX_SLOT_ATTEMPTS)
    )
    note = render(detail, pipeline, facts, cleanup, change.region, settings.CAUSE_MAX_CHARS, release)
    message_id = topic.publish(note)
    return {
        "published": True,
        "message_id": message_id,
        "subject": note.subject,
        "failed_state": facts.failed_state,
        "cleanup": {"terminated": list(cleanup.terminated), "error": cleanup.error} if cleanup else None,
        "released": {"released": list(release.released), "failed": list(release.failed), "error": release.error}
        if release
        else None,
    }
