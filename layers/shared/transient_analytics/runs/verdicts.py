"""What happened to each slot of a run, decided from how the run ended and the Spark job's own report. Pure.

The job writes its report as it goes (``jobs/csv_to_parquet.py``: every slot ``pending`` first,
then ``running`` as it starts, then ``converted`` or ``failed``), so even a step that died without
finishing leaves a report that says which slots were converted, which one was running when it
died, and which were never started. The rule, for the EMR pipeline:

* ``converted`` → done (even when another slot of the batch failed), ``failed`` → one attempt;
* ``running`` when the step died → one attempt and one crash (the slot that was being converted
  is the one that killed its step, or was unlucky once: an attempt, not a quarantine); when a
  person stopped the run → released, no attempt;
* ``pending`` (never started), or no report at all after a failed step (the job never started:
  the cluster, spark-submit or the job's own arguments failed) → released, no attempt: a failure
  is charged to the slot that caused it, never to the slots that shared its batch;
* a step that *succeeded* without a line for a slot → failed (the job broke its contract).

A transform slot has its own job: done when it succeeded, failed otherwise; when its run died,
a slot whose job had started is failed and one whose job had not is released (stopped: released).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from transient_analytics.ledger.records import SlotCounts
from transient_analytics.models import RecordSlotsEvent, TaskError
from transient_analytics.notify.message import summarize_cause

ERROR_CHARS = 600
#: The run ended because a person stopped it (StopExecution): nothing is charged for that.
STOPPED = "ABORTED"


class SlotReport(BaseModel):
    """One slot's line in the Spark job's run report."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    slot: str
    status: Literal["pending", "running", "converted", "failed"]
    manifest_uri: str | None = None
    rows_read: int = Field(default=0, ge=0)
    rows_written: int = Field(default=0, ge=0)
    bad_rows: int = Field(default=0, ge=0)
    error: str | None = None
    #: Rows written under partition values the catalog does not show, per value.
    unlisted_partition_values: dict[str, int] = Field(default_factory=dict)


class RunReport(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)

    run_id: str
    #: False for a report the job wrote on its way (it may have died since).
    final: bool = True
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
    #: The slot was the one running when its step died (``ledger.transitions.fail(crashed=True)``).
    crashed: bool = False
    unlisted: dict[str, int] = field(default_factory=dict)


def error_text(error: TaskError | None, fallback: str) -> str:
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


def _done(line: SlotReport) -> SlotVerdict:
    counts = SlotCounts(rows_read=line.rows_read, rows_written=line.rows_written, bad_rows=line.bad_rows)
    return SlotVerdict("done", counts=counts, manifest_uri=line.manifest_uri, unlisted=line.unlisted_partition_values)


def emr_slot_verdicts(
    slots: list[str], report: RunReport | None, step_error: str, *, step_succeeded: bool, stopped: bool = False
) -> dict[str, SlotVerdict]:
    """Each slot of an EMR run whose step ran (succeeded, failed, timed out, or was stopped)."""
    lines = {line.slot: line for line in report.slots} if report else {}
    out: dict[str, SlotVerdict] = {}
    for s in slots:
        line = lines.get(s)
        if line is not None and line.status == "converted":
            out[s] = _done(line)
        elif line is not None and line.status == "failed":
            out[s] = SlotVerdict("failed", error=(line.error or step_error)[:ERROR_CHARS])
        elif line is not None and line.status == "running":
            if stopped:
                why = f"not finished: the run was stopped while converting it ({step_error})"
                out[s] = SlotVerdict("released", error=why[:ERROR_CHARS])
            else:
                why = f"the step died while converting this slot: {step_error}"
                out[s] = SlotVerdict("failed", error=why[:ERROR_CHARS], crashed=True)
        elif line is not None or (report is None and not step_succeeded):
            why = f"not attempted: the step ended before it reached this slot ({step_error})"
            out[s] = SlotVerdict("released", error=why[:ERROR_CHARS])
        else:
            out[s] = SlotVerdict("failed", error=f"the Spark job reported nothing for this slot ({step_error})")
    return out


def verdicts(event: RecordSlotsEvent, report: RunReport | None) -> dict[str, SlotVerdict]:
    """What happened to each claimed slot, from the run's outcome and the job's report."""
    slots = [s.slot for s in event.plan.slots]
    if event.outcome == "cluster_failed":
        why = error_text(event.error, "the cluster did not start")
        return {s: SlotVerdict("released", error=f"not attempted: {why}") for s in slots}
    if event.outcome == "transform":
        jobs = {j.slot: j for j in event.jobs}
        out: dict[str, SlotVerdict] = {}
        for s in slots:
            job = jobs.get(s)
            if job is not None and job.status == "converted":
                out[s] = SlotVerdict("done", counts=None, job=job.job)
            else:
                out[s] = SlotVerdict("failed", error=error_text(job.error if job else None, "no job result"))
        return out
    step_error = error_text(event.error, "the step ended without an error")
    return emr_slot_verdicts(slots, report, step_error, step_succeeded=event.outcome != "step_failed")


def dead_run_verdicts(
    pipeline: str,
    slots: list[str],
    *,
    status: str,
    error: str,
    work_started: bool,
    report: RunReport | None,
    started_jobs: set[str],
) -> dict[str, SlotVerdict]:
    """Each slot a run still held when it ended ``status`` (FAILED, TIMED_OUT, ABORTED) without recording it."""
    stopped = status == STOPPED
    if not work_started:
        why = f"not attempted: the run ended {status} before its work started"
        return {s: SlotVerdict("released", error=why) for s in slots}
    if pipeline == "emr":
        ended = f"the run ended {status}: {error}"
        return emr_slot_verdicts(slots, report, ended, step_succeeded=False, stopped=stopped)
    out: dict[str, SlotVerdict] = {}
    for s in slots:
        if s in started_jobs and not stopped:
            out[s] = SlotVerdict("failed", error=f"its transform job did not finish: the run ended {status}: {error}")
        else:
            out[s] = SlotVerdict("released", error=f"not finished: the run ended {status} ({error})")
    return out
