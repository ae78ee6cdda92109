"""Orchestration figures of the offline twin, printed beside their baselines (never asserted).

    python -m bench.bench_orchestration [--rows 20000] [--repeat 7]

- state transitions and Lambda invocations per successful run of each workflow, counted from
  the execution history of a real demo run (what AWS bills per transition);
- cold import time of each handler module (a fresh interpreter each time, median of
  ``--repeat``) against a bare ``import boto3`` handler, the floor any Python Lambda pays;
- the demo's wall time split into set-up, orchestration and payload (Spark, model).
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys

from demo import Demo
from offline.harness import REPO_ROOT

IMPORTS = {
    "bare handler (import boto3)": "import boto3",
    "functions.prepare_run.app": "import functions.prepare_run.app",
    "functions.record_slots.app": "import functions.record_slots.app",
    "functions.notify_failure.app": "import functions.notify_failure.app",
}
#: Issue 12's target for a handler's cold import, as a multiple of the bare boto3 handler.
COLD_IMPORT_TARGET = 1.3


def cold_import_seconds(statement: str, repeat: int) -> float:
    code = f"import time; t = time.perf_counter(); {statement}; print(time.perf_counter() - t)"
    env = {"PYTHONPATH": f"{REPO_ROOT}:{REPO_ROOT / 'layers' / 'shared'}", "PATH": "/usr/bin:/bin"}
    samples = [
        float(subprocess.run([sys.executable, "-c", code], env=env, check=True, capture_output=True, text=True).stdout)
        for _ in range(repeat)
    ]
    return statistics.median(samples)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=20_000)
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args(argv)

    report = Demo(REPO_ROOT / "out" / "bench-demo", sample_rows=args.rows, echo=lambda line: None).run()
    print("\n## Per successful run (from the execution history)\n")
    print(f"{'workflow':<18} {'state transitions':>18} {'Lambda invocations':>19} {'status':>10}")
    for w in report.workflows:
        transitions = sum(1 for e in w.result.history if "stateEnteredEventDetails" in e)
        lambdas = sum(
            1
            for e in w.result.history
            if e["type"] == "LambdaFunctionScheduled"
            or (e["type"] == "TaskScheduled" and e["taskScheduledEventDetails"]["resourceType"] == "lambda")
        )
        print(f"{w.title:<18} {transitions:>18} {lambdas:>19} {w.result.status:>10}")

    print(f"\n## Cold import of each handler (median of {args.repeat} fresh interpreters)\n")
    baseline = cold_import_seconds(IMPORTS["bare handler (import boto3)"], args.repeat)
    print(f"{'module':<30} {'seconds':>9} {'vs import boto3':>16} {'target':>8}")
    for name, statement in IMPORTS.items():
        seconds = baseline if statement == "import boto3" else cold_import_seconds(statement, args.repeat)
        target = "" if statement == "import boto3" else f"≤ {COLD_IMPORT_TARGET}x"
        print(f"{name:<30} {seconds:>9.3f} {seconds / baseline:>15.2f}x {target:>8}")

    payload = sum(w.payload_seconds for w in report.workflows)
    orchestration = report.total_seconds - report.setup_seconds - payload
    print(f"\n## Demo wall time ({args.rows:,} character rows, 4,177 abalone rows)\n")
    print(f"{'part':<42} {'seconds':>9} {'share':>7}")
    for part, seconds in (
        ("set-up (data, publish, moto)", report.setup_seconds),
        ("payload (Spark step, training, transform)", payload),
        ("orchestration (engine, Lambdas, polling)", orchestration),
        ("total", report.total_seconds),
    ):
        print(f"{part:<42} {seconds:>9.2f} {seconds / report.total_seconds:>6.0%}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
