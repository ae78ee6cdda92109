"""The parsed template checked against the sources: every way its Glue tables disagree with them.

Reads the long form (``{"Fn::If": ...}``), so an edit outside the generated blocks, or a block
moved elsewhere, is caught as well as a stale block.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from tools.glue_columns import (
    CHARACTERS_TABLE,
    PARTITION_PARAMETER,
    PREDICTIONS_TABLE,
    RULE,
    SLOT_KEYS,
    Column,
    partition_columns,
    prediction_columns,
    schema_columns,
)


def _table_input(template: dict[str, Any], logical_id: str) -> dict[str, Any]:
    resource = template.get("Resources", {}).get(logical_id)
    if not resource or resource.get("Type") != "AWS::Glue::Table":
        raise ValueError(f"template.yaml: no AWS::Glue::Table named {logical_id}")
    return resource["Properties"]["TableInput"]


def parse_column(entry: Any) -> Column:
    """A template column entry: ``{Name, Type}``, or the partition column's ``!If`` that drops it."""
    if isinstance(entry, dict) and set(entry) == {"Fn::If"}:
        condition, when_true, when_false = entry["Fn::If"]
        if when_true != {"Ref": "AWS::NoValue"}:
            raise ValueError(f"column {entry!r}: the partition column's !If must drop it (AWS::NoValue first)")
        column = parse_column(when_false)
        return Column(column.name, column.glue_type, condition)
    if isinstance(entry, dict) and {"Name", "Type"} <= set(entry):
        return Column(str(entry["Name"]), str(entry["Type"]))
    raise ValueError(f"column {entry!r}: expected {{Name, Type}} or an !If around one")


def _compare(what: str, expected: Sequence[Column], actual: Sequence[Column]) -> list[str]:
    problems = []
    for index in range(max(len(expected), len(actual))):
        want = expected[index] if index < len(expected) else None
        got = actual[index] if index < len(actual) else None
        if want != got:
            problems.append(f"{what} column {index + 1}: schema says {want}, template.yaml says {got}")
    return problems


def verify(template: dict[str, Any], schema: dict[str, Any]) -> list[str]:
    """Every way the parsed template (long form) disagrees with the sources; empty when it agrees."""
    columns = schema_columns(schema)
    candidates = partition_columns(columns)
    problems: list[str] = []
    characters = _table_input(template, CHARACTERS_TABLE)
    actual = [parse_column(e) for e in characters["StorageDescriptor"]["Columns"]]
    problems += _compare(CHARACTERS_TABLE, columns, actual)
    keys = characters.get("PartitionKeys", [])
    expected_keys = [{"Name": k, "Type": "string"} for k in SLOT_KEYS] + [
        {"Name": {"Ref": PARTITION_PARAMETER}, "Type": "string"}
    ]
    if keys != expected_keys:
        problems.append(f"{CHARACTERS_TABLE} partition keys: expected {expected_keys}, got {keys}")
    conditions = template.get("Conditions", {})
    parameters = characters.get("Parameters", {})
    for c in candidates:
        if conditions.get(c.partition_condition) != {"Fn::Equals": [{"Ref": PARTITION_PARAMETER}, c.name]}:
            problems.append(f"condition {c.partition_condition}: must be PartitionColumn == {c.name!r}")
        projection_type = parameters.get(f"projection.{c.name}.type")
        if projection_type != {"Fn::If": [c.partition_condition, "enum", {"Ref": "AWS::NoValue"}]}:
            problems.append(f"{CHARACTERS_TABLE} projection.{c.name}.type: must be enum under {c.partition_condition}")
        if f"projection.{c.name}.values" not in parameters:
            problems.append(f"{CHARACTERS_TABLE} projection.{c.name}.values: missing")
    projected = {*SLOT_KEYS, *(c.name for c in candidates)}
    stray = sorted(
        k for k in parameters if k.startswith("projection.") and k.count(".") >= 2 and k.split(".")[1] not in projected
    )
    if stray:
        problems.append(f"{CHARACTERS_TABLE}: projection properties of no partition column: {stray}")
    rule = template.get("Rules", {}).get(RULE, {})
    allowed = [a.get("Assert", {}).get("Fn::Contains", [None])[0] for a in rule.get("Assertions", [])]
    if allowed != [[c.name for c in candidates]]:
        problems.append(f"rule {RULE}: must allow exactly {[c.name for c in candidates]} (got {allowed})")
    predictions = _table_input(template, PREDICTIONS_TABLE)
    problems += _compare(
        PREDICTIONS_TABLE, prediction_columns(), [parse_column(e) for e in predictions["StorageDescriptor"]["Columns"]]
    )
    return problems
