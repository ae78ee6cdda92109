"""After the work: each claimed slot recorded ``done``, ``failed`` (or ``quarantined``) or released.

What happened to a slot is decided from the run's outcome (the state the run reached) and, for
the EMR pipeline, the Spark job's own report, which says slot by slot what it converted: a slot
the job converted is ``done`` even when another slot of the batch failed, so one bad slot never
takes its batch down. A slot the run no longer holds (its lease ran out and another run claimed
it) is left alone. The ports keep the AWS calls out; the rules are ``ledger``'s.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Literal, Protocol

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from transient_analytics import ledger
from transient_analytics.completion import ConvertedSlot
from transient_analytics.ledger import SlotCounts, SlotRecord
from transient_analytics.models import RecordSlotsEvent, TaskError
from transient_analytics.notification import summarize_cause
from transient_analytics.settings import RecordSlotsSettings
from transient_analytics.slots import Pipeline

ERROR_CHARS = 600


class Ledger(Protocol):
    def get_many(self, pipeline: Pipeline, slots: list[str]) -> dict[str, SlotRecord]: ...
    def write(self, new: SlotRecord, expected_version: int | None) -> bool: ...


class Reports(Protocol):
    def read_json(self, uri: str) -> Any | None: ...


class SlotReport(BaseModel):
    """One slot's line in the Spark job's run report."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    slot: str
    status: Literal["converted", "failed"]
    manifest_uri: str | None = None
    rows_read: int = Field(default=0, ge=0)
    rows_written: int = Field(default=0, ge=0)
    bad_rows: int = Field(default=0, ge=0)
    error: str | None = None


class RunReport(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)

    run_id: str
    slots: list[SlotReport]


Verdict = Literal["done", "failed", "released"]


@dataclass(frozen=True)
class SlotVerdict:
    verdict: Verdict
    #: None when the service reports no row counts (a transform job).
    counts: SlotCounts | None = field(default_factory=SlotCounts)
    error: str = ""
    manifest_uri: str | None = None
    job: dict[str, Any] | None = None


@dataclass
class RecordResult:
    converted: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    quarantined: list[SlotRecord] = field(default_factory=list)
    released: list[str] = field(default_factory=list)
    #: Slots this run no longer held when it came to record them.
    not_held: list[str] = field(default_factory=list)
    rows_written: int = 0
    bad_rows: int = 0
    verdicts: dict[str, SlotVerdict] = field(default_factory=dict)
    #: What the completion events announce: the slots this run recorded done.
    announced: list[ConvertedSlot] = field(default_factory=list)

    def summary(self) -> dict[str, Any]:
        text = (
            f"{len(self.converted)} slot(s) converted, {len(self.failed)} failed, "
            f"{len(self.quarantined)} quarantined, {len(self.released)} released"
        )
        failures = [f"{s}: {self.verdicts[s].error}" for s in [*self.failed, *(r.slot for r in self.quarantined)]]
        return {
            "converted": len(self.converted),
            "failed": len(self.failed) + len(self.quarantined),
            "quarantined": len(self.quarantined),
            "released": len(self.released),
            "not_held": len(self.not_held),
            "rows_written": self.rows_written,
            "summary": text + (": " + "; ".join(failures) if failures else ""),
        }


def _error_text(error: TaskError | None, fallback: str) -> str:
    if error is None or not (error.Error or error.Cause):
        return fallback
    return f"{error.Error}: {summarize_cause(error.Cause, ERROR_CHARS)}"


def parse_report(data: Any, run_id: str) -> RunReport | None:
    """The job's report for this run, or None when it is missing, malformed or another run's."""
    try:
        report = RunReport.model_validate(data)
    except ValidationError:
        return None
    return report if report.run_id == run_id else None


def verdicts(event: RecordSlotsEvent, report: RunReport | None) -> dict[str, SlotVerdict]:
    """What happened to each claimed slot, from the run's outcome and the job's report."""
    slots = [s.slot for s in event.plan.slots]
    if event.outcome == "cluster_failed":
        why = _error_text(event.error, "the cluster did not start")
        return {s: SlotVerdict("released", error=f"not attempted: {why}") for s in slots}
    if event.outcome == "transform":
        jobs = {j.slot: j for j in event.jobs}
        out: dict[str, SlotVerdict] = {}
        for s in slots:
            job = jobs.get(s)
            if job is not None and job.status == "converted":
                out[s] = SlotVerdict("done", counts=None, job=job.job)
            else:
                out[s] = SlotVerdict("failed", error=_error_text(job.error if job else None, "no job result"))
        return out
    lines = {r.slot: r for r in report.slots} if report else {}
    step_error = _error_text(event.error, "the Spark job wrote no report for this slot")
    out = {}
    for s in slots:
        line = lines.get(s)
        if line is not None and line.status == "converted":
            counts = SlotCounts(rows_read=line.rows_read, rows_written=line.rows_written, bad_rows=line.bad_rows)
            out[s] = SlotVerdict("done", counts=counts, manifest_uri=line.manifest_uri)
        elif line is not None:
            out[s] = SlotVerdict("failed", error=(line.error or step_error)[:ERROR_CHARS])
        else:
            out[s] = SlotVerdict("failed", error=step_error)
    return out


