"""What ``make demo-day`` prints: a line per tick, then the day's counts (two of which must be 0)."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class TickLine:
    tick: str
    landed: list[str]
    claimed: list[str]
    status: str
    #: The run started compute: a cluster, or an EMR Serverless job run.
    compute: bool
    note: str = ""


@dataclass
class DayReport:
    lines: list[TickLine] = field(default_factory=list)
    slots_with_data: int = 0
    converted: int = 0
    quarantined: list[str] = field(default_factory=list)
    lost: list[str] = field(default_factory=list)
    #: ``cluster`` or ``serverless`` (the template's SparkBackend).
    backend: str = "cluster"
    #: Clusters created, or job runs started; those by ticks that had nothing to convert (must be 0).
    compute: int = 0
    compute_without_data: int = 0
    compute_minutes: float = 0.0

    def render(self) -> str:
        what = "job runs" if self.backend == "serverless" else "clusters"
        out = [f"tick   landed           claimed                                   status     {what[:-1]:<7}  note"]
        for t in self.lines:
            claimed = ",".join(c[11:16] for c in t.claimed) or "-"
            landed = ",".join(x[11:16] for x in t.landed) or "-"
            compute = "yes" if t.compute else "no"
            out.append(f"{t.tick[11:16]}  {landed:<15}  {claimed:<40}  {t.status:<9}  {compute:<7}  {t.note}")
        out += [
            "",
            f"slots with data:                  {self.slots_with_data}",
            f"slots converted:                  {self.converted}",
            f"slots quarantined:                {len(self.quarantined)} {' '.join(self.quarantined)}",
            f"slots lost:                       {len(self.lost)} {' '.join(self.lost)}  (must be 0)",
            f"{what + ' started:':<34}{self.compute}",
            f"{what + ' for ticks without data:':<34}{self.compute_without_data}  (must be 0)",
            f"{what[:-1] + '-minutes (simulated):':<34}{self.compute_minutes:.0f}",
        ]
        return "\n".join(out)


def render_line(line: TickLine) -> str:
    """One tick as it happens (the progress line)."""
    claimed = ", ".join(c[11:16] for c in line.claimed) or "-"
    compute = "yes" if line.compute else "no"
    return f"{line.tick[11:16]}  claimed {claimed:<30} {line.status:<9} compute {compute}  {line.note}"
