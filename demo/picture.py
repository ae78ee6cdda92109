"""A picture of a workflow: the states and transitions of an ASL definition, coloured by a run.

SVG written directly (no Graphviz): the definitions are small DAGs, a layered layout is
enough, and it keeps the offline twin free of system packages. Pure: takes the definition
and what a run did, returns the SVG text.
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass
from html import escape
from typing import Any

from offline.history import state_visits

BOX_W, BOX_H, GAP_X, GAP_Y, MARGIN = 250, 44, 40, 46, 24

COLOURS = {
    "succeeded": ("#d9f2dd", "#2e7d32"),  # entered and left normally
    "failed": ("#ffe0b2", "#e65100"),  # entered, raised an error (caught or not)
    "fail": ("#ffcdd2", "#b71c1c"),  # a Fail state the run ended in
    "not run": ("#f2f2f2", "#9e9e9e"),
}


@dataclass(frozen=True)
class Edge:
    source: str
    target: str
    kind: str  # next | choice | default | catch
    label: str = ""


def choice_label(choice: dict[str, Any]) -> str:
    """``Variable op value``: what the rule tests, e.g. ``$.plan.work == false``."""
    ops = {"BooleanEquals": "==", "StringEquals": "==", "NumericGreaterThan": ">", "NumericEquals": "=="}
    for key, op in ops.items():
        if key in choice:
            return f"{choice.get('Variable', '?')} {op} {json.dumps(choice[key])}"
    return "choice"


def edges(definition: dict[str, Any]) -> list[Edge]:
    found = []
    for name, state in definition["States"].items():
        if "Next" in state:
            found.append(Edge(name, state["Next"], "next"))
        for choice in state.get("Choices", []):
            found.append(Edge(name, choice["Next"], "choice", choice_label(choice)))
        if "Default" in state:
            found.append(Edge(name, state["Default"], "default", "default"))
        for catch in state.get("Catch", []):
            found.append(Edge(name, catch["Next"], "catch", "catch " + ",".join(catch["ErrorEquals"])))
    return found


def layers(definition: dict[str, Any]) -> list[list[str]]:
    """States by depth from StartAt (longest path), in first-seen order."""
    depth: dict[str, int] = {definition["StartAt"]: 0}
    order = [definition["StartAt"]]
    outgoing = defaultdict(list)
    for e in edges(definition):
        outgoing[e.source].append(e.target)
    changed = True
    while changed:
        changed = False
        for source in list(order):
            for target in outgoing[source]:
                d = depth[source] + 1
                if target not in depth or (depth[target] < d <= len(definition["States"])):
                    if target not in depth:
                        order.append(target)
                    depth[target] = d
                    changed = True
    for name in definition["States"]:  # unreachable states still drawn, last
        if name not in depth:
            depth[name] = max(depth.values()) + 1
            order.append(name)
    rows: dict[int, list[str]] = defaultdict(list)
    for name in order:
        rows[depth[name]].append(name)
    return [rows[d] for d in sorted(rows)]


def visits_from_history(events: list[dict[str, Any]], definition: dict[str, Any]) -> dict[str, str]:
    """Each state's colour key from an execution history (its last visit), in the order first entered."""
    status: dict[str, str] = {}
    for visit in state_visits(events):
        kind = definition["States"].get(visit.name, {}).get("Type")
        status[visit.name] = "fail" if kind == "Fail" else "failed" if visit.failed else "succeeded"
    return status


def render_svg(definition: dict[str, Any], visits: dict[str, str], title: str) -> str:
    rows = layers(definition)
    width = max(len(r) for r in rows) * (BOX_W + GAP_X) - GAP_X + 2 * MARGIN
    height = len(rows) * (BOX_H + GAP_Y) - GAP_Y + 2 * MARGIN + 50
    pos: dict[str, tuple[float, float]] = {}
    for i, row in enumerate(rows):
        row_w = len(row) * (BOX_W + GAP_X) - GAP_X
        x0 = (width - row_w) / 2
        for j, name in enumerate(row):
            pos[name] = (x0 + j * (BOX_W + GAP_X), MARGIN + 30 + i * (BOX_H + GAP_Y))
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width:.0f}" height="{height:.0f}" '
        f'font-family="Helvetica, Arial, sans-serif" font-size="13">',
        '<defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" markerHeight="7" '
        'orient="auto-start-reverse"><path d="M 0 0 L 10 5 L 0 10 z" fill="#555"/></marker></defs>',
        f'<rect width="100%" height="100%" fill="white"/><text x="{MARGIN}" y="{MARGIN + 4}" '
        f'font-size="15" font-weight="bold">{escape(title)}</text>',
    ]
    order = list(visits)  # insertion order is the order the run entered the states
    steps = set(zip(order, order[1:], strict=False))
    for e in edges(definition):
        (sx, sy), (tx, ty) = pos[e.source], pos[e.target]
        x1, y1, x2, y2 = sx + BOX_W / 2, sy + BOX_H, tx + BOX_W / 2, ty
        # A step from a state that raised went through its Catch; from any other, through Next/Choice.
        taken = (e.source, e.target) in steps and ((e.kind == "catch") == (visits.get(e.source) == "failed"))
        dash = ' stroke-dasharray="5,4"' if e.kind == "catch" else ""
        stroke = "#333" if taken else "#bbb"
        out.append(
            f'<line x1="{x1:.0f}" y1="{y1:.0f}" x2="{x2:.0f}" y2="{y2:.0f}" stroke="{stroke}" '
            f'stroke-width="{2.2 if taken else 1.2}"{dash} marker-end="url(#arrow)"/>'
        )
        if e.label:
            out.append(
                f'<text x="{(x1 + x2) / 2 + 4:.0f}" y="{(y1 + y2) / 2:.0f}" font-size="10" fill="#666">'
                f"{escape(e.label)}</text>"
            )
    for name, (x, y) in pos.items():
        key = visits.get(name, "not run")
        fill, stroke = COLOURS[key]
        kind = definition["States"][name]["Type"]
        out.append(
            f'<rect x="{x:.0f}" y="{y:.0f}" width="{BOX_W}" height="{BOX_H}" rx="8" fill="{fill}" '
            f'stroke="{stroke}" stroke-width="1.6"/>'
            f'<text x="{x + BOX_W / 2:.0f}" y="{y + 19:.0f}" text-anchor="middle">{escape(name)}</text>'
            f'<text x="{x + BOX_W / 2:.0f}" y="{y + 35:.0f}" text-anchor="middle" font-size="10" '
            f'fill="#555">{escape(kind)} · {escape(key)}</text>'
        )
    legend_y = height - 10
    for i, (key, (fill, stroke)) in enumerate(COLOURS.items()):
        lx = MARGIN + i * 120
        out.append(
            f'<rect x="{lx}" y="{legend_y - 10}" width="12" height="12" fill="{fill}" stroke="{stroke}"/>'
            f'<text x="{lx + 16}" y="{legend_y}" font-size="11">{escape(key)}</text>'
        )
    out.append("</svg>")
    return "\n".join(out) + "\n"
