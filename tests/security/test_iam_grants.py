"""Least privilege in what the policies grant: no wildcard actions or principals, managed policies and
``Resource: "*"`` only where AWS allows nothing narrower, iam:PassRole to named roles and services.

Runs on the committed snapshot tests/security/translated-template.json; `bash checks/static.sh`
fails when that snapshot no longer matches template.yaml.
"""

from __future__ import annotations

import re
from typing import Any

from security_support import (
    LOG_DELIVERY_ACTIONS,
    Statement,
    allows,
    as_list,
    condition_values,
    grants,
    resource_texts,
    text_of,
)

SERVICE_WIDE = re.compile(r"^[a-z0-9-]+:\*$")

#: Allow statements that may grant every action, each with the reason a reviewer accepts.
ALLOWED_WILDCARD_ACTIONS = {
    # The standard first statement of a key policy: the account (through IAM policies, which here
    # grant only kms:Decrypt/GenerateDataKey to the notifier) administers the key. Without it no
    # IAM policy could grant use of the key and the key could become unmanageable (AWS refuses a
    # key policy that locks the account out unless told to bypass that check).
    ("EncryptionKey/KeyPolicy", "AccountAdministers"),
}

#: AWS managed policies the roles may attach, and why.
ALLOWED_MANAGED_POLICIES = {
    "service-role/AWSLambdaBasicExecutionRole",  # function logs (SAM adds it to every function role)
    "AWSXrayWriteOnlyAccess",  # traces (SAM adds it for Tracing: Active / Tracing.Enabled)
    "service-role/AmazonEMRServicePolicy_v2",  # the EMR service role; limited to resources EMR tags
}


def test_no_allow_statement_grants_every_action_or_a_whole_service(statements: list[Statement]) -> None:
    offending = []
    for statement in filter(allows, statements):
        if (statement.where, statement.sid) in ALLOWED_WILDCARD_ACTIONS:
            continue
        if "NotAction" in statement.body:
            offending.append(f"{statement.where} {statement.sid}: Allow with NotAction")
        for action in as_list(statement.body.get("Action", [])):
            if action == "*" or SERVICE_WIDE.match(action):
                offending.append(f"{statement.where} {statement.sid}: {action}")
    assert not offending, "wildcard actions granted:\n" + "\n".join(offending)


def test_the_key_administration_exception_is_limited_to_the_account_root(statements: list[Statement]) -> None:
    (admin,) = [s for s in statements if (s.where, s.sid) in ALLOWED_WILDCARD_ACTIONS]
    principal = admin.body["Principal"]["AWS"]
    assert text_of(principal) == "arn:${AWS::Partition}:iam::${AWS::AccountId}:root"


def test_no_allow_statement_has_a_wildcard_principal(statements: list[Statement]) -> None:
    offending = [
        f"{s.where} {s.sid}"
        for s in statements
        if allows(s) and s.kind != "identity" and s.body.get("Principal") in ("*", {"AWS": "*"})
    ]
    assert not offending, offending


def test_roles_attach_only_the_expected_aws_managed_policies(resources: dict[str, Any]) -> None:
    attached = {
        text_of(arn).split(":policy/", 1)[1]
        for resource in resources.values()
        if resource["Type"] == "AWS::IAM::Role"
        for arn in resource["Properties"].get("ManagedPolicyArns", [])
    }
    assert attached <= ALLOWED_MANAGED_POLICIES, attached - ALLOWED_MANAGED_POLICIES


def test_statements_on_every_resource_are_only_those_aws_allows_no_other_way(statements: list[Statement]) -> None:
    """``Resource: "*"`` only for actions that support no resource-level permission, or with a condition."""
    without_resource_types = {"ecr:GetAuthorizationToken", "elasticmapreduce:ListClusters", *LOG_DELIVERY_ACTIONS}
    offending = []
    for statement in filter(allows, statements):
        if statement.kind != "identity" or "*" not in statement.resources:
            continue
        unconditioned = [a for a in as_list(statement.body["Action"]) if a not in without_resource_types]
        if unconditioned and "Condition" not in statement.body:
            offending.append(f"{statement.where} {statement.sid}: {unconditioned}")
    assert not offending, 'Resource "*" without a condition:\n' + "\n".join(offending)


# ------------------------------------------------------------------ iam:PassRole
def test_pass_role_names_its_roles_and_the_service_they_are_passed_to(statements: list[Statement]) -> None:
    passing = grants(statements, "iam:PassRole")
    assert passing, "expected the EMR state machine and service roles to pass roles"
    for statement in passing:
        assert "iam:PassRole" in as_list(statement.body["Action"]), f"{statement.where}: PassRole by a wildcard"
        for resource in resource_texts(statement):
            if statement.body["Resource"] == {"Fn::GetAtt": ["ServerlessJobRole", "Arn"]}:
                continue  # the stack's own job role, by its ARN
            assert re.search(r":role/(\$\{[A-Za-z]+\}|[\w+=,.@-]+)$", resource), (
                f"{statement.where} {statement.sid}: PassRole on {resource!r}, not one named role"
            )
        passed_to = condition_values(statement, "iam:PassedToService")
        assert passed_to, f"{statement.where} {statement.sid}: PassRole without an iam:PassedToService condition"
