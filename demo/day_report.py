"""What ``make demo-day`` prints: a line per tick, then the day's counts (two of which must be 0)."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class TickLine:
    tick: str
    landed: list[str]
    claimed: list[str]
    status: str
    cluster: bool
    note: str = ""


@dataclass
class DayReport:
    lines: list[TickLine] = field(default_factory=list)
    slots_with_data: int = 0
    converted: int = 0
    quarantined: list[str] = field(default_factory=list)
    lost: list[str] = field(default_factory=list)
    clusters: int = 0
    clusters_without_data: int = 0
    cluster_minutes: float = 0.0

    def render(self) -> str:
        out = ["tick   landed           claimed                                   status     cluster  note"]
        for t in self.lines:
            claimed = ",".join(c[11:16] for c in t.claimed) or "-"
            landed = ",".join(x[11:16] for x in t.landed) or "-"
            cluster = "yes" if t.cluster else "no"
            out.append(f"{t.tick[11:16]}  {landed:<15}  {claimed:<40}  {t.status:<9}  {cluster:<7}  {t.note}")
        out += [
            "",
            f"slots with data:                  {self.slots_with_data}",
            f"slots converted:                  {self.converted}",
            f"slots quarantined:                {len(self.quarantined)} {' '.join(self.quarantined)}",
            f"slots lost:                       {len(self.lost)} {' '.join(self.lost)}  (must be 0)",
            f"clusters created:                 {self.clusters}",
            f"clusters for ticks without data:  {self.clusters_without_data}  (must be 0)",
            f"cluster-minutes (simulated):      {self.cluster_minutes:.0f}",
        ]
        return "\n".join(out)


def render_line(line: TickLine) -> str:
    """One tick as it happens (the progress line)."""
    claimed = ", ".join(c[11:16] for c in line.claimed) or "-"
    cluster = "yes" if line.cluster else "no"
    return f"{line.tick[11:16]}  claimed {claimed:<30} {line.status:<9} cluster {cluster}  {line.note}"
