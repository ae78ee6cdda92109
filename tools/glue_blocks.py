"""The generated blocks of template.yaml: the Glue columns and the partition column's rule, as text.

Generated text sits between ``# >>> glue_catalog:<block>`` and ``# <<< glue_catalog:<block>``
marker comments; :func:`rewrite` replaces what lies between them (same indentation).
"""

from __future__ import annotations

import re
from typing import Any

from tools.glue_columns import (
    PARTITION_PARAMETER,
    PARTITION_VALUES_PARAMETER,
    RULE,
    Column,
    partition_columns,
    prediction_columns,
    schema_columns,
)


def _column_line(column: Column) -> str:
    entry = f"{{ Name: {column.name}, Type: {column.glue_type} }}"
    if column.partition_condition:
        return f"- !If [{column.partition_condition}, !Ref AWS::NoValue, {entry}]"
    return f"- {entry}"


def render_blocks(schema: dict[str, Any]) -> dict[str, list[str]]:
    """Each generated block's lines, without their indentation."""
    columns = schema_columns(schema)
    candidates = partition_columns(columns)
    projection = []
    for c in candidates:
        projection += [
            f"projection.{c.name}.type: !If [{c.partition_condition}, enum, !Ref AWS::NoValue]",
            f"projection.{c.name}.values: !If",
            f"  - {c.partition_condition}",
            f'  - !Join [",", !Ref {PARTITION_VALUES_PARAMETER}]',
            "  - !Ref AWS::NoValue",
        ]
    names = ", ".join(c.name for c in candidates)
    return {
        "rules": [
            f"{RULE}:",
            "  Assertions:",
            "    # Long form: the offline twin's YAML loader knows no !Contains tag.",
            f"    - Assert: {{ Fn::Contains: [[{names}], !Ref {PARTITION_PARAMETER}] }}",
            "      AssertDescription: >-",
            "        PartitionColumn must be a string column of jobs/schemas/characters.json",
            "        (the Glue table projects it as an enum partition key).",
        ],
        "conditions": [f"{c.partition_condition}: !Equals [!Ref {PARTITION_PARAMETER}, {c.name}]" for c in candidates],
        "characters-columns": [_column_line(c) for c in columns],
        "characters-projection": projection,
        "predictions-columns": [_column_line(c) for c in prediction_columns()],
    }


_BEGIN = re.compile(r"^(?P<indent> *)# >>> glue_catalog:(?P<block>[a-z-]+)\b.*$")
_END = "# <<< glue_catalog:{block}"


def rewrite(text: str, blocks: dict[str, list[str]]) -> str:
    """``text`` with the lines between each block's markers replaced by the block (same indentation)."""
    lines = text.splitlines()
    out: list[str] = []
    found: set[str] = set()
    i = 0
    while i < len(lines):
        line = lines[i]
        out.append(line)
        begin = _BEGIN.match(line)
        i += 1
        if not begin:
            continue
        block, indent = begin["block"], begin["indent"]
        if block not in blocks:
            raise ValueError(f"template.yaml line {i}: unknown generated block {block!r}")
        if block in found:
            raise ValueError(f"template.yaml line {i}: block {block!r} appears twice")
        found.add(block)
        end = indent + _END.format(block=block)
        while i < len(lines) and lines[i] != end:
            if _BEGIN.match(lines[i]):
                raise ValueError(f"template.yaml line {i + 1}: block {block!r} is not closed by {end.strip()!r}")
            i += 1
        if i == len(lines):
            raise ValueError(f"template.yaml: block {block!r} is not closed by {end.strip()!r}")
        out.extend(indent + generated for generated in blocks[block])
    missing = sorted(set(blocks) - found)
    if missing:
        raise ValueError(f"template.yaml: no markers for the generated block(s) {missing}")
    return "\n".join(out) + "\n"
