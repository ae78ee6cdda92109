"""What ``notify_failure`` does for one failed, timed-out or aborted run, with its AWS calls behind ports.

Read the execution's history; for an EMR run terminate any cluster still tagged with it (or cancel its
serverless job run); give back
**every slot the execution still holds**, found by holder in the ledger's ``held-by`` index (not by
the plan, which a run that died inside PrepareRun never returned), with the rules of
``runs.verdicts.dead_run_verdicts`` (nothing charged when the work had not started or a person stopped
the run; the slot that was running when the step died charged one attempt); deliver the notices the
run's slots still owe (a quarantine whose message RecordSlots could not publish); render the
message (``failed_run.render``); publish it. The handler adds only parsing and idempotency. A failed model
training run holds no slots and starts no cluster or job run: it gets only its message (with the
command that trains again).

Faults: a retried notifier (Lambda's or EventBridge's retries, the event delivered twice) finds no
slot held any more and sends no notice twice; when the cleanup of the run's cluster failed, nothing
is given back (the cluster may still convert those slots: the lease frees them once no step can);
the index is eventually consistent, so a claim made milliseconds before the run died could be
missed and then waits for its lease, which ``runs.bounds`` keeps below the lag alarm.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Protocol

from transient_analytics.ledger.notices import Delivery, deliver, require_delivered
from transient_analytics.ledger.records import SlotRecord
from transient_analytics.models import ExecutionStatusChangeEvent
from transient_analytics.notify.failed_run import CleanupReport, ReleaseReport, render
from transient_analytics.notify.history import ExecutionFacts, facts_from_history
from transient_analytics.notify.message import Notification
from transient_analytics.notify.slot_notices import notice_renderer
from transient_analytics.runs import asl_contract as asl
from transient_analytics.runs.recording import Ledger, Reports, Rules, give_back
from transient_analytics.runs.verdicts import dead_run_verdicts, parse_report
from transient_analytics.settings import NotifyFailureSettings, Workflow
from transient_analytics.slots import Pipeline
from transient_analytics.tags import TAG_EXECUTION, execution_tag_value


class History(Protocol):
    def history(self, execution_arn: str) -> list[dict[str, Any]]: ...


class Clusters(Protocol):
    def terminate_tagged(self, key: str, value: str) -> CleanupReport: ...


class JobRuns(Protocol):
    def cancel_named(self, application_id: str, job_name: str) -> CleanupReport: ...


class Publisher(Protocol):
    def publish(self, notification: Notification) -> str: ...


class HeldLedger(Ledger, Protocol):
    def held_by(self, holder: str) -> dict[str, SlotRecord]: ...


def _started_jobs(facts: ExecutionFacts) -> set[str]:
    """The transform slots whose job the run had scheduled (job names start with the slot's prefix)."""
    names = [str(p.get("TransformJobName", "")) for p in facts.scheduled.get(asl.RUN_TRANSFORM_JOB, [])]
    slots = [s for s in (facts.plan or {}).get("slots") or [] if isinstance(s, dict)]
    return {
        str(s["slot"])
        for s in slots
        if s.get("job_name_prefix") and any(n.startswith(str(s["job_name_prefix"])) for n in names)
    }


def _give_back(
    pipeline: Pipeline,
    change: ExecutionStatusChangeEvent,
    facts: ExecutionFacts,
    now: datetime,
    ports: tuple[HeldLedger, Reports],
    rules: Rules,
) -> ReleaseReport | None:
    store, reports = ports
    detail = change.detail
    try:
        held = store.held_by(detail.executionArn)
        if not held:
            return None
        plan = facts.plan or {}
        report = None
        if pipeline == "emr" and plan.get("report_uri") and plan.get("run_id"):
            report = parse_report(reports.read_json(str(plan["report_uri"])), str(plan["run_id"]))
        decided = dead_run_verdicts(
            pipeline,
            sorted(held),
            status=detail.status,
            error=detail.error or facts.first_error or detail.status,
            work_started=asl.work_started(pipeline, facts.states_entered),
            report=report,
            started_jobs=_started_jobs(facts),
        )
        result = give_back(pipeline, decided, detail.executionArn, str(plan.get("run_id", "")), now, store, rules)
    except Exception as exc:  # reported in the message; the lease still frees them later
        return ReleaseReport(error=f"{type(exc).__name__}: {exc}")
    failed = [*result.failed, *(r.slot for r in result.quarantined)]
    return ReleaseReport(released=tuple(result.released), failed=tuple(failed), converted=tuple(result.converted))


def _stop_compute(
    pipeline: Pipeline,
    arn: str,
    facts: ExecutionFacts,
    settings: NotifyFailureSettings,
    clusters: Clusters | None,
    job_runs: JobRuns,
) -> CleanupReport | None:
    """Terminate the dead run's cluster, or cancel its serverless job run: nothing may convert its slots any more."""
    plan = facts.plan or {}
    if pipeline != "emr" or not settings.CLEANUP_EMR_CLUSTERS:
        return None
    if plan.get("backend") == "serverless":
        job = plan.get("serverless") or {}
        if not (settings.EMR_SERVERLESS_APPLICATION_ID and isinstance(job, dict) and job.get("job_name")):
            return None
        return job_runs.cancel_named(settings.EMR_SERVERLESS_APPLICATION_ID, str(job["job_name"]))
    return clusters.terminate_tagged(TAG_EXECUTION, execution_tag_value(arn)) if clusters is not None else None


def notify(
    change: ExecutionStatusChangeEvent,
    pipeline: Workflow,
    settings: NotifyFailureSettings,
    now: datetime,
    ports: tuple[History, Clusters | None, HeldLedger, Publisher, Reports, JobRuns],
) -> dict[str, Any]:
    executions, clusters, store, topic, reports, job_runs = ports
    detail = change.detail
    facts = facts_from_history(executions.history(detail.executionArn))
    cleanup: CleanupReport | None = None
    release: ReleaseReport | None = None
    notices = Delivery()
    if pipeline != "train":  # a training run claims no slots and starts no cluster or job run
        cleanup = _stop_compute(pipeline, detail.executionArn, facts, settings, clusters, job_runs)
        if cleanup is None or cleanup.error is None:
            release = _give_back(pipeline, change, facts, now, (store, reports), Rules.of(settings))
        plan_slots = (facts.plan or {}).get("slots") or []
        slots = [str(s["slot"]) for s in plan_slots if isinstance(s, dict) and "slot" in s]
        owed = store.get_many(pipeline, slots).values() if slots else []
        render_notice = notice_renderer(settings, pipeline, detail.stateMachineArn)
        notices = deliver(owed, render_notice, store, topic, now)
        require_delivered(notices)  # before the run's own message: a retry then publishes that one once
    note = render(detail, pipeline, facts, cleanup, change.region, settings.CAUSE_MAX_CHARS, release)
    message_id = topic.publish(note)
    return {
        "published": True,
        "message_id": message_id,
        "subject": note.subject,
        "failed_state": facts.failed_state,
        "cleanup": {"terminated": list(cleanup.terminated), "error": cleanup.error} if cleanup else None,
        "released": {
            "released": list(release.released),
            "failed": list(release.failed),
            "converted": list(release.converted),
            "error": release.error,
        }
        if release
        else None,
        "notices": notices.sent,
    }
