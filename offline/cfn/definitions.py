"""The state machine definitions as ``sam deploy`` ships them: the ASL file with ``DefinitionSubstitutions``
applied; a ``${Placeholder}`` nobody substitutes is refused (CloudFormation would ship it verbatim)."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from dataclasses import replace as with_changes
from pathlib import Path
from typing import Any

from offline.cfn.resolver import TemplateError
from offline.cfn.stack import Stack, StateMachineSpec

_PLACEHOLDER = re.compile(r"\$\{([A-Za-z0-9_.:]+)\}")


@dataclass(frozen=True)
class RenderedDefinition:
    spec: StateMachineSpec
    #: The ASL text with every substitution applied (what Step Functions receives).
    text: str
    #: Substitution keys the definition never uses (harmless, but usually a leftover).
    unused_substitutions: tuple[str, ...]

    @property
    def definition(self) -> dict[str, Any]:
        return dict(json.loads(self.text))


def render_definition(
    stack: Stack, root: Path, logical_id: str, overrides: Mapping[str, str] | None = None
) -> RenderedDefinition:
    """The definition of the state machine ``logical_id``, substituted, as deployed.

    ``overrides`` replace resolved substitution values (only keys the template declares).
    """
    machines = stack.state_machines()
    if logical_id not in machines:
        raise TemplateError(f"no AWS::Serverless::StateMachine {logical_id!r}; the template has {sorted(machines)}")
    spec = machines[logical_id]
    if overrides:
        unknown = sorted(set(overrides) - set(spec.substitutions))
        if unknown:
            raise TemplateError(f"{logical_id} has no DefinitionSubstitutions key(s) {unknown}")
        spec = with_changes(spec, substitutions={**spec.substitutions, **overrides})
    source = (root / spec.definition_uri).read_text(encoding="utf-8")
    used: set[str] = set()
    missing: set[str] = set()

    def substitute(match: re.Match[str]) -> str:
        key = match.group(1)
        if key in spec.substitutions:
            used.add(key)
            return spec.substitutions[key]
        missing.add(key)
        return match.group(0)

    text = _PLACEHOLDER.sub(substitute, source)
    if missing:
        raise TemplateError(
            f"{spec.definition_uri}: placeholder(s) {sorted(missing)} have no DefinitionSubstitutions "
            f"entry in {logical_id}"
        )
    try:
        json.loads(text)
    except json.JSONDecodeError as exc:
        raise TemplateError(f"{spec.definition_uri} is not valid JSON after substitution: {exc}") from exc
    unused = tuple(sorted(set(spec.substitutions) - used))
    return RenderedDefinition(spec=spec, text=text, unused_substitutions=unused)


def all_states(definition: Mapping[str, Any]) -> dict[str, Any]:
    """Every state of a definition by name, those inside Map and Parallel states included."""
    found: dict[str, Any] = {}
    for name, state in (definition.get("States") or {}).items():
        found[name] = state
        for branch in state.get("Branches", []):
            found.update(all_states(branch))
        for key in ("Iterator", "ItemProcessor"):
            if isinstance(state.get(key), dict):
                found.update(all_states(state[key]))
    return found
