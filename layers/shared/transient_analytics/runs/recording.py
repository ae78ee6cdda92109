"""After the work: each claimed slot recorded ``done``, ``failed`` (or ``quarantined``) or released.

What happened to a slot is decided by :mod:`transient_analytics.runs.verdicts` (the run's outcome and the
Spark job's report); this module applies it to the ledger with conditional writes. The ports keep
the AWS calls out; the rules are the ledger's (``ledger.transitions``).

**Retried safely.** Step Functions retries RecordSlots on errors that can arrive after it wrote
(a Lambda service error, a time-out, a notification not yet delivered): a slot this run already
recorded (not ``running`` any more, ``run_id`` this run's) is counted as it was recorded, not
written again, so the retry returns the same summary and charges nothing twice; only the slots it
records itself are ``fresh`` (the metrics count those). A slot the run no longer holds (its lease
ran out and another run claimed it) is left alone. NotifyFailure gives a dead run's slots back with
the same rules (:func:`give_back`), finding them by holder rather than by a plan that may never
have come back.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol

from transient_analytics.ledger import transitions
from transient_analytics.ledger.records import SlotRecord
from transient_analytics.models import RecordSlotsEvent
from transient_analytics.runs.completion import ConvertedSlot
from transient_analytics.runs.verdicts import SlotVerdict, parse_report, verdicts
from transient_analytics.settings import NotifyFailureSettings, RecordSlotsSettings
from transient_analytics.slots import Pipeline

#: A recorded slot's state, as the summary counts it.
_OUTCOME = {"done": "converted", "failed": "failed", "quarantined": "quarantined", "pending": "released"}


class Ledger(Protocol):
    def get_many(self, pipeline: Pipeline, slots: list[str]) -> dict[str, SlotRecord]: ...
    def write(self, new: SlotRecord, expected_version: int | None) -> bool: ...


class Reports(Protocol):
    def read_json(self, uri: str) -> Any | None: ...


@dataclass(frozen=True)
class Rules:
    """The two numbers recording needs, from whichever function records (RecordSlots or NotifyFailure)."""

    max_attempts: int
    retention: timedelta

    @classmethod
    def of(cls, settings: RecordSlotsSettings | NotifyFailureSettings) -> Rules:
        return cls(settings.MAX_SLOT_ATTEMPTS, timedelta(days=settings.DONE_RETENTION_DAYS))


@dataclass
class RecordResult:
    converted: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    quarantined: list[SlotRecord] = field(default_factory=list)
    released: list[str] = field(default_factory=list)
    #: Slots this run no longer held when it came to record them.
    not_held: list[str] = field(default_factory=list)
    #: Slots this invocation recorded (not an earlier attempt of the same RecordSlots).
    fresh: set[str] = field(default_factory=set)
    rows_written: int = 0
    bad_rows: int = 0
    unlisted_rows: int = 0
    verdicts: dict[str, SlotVerdict] = field(default_factory=dict)
    #: What the completion events announce: the slots this run recorded done.
    announced: list[ConvertedSlot] = field(default_factory=list)
    #: Every record this run holds or recorded, as it is now (the notices owed are read from them).
    records: dict[str, SlotRecord] = field(default_factory=dict)

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

    def count(self, record: SlotRecord, verdict: SlotVerdict) -> None:
        outcome = _OUTCOME[record.state]
        if outcome == "quarantined":
            self.quarantined.append(record)
        else:
            getattr(self, outcome).append(record.slot)
        if outcome == "converted":
            self.rows_written += record.rows_written or 0
            self.bad_rows += record.bad_rows or 0
            self.unlisted_rows += sum((record.unlisted_values or {}).values())
        self.records[record.slot] = record


def apply(record: SlotRecord, verdict: SlotVerdict, holder: str, now: datetime, rules: Rules) -> SlotRecord:
    """The transition ``verdict`` calls for on a record ``holder`` holds."""
    if verdict.verdict == "done":
        unlisted = verdict.unlisted or None
        return transitions.complete(
            record, holder=holder, counts=verdict.counts, now=now, retention=rules.retention, unlisted=unlisted
        )
    if verdict.verdict == "released":
        return transitions.release(record, holder=holder, error=verdict.error, now=now)
    return transitions.fail(
        record,
        holder=holder,
        error=verdict.error,
        now=now,
        max_attempts=rules.max_attempts,
        crashed=verdict.crashed,
    )


def apply_all(
    pipeline: Pipeline,
    decided: dict[str, SlotVerdict],
    holder: str,
    run_id: str,
    now: datetime,
    store: Ledger,
    rules: Rules,
) -> RecordResult:
    """Apply each verdict to the slot ``holder`` holds; count what an earlier attempt of this run recorded."""
    result = RecordResult(verdicts=decided)
    current = store.get_many(pipeline, list(decided))
    for sid, verdict in decided.items():
        record_ = current.get(sid)
        if record_ is not None and record_.state == "running" and record_.holder == holder:
            new = apply(record_, verdict, holder, now, rules)
            if store.write(new, record_.version):
                result.fresh.add(sid)
                result.count(new, verdict)
                continue
        elif record_ is not None and record_.run_id == run_id and record_.state in _OUTCOME:
            result.count(record_, verdict)  # recorded by an earlier attempt of this run
            continue
        result.not_held.append(sid)
    return result


def record(
    event: RecordSlotsEvent, settings: RecordSlotsSettings, now: datetime, store: Ledger, reports: Reports
) -> RecordResult:
    """Apply each slot's verdict to the ledger, conditionally, and count what happened."""
    report = None
    # Only a Spark step writes a report (a transform run has none to read: GetObject of a missing key is
    # AccessDenied, not NoSuchKey, without s3:ListBucket, and would fail the recording).
    if event.outcome not in ("cluster_failed", "transform") and event.plan.report_uri:
        report = parse_report(reports.read_json(event.plan.report_uri), event.plan.run_id)
    decided = verdicts(event, report)
    result = apply_all(event.pipeline, decided, event.execution.id, event.plan.run_id, now, store, Rules.of(settings))
    for sid in result.converted:
        result.announced.append(_converted(event, sid, result.records[sid], decided[sid]))
    return result


def _converted(event: RecordSlotsEvent, sid: str, record_: SlotRecord, verdict: SlotVerdict) -> ConvertedSlot:
    work = next(w for w in event.plan.slots if w.slot == sid)
    if event.pipeline == "emr":
        return ConvertedSlot(
            pipeline="emr",
            slot=sid,
            run_id=event.plan.run_id,
            rows_written=record_.rows_written or 0,
            manifest_uri=verdict.manifest_uri or work.manifest_uri,
        )
    return ConvertedSlot(
        pipeline="transform", slot=sid, run_id=event.plan.run_id, rows_written=0, output_uri=work.output_uri
    )


def give_back(
    pipeline: Pipeline,
    decided: dict[str, SlotVerdict],
    holder: str,
    run_id: str,
    now: datetime,
    store: Ledger,
    rules: Rules,
) -> RecordResult:
    """For a run that ended before recording its slots: the ones it still holds, per ``verdicts.dead_run_verdicts``."""
    return apply_all(pipeline, decided, holder, run_id, now, store, rules)
