"""The Glue tables' columns in template.yaml, generated from their one source, and checked.

    python -m tools.glue_catalog --check    exit 1 (printing what differs) when template.yaml disagrees
    python -m tools.glue_catalog --write    rewrite the generated blocks of template.yaml

CloudFormation cannot read a JSON file, so the template carries a copy of the columns, and
this module keeps that copy exact. The sources:

* ``CuratedCharactersTable`` ← ``jobs/schemas/characters.json``, the schema the Spark job reads
  its CSV with and writes its Parquet from: same names, same order, each Spark type mapped to
  its Glue (Hive) type by :func:`glue_type`, the one mapping.
* ``AbalonePredictionsTable`` ← ``model/code/inference.py``: its ``FEATURE_COLUMNS`` (``sex`` a
  string, the measurements doubles) in the order a batch row carries them, then
  :data:`PREDICTION_COLUMN`, the double that the batch transform (``JoinSource: Input``) appends.

The characters table is partitioned by ``dt``/``hour``/``minute`` and by the column named by
the ``PartitionColumn`` parameter. Spark's ``partitionBy`` moves that column out of the Parquet
files into the directory names, so the table must list it as a partition key and not as a data
column; CloudFormation cannot filter a list by a parameter, hence, per string column ``c`` of
the schema, a condition ``PartitionColumnIs<C>`` that drops ``c`` from the columns and gives
it its partition-projection properties (literal keys ``projection.c.*``: a key cannot be
computed). A rule restricts ``PartitionColumn`` to those string columns.

Generated text sits between ``# >>> glue_catalog:<block>`` and ``# <<< glue_catalog:<block>``
marker comments in template.yaml. :func:`verify` checks the parsed template too, so an edit
outside the markers or a block moved elsewhere is caught as well.
"""

from __future__ import annotations

import argparse
import difflib
import json
import re
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
TEMPLATE = ROOT / "template.yaml"
SCHEMA = ROOT / "jobs" / "schemas" / "characters.json"

CHARACTERS_TABLE = "CuratedCharactersTable"
PREDICTIONS_TABLE = "AbalonePredictionsTable"
PARTITION_PARAMETER = "PartitionColumn"
PARTITION_VALUES_PARAMETER = "PartitionValues"
RULE = "PartitionColumnIsAStringColumnOfTheSchema"
#: The prediction the batch transform appends to each input row (inference.py's output_fn).
PREDICTION_COLUMN = ("rings_predicted", "double")
#: The slot's partition keys, before the partition column (CONTRACT.md: strings).
SLOT_KEYS = ("dt", "hour", "minute")

_SIMPLE_TYPES = {
    "string": "string",
    "long": "bigint",
    "integer": "int",
    "short": "smallint",
    "byte": "tinyint",
    "boolean": "boolean",
    "double": "double",
    "float": "float",
    "date": "date",
    "timestamp": "timestamp",
    "timestamp_ntz": "timestamp",
    "binary": "binary",
}
_DECIMAL = re.compile(r"^decimal\((\d+),\s*(\d+)\)$")
_NAME = re.compile(r"^[a-z_][a-z0-9_]*$")


@dataclass(frozen=True)
class Column:
    name: str
    glue_type: str
    #: the condition under which the column is the partition column (None: never)
    partition_condition: str | None = None


def glue_type(spark_type: Any, column: str = "?") -> str:
    """The Glue/Hive type of a Spark SQL type as ``StructType.json()`` writes it.

    Only the atomic types the Parquet files can carry as a column of their own; a nested type
    (struct, array, map) raises, naming the column, because the table would need its full
    Hive type string and the job does not write one.
    """
    if isinstance(spark_type, str):
        if spark_type in _SIMPLE_TYPES:
            return _SIMPLE_TYPES[spark_type]
        decimal = _DECIMAL.match(spark_type)
        if decimal:
            return f"decimal({decimal.group(1)},{decimal.group(2)})"
    raise ValueError(
        f"column {column!r}: Spark type {spark_type!r} has no Glue mapping here "
        f"(known: {', '.join(sorted(_SIMPLE_TYPES))}, decimal(p,s))"
    )


def condition_name(column: str) -> str:
    """``guardian_rank`` → ``PartitionColumnIsGuardianRank``."""
    return "PartitionColumnIs" + "".join(part[:1].upper() + part[1:] for part in column.split("_") if part)


