"""The README's sample query, run offline with DuckDB over a local copy of the curated output.

The same SQL text is the template's ``SampleQuery`` output (Athena) and what DuckDB runs here
(tests/catalog checks that the two agree): rows per ``dt`` and partition-column value for one
day, the day bound as the query's one parameter. Offline, ``"<database>"."curated_characters"``
is a DuckDB view over ``read_parquet`` with Hive partitioning on exactly the directory layout
the Glue table's ``storage.location.template`` projects::

    <root>/curated/characters/dt=YYYY-MM-DD/hour=HH/minute=MM/<column>=<value>/*.parquet

and the partition keys are read as strings (no type guessing), as the Glue table declares
them. So a result here shows that the layout the job writes, the table's projection and the
data agree. ``<root>`` is a local copy of the data bucket (``offline.runners.s3.download_prefix``).
"""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path

import duckdb

from offline.cfn.resolver import DEFAULT_STACK_NAME
from transient_analytics import layout

#: ``{database}``, ``{table}`` and ``{column}`` are filled in; ``?`` is the day (yyyy-MM-dd).
SAMPLE_QUERY_TEMPLATE = (
    'SELECT dt, "{column}", count(*) AS row_count FROM "{database}"."{table}" '
    'WHERE dt = ? GROUP BY dt, "{column}" ORDER BY dt, "{column}"'
)
CURATED_TABLE = "curated_characters"
_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def database_name(stack_name: str) -> str:
    """The Glue database of a stack, as the template names it (hyphens become underscores)."""
    return "_".join(stack_name.split("-"))


def sample_query(database: str, column: str = layout.DEFAULT_PARTITION_COLUMN, table: str = CURATED_TABLE) -> str:
    for field, value in (("database", database), ("column", column), ("table", table)):
        if not _IDENTIFIER.match(value):
            raise ValueError(f"{field}: must be a plain SQL identifier (letters, digits, _) (got {value!r})")
    return SAMPLE_QUERY_TEMPLATE.format(database=database, table=table, column=column)


def _check_day(day: str) -> str:
    try:
        if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", day):
            raise ValueError
        date.fromisoformat(day)
    except (TypeError, ValueError):
        raise ValueError(f"day: must be a date yyyy-MM-dd (got {day!r})") from None
    return day


def run_sample_query(
    root: Path,
    day: str,
    *,
    column: str = layout.DEFAULT_PARTITION_COLUMN,
    stack_name: str = DEFAULT_STACK_NAME,
) -> list[tuple[str, str, int]]:
    """``(dt, value of the partition column, rows)`` for ``day``, sorted; ``[]`` when nothing is there."""
    _check_day(day)
    database = database_name(stack_name)
    sql = sample_query(database, column)
    table_root = Path(root) / layout.EMR_OUTPUT_ROOT
    pattern = f"dt=*/hour=*/minute=*/{column}=*/*.parquet"
    if not any(table_root.glob(pattern)):
        return []
    with duckdb.connect(":memory:") as con:
        con.execute(f'CREATE SCHEMA "{database}"')
        files = str(table_root / pattern).replace("'", "''")  # a view cannot take a prepared parameter
        con.execute(
            f'CREATE VIEW "{database}"."{CURATED_TABLE}" AS SELECT * FROM read_parquet('
            f"'{files}', hive_partitioning = true, hive_types_autocast = false)"
        )
        rows = con.execute(sql, [day]).fetchall()
    return [(str(dt), str(value), int(count)) for dt, value, count in rows]


def format_result(rows: list[tuple[str, str, int]], column: str = layout.DEFAULT_PARTITION_COLUMN) -> str:
    """The result as docs/querying.md shows it: an aligned table with a header."""
    header = ("dt", column, "row_count")
    cells = [header, *((dt, value, str(count)) for dt, value, count in rows)]
    widths = [max(len(row[i]) for row in cells) for i in range(3)]
    return "\n".join("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip() for row in cells)