def record(
    event: RecordSlotsEvent, settings: RecordSlotsSettings, now: datetime, store: Ledger, reports: Reports
) -> RecordResult:
    """Apply each slot's verdict to the ledger, conditionally, and count what happened."""
    report = None
    # Only a Spark step writes a report (a transform run has none to read: GetObject of a missing key is
    # AccessDenied, not NoSuchKey, without s3:ListBucket, and would fail the recording).
    if event.outcome not in ("cluster_failed", "transform") and event.plan.report_uri:
        report = parse_report(reports.read_json(event.plan.report_uri), event.plan.run_id)
    result = RecordResult(verdicts=verdicts(event, report))
    holder = event.execution.id
    current = store.get_many(event.pipeline, list(result.verdicts))
    for sid, verdict in result.verdicts.items():
        record_ = current.get(sid)
        if record_ is None or record_.state != "running" or record_.holder != holder:
            result.not_held.append(sid)
            continue
        if verdict.verdict == "done":
            new = ledger.complete(
                record_,
                holder=holder,
                counts=verdict.counts,
                now=now,
                retention=timedelta(days=settings.DONE_RETENTION_DAYS),
            )
        elif verdict.verdict == "released":
            new = ledger.release(record_, holder=holder, error=verdict.error, now=now)
        else:
            new = ledger.fail(
                record_, holder=holder, error=verdict.error, now=now, max_attempts=settings.MAX_SLOT_ATTEMPTS
            )
        if not store.write(new, record_.version):
            result.not_held.append(sid)
            continue
        if new.state == "done":
            result.converted.append(sid)
            result.announced.append(_converted(event, sid, verdict))
            if verdict.counts is not None:
                result.rows_written += verdict.counts.rows_written
                result.bad_rows += verdict.counts.bad_rows
        elif new.state == "quarantined":
            result.quarantined.append(new)
        elif new.state == "failed":
            result.failed.append(sid)
        else:
            result.released.append(sid)
    return result


def _converted(event: RecordSlotsEvent, sid: str, verdict: SlotVerdict) -> ConvertedSlot:
    work = next(w for w in event.plan.slots if w.slot == sid)
    if event.pipeline == "emr":
        return ConvertedSlot(
            pipeline="emr",
            slot=sid,
            run_id=event.plan.run_id,
            rows_written=verdict.counts.rows_written if verdict.counts else 0,
            manifest_uri=verdict.manifest_uri or work.manifest_uri,
        )
    return ConvertedSlot(
        pipeline="transform", slot=sid, run_id=event.plan.run_id, rows_written=0, output_uri=work.output_uri
    )


def give_back(
    pipeline: Pipeline, slots: list[str], holder: str, status: str, now: datetime, store: Ledger, max_attempts: int
) -> tuple[list[str], list[str]]:
    """For a run that ended before recording its slots: the ones it still holds, back to the ledger.

    A stopped run (``ABORTED``) releases them with no attempt counted (a person stopped it); a run
    that ran out of time (``TIMED_OUT``) or failed outside the Catch counts one failed attempt.
    Returns (released, failed) slot ids; a slot another run holds now is left alone.
    """
    released: list[str] = []
    failed: list[str] = []
    current = store.get_many(pipeline, slots)
    for sid in slots:
        record_ = current.get(sid)
        if record_ is None or record_.state != "running" or record_.holder != holder:
            continue
        reason = f"the run holding it ended {status} before recording it"
        if status == "ABORTED":
            new = ledger.release(record_, holder=holder, error=reason, now=now)
        else:
            new = ledger.fail(record_, holder=holder, error=reason, now=now, max_attempts=max_attempts)
        if store.write(new, record_.version):
            (released if new.state == "pending" else failed).append(sid)
    return released, failed
