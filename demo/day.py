"""``make demo-day``: a run of scheduled EMR ticks played offline, with the slot ledger keeping score.

    python -m demo.day [--ticks 16] [--rows 2000] [--real-spark-ticks 1] [--spark-backend serverless]

Every 15 minutes of simulated time the slot that just closed receives its landing data (some
slots stay empty), then the scheduler's tick starts the real EMR state machine with the real
``prepare_run`` and ``record_slots`` handlers (their clocks set to the tick). The first ticks
with work run the real Spark job on local Spark (``--real-spark-ticks``); later ones a simulated
step that reports per slot exactly as the job does (:mod:`offline.runners.simulated_step`), so the day
plays in about a minute. Scripted along the way: empty slots, one run overlapping the next tick
(its step still running), one poison slot that fails every attempt and ends quarantined, and a
late file landing in a slot already converted. A last tick after the day drains what is left.

Durations are simulated, not slept: a cluster is taken to start in 10 minutes, terminate in 1,
and the step to take 2 minutes plus 1 minute per 500,000 rows; the tick clock moves 15 minutes.
With ``--spark-backend serverless`` the same day runs on EMR Serverless job runs (``SparkBackend=serverless``;
a job run taken to start in 1.5 minutes, as ``bench_slot_day`` assumes): the same slots end the same way.

It prints what each tick did and ends with the day's counts: slots with data, slots converted,
slots lost (must be 0), clusters (or job runs) started, those for ticks without data (must be 0). The
exit code is 1 when either of the two "must be 0" counts is not.
"""

from __future__ import annotations

import argparse
import sys
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3

from demo.day_report import DayReport, TickLine, render_line
from jobs import generate_characters
from offline.harness import REPO_ROOT, ExecutionResult, OfflineHarness
from offline.integrations import TaskContext
from offline.runners.emr import EMR_ADD_STEP, EmrRunner
from offline.runners.emr_serverless import EmrServerlessRunner
from offline.runners.serverless_job import LocalSparkJob, SimulatedServerlessJob
from offline.runners.simulated_step import SimulatedSparkStep
from tools.publish import JOB_PATH, SCHEMA_PATH
from transient_analytics import layout
from transient_analytics.ledger.store import SlotLedger
from transient_analytics.notify.history import facts_from_history
from transient_analytics.runs import asl_contract as asl
from transient_analytics.slots import GRIDS, slot_id

START = datetime(2026, 11, 25, 6, 0, tzinfo=UTC)
GRID = GRIDS["emr"]
CLUSTER_START = timedelta(minutes=10)
CLUSTER_TERMINATE = timedelta(minutes=1)
JOB_RUN_START = timedelta(minutes=1.5)


@dataclass(frozen=True)
class Scenario:
    """Which slots get data, which is poison, which gets a late file and which tick overlaps the next."""

    ticks: int = 16
    rows: int = 2000
    #: Every slot whose index modulo 3 is 2 stays empty (a third of the slots).
    empty_every: int = 3
    poison_index: int = 1
    late_index: int = 0
    late_at_tick: int = 9
    overlap_tick: int = 6
    #: Ticks with work that run the real Spark job (the others the simulated step).
    real_spark_ticks: int = 1

    def slot(self, index: int) -> datetime:
        return START + index * GRID.length

    def has_data(self, index: int) -> bool:
        return index % self.empty_every != self.empty_every - 1

    @property
    def poison(self) -> str:
        return slot_id(self.slot(self.poison_index))


class HeldStep:
    """Wraps a step runner (or a serverless job): the overlapping tick's step waits here until the next tick ran."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.hold_next = False
        self.entered = threading.Event()
        self.released = threading.Event()

    def __call__(self, request: Any, context: TaskContext) -> Any:
        """``request``: a Task's parameters (a cluster's step), or a job run's :class:`JobRequest` (serverless)."""
        if self.hold_next:
            self.hold_next = False
            self.entered.set()
            while not self.released.wait(0.05) and not context.cancelled():
                pass
        return self.inner(request, context)


