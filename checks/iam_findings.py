"""The IAM lint's rules: parliament, policy_sentry's IAM database and the policy-variable check.

- parliament (``analyze_policy_string``): unknown actions, resource ARNs that fit no resource
  type of their action, condition keys not defined for their action, malformed statements;
- policy_sentry's IAM database, as a second reading: every action exists, and every condition
  key of an Allow statement is a global key or one the action (or its resource types) defines;
- a policy without ``Version`` that uses a policy variable (IAM would read it literally).
"""

from __future__ import annotations

import json
import re
import warnings
from dataclasses import dataclass
from typing import Any

from iam_policies import Policy, policies, statements
from policy_sentry.querying.actions import get_privilege_info

from offline.cfn.resolver import DEFAULT_ACCOUNT_ID, Resolver

with warnings.catch_warnings():  # parliament warns at import time
    warnings.simplefilter("ignore")
    from parliament import analyze_policy_string

#: The parameter sets linted: the defaults, existing roles, and the EMR Serverless backend in a VPC,
#: so that both sides of every ``Fn::If`` (and every conditional role) are linted.
PARAMETER_SETS: dict[str, dict[str, str]] = {
    "defaults": {},
    "existing-roles": {
        "ExistingEmrServiceRoleName": "existing-emr-service-role",
        "ExistingEmrEc2RoleName": "existing-emr-ec2-role",
        "ExistingSageMakerRoleArn": f"arn:aws:iam::{DEFAULT_ACCOUNT_ID}:role/existing-sagemaker-role",
        "NotificationEmail": "ops@example.com",
        "EmrSubnetId": "subnet-0123456789abcdef0",
    },
    "serverless-in-vpc": {
        "SparkBackend": "serverless",
        "ServerlessSubnetIds": "subnet-0123456789abcdef0,subnet-0fedcba9876543210",
        "ServerlessSecurityGroupIds": "sg-0123456789abcdef0",
    },
}

#: Global condition keys (IAM User Guide, "AWS global condition context keys"), valid on every action.
GLOBAL_KEY = re.compile(
    r"^aws:(SourceAccount|SourceArn|SourceOrgID|SourceOrgPaths|SourceOwner|SecureTransport|SourceIp|SourceVpc|"
    r"SourceVpce|VpcSourceIp|PrincipalArn|PrincipalAccount|PrincipalOrgID|PrincipalOrgPaths|PrincipalTag/.+|"
    r"PrincipalType|PrincipalIsAWSService|PrincipalServiceName|PrincipalServiceNamesList|RequestedRegion|"
    r"CalledVia|CalledViaFirst|CalledViaLast|ViaAWSService|CurrentTime|EpochTime|MultiFactorAuthPresent|"
    r"MultiFactorAuthAge|TokenIssueTime|UserAgent|Referer|userid|username|ResourceAccount|ResourceOrgID|"
    r"ResourceOrgPaths|SourceIdentity|FederatedProvider|Ec2InstanceSourceVpc|Ec2InstanceSourcePrivateIPv4|"
    r"RequestTag/.+|TagKeys|ResourceTag/.+)$"
)


@dataclass(frozen=True)
class Finding:
    """One problem a tool found in one statement of one policy, under one parameter set."""

    tool: str
    issue: str
    resource: str
    policy: str
    sid: str
    action: str
    detail: str
    parameters: str

    def line(self) -> str:
        where = f"{self.resource}/{self.policy}" + (f" [{self.sid}]" if self.sid else "")
        action = f" {self.action}" if self.action else ""
        return f"{self.tool}: {self.issue}: {where}{action}: {self.detail} ({self.parameters})"


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def parliament_findings(policy: Policy, parameters: str) -> list[Finding]:
    found = []
    if policy.kind == "trust":
        return found  # parliament reads policies with resources; a trust policy has none (policy_sentry checks it)
    document = policy.document
    if policy.kind == "resource":
        # parliament reads identity policies: drop the principals and lint actions, resources and conditions
        kept = [{k: v for k, v in st.items() if k not in ("Principal", "NotPrincipal")} for st in statements(document)]
        document = {**document, "Statement": kept}
    analyzed = analyze_policy_string(json.dumps(document), include_community_auditors=False)
    for f in analyzed.findings:
        location = f.location if isinstance(f.location, dict) else {}
        statement = location.get("statement") or {}
        sid = statement.get("Sid", "") if isinstance(statement, dict) else ""
        action = location.get("actions") or location.get("action") or ""
        detail = json.dumps(f.detail, default=str) if f.detail else ""
        found.append(
            Finding(
                "parliament",
                f.issue,
                policy.resource,
                policy.name,
                sid,
                json.dumps(action) if isinstance(action, list) else str(action),
                detail,
                parameters,
            )
        )
    return found


def policy_sentry_findings(policy: Policy, parameters: str) -> list[Finding]:
    found = []
    for statement in statements(policy.document):
        if statement.get("Effect") != "Allow" or "Action" not in statement:
            continue
        sid = statement.get("Sid", "")
        condition_keys = [k for op in (statement.get("Condition") or {}).values() for k in op]
        for action in _as_list(statement["Action"]):
            if "*" in action:
                continue
            service, name = action.split(":", 1)
            try:
                info = get_privilege_info(service, name)
            except Exception:  # policy_sentry raises bare exceptions for unknown services and actions
                info = None
            if not info:
                found.append(
                    Finding(
                        "policy_sentry",
                        "UNKNOWN_ACTION",
                        policy.resource,
                        policy.name,
                        sid,
                        action,
                        "not in policy_sentry's IAM database",
                        parameters,
                    )
                )
                continue
            defined = {k.lower() for rt in info["resource_types"].values() for k in rt["condition_keys"]}
            for rt in info["resource_types"]:
                defined |= {k.lower() for k in info["service_resources"].get(rt, {}).get("condition_keys", [])}
            for key in condition_keys:
                if GLOBAL_KEY.match(key) or key.lower() in defined or _templated_match(key, defined):
                    continue
                found.append(
                    Finding(
                        "policy_sentry",
                        "UNKNOWN_CONDITION_FOR_ACTION",
                        policy.resource,
                        policy.name,
                        sid,
                        action,
                        f"{key} is not defined for {action}",
                        parameters,
                    )
                )
    return found


def _templated_match(key: str, defined: set[str]) -> bool:
    """``elasticmapreduce:ResourceTag/x`` against a defined ``elasticmapreduce:ResourceTag/${TagKey}``."""
    for template in defined:
        if "${" in template:
            pattern = re.escape(template.split("${", 1)[0]) + ".+"
            if re.fullmatch(pattern, key.lower()):
                return True
    return False


def lint(template: dict[str, Any]) -> tuple[list[Finding], int]:
    """Every finding of every policy under every parameter set, and how many policy documents were linted."""
    findings: list[Finding] = []
    count = 0
    for label, overrides in PARAMETER_SETS.items():
        resolver = Resolver(template, parameters=overrides)
        for policy in policies(template, resolver):
            count += 1
            findings += parliament_findings(policy, label)
            findings += policy_sentry_findings(policy, label)
            findings += version_findings(policy, label)
    return findings, count


def version_findings(policy: Policy, parameters: str) -> list[Finding]:
    """A policy without ``Version`` reads ``${aws:…}`` literally: never justifiable, so its own issue."""
    if "Version" not in policy.document and "${aws:" in json.dumps(policy.document):
        return [
            Finding(
                "iam_lint",
                "POLICY_VARIABLE_WITHOUT_VERSION",
                policy.resource,
                policy.name,
                "",
                "",
                "policy variables need Version 2012-10-17",
                parameters,
            )
        ]
    return []
