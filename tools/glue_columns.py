"""The Glue tables' columns from their sources, and the template names they are generated under.

* ``CuratedCharactersTable`` ← ``jobs/schemas/characters.json`` (:func:`schema_columns`): same
  names, same order, each Spark type mapped to its Glue (Hive) type by :func:`glue_type`, the one
  mapping; a string column may be the partition column (its condition: :func:`condition_name`).
* ``AbalonePredictionsTable`` ← ``FEATURE_COLUMNS`` of the serving code
  (``model/code/abalone_features.py``; :func:`prediction_columns`), then :data:`PREDICTION_COLUMN`.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from model.code.abalone_features import FEATURE_COLUMNS, SEX_COLUMN

ROOT = Path(__file__).resolve().parents[1]
SCHEMA = ROOT / "jobs" / "schemas" / "characters.json"

CHARACTERS_TABLE = "CuratedCharactersTable"
PREDICTIONS_TABLE = "AbalonePredictionsTable"
PARTITION_PARAMETER = "PartitionColumn"
PARTITION_VALUES_PARAMETER = "PartitionValues"
RULE = "PartitionColumnIsAStringColumnOfTheSchema"
#: The prediction the batch transform appends to each input row (inference.py's output_fn).
PREDICTION_COLUMN = ("rings_predicted", "double")
#: The slot's partition keys, before the partition column (docs/querying.md: strings).
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
    """One Glue column; ``partition_condition`` names the condition under which it is the partition column."""

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
    """The predictions table's columns: each batch row's features, then the appended prediction."""
    return [Column(c, "string" if c == SEX_COLUMN else "double") for c in FEATURE_COLUMNS] + [
        Column(*PREDICTION_COLUMN)
    ]


def load_schema(path: Path = SCHEMA) -> dict[str, Any]:
    """The Spark schema file (``StructType.json()``)."""
    return json.loads(path.read_text(encoding="utf-8"))


def partition_columns(columns: list[Column]) -> list[Column]:
    """The columns that may be the partition column (the string ones)."""
    return [c for c in columns if c.partition_condition]
