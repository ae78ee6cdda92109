"""docs/parameters.md, generated from template.yaml's Parameters: one source, so the table stays true.

    python -m tools.parameter_table --write    rewrite docs/parameters.md
    python -m tools.parameter_table --check    exit 1 when docs/parameters.md is not what the template says

Each parameter's row is its name, default, constraint (allowed values, range or pattern) and
``Description``, grouped as the CloudFormation console groups them (the template's
``Metadata: AWS::CloudFormation::Interface: ParameterGroups``).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[1]
TEMPLATE = ROOT / "template.yaml"
OUT = ROOT / "docs" / "parameters.md"
HEADER = """# Parameters

Generated from `template.yaml` by `python -m tools.parameter_table --write` (`make parameters`); a test fails
when this file and the template disagree. Set them with `sam deploy --parameter-overrides Name=value …`
or in `samconfig.toml` (a command-line list replaces the file's, it is not merged; see
[operating.md](operating.md)).
"""


class _Loader(yaml.SafeLoader):
    """YAML with CloudFormation's short tags read as plain data (parameters use none of them)."""


_Loader.add_multi_constructor("!", lambda loader, suffix, node: None)


def _groups(template: dict[str, Any]) -> list[tuple[str, list[str]]]:
    """The console's parameter groups (``Metadata: AWS::CloudFormation::Interface``), then any parameter left."""
    interface = (template.get("Metadata") or {}).get("AWS::CloudFormation::Interface") or {}
    groups = [(g["Label"]["default"], list(g["Parameters"])) for g in interface.get("ParameterGroups", [])]
    grouped = {name for _, names in groups for name in names}
    rest = [name for name in template["Parameters"] if name not in grouped]
    return groups + ([("Other", rest)] if rest else [])


def _constraint(spec: dict[str, Any]) -> str:
    if "AllowedValues" in spec:
        return " \\| ".join(f"`{v}`" for v in spec["AllowedValues"])
    parts = []
    if "MinValue" in spec or "MaxValue" in spec:
        parts.append(f"{spec.get('MinValue', '')}..{spec.get('MaxValue', '')}")
    if "MinLength" in spec or "MaxLength" in spec:
        parts.append(f"length {spec.get('MinLength', 0)}..{spec.get('MaxLength', '')}")
    if "ConstraintDescription" in spec:
        parts.append(str(spec["ConstraintDescription"]))
    elif "AllowedPattern" in spec:
        parts.append(f"`{spec['AllowedPattern']}`")
    return "; ".join(parts)


def _cell(value: Any) -> str:
    text = " ".join(str(value).split())
    return text.replace("|", "\\|")


def render(template_text: str) -> str:
    template: dict[str, Any] = yaml.load(template_text, Loader=_Loader)
    parameters: dict[str, dict[str, Any]] = template["Parameters"]
    out = [HEADER]
    for label, names in _groups(template):
        out += ["", f"## {label}", "", "| parameter | default | allowed | meaning |", "|---|---|---|---|"]
        for name in names:
            spec = parameters[name]
            default = spec.get("Default", "")
            shown = f"`{_cell(default)}`" if default != "" else "(empty)"
            meaning = _cell(spec.get("Description", "**no description** (add one to template.yaml)"))
            out.append(f"| `{name}` | {shown} | {_constraint(spec)} | {meaning} |")
    return "\n".join(out) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.parameter_table", description=__doc__.split("\n\n")[0])
    mode = parser.add_mutually_exclusive_group(required=True)
    mode.add_argument("--write", action="store_true")
    mode.add_argument("--check", action="store_true")
    args = parser.parse_args(argv)
    text = render(TEMPLATE.read_text())
    if args.write:
        OUT.write_text(text)
        return 0
    if not OUT.is_file() or OUT.read_text() != text:
        print(f"{OUT.relative_to(ROOT)} is out of date: run python -m tools.parameter_table --write", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
