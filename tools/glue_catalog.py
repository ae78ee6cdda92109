"""The Glue tables' columns in template.yaml, generated from their one source, and checked.

    python -m tools.glue_catalog --check    exit 1 (printing what differs) when template.yaml disagrees
    python -m tools.glue_catalog --write    rewrite the generated blocks of template.yaml

CloudFormation cannot read a JSON file, so the template carries a copy of the columns, and
this module keeps that copy exact. The sources:

* ``CuratedCharactersTable`` ← ``jobs/schemas/characters.json``, the schema the Spark job reads
  its CSV with and writes its Parquet from: same names, same order, each Spark type mapped to
  its Glue (Hive) type by :func:`tools.glue_columns.glue_type`, the one mapping.
* ``AbalonePredictionsTable`` ← ``model/code/abalone_features.py``: its ``FEATURE_COLUMNS`` (``sex`` a
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
marker comments in template.yaml (:mod:`tools.glue_blocks`). :func:`tools.glue_verify.verify`
checks the parsed template too, so an edit outside the markers or a block moved elsewhere is
caught as well. This module is the command line over those and :mod:`tools.glue_columns`.
"""

from __future__ import annotations

import argparse
import difflib
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from offline.cfn.template import load_template
from tools.glue_blocks import render_blocks, rewrite
from tools.glue_columns import ROOT, SCHEMA, load_schema
from tools.glue_verify import verify

TEMPLATE = ROOT / "template.yaml"


def check(template_path: Path = TEMPLATE, schema_path: Path = SCHEMA, out: Callable[[str], None] = print) -> int:
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
