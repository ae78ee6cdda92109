"""What the soak counts at the end, from the ledger, S3, the executions and the SNS messages; one table.

Each line is a count. The ones marked "must be 0" (and "all of them") are the promises of the slot
ledger under faults; :attr:`Tally.broken` lists the lines that break them (the exit code is 1 then).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from demo.soak.play import Soak
from offline.harness import ExecutionResult, PublishedMessage
from transient_analytics import layout
from transient_analytics.notify.history import facts_from_history
from transient_analytics.runs import asl_contract as asl
from transient_analytics.runs import bounds
from transient_analytics.slots import ObjectRef, fingerprint, slot_id


@dataclass
class Tally:
    lines: list[tuple[str, str, str]] = field(default_factory=list)
    broken: list[str] = field(default_factory=list)

    def add(self, name: str, value: object, rule: str = "") -> None:
        self.lines.append((name, str(value), rule))

    def must(self, name: str, value: int, expected: int, rule: str) -> None:
        self.check(name, value, value == expected, rule)

    def check(self, name: str, value: object, kept: bool, rule: str) -> None:
        """A line that is a promise: ``kept`` says whether ``value`` keeps it."""
        self.add(name, value, rule)
        if not kept:
            self.broken.append(f"{name}: {value} ({rule})")

    def render(self) -> str:
        width = max(len(n) for n, _, _ in self.lines)
        out = [f"{n:<{width}}  {v:>10}  {r}" for n, v, r in self.lines]
        verdict = "every promise kept" if not self.broken else "BROKEN: " + "; ".join(self.broken)
        return "\n".join([*out, "", verdict])


def _final_fingerprints(soak: Soak) -> dict[str, str]:
    """Each EMR slot's landing fingerprint now (the contents a conversion must have had)."""
    objects: dict[str, list[ObjectRef]] = {}
    pages = soak.s3.get_paginator("list_objects_v2").paginate(Bucket=soak.bucket, Prefix=layout.EMR_INPUT_ROOT + "/")
    for page in pages:
        for o in page.get("Contents", []):
            start = layout.slot_of_key("emr", o["Key"])
            if start is not None:
                objects.setdefault(slot_id(start), []).append(ObjectRef(o["Key"], o["ETag"], int(o["Size"])))
    return {s: fingerprint(refs).digest for s, refs in objects.items()}


def tally(soak: Soak) -> Tally:
    t = Tally()
    records = soak.ledger.window("emr", "0000", "9999")
    final = _final_fingerprints(soak)
    poison = soak.world.poison
    converted = {s for s, r in records.items() if r.state == "done" and r.fingerprint == final.get(s)}
    quarantined = {s for s, r in records.items() if r.state == "quarantined"}
    lost = sorted(set(final) - converted - quarantined)
    emr_runs = [r for r in soak.played.results if r.description["stateMachineArn"].endswith("-emr-pipeline")]
    failures = [r for r in soak.played.results if r.status in ("FAILED", "ABORTED", "TIMED_OUT")]
    messages = soak.h.published()
    told = {r.arn: sum(1 for m in messages if m.subject.endswith(f": {r.name}")) for r in failures}
    quarantine_msgs = [m for m in messages if "quarantined:" in m.subject]
    unlisted_msgs = [m for m in messages if "hidden from Athena" in m.subject]
    clusters = [r for r in emr_runs if asl.CREATE_CLUSTER in r.states_entered]
    empty_clusters = [r for r in clusters if not _planned_slots(r)]
    unlisted_done = {s for s, r in records.items() if r.state == "done" and r.unlisted_values}
    hidden = {s for s in unlisted_done if not any(s in m.message for m in unlisted_msgs)}
    holds = soak.played.holds.values()
    threshold = int(soak.h.stack.parameter_values["SlotLagAlarmSeconds"])
    longest = max(holds, default=timedelta(0))

    t.add("EMR ticks (and drain ticks after the span)", f"{soak.world.ticks} + {soak.played.drain_ticks}")
    t.add("executions (EMR and transform)", len(soak.played.results))
    t.add("slots with data (final contents)", len(final))
    t.must(
        "slots converted (final contents)",
        len(converted),
        len(final) - len(quarantined & set(final)),
        "all but the quarantined",
    )
    t.must("slots lost", len(lost), 0, "must be 0" + (f": {', '.join(lost)}" if lost else ""))
    t.must("slots converted by two steps at once", len(soak.step.overlapping), 0, "must be 0")
    t.must("healthy slots quarantined", len(quarantined - poison), 0, "must be 0")
    t.must("poison slots quarantined", len(quarantined & poison), len(poison), f"of {len(poison)} poison slots")
    t.add("slots closed because their data was deleted", sum(1 for r in records.values() if r.state == "vanished"))
    t.check(
        "longest time a dead run held a slot (minutes)",
        f"{longest.total_seconds() / 60:.1f}",
        longest < timedelta(seconds=threshold),
        f"below the lag alarm's {threshold / 60:.0f} min; {len(holds)} slot(s) held by runs that died",
    )
    odd = ", ".join(f"{arn.rsplit(':', 1)[-1]}: {n}" for arn, n in told.items() if n != 1)
    t.must(
        "failures",
        sum(1 for n in told.values() if n == 1),
        len(failures),
        f"with exactly one notification, of {len(failures)}" + (f" (not once: {odd})" if odd else ""),
    )
    t.must(
        "quarantines with exactly one notice",
        _once_each(quarantined, quarantine_msgs),
        len(quarantined),
        f"of {len(quarantined)}",
    )
    t.must("clusters for ticks without work", len(empty_clusters), 0, "must be 0")
    t.add("clusters created", len(clusters))
    t.must(
        "values hidden from the table",
        len(hidden),
        0,
        f"must be 0 ({len(unlisted_done)} slot(s) with unlisted values, all told)",
    )
    lease = bounds.lease("emr", soak.h.lambdas.module("PrepareRunFunction").settings())
    t.add("lease of a claim, if the notifier failed too (min)", f"{lease.total_seconds() / 60:.1f}", "runs.bounds")
    t.add("claims a duplicate execution won (race)", soak.race.won_by_duplicate, "each converted by the duplicate")
    daily = soak.ledger.window("transform", "0000", "9999")
    scored = sum(1 for r in daily.values() if r.state == "done")
    t.must("transform daily slots scored", scored, len(daily), f"of {len(daily)} with a batch file")
    t.add("real Spark steps", soak.step.real_runs)
    t.add("faults injected", ", ".join(f"{k} {v}" for k, v in sorted(soak.draws.fired.items())))
    t.add("throttled/refused calls the SDK retried", ", ".join(f"{k} {v}" for k, v in sorted(soak.faults.seen.items())))
    t.add("notifier deliveries (errors retried)", f"{soak.played.deliveries} ({soak.played.notifier_errors})")
    return t


def _planned_slots(result: ExecutionResult) -> list[Any]:
    return list((facts_from_history(result.history).plan or {}).get("slots") or [])


def _once_each(slots: set[str], messages: list[PublishedMessage]) -> int:
    """How many of ``slots`` are named by exactly one of ``messages``' subjects."""
    return sum(1 for s in slots if sum(1 for m in messages if s in m.subject) == 1)
