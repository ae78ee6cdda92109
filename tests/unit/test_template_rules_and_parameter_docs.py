"""The template's deploy-time rules per parameter set, and docs/parameters.md generated from the template."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from offline.cfn.stack import Stack
from offline.cfn.template import load_template
from tools import parameter_table

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = load_template(ROOT / "template.yaml")


def rule_applies(rule: str, parameters: dict[str, str]) -> bool:
    """Whether CloudFormation evaluates ``rule``'s assertions for these parameter values."""
    body: dict[str, Any] = TEMPLATE["Rules"][rule]
    return "RuleCondition" not in body or bool(Stack(TEMPLATE, parameters).resolve(body["RuleCondition"]))


@pytest.mark.parametrize(
    ("parameters", "asked"),
    [
        ({}, True),  # the cluster backend with the stack's own EMR service role: a tagged subnet is required
        ({"ExistingEmrServiceRoleName": "my-emr-role"}, False),  # the existing role's policy decides
        ({"SparkBackend": "serverless"}, False),  # no cluster is ever started: no EMR subnet to ask for
    ],
)
def test_an_emr_subnet_is_required_only_when_the_stack_starts_clusters_with_its_own_service_role(
    parameters: dict[str, str], asked: bool
) -> None:
    assert rule_applies("EmrSubnetForManagedPolicies", parameters) is asked


def test_every_parameter_is_described_and_in_a_console_group() -> None:
    text = parameter_table.render((ROOT / "template.yaml").read_text())
    assert "no description" not in text
    assert "## Other" not in text  # every parameter is in one of the template's ParameterGroups


def test_docs_parameters_is_what_the_template_says() -> None:
    # WHEN it differs: python -m tools.parameter_table --write (make parameters)
    assert (ROOT / "docs" / "parameters.md").read_text() == parameter_table.render((ROOT / "template.yaml").read_text())
