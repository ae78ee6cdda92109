"""What ``make demo-train`` prints: each training run's candidate and production scores on the same rows, the
gate's decision, what production became, the one message a person got, and the day scored with the result."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from offline.harness import ExecutionResult


@dataclass
class TrainingRun:
    """One execution of the training state machine, as the report shows it."""

    candidates: list[str]
    result: ExecutionResult
    wall_seconds: float
    job_seconds: float

    @property
    def registration(self) -> dict[str, Any]:
        return dict((self.result.output or {}).get("registration") or {})

    @property
    def promotion(self) -> dict[str, Any]:
        return dict((self.result.output or {}).get("promotion") or {})

    @property
    def promoted(self) -> bool:
        return bool(self.promotion.get("promoted"))

    @property
    def decision(self) -> str:
        if self.result.status != "SUCCEEDED":
            return f"run {self.result.status}: {self.result.error}"
        if self.promoted:
            return f"promoted: {self.registration['reason']}"
        reason = self.promotion.get("reason") or self.registration.get("reason", "")
        return f"left PendingManualApproval: {reason}"


@dataclass
class TrainingDemoReport:
    data_uri: str
    threshold: float
    runs: list[TrainingRun]
    #: After the runs: the production pointer's version, model name and hold-out RMSE.
    production: tuple[int, str, float | None] | None
    packages: list[tuple[int, str]]  # version, approval status
    messages: list[tuple[str, str]]  # subject, body
    scored: ExecutionResult | None = None
    scored_lines: list[str] = field(default_factory=list)
    total_seconds: float = 0.0
    function_logs: Path | None = None
    text: str = ""


def _rmse(value: Any) -> str:
    return f"{value:.4f}" if isinstance(value, (int, float)) else "-"


def render_training_report(report: TrainingDemoReport) -> str:
    lines = [
        "# The model kept current (offline)",
        "",
        f"Training data: `{report.data_uri}`; gate: a candidate must beat production's hold-out RMSE by at least "
        f"{report.threshold:g} rings on the same rows.",
        "",
        "| run | candidates | chosen | candidate RMSE | production RMSE, same rows | decision | production after |",
        "|---|---|---|---|---|---|---|",
    ]
    for number, run in enumerate(report.runs, start=1):
        candidate = run.registration.get("candidate") or {}
        incumbent = run.registration.get("incumbent") or {}
        against = f"{_rmse(incumbent.get('rmse'))} (v{incumbent['version']})" if incumbent else "- (none yet)"
        production = run.promotion.get("production") or {}
        after = f"v{production['version']}" if run.promoted and production else "unchanged"
        chosen = f"{candidate.get('algorithm', '-')} v{candidate.get('version', '?')}"
        lines.append(
            f"| {number} | {', '.join(run.candidates)} | {chosen} | {_rmse(candidate.get('rmse'))} | {against} "
            f"| {run.decision} | {after} |"
        )
    timings = [
        f"run {n}: {r.wall_seconds:.1f} s (training job {r.job_seconds:.1f} s)" for n, r in enumerate(report.runs, 1)
    ]
    lines += ["", "; ".join(timings) + "."]
    if report.production:
        version, name, rmse = report.production
        lines += ["", f"Production: v{version}, SageMaker model `{name}`, hold-out RMSE {_rmse(rmse)}."]
    lines += ["", "Model packages: " + ", ".join(f"v{v} {status}" for v, status in report.packages)]
    for subject, body in report.messages:
        lines += ["", "The one message a person got:", "", f"    Subject: {subject}", ""]
        lines += [f"    {line}" for line in body.splitlines()]
    if report.scored is not None:
        lines += ["", f"Batch transform with the promoted model: {report.scored.status}"]
        lines += [f"    {line}" for line in report.scored_lines]
    lines += ["", f"Total: {report.total_seconds:.1f} s."]
    if report.function_logs:
        lines.append(f"Function logs: {report.function_logs}")
    return "\n".join(lines) + "\n"
