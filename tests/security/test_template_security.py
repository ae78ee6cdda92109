"""The template holds no secret, its snapshot is current, its scanner exceptions say why, samconfig is sane."""

from __future__ import annotations

import json
import re
import tomllib
from typing import Any

import pytest
from security_support import ROOT, SNAPSHOT, TEMPLATE, as_list

SAMCONFIG = ROOT / "samconfig.toml"
CHECKOV_CONFIG = ROOT / ".checkov.yaml"

ACCESS_KEY_ID = re.compile(r"\b(?:AKIA|ASIA|AGPA|AIDA|AROA|AIPA|ANPA|ANVA|A3T[A-Z0-9])[A-Z0-9]{16}\b")
SECRET_ACCESS_KEY = re.compile(r"(?i)aws_?secret_?access_?key\W+[A-Za-z0-9/+=]{40}")
PRIVATE_KEY = re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----")
SECRET_NAME = re.compile(r"(?i)(password|passwd|secret|token|api_?key|private_?key|credential)")
EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}")


def _walk(node: Any, path: str = ""):
    """(path, key, value) for every mapping entry below ``node``."""
    if isinstance(node, dict):
        for key, value in node.items():
            yield path, key, value
            yield from _walk(value, f"{path}/{key}")
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _walk(value, f"{path}[{index}]")


# ------------------------------------------------------------------ network
def test_the_model_and_training_containers_run_with_network_isolation(template: dict[str, Any]) -> None:
    # The artifact installs nothing at start-up (no code/requirements.txt), and the training code comes as a
    # channel (no setup.py or requirements.txt): neither container needs the network. The training state
    # machine creates the models (no AWS::SageMaker::Model in the template) and the training jobs.
    assert not [k for k, r in template["Resources"].items() if r["Type"] == "AWS::SageMaker::Model"]
    states = json.loads((TEMPLATE.parent / "statemachines" / "train_model.asl.json").read_text())["States"]
    assert states["CreateModel"]["Parameters"]["EnableNetworkIsolation"] is True
    assert states["TrainModel"]["Parameters"]["EnableNetworkIsolation"] is True


# ------------------------------------------------------------------ secrets
@pytest.mark.parametrize("path", [TEMPLATE, SNAPSHOT, SAMCONFIG], ids=lambda p: p.name)
def test_no_aws_access_key_secret_key_or_private_key_is_written_in(path) -> None:
    text = path.read_text(encoding="utf-8")
    for pattern in (ACCESS_KEY_ID, SECRET_ACCESS_KEY, PRIVATE_KEY):
        assert not pattern.search(text), f"{path.name}: {pattern.pattern} matches {pattern.search(text).group(0)!r}"


def test_no_property_or_variable_named_like_a_secret_holds_a_literal(template: dict[str, Any]) -> None:
    offending = [
        f"{path}/{key}"
        for path, key, value in _walk(template["Resources"])
        if SECRET_NAME.search(str(key)) and isinstance(value, (str, int)) and str(value) not in ("", "true", "false")
    ]
    assert not offending, offending


def test_parameters_named_like_secrets_are_no_echo(template: dict[str, Any]) -> None:
    for name, spec in template["Parameters"].items():
        if SECRET_NAME.search(name):
            assert spec.get("NoEcho") is True, name


def test_the_notification_address_is_a_parameter_and_no_address_is_written_in_the_template(
    template: dict[str, Any],
) -> None:
    parameter = template["Parameters"]["NotificationEmail"]
    assert parameter["Default"] == ""
    subscription = template["Resources"]["NotificationEmailSubscription"]["Properties"]
    assert subscription["Endpoint"] == {"Ref": "NotificationEmail"}
    for path in (TEMPLATE, SNAPSHOT):
        assert not EMAIL.search(path.read_text(encoding="utf-8")), f"an e-mail address is written in {path.name}"
    examples_only = {m.group(0) for m in EMAIL.finditer(SAMCONFIG.read_text(encoding="utf-8"))}
    assert all(address.endswith(("@example.com", "@example.org")) for address in examples_only), examples_only


# ------------------------------------------------------------------ snapshot freshness
def test_snapshot_has_the_plain_cloudformation_resources_of_the_template_unchanged(
    template: dict[str, Any], translated: dict[str, Any]
) -> None:
    """SAM copies non-serverless resources as they are: any difference means a stale snapshot."""
    stale = [
        logical_id
        for logical_id, resource in template["Resources"].items()
        if not resource["Type"].startswith("AWS::Serverless::") and translated["Resources"].get(logical_id) != resource
    ]
    assert not stale, f"snapshot out of date for {stale}: run bash checks/static.sh --update-snapshot"


