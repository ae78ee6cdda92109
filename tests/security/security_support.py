"""Helpers of the security tests: paths, the checks/ scripts as modules, policy statements and their grants.

The translated template is the committed snapshot ``tests/security/translated-template.json``
that ``bash checks/static.sh`` keeps up to date (``--update-snapshot`` rewrites it), so these
tests need neither the SAM CLI nor its virtual environment.
"""

from __future__ import annotations

import fnmatch
import importlib.util
import json
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = ROOT / "template.yaml"
SNAPSHOT = Path(__file__).with_name("translated-template.json")


def load_checks_module(name: str) -> ModuleType:
    """A script of checks/ (not a package) imported as a module."""
    spec = importlib.util.spec_from_file_location(f"checks_{name}", ROOT / "checks" / f"{name}.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@dataclass(frozen=True)
class Statement:
    """One statement of a policy document found in the translated template."""

    where: str  # "<logical id>/<policy name or property>"
    resource_type: str
    kind: str  # identity | resource | key | trust
    body: dict[str, Any]

    @property
    def effect(self) -> str:
        return self.body.get("Effect", "")

    @property
    def actions(self) -> list[str]:
        return as_list(self.body.get("Action", [])) + as_list(self.body.get("NotAction", []))

    @property
    def resources(self) -> list[Any]:
        return as_list(self.body.get("Resource", [])) + as_list(self.body.get("NotResource", []))

    @property
    def sid(self) -> str:
        return self.body.get("Sid", "")


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def text_of(value: Any) -> str:
    """The string of a literal or of the template string of an ``Fn::Sub``."""
    if isinstance(value, str):
        return value
    if isinstance(value, dict) and "Fn::Sub" in value:
        sub = value["Fn::Sub"]
        return sub if isinstance(sub, str) else sub[0]
    return json.dumps(value, sort_keys=True)


def _documents(logical_id: str, resource: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    props = resource.get("Properties", {})
    kind = resource["Type"]
    found: list[tuple[str, str, dict[str, Any]]] = []
    if kind == "AWS::IAM::Role":
        found.append(("trust", f"{logical_id}/AssumeRolePolicyDocument", props["AssumeRolePolicyDocument"]))
        for policy in props.get("Policies", []):
            found.append(("identity", f"{logical_id}/{policy['PolicyName']}", policy["PolicyDocument"]))
    elif kind in ("AWS::IAM::Policy", "AWS::IAM::ManagedPolicy", "AWS::IAM::RolePolicy"):
        found.append(("identity", f"{logical_id}/PolicyDocument", props["PolicyDocument"]))
    elif kind in ("AWS::S3::BucketPolicy", "AWS::SQS::QueuePolicy", "AWS::SNS::TopicPolicy"):
        found.append(("resource", f"{logical_id}/PolicyDocument", props["PolicyDocument"]))
    elif kind == "AWS::KMS::Key":
        found.append(("key", f"{logical_id}/KeyPolicy", props["KeyPolicy"]))
    return found


def collect_statements(template: dict[str, Any]) -> list[Statement]:
    statements = []
    for logical_id, resource in template["Resources"].items():
        for kind, where, document in _documents(logical_id, resource):
            for body in as_list(document["Statement"]):
                statements += [Statement(where, resource["Type"], kind, b) for b in _either_branch(body)]
    return statements


def _either_branch(body: Any) -> list[dict[str, Any]]:
    """A statement, or both statements of an ``Fn::If`` (a parameter may switch either on): each is checked."""
    if isinstance(body, dict) and list(body) == ["Fn::If"]:
        _, yes, no = body["Fn::If"]
        return [b for branch in (yes, no) for b in _either_branch(branch)]
    if isinstance(body, dict) and body.get("Ref") == "AWS::NoValue":
        return []
    return [body]


# ------------------------------------------------------------------ what statements grant
def allows(statement: Statement) -> bool:
    return statement.effect == "Allow"


def statements_of_role(statements: list[Statement], role: str) -> list[Statement]:
    return [s for s in statements if s.where.startswith(f"{role}/") and s.kind == "identity"]


def grants(statements: list[Statement], action: str) -> list[Statement]:
    """Allow statements whose Action list names ``action`` (exactly, or by a prefix pattern)."""
    return [
        s
        for s in statements
        if allows(s) and any(fnmatch.fnmatchcase(action.lower(), a.lower()) for a in as_list(s.body.get("Action", [])))
    ]


def resource_texts(statement: Statement) -> list[str]:
    return [text_of(r) for r in statement.resources]


def condition_values(statement: Statement, key: str) -> list[Any]:
    values = []
    for operator_block in statement.body.get("Condition", {}).values():
        if key in operator_block:
            values.extend(as_list(operator_block[key]))
    return values


#: What Step Functions needs to set up vended log delivery to CloudWatch Logs (resource "*" only).
LOG_DELIVERY_ACTIONS = (
    "logs:CreateLogDelivery",
    "logs:GetLogDelivery",
    "logs:UpdateLogDelivery",
    "logs:DeleteLogDelivery",
    "logs:ListLogDeliveries",
    "logs:PutResourcePolicy",
    "logs:DescribeResourcePolicies",
    "logs:DescribeLogGroups",
)