def schema_columns(schema: dict[str, Any]) -> list[Column]:
    """The characters table's columns, in schema order; string columns may be the partition column."""
    fields = schema.get("fields") if isinstance(schema, dict) else None
    if schema.get("type") != "struct" or not isinstance(fields, list) or not fields:
        raise ValueError("schema: must be a Spark StructType JSON object with a non-empty 'fields' list")
    columns, seen = [], set()
    for index, spec in enumerate(fields):
        name = spec.get("name") if isinstance(spec, dict) else None
        if not isinstance(name, str) or not _NAME.match(name):
            raise ValueError(f"schema.fields[{index}].name: must be a lower-case Glue column name (got {name!r})")
        if name in seen or name in SLOT_KEYS:
            raise ValueError(f"schema.fields[{index}].name: {name!r} is a duplicate or a slot partition key")
        seen.add(name)
        kind = glue_type(spec.get("type"), name)
        columns.append(Column(name, kind, condition_name(name) if kind == "string" else None))
    conditions = [c.partition_condition for c in columns if c.partition_condition]
    if len(set(conditions)) != len(conditions):
        raise ValueError(f"schema: two column names give the same condition name: {sorted(conditions)}")
    return columns


def prediction_columns() -> list[Column]:
    from model.code.inference import FEATURE_COLUMNS, SEX_COLUMN

    return [Column(c, "string" if c == SEX_COLUMN else "double") for c in FEATURE_COLUMNS] + [
        Column(*PREDICTION_COLUMN)
    ]


def load_schema(path: Path = SCHEMA) -> dict[str, Any]:
    return json.loads(path.read_text(encoding="utf-8"))


# ---------------------------------------------------------------- the generated blocks
def _column_line(column: Column) -> str:
    entry = f"{{ Name: {column.name}, Type: {column.glue_type} }}"
    if column.partition_condition:
        return f"- !If [{column.partition_condition}, !Ref AWS::NoValue, {entry}]"
    return f"- {entry}"


def _partition_columns(columns: list[Column]) -> list[Column]:
    return [c for c in columns if c.partition_condition]


def render_blocks(schema: dict[str, Any]) -> dict[str, list[str]]:
    """Each generated block's lines, without their indentation."""
    columns = schema_columns(schema)
    candidates = _partition_columns(columns)
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


# ---------------------------------------------------------------- checking the parsed template
def _table_input(template: dict[str, Any], logical_id: str) -> dict[str, Any]:
    resource = template.get("Resources", {}).get(logical_id)
    if not resource or resource.get("Type") != "AWS::Glue::Table":
        raise ValueError(f"template.yaml: no AWS::Glue::Table named {logical_id}")
    return resource["Properties"]["TableInput"]


def _parse_column(entry: Any) -> Column:
    if isinstance(entry, dict) and set(entry) == {"Fn::If"}:
        condition, when_true, when_false = entry["Fn::If"]
        if when_true != {"Ref": "AWS::NoValue"}:
            raise ValueError(f"column {entry!r}: the partition column's !If must drop it (AWS::NoValue first)")
        column = _parse_column(when_false)
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
    candidates = _partition_columns(columns)
    problems: list[str] = []
    characters = _table_input(template, CHARACTERS_TABLE)
    actual = [_parse_column(e) for e in characters["StorageDescriptor"]["Columns"]]
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
        PREDICTIONS_TABLE, prediction_columns(), [_parse_column(e) for e in predictions["StorageDescriptor"]["Columns"]]
    )
    return problems


# ---------------------------------------------------------------- command line
def check(template_path: Path = TEMPLATE, schema_path: Path = SCHEMA, out: Callable[[str], None] = print) -> int:
    from offline.cfn import load_template

    text = template_path.read_text(encoding="utf-8")
    schema = load_schema(schema_path)
    wanted = rewrite(text, render_blocks(schema))
    problems = verify(load_template(template_path), schema)
    if wanted != text:
        diff = difflib.unified_diff(text.splitlines(), wanted.splitlines(), "template.yaml", "generated", lineterm="")
        problems.append("the generated blocks are out of date (make catalog rewrites them):\n" + "\n".join(diff))
    for problem in problems:
        out(f"glue_catalog: {problem}")
    if not problems:
        out(f"glue_catalog: template.yaml agrees with {schema_path.relative_to(ROOT)} and inference.py")
    return 1 if problems else 0


def write(template_path: Path = TEMPLATE, schema_path: Path = SCHEMA) -> bool:
    """Rewrite the generated blocks; True when the file changed."""
    text = template_path.read_text(encoding="utf-8")
    wanted = rewrite(text, render_blocks(load_schema(schema_path)))
    if wanted != text:
        template_path.write_text(wanted, encoding="utf-8")
    return wanted != text


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.glue_catalog", description=__doc__.splitlines()[0])
    mode = parser.add_mutually_exclusive_group(required=True)
    mode.add_argument("--check", action="store_true", help="fail when template.yaml disagrees with the sources")
    mode.add_argument("--write", action="store_true", help="rewrite the generated blocks of template.yaml")
    args = parser.parse_args(argv)
    try:
        if args.write:
            changed = write()
            print(f"glue_catalog: template.yaml {'rewritten' if changed else 'already up to date'}")
            return check()
        return check()
    except ValueError as exc:
        print(f"glue_catalog: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