#: A row the job rejects (level is not an integer): with no bad rows tolerated, its slot fails every attempt.
POISON_ROW = b"999999,Poison Row,Titan,Human,not-a-level,1800,5,true,2025-11-30T10:00:00Z\n"


def _put(s3: Any, bucket: str, slot: datetime, name: str, rows: int, seed: int, poison: bool = False) -> None:
    body = generate_characters.generate_csv_bytes(rows, seed) + (POISON_ROW if poison else b"")
    s3.put_object(Bucket=bucket, Key=layout.emr_input_prefix(slot) + name, Body=body)


def _plan(result: ExecutionResult) -> dict[str, Any]:
    """The run plan PrepareRun returned, read from the history (a failed run has no output)."""
    return facts_from_history(result.history).plan or {}


def _step_minutes(result: ExecutionResult, rows_per_slot: int) -> float:
    return 2 + len(_plan(result).get("slots", [])) * rows_per_slot / 500_000


def play(scenario: Scenario, work_dir: Path, echo: Any = print, backend: str = "cluster") -> DayReport:
    report = DayReport(backend=backend)
    parameters = {"ScheduleState": "DISABLED", "SparkBackend": backend}
    with OfflineHarness(parameters=parameters, execution_timeout=1800.0) as harness:
        bucket = harness.stack.ref("DataBucket")
        s3 = boto3.client("s3", region_name=harness.region)
        for path, key in ((JOB_PATH, layout.JOB_KEY), (SCHEMA_PATH, layout.SCHEMA_KEY)):
            s3.put_object(Bucket=bucket, Key=key, Body=path.read_bytes())
        work_dir.mkdir(parents=True, exist_ok=True)
        real, simulated, step = _steps(harness, scenario, work_dir, s3, backend)
        real_left = scenario.real_spark_ticks
        ledger = SlotLedger(boto3.client("dynamodb", region_name=harness.region), harness.stack.ref("SlotLedgerTable"))
        held: tuple[str, TickLine] | None = None
        with_data: set[str] = set()
        for k in range(scenario.ticks + 1):
            tick = scenario.slot(k + 1)
            landed = []
            if k < scenario.ticks and scenario.has_data(k):
                _put(
                    s3, bucket, scenario.slot(k), "part-0.csv", scenario.rows, seed=k, poison=k == scenario.poison_index
                )
                landed.append(slot_id(scenario.slot(k)))
                with_data.add(slot_id(scenario.slot(k)))
            note = ""
            if k == scenario.late_at_tick:
                _put(s3, bucket, scenario.slot(scenario.late_index), "late.csv", scenario.rows // 10, seed=999)
                note = f"late file in {slot_id(scenario.slot(scenario.late_index))[11:16]}"
            harness.freeze_clock(tick + timedelta(seconds=30))
            harness.freeze_clock(tick + CLUSTER_START + timedelta(minutes=3), function="RecordSlotsFunction")
            step.hold_next = k == scenario.overlap_tick
            name = f"tick-{tick:%Y%m%dT%H%M}"
            arn = harness.start_execution(
                "EmrPipelineStateMachine",
                {"scheduled_time": f"{tick:%Y-%m-%dT%H:%M:%SZ}", "trigger": "schedule"},
                name=name,
            )
            if k == scenario.overlap_tick and step.entered.wait(60):
                line = TickLine(
                    slot_id(tick),
                    landed,
                    [],
                    "RUNNING",
                    True,
                    (note + "; " if note else "") + "step still running at the next tick",
                )
                report.lines.append(line)
                held = (arn, line)
                continue
            result = harness.wait(arn)
            ran_real = step.inner is real and bool(set(asl.WORK_STATES["emr"]) & set(result.states_entered))
            line = _line(result, tick, landed, "; ".join(x for x in (note, "real Spark job" if ran_real else "") if x))
            report.lines.append(line)
            _account(report, result, scenario.rows)
            if held is not None:
                step.released.set()
                earlier = harness.wait(held[0])
                held[1].status = earlier.status
                held[1].claimed = (
                    [s["slot"] for s in (earlier.output or {}).get("plan", {}).get("slots", [])]
                    if isinstance(earlier.output, dict)
                    else []
                )
                _account(report, earlier, scenario.rows)
                held = None
            if line.compute and step.inner is real:
                real_left -= 1
                if real_left <= 0:
                    step.inner = simulated
            echo(render_line(line))
        records = ledger.window("emr", "0", "9")
        report.slots_with_data = len(with_data)
        report.converted = sum(1 for s in with_data if records.get(s) and records[s].state == "done")
        report.quarantined = sorted(s for s, r in records.items() if r.state == "quarantined")
        report.lost = sorted(
            s for s in with_data if s not in records or records[s].state not in ("done", "quarantined")
        )
    return report


def _steps(
    harness: OfflineHarness, scenario: Scenario, work_dir: Path, s3: Any, backend: str
) -> tuple[Any, Any, HeldStep]:
    """The real job, the simulated one (failing the poison slot), and the held wrapper the backend's runner calls."""
    real: Any
    simulated: Any
    if backend == "serverless":
        real = LocalSparkJob(work_dir, s3, lambda line: None)
        simulated = SimulatedServerlessJob(fail={scenario.poison}, region=harness.region)
        step = HeldStep(real if scenario.real_spark_ticks > 0 else simulated)
        EmrServerlessRunner(work_dir, region=harness.region, job=step).register(harness)
        return real, simulated, step
    real = EmrRunner(work_dir, region=harness.region).register(harness).add_step
    simulated = SimulatedSparkStep(region=harness.region, fail={scenario.poison})
    step = HeldStep(real if scenario.real_spark_ticks > 0 else simulated)
    harness.runners.register(EMR_ADD_STEP, step)
    return real, simulated, step


def _started_compute(result: ExecutionResult) -> bool:
    return asl.CREATE_CLUSTER in result.states_entered or asl.RUN_SERVERLESS_JOB in result.states_entered


def _line(result: ExecutionResult, tick: datetime, landed: list[str], note: str) -> TickLine:
    plan = _plan(result)
    claimed = [s["slot"] for s in plan.get("slots", [])]
    outcome = result.status if plan.get("work", True) else "NO WORK"
    extra = "" if plan.get("work", True) else plan.get("reason", "")
    return TickLine(
        slot_id(tick),
        landed,
        claimed,
        outcome,
        _started_compute(result),
        "; ".join(x for x in (note, extra) if x),
    )


def _account(report: DayReport, result: ExecutionResult, rows: int) -> None:
    if not _started_compute(result):
        return
    report.compute += 1
    if not _plan(result).get("slots"):
        report.compute_without_data += 1
    overhead = JOB_RUN_START if report.backend == "serverless" else CLUSTER_START + CLUSTER_TERMINATE
    report.compute_minutes += (overhead + timedelta(minutes=_step_minutes(result, rows))).total_seconds() / 60


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m demo.day", description=__doc__.split("\n\n")[0])
    parser.add_argument("--ticks", type=int, default=16, help="scheduled ticks of the day (default 16: four hours)")
    parser.add_argument("--rows", type=int, default=2000, help="rows per landing slot (default 2,000)")
    parser.add_argument("--real-spark-ticks", type=int, default=1, help="ticks with work on real Spark (default 1)")
    parser.add_argument("--spark-backend", choices=("cluster", "serverless"), default="cluster", help="SparkBackend")
    args = parser.parse_args(argv)
    if args.ticks < 12:
        parser.error("--ticks: at least 12, so that the overlap, the quarantine and the late file all happen")
    out = REPO_ROOT / "out" / ("demo-day" if args.spark_backend == "cluster" else f"demo-day-{args.spark_backend}")
    out.mkdir(parents=True, exist_ok=True)
    scenario = Scenario(ticks=args.ticks, rows=args.rows, real_spark_ticks=args.real_spark_ticks)
    report = play(scenario, out / "work", backend=args.spark_backend)
    text = report.render()
    (out / "report.txt").write_text(text + "\n")
    print()
    print(text)
    return 0 if not report.lost and report.compute_without_data == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
