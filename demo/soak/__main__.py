"""``python -m demo.soak [--days 7] [--seed 17] [--real-spark-ticks 1]``: play the span, print the table.

Exit code 1 when a promise is broken (a "must be 0" line that is not, a failure without exactly one
notification, a poison slot not quarantined).
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence

from demo.soak.faults import Draws
from demo.soak.play import play
from demo.soak.tally import tally
from demo.soak.world import TICKS_PER_DAY, make_world
from offline.harness import REPO_ROOT


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m demo.soak", description=__doc__.split("\n\n")[0])
    parser.add_argument("--days", type=float, default=7.0, help="simulated days of 15-minute ticks (default 7)")
    parser.add_argument("--seed", type=int, default=17, help="the seed of the data and of every fault (default 17)")
    parser.add_argument("--real-spark-ticks", type=int, default=1, help="steps run by the real Spark job (default 1)")
    args = parser.parse_args(argv)
    ticks = int(args.days * TICKS_PER_DAY)
    if ticks < TICKS_PER_DAY:
        parser.error("--days: at least 1, so that every kind of fault happens")
    print(f"soak: {ticks} EMR ticks ({args.days:g} days) and daily transform ticks, seed {args.seed}")
    started = time.monotonic()
    world = make_world(ticks, args.seed)
    soak, harness = play(
        world, Draws(args.seed, ticks), REPO_ROOT / "out" / "soak" / "work", args.real_spark_ticks, print
    )
    try:
        result = tally(soak)
    finally:
        harness.stop()
    text = result.render()
    out = REPO_ROOT / "out" / "soak"
    out.mkdir(parents=True, exist_ok=True)
    (out / "table.txt").write_text(text + "\n")
    print(f"\n## Soak, seed {args.seed}: {ticks} EMR ticks, {time.monotonic() - started:.0f} s\n")
    print(text)
    return 1 if result.broken else 0


if __name__ == "__main__":
    sys.exit(main())
