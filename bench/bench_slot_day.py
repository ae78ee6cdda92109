"""A simulated day of scheduled EMR ticks: today's one-slot-per-tick runs beside the slot ledger's batches.

    python -m bench.bench_slot_day [--ticks 96] [--rate 167000] [--overhead 60] [--empty-share 0.3] [--seed 7]

A discrete-event simulation (no sleeping, no AWS, no Spark): each tick at a 15-minute boundary
starts a run; a run that plans a cluster holds it for cluster start + Spark step + terminate,
with the step's time computed from the rows it converts and a locally measured rate. The
assumptions are printed first; the figures are printed side by side, never asserted.

- **v1** (the behaviour before the ledger, modelled by its rules): a tick converts the one slot
  that just closed; a tick whose predecessor still runs ends in ``SkippedOverlappingRun`` and its
  slot is lost; a failed slot stays unconverted until a person acts; an empty slot still gets a
  cluster and a Spark step; a file landing after its slot was converted is never converted.
- **ledger**: the layer's real code drives every run: ``planning.prepare_run`` (slot grid,
  landing fingerprints, ``ledger.select`` and ``ledger.claim``, the run plan) before the cluster,
  ``recording.record`` (``ledger.complete`` / ``ledger.fail``, quarantine) after it, with the
  Spark job's per-slot report (a poison slot fails, the others of its batch convert), against an
  in-memory landing listing and an in-memory ledger whose writes are conditional on the record's
  version, as the DynamoDB store's are. Only the durations and the job's outcome are simulated.

The day is :mod:`bench.slot_day_model`, the scoring :mod:`bench.slot_day_outcome`, the two
behaviours :mod:`bench.slot_day_v1` and :mod:`bench.slot_day_ledger`; this module prints them.
"""

from __future__ import annotations

import argparse
from datetime import timedelta

from bench.slot_day_ledger import settings, simulate_ledger
from bench.slot_day_model import MEASURED_ROWS_PER_SECOND, Assumptions, make_day
from bench.slot_day_outcome import Outcome
from bench.slot_day_v1 import simulate_v1


def table(v1: Outcome, new: Outcome) -> list[str]:
    def lag(o: Outcome) -> str:
        return f"{o.max_lag_minutes:.0f}" + (" (lost slots: never)" if o.lost else "")

    rows = [
        ("clusters created", str(v1.clusters), str(new.clusters)),
        ("clusters for ticks without data", str(v1.empty_clusters), str(new.empty_clusters)),
        ("cluster-minutes", f"{v1.cluster_minutes:.0f}", f"{new.cluster_minutes:.0f}"),
        (
            "cluster-minutes per slot with data",
            f"{v1.cluster_minutes_per_slot:.1f}",
            f"{new.cluster_minutes_per_slot:.1f}",
        ),
        ("slots with data", str(v1.slots_with_data), str(new.slots_with_data)),
        ("slots converted (final contents)", str(v1.converted), str(new.converted)),
        ("slots lost", str(v1.lost), str(new.lost)),
        ("slots quarantined (reported, released by backfill)", "-", str(new.quarantined)),
        ("slots still waiting at the end", "-", str(new.waiting)),
        ("maximum lag, data landed to converted (minutes)", lag(v1), lag(new)),
        ("max OldestPendingSlotAgeSeconds metric (minutes)", "-", f"{new.max_lag_metric_minutes or 0:.0f}"),
        ("most clusters at once", str(v1.most_clusters_at_once), str(new.most_clusters_at_once)),
        ("ticks after the day to finish", "-", str(new.drain_ticks)),
    ]
    width = max(len(r[0]) for r in rows)
    head = f"{'':<{width}}  {'v1 (one slot per tick)':>24}  {'ledger (batches)':>24}"
    return [head] + [f"{name:<{width}}  {a:>24}  {b:>24}" for name, a, b in rows]


def simulate(a: Assumptions) -> tuple[Outcome, Outcome]:
    day = make_day(a)
    return simulate_v1(a, day), simulate_ledger(a, day)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--ticks", type=int, default=96, help="scheduled ticks in the day (96 = 24 h)")
    parser.add_argument("--rate", type=float, default=MEASURED_ROWS_PER_SECOND, help="Spark rows per second")
    parser.add_argument("--overhead", type=float, default=60.0, help="fixed seconds per Spark step")
    parser.add_argument("--rows", type=int, default=2_000_000, help="median rows per slot with data")
    parser.add_argument("--empty-share", type=float, default=0.30, help="share of slots without data")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args(argv)
    if args.ticks < 12 or not 0 <= args.empty_share < 0.9 or args.rate <= 0 or args.rows < 1:
        parser.error("--ticks must be >= 12, --empty-share in [0, 0.9), --rate > 0, --rows >= 1")
    a = Assumptions(
        ticks=args.ticks,
        rows_per_second=args.rate,
        step_overhead=timedelta(seconds=args.overhead),
        rows_median=args.rows,
        empty_share=args.empty_share,
        seed=args.seed,
    )
    print("## A simulated day of EMR ticks: v1 beside the slot ledger\n")
    print("Assumptions:")
    print("\n".join(a.lines(*settings())))
    v1, new = simulate(a)
    print()
    print("\n".join(table(v1, new)))
    print("\nv1:")
    print("\n".join(f"- {n}" for n in v1.notes))
    print("ledger:")
    print("\n".join(f"- {n}" for n in new.notes) or "- nothing to note")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
