"""The template's deployed definitions (offline/cfn) and the MockConfigFile reader."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from offline.cfn.definitions import render_definition
from offline.cfn.print_definition import main as render_main
from offline.cfn.resolver import TemplateError
from offline.cfn.stack import Stack
from offline.cfn.template import load_template
from offline.mock_config import MockConfig, MockConfigError
from tests.statemachines.sfn_support import EMR, ROOT, TRANSFORM

ADD_STEP = "arn:aws:states:::elasticmapreduce:addStep.sync"


# ---------------------------------------------------------------------- mock configuration
@pytest.mark.parametrize(
    ("responses", "message"),
    [
        ({"R": {"0-x": {"Return": {}}}}, "'0-x' is not an attempt number"),
        ({"R": {"0": {"Return": {}}, "2": {"Return": {}}}}, "consecutively numbered"),
        ({"R": {"0": {"Return": {}, "Throw": {"Error": "E", "Cause": ""}}}}, "exactly one of 'Return' or 'Throw'"),
        ({"R": {"0": {"Throw": {"Cause": "no error"}}}}, "Throw needs an 'Error' string"),
        ({"Other": {"0": {"Return": {}}}}, "uses mocked response 'R', which MockedResponses does not define"),
    ],
)
def test_a_malformed_mock_config_is_refused_naming_the_entry(responses: dict[str, Any], message: str):
    raw = {"StateMachines": {"sm": {"TestCases": {"Case": {"State": "R"}}}}, "MockedResponses": responses}
    with pytest.raises(MockConfigError, match=re.escape(message)):
        MockConfig.from_dict(raw)


def test_a_test_case_mocking_a_state_the_definition_lacks_is_refused():
    config = MockConfig.from_dict(
        {
            "StateMachines": {"sm": {"TestCases": {"Typo": {"RunSparkStepp": "R"}}}},
            "MockedResponses": {"R": {"0": {"Return": {}}}},
        }
    )
    with pytest.raises(MockConfigError, match=r"sm#Typo mocks state\(s\) \['RunSparkStepp'\]"):
        config.check_states("sm", {"RunSparkStep"})


def test_the_shipped_mock_config_builds_a_moto_test_case_for_every_case():
    config = MockConfig.load(ROOT / "tests" / "statemachines" / "mock-config.json")
    for machine in config.state_machines():
        for case in config.test_cases(machine):
            test_case = config.test_case(machine, case)
            assert test_case is not None and test_case.test_case_name == case


# ---------------------------------------------------------------------- template and definitions
def test_definition_substitutions_follow_the_templates_conditions():
    template = load_template(ROOT / "template.yaml")
    defaults = Stack(template).state_machines()
    custom = Stack(
        template,
        parameters={
            "ExistingSageMakerRoleArn": "arn:aws:iam::123456789012:role/ops/ops-sagemaker",
            "ExistingEmrServiceRoleName": "ops-emr",
            "ExistingEmrEc2RoleName": "ops-ec2",
        },
    ).state_machines()

    assert (
        defaults["EmrPipelineStateMachine"].substitutions["EmrServiceRoleName"]
        == "transient-analytics-dev-EmrServiceRole"
    )
    assert (
        defaults["EmrPipelineStateMachine"].substitutions["EmrInstanceProfileName"]
        == "transient-analytics-dev-EmrEc2Role"
    )
    assert defaults["TrainModelStateMachine"].substitutions["ServingRoleArn"] == (
        "arn:aws:iam::123456789012:role/transient-analytics-dev-SageMakerExecutionRole"
    )
    assert custom["EmrPipelineStateMachine"].substitutions["EmrServiceRoleName"] == "ops-emr"
    assert custom["EmrPipelineStateMachine"].substitutions["EmrInstanceProfileName"] == "ops-ec2"
    assert (
        custom["TrainModelStateMachine"].substitutions["ServingRoleArn"]
        == "arn:aws:iam::123456789012:role/ops/ops-sagemaker"
    )
    assert "ModelName" not in defaults["BatchTransformStateMachine"].substitutions  # the plan names the model
    assert defaults["EmrPipelineStateMachine"].substitutions["EmrAddStepSync"] == ADD_STEP


def test_the_rendered_definitions_have_no_placeholder_left_and_use_every_substitution():
    stack = Stack(load_template(ROOT / "template.yaml"))
    for logical_id in (EMR, TRANSFORM):
        rendered = render_definition(stack, ROOT, logical_id)
        assert "${" not in rendered.text
        assert rendered.unused_substitutions == ()
        assert rendered.definition["StartAt"] == "PrepareRun"


def test_a_placeholder_without_a_substitution_is_refused(tmp_path: Path):
    (tmp_path / "machine.asl.json").write_text(
        '{"StartAt": "A", "States": {"A": {"Type": "Task", "Resource": "${Nope}", "End": true}}}'
    )
    (tmp_path / "template.yaml").write_text(
        "Resources:\n  M:\n    Type: AWS::Serverless::StateMachine\n"
        "    Properties:\n      DefinitionUri: machine.asl.json\n      DefinitionSubstitutions:\n"
        "        Fn: !Sub arn:${AWS::Partition}:states:::lambda:invoke\n"
    )
    with pytest.raises(TemplateError, match=r"placeholder\(s\) \['Nope'\] have no DefinitionSubstitutions entry in M"):
        render_definition(Stack(load_template(tmp_path / "template.yaml")), tmp_path, "M")


def test_the_cli_prints_the_deployed_definition(capsys: pytest.CaptureFixture[str]):
    assert render_main([TRANSFORM]) == 0
    printed = json.loads(capsys.readouterr().out)
    job = printed["States"]["ScoreSlots"]["ItemProcessor"]["States"]["RunTransformJob"]
    assert job["Resource"] == "arn:aws:states:::sagemaker:createTransformJob.sync"
    lambda_arn = "arn:aws:lambda:us-east-1:123456789012:function:PrepareRunFunction"
    assert render_main([EMR, "-s", f"PrepareRunFunctionArn={lambda_arn}"]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed["States"]["PrepareRun"]["Parameters"]["FunctionName"] == lambda_arn
    assert render_main(["NoSuchMachine"]) == 1
    assert "no AWS::Serverless::StateMachine 'NoSuchMachine'" in capsys.readouterr().err


def test_the_template_reader_imports_neither_moto_nor_boto3_so_checks_run_it_in_the_sam_environment():
    code = "import sys, offline.cfn; print(sorted(m for m in ('moto', 'boto3') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_no_value_removes_the_item_or_key_it_stands_for_and_glue_resources_are_named_by_their_input():
    template = {
        "Parameters": {"Column": {"Type": "String", "Default": "class"}},
        "Conditions": {"IsClass": {"Fn::Equals": [{"Ref": "Column"}, "class"]}},
        "Resources": {
            "Db": {"Type": "AWS::Glue::Database", "Properties": {"DatabaseInput": {"Name": "analytics"}}},
            "Queue": {"Type": "AWS::SQS::Queue"},
        },
    }
    stack = Stack(template)
    value = {
        "Columns": [{"Fn::If": ["IsClass", {"Ref": "AWS::NoValue"}, "class"]}, "name"],
        "Type": {"Fn::If": ["IsClass", {"Ref": "AWS::NoValue"}, "enum"]},
        "Database": {"Ref": "Db"},
    }
    assert stack.resolve(value) == {"Columns": ["name"], "Database": "analytics"}
    assert stack.resolve({"Ref": "AWS::NoValue"}) is None
    assert stack.ref("Queue") == "https://sqs.us-east-1.amazonaws.com/123456789012/transient-analytics-dev-Queue"
