"""The Glue tables in template.yaml agree with their one source (tools/glue_catalog.py).

The characters table's columns are jobs/schemas/characters.json's fields: same names, same
order, each Spark type mapped by glue_type; the predictions table's are inference.py's
features plus the prediction. The Parquet half (what the Spark job writes, read back with
pyarrow) is tested in tests/payloads.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from offline.cfn.stack import Stack
from offline.cfn.template import load_template
from tools import glue_catalog
from tools.glue_blocks import render_blocks, rewrite
from tools.glue_columns import Column, glue_type, prediction_columns, schema_columns
from tools.glue_verify import parse_column, verify

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def template() -> dict[str, Any]:
    return load_template(ROOT / "template.yaml")


@pytest.fixture
def schema() -> dict[str, Any]:
    return glue_catalog.load_schema()


def test_the_template_agrees_with_the_schema_file_and_inference_py(template, schema):
    assert verify(template, schema) == []


def test_the_generated_blocks_in_the_template_are_up_to_date(capsys):
    assert glue_catalog.check() == 0, capsys.readouterr().out


def test_the_characters_columns_are_the_schema_fields_in_order_with_their_glue_types(template):
    columns = template["Resources"]["CuratedCharactersTable"]["Properties"]["TableInput"]["StorageDescriptor"][
        "Columns"
    ]
    names = [parse_column(c).name for c in columns]
    assert names == ["id", "name", "class", "race", "level", "light", "guardian_rank", "is_active", "last_played"]
    assert schema_columns(glue_catalog.load_schema())[0] == Column("id", "bigint")


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda s: s["fields"].reverse(), "column 1: schema says"),
        (lambda s: s["fields"][4].update(name="lvl"), "column 5"),
        (lambda s: s["fields"][4].update(type="long"), "Column(name='level', glue_type='bigint'"),
        (lambda s: s["fields"].append({"name": "guild", "type": "string", "nullable": True}), "column 10"),
        (lambda s: s["fields"].pop(), "column 9"),
    ],
    ids=["reordered", "renamed", "retyped", "added", "removed"],
)
def test_a_schema_change_not_carried_into_the_template_fails_the_check(template, schema, mutate, message):
    changed = copy.deepcopy(schema)
    mutate(changed)
    problems = verify(template, changed)
    assert any(message in p for p in problems), problems


def test_a_hand_edited_column_type_in_the_template_fails_the_check(template, schema):
    edited = copy.deepcopy(template)
    columns = edited["Resources"]["CuratedCharactersTable"]["Properties"]["TableInput"]["StorageDescriptor"]["Columns"]
    columns[0] = {"Name": "id", "Type": "int"}
    assert any("CuratedCharactersTable column 1" in p for p in verify(edited, schema))


def test_a_predictions_column_that_is_not_inference_pys_fails_the_check(template, schema):
    edited = copy.deepcopy(template)
    columns = edited["Resources"]["AbalonePredictionsTable"]["Properties"]["TableInput"]["StorageDescriptor"]["Columns"]
    columns[-1] = {"Name": "rings", "Type": "double"}
    assert any("AbalonePredictionsTable column 9" in p for p in verify(edited, schema))


def test_the_predictions_columns_are_the_features_then_the_prediction():
    assert [(c.name, c.glue_type) for c in prediction_columns()] == [
        ("sex", "string"),
        ("length", "double"),
        ("diameter", "double"),
        ("height", "double"),
        ("whole_weight", "double"),
        ("shucked_weight", "double"),
        ("viscera_weight", "double"),
        ("shell_weight", "double"),
        ("rings_predicted", "double"),
    ]


@pytest.mark.parametrize(
    ("spark", "glue"),
    [
        ("string", "string"),
        ("long", "bigint"),
        ("integer", "int"),
        ("short", "smallint"),
        ("byte", "tinyint"),
        ("boolean", "boolean"),
        ("double", "double"),
        ("float", "float"),
        ("date", "date"),
        ("timestamp", "timestamp"),
        ("decimal(10, 2)", "decimal(10,2)"),
    ],
)
def test_each_spark_type_maps_to_its_glue_type(spark, glue):
    assert glue_type(spark) == glue


def test_a_type_with_no_mapping_names_the_column():
    with pytest.raises(ValueError, match="column 'tags': Spark type"):
        glue_type({"type": "array", "elementType": "string", "containsNull": True}, "tags")
    with pytest.raises(ValueError, match="column 'x'"):
        glue_type("interval", "x")


def test_a_bad_schema_file_is_refused_naming_the_field(schema):
    bad = copy.deepcopy(schema)
    bad["fields"][1]["name"] = "Name With Space"
    with pytest.raises(ValueError, match=r"schema.fields\[1\].name"):
        schema_columns(bad)
    bad = copy.deepcopy(schema)
    bad["fields"][1]["name"] = "dt"
    with pytest.raises(ValueError, match="slot partition key"):
        schema_columns(bad)


def test_write_rewrites_only_between_the_markers(tmp_path, schema):
    text = (ROOT / "template.yaml").read_text(encoding="utf-8")
    stale = text.replace("- { Name: level, Type: int }", "- { Name: level, Type: string }")
    assert stale != text
    path = tmp_path / "template.yaml"
    path.write_text(stale, encoding="utf-8")
    assert glue_catalog.write(path, glue_catalog.SCHEMA) is True
    assert path.read_text(encoding="utf-8") == text
    assert glue_catalog.check(path, glue_catalog.SCHEMA, out=lambda _: None) == 0


def test_a_stale_block_fails_the_check_with_a_diff(tmp_path):
    text = (ROOT / "template.yaml").read_text(encoding="utf-8")
    path = tmp_path / "template.yaml"
    path.write_text(text.replace("- { Name: level, Type: int }", "- { Name: level, Type: string }"), encoding="utf-8")
    lines: list[str] = []
    assert glue_catalog.check(path, glue_catalog.SCHEMA, out=lines.append) == 1
    report = "\n".join(lines)
    assert "out of date" in report and "-            - { Name: level, Type: string }" in report


def test_missing_or_unclosed_markers_are_errors(schema):
    blocks = render_blocks(schema)
    with pytest.raises(ValueError, match="no markers"):
        rewrite("Resources: {}\n", blocks)
    with pytest.raises(ValueError, match="not closed"):
        rewrite("  # >>> glue_catalog:rules\n  x: 1\n", blocks)


@pytest.mark.parametrize("column", ["class", "race"])
def test_the_partition_column_is_a_partition_key_and_not_a_data_column(template, column):
    stack = Stack(template, parameters={"PartitionColumn": column})
    table = stack.resolve(template["Resources"]["CuratedCharactersTable"]["Properties"]["TableInput"])
    data_columns = [c["Name"] for c in table["StorageDescriptor"]["Columns"] if c]
    assert column not in data_columns and len(data_columns) == 8
    assert [k["Name"] for k in table["PartitionKeys"]] == ["dt", "hour", "minute", column]
    assert table["Parameters"][f"projection.{column}.type"] == "enum"
    # (the offline resolver reads a CommaDelimitedList as one string, so the list is checked unresolved)
    raw = template["Resources"]["CuratedCharactersTable"]["Properties"]["TableInput"]["Parameters"]
    assert raw[f"projection.{column}.values"]["Fn::If"][1] == {"Fn::Join": [",", {"Ref": "PartitionValues"}]}
    others = {"name", "class", "race"} - {column}
    assert not any(table["Parameters"].get(f"projection.{o}.type") for o in others)
    assert table["Parameters"]["storage.location.template"] == (
        f"s3://transient-analytics-dev-databucket/curated/characters/dt=${{dt}}/hour=${{hour}}/minute=${{minute}}/{column}=${{{column}}}/"
    )


def test_the_slot_keys_are_projected_as_the_contract_layout_writes_them(template):
    parameters = template["Resources"]["CuratedCharactersTable"]["Properties"]["TableInput"]["Parameters"]
    assert parameters["projection.enabled"] == "true"
    assert (parameters["projection.dt.type"], parameters["projection.dt.format"]) == ("date", "yyyy-MM-dd")
    assert (parameters["projection.hour.range"], parameters["projection.hour.digits"]) == ("0,23", "2")
    assert parameters["projection.minute.range"] == "0,45"
    assert (parameters["projection.minute.interval"], parameters["projection.minute.digits"]) == ("15", "2")
    predictions = template["Resources"]["AbalonePredictionsTable"]["Properties"]["TableInput"]["Parameters"]
    assert predictions["projection.run.type"] == "injected"
    assert predictions["storage.location.template"] == {
        "Fn::Sub": "s3://${DataBucket}/batch/abalone/output/dt=${!dt}/run=${!run}/"
    }


def test_the_schema_file_in_the_template_check_is_the_one_the_job_is_published_with():
    from transient_analytics import layout

    assert layout.SCHEMA_KEY == "artifacts/jobs/schemas/characters.json"
    assert json.loads(glue_catalog.SCHEMA.read_text()) == glue_catalog.load_schema()
