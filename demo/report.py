"""The demo's report: each state's timing from the execution history, and the Markdown the demo prints."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from demo.compute import Compute
from demo.picture import visits_from_history
from offline.cfn.definitions import all_states
from offline.harness import REPO_ROOT, ExecutionResult
from transient_analytics.ledger.records import SlotState
from transient_analytics.slots import Pipeline


@dataclass
class StateTiming:
    name: str
    state_type: str
    seconds: float
    outcome: str


@dataclass
class WorkflowReport:
    title: str
    logical_id: str
    result: ExecutionResult
    states: list[StateTiming]
    picture: Path
    wall_seconds: float
    payload_seconds: float
    objects: list[str] = field(default_factory=list)
    notification: dict[str, str] | None = None


@dataclass
class DemoReport:
    slot: str
    workflows: list[WorkflowReport]
    #: The EMR clusters, or the EMR Serverless job runs, the EMR pipeline ran on: what each billed and cost.
    compute: list[Compute]
    spark_backend: str
    #: pipeline, slot, state, rows written, run id: the slot ledger after the runs.
    ledger: list[tuple[Pipeline, str, SlotState, int | None, str]]
    #: The README's sample query (Athena's text), its day, and its result on this run's output (DuckDB).
    sample_query: tuple[str, str, str]
    setup_seconds: float
    total_seconds: float
    function_logs: Path | None = None
    function_log_lines: int = 0
    text: str = ""

    def workflow(self, logical_id: str) -> WorkflowReport:
        return next(w for w in self.workflows if w.logical_id == logical_id)


def state_timings(result: ExecutionResult, definition: dict[str, Any]) -> list[StateTiming]:
    """Each state entered, in order, with its duration and outcome, from the execution history."""
    states = all_states(definition)
    colours = visits_from_history(result.history, definition)
    last = result.history[-1]["timestamp"] if result.history else None
    return [
        StateTiming(v.name, states[v.name]["Type"], _seconds(v.entered, v.exited or last), colours[v.name])
        for v in result.visits
    ]


def _seconds(start: Any, end: Any) -> float:
    if isinstance(start, str):
        start, end = datetime.fromisoformat(start), datetime.fromisoformat(end)
    return max(0.0, float((end - start).total_seconds()))


def render_report(report: DemoReport) -> str:
    lines = [f"# transient-analytics offline demo, landing slot {report.slot}", ""]
    for w in report.workflows:
        lines.append(f"## {w.title}: {w.result.status} ({w.wall_seconds:.1f} s; payload {w.payload_seconds:.1f} s)")
        if w.result.error:
            lines.append(f"error: {w.result.error}")
        lines += ["", "| state | type | seconds | outcome |", "|---|---|---:|---|"]
        lines += [f"| {s.name} | {s.state_type} | {s.seconds:.2f} | {s.outcome} |" for s in w.states]
        lines += ["", f"picture: {relative(w.picture)}"]
        if w.objects:
            lines += ["", "objects written:", *[f"  {o}" for o in w.objects]]
        if w.notification:
            lines += [
                "",
                f"SNS notification, subject: {w.notification['subject']}",
                "",
                "```",
                w.notification["message"].rstrip(),
                "```",
            ]
        lines.append("")
    lines += ["## Slot ledger", "", "| pipeline | slot | state | rows written | run |", "|---|---|---|---:|---|"]
    lines += [
        f"| {p} | {slot} | {state} | {'-' if rows is None else f'{rows:,}'} | {run} |"
        for p, slot, state, rows, run in report.ledger
    ]
    query, day, result = report.sample_query
    lines += [
        "",
        "## The sample query on this output",
        "",
        f"Athena's text (stack output SampleQuery), run here with DuckDB over the bucket's curated/ layout, day {day}:",
        "",
        "```sql",
        query,
        "```",
        "",
        "```",
        result,
        "```",
    ]
    title = "EMR Serverless job runs" if report.spark_backend == "serverless" else "EMR clusters"
    lines += ["", f"## {title} (SparkBackend={report.spark_backend})", ""]
    lines += [
        "| id | name | final state | billed (as the twin records it) | estimated cost |",
        "|---|---|---|---|---:|",
    ]
    lines += [
        f"| {c.id} | {c.name} | {c.state} | {c.billed} | {'-' if c.cost_usd is None else f'${c.cost_usd}'} |"
        for c in report.compute
    ]
    orchestration = report.total_seconds - report.setup_seconds - sum(w.payload_seconds for w in report.workflows)
    lines += [
        "",
        f"wall time {report.total_seconds:.1f} s: set-up (data, publish, moto) {report.setup_seconds:.1f} s, "
        f"payload (Spark, model) {sum(w.payload_seconds for w in report.workflows):.1f} s, "
        f"orchestration {orchestration:.1f} s",
    ]
    if report.function_logs is not None:
        lines.append(
            f"function logs (Powertools JSON, with correlation ids): {relative(report.function_logs)} "
            f"({report.function_log_lines} lines)"
        )
    return "\n".join(lines) + "\n"


def relative(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(REPO_ROOT))
    except ValueError:
        return str(path)