def test_snapshot_carries_every_inline_statement_of_the_serverless_resources(
    template: dict[str, Any], translated: dict[str, Any]
) -> None:
    for logical_id, resource in template["Resources"].items():
        if resource["Type"] not in ("AWS::Serverless::Function", "AWS::Serverless::StateMachine"):
            continue
        role = translated["Resources"][f"{logical_id}Role"]["Properties"]
        documents = [p["PolicyDocument"]["Statement"] for p in role.get("Policies", [])]
        for policy in resource["Properties"].get("Policies", []):
            if isinstance(policy, dict) and "Statement" in policy:
                assert as_list(policy["Statement"]) in documents, (
                    f"{logical_id}: an inline policy is not in the snapshot: run bash checks/static.sh --update-snapshot"
                )


# ------------------------------------------------------------------ scanner exceptions say why
def test_every_checkov_skip_in_the_template_has_a_reason(template: dict[str, Any]) -> None:
    skips = [
        (logical_id, skip)
        for logical_id, resource in template["Resources"].items()
        for skip in resource.get("Metadata", {}).get("checkov", {}).get("skip", [])
    ]
    assert skips
    for logical_id, skip in skips:
        assert re.fullmatch(r"CKV2?_AWS_\d+", skip["id"]), (logical_id, skip)
        assert len(skip.get("comment", "").split()) >= 6, f"{logical_id}: {skip['id']} needs a reason"


def _unexplained(lines: list[str], item: re.Pattern[str]) -> list[str]:
    """Items of a YAML list not preceded (directly or through other items) by a comment line."""
    missing = []
    for index, line in enumerate(lines):
        if item.match(line):
            before = index - 1
            while before >= 0 and item.match(lines[before]):
                before -= 1
            if before < 0 or not lines[before].lstrip().startswith("#"):
                missing.append(line.strip())
    return missing


def test_every_cfn_lint_exception_in_the_template_is_explained_by_a_comment() -> None:
    lines = TEMPLATE.read_text(encoding="utf-8").splitlines()
    ignored = re.compile(r"^\s+- [EWI][A-Z]?\d{4}\s*$")
    assert any(ignored.match(line) for line in lines)
    assert _unexplained(lines, ignored) == []


def test_every_check_skipped_in_the_checkov_config_is_explained_by_a_comment() -> None:
    lines = CHECKOV_CONFIG.read_text(encoding="utf-8").splitlines()
    skipped = re.compile(r"^\s+- CKV2?_AWS_\d+\s*$")
    assert any(skipped.match(line) for line in lines)
    # each skipped check has its own comment right above it
    for index, line in enumerate(lines):
        if skipped.match(line):
            assert lines[index - 1].lstrip().startswith("#"), f"{line.strip()} has no reason above it"


# ------------------------------------------------------------------ samconfig.toml
@pytest.fixture(scope="module")
def samconfig() -> dict[str, Any]:
    return tomllib.loads(SAMCONFIG.read_text(encoding="utf-8"))


def _overrides(section: dict[str, Any]) -> dict[str, str]:
    return dict(item.split("=", 1) for item in section["deploy"]["parameters"]["parameter_overrides"].split())


def test_default_environment_is_dev_with_schedules_paused(samconfig: dict[str, Any]) -> None:
    default = samconfig["default"]
    assert default["global"]["parameters"]["stack_name"] == "transient-analytics-dev"
    assert default["global"]["parameters"]["region"] == "us-east-1"
    assert _overrides(default)["ScheduleState"] == "DISABLED"


def test_prod_environment_runs_its_schedules_and_names_no_address(samconfig: dict[str, Any]) -> None:
    prod = samconfig["prod"]
    assert prod["global"]["parameters"]["stack_name"] == "transient-analytics-prod"
    overrides = _overrides(prod)
    assert overrides["ScheduleState"] == "ENABLED"
    assert "NotificationEmail" not in overrides


@pytest.mark.parametrize("environment", ["default", "prod"])
def test_deploys_confirm_the_change_set_with_the_capabilities_the_template_needs(
    samconfig: dict[str, Any], template: dict[str, Any], environment: str
) -> None:
    deploy = samconfig[environment]["deploy"]["parameters"]
    assert deploy["confirm_changeset"] is True
    assert deploy["resolve_s3"] is True
    capabilities = set(deploy["capabilities"].split())
    assert "CAPABILITY_AUTO_EXPAND" in capabilities  # the Serverless transform
    named = [
        logical_id
        for logical_id, r in template["Resources"].items()
        if r["Type"].startswith("AWS::IAM::")
        and {"RoleName", "InstanceProfileName", "ManagedPolicyName", "UserName", "GroupName"} & set(r["Properties"])
    ]
    if named:  # CloudFormation refuses IAM resources with custom names without CAPABILITY_NAMED_IAM
        assert "CAPABILITY_NAMED_IAM" in capabilities, named
    else:
        assert capabilities & {"CAPABILITY_IAM", "CAPABILITY_NAMED_IAM"}


def test_no_environment_makes_validate_lint_by_default(samconfig: dict[str, Any]) -> None:
    """`lint = true` for validate would hide the translated template checks/static.sh reads."""
    for environment, commands in samconfig.items():
        if isinstance(commands, dict):
            assert not commands.get("validate", {}).get("parameters", {}).get("lint"), environment
