"""IAM lint: every policy of the translated template through parliament and policy_sentry.

    .venv-iamlint/bin/python checks/iam_lint.py [--template build/translated-template.json]
                                               [--allow checks/iam-lint-allow.json]

Runs in its own environment (requirements-iamlint.txt). For each parameter set of
:data:`PARAMETER_SETS` (the defaults, and existing roles with the model published, so both
sides of every ``Fn::If`` are linted), it resolves the template's intrinsic functions to
concrete values (partition ``aws``, region ``us-east-1``, an example account, physical names
in CloudFormation's style), collects every policy document (inline role policies, managed and
stand-alone policies, trust policies, bucket/topic/queue/key policies) and runs:

- parliament (``analyze_policy_string``): unknown actions, resource ARNs that fit no resource
  type of their action, condition keys not defined for their action, malformed statements;
- policy_sentry's IAM database, as a second reading: every action exists, and every condition
  key of an Allow statement is a global key or one the action (or its resource types) defines.

Each finding is printed with the resource, policy, statement and action. The run fails unless
every finding is justified in the allow file (``{"justified": [{"issue", "resource", "reason",
and optionally "tool", "policy", "sid", "action", "detail_contains"}]}``) and every
justification still matches a finding (a stale one fails too). Exit status: 0 clean, 1 findings, 2 bad input.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import warnings
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
ACCOUNT = "123456789012"
REGION = "us-east-1"
PARTITION = "aws"
STACK = "transient-analytics-dev"
PSEUDO = {
    "AWS::Partition": PARTITION,
    "AWS::Region": REGION,
    "AWS::AccountId": ACCOUNT,
    "AWS::StackName": STACK,
    "AWS::StackId": f"arn:{PARTITION}:cloudformation:{REGION}:{ACCOUNT}:stack/{STACK}/0000-0000",
    "AWS::URLSuffix": "amazonaws.com",
}
PARAMETER_SETS: dict[str, dict[str, str]] = {
    "defaults": {},
    "existing-roles-model-published": {
        "ExistingEmrServiceRoleName": "existing-emr-service-role",
        "ExistingEmrEc2RoleName": "existing-emr-ec2-role",
        "ExistingSageMakerRoleArn": f"arn:{PARTITION}:iam::{ACCOUNT}:role/existing-sagemaker-role",
        "ModelPublished": "true",
        "NotificationEmail": "ops@example.com",
        "EmrSubnetId": "subnet-0123456789abcdef0",
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


class LintInputError(ValueError):
    """The template cannot be resolved (an intrinsic function or a reference this linter does not know)."""


# ---------------------------------------------------------------------- resolving the template
@dataclass
class Resolver:
    template: dict[str, Any]
    overrides: Mapping[str, str]

    def __post_init__(self) -> None:
        self.resources: dict[str, Any] = self.template.get("Resources", {})
        self.parameters = {
            name: str(self.overrides.get(name, spec.get("Default", "")))
            for name, spec in (self.template.get("Parameters") or {}).items()
        }
        self._conditions: dict[str, bool] = {}

    # conditions ---------------------------------------------------------------------------
    def condition(self, name: str) -> bool:
        if name not in self._conditions:
            try:
                expression = self.template["Conditions"][name]
            except KeyError:
                raise LintInputError(f"unknown condition {name!r}") from None
            self._conditions[name] = bool(self._evaluate(expression))
        return self._conditions[name]

    def _evaluate(self, expression: Any) -> Any:
        if isinstance(expression, Mapping) and len(expression) == 1:
            ((fn, arg),) = expression.items()
            if fn == "Fn::Equals":
                a, b = (self.resolve(x) for x in arg)
                return str(a) == str(b)
            if fn == "Fn::Not":
                return not self._evaluate(arg[0])
            if fn == "Fn::And":
                return all(self._evaluate(x) for x in arg)
            if fn == "Fn::Or":
                return any(self._evaluate(x) for x in arg)
            if fn == "Condition":
                return self.condition(arg)
        return self.resolve(expression)

    def created(self, logical_id: str) -> bool:
        condition = self.resources.get(logical_id, {}).get("Condition")
        return condition is None or self.condition(condition)

    # references ---------------------------------------------------------------------------
    def physical(self, logical_id: str) -> str:
        return f"{STACK}-{logical_id}"

    def ref(self, name: str) -> str:
        if name in PSEUDO:
            return PSEUDO[name]
        if name in self.parameters:
            return self.parameters[name]
        resource = self.resources.get(name)
        if resource is None:
            raise LintInputError(f"Ref {name!r}: no such parameter or resource")
        rtype, props = resource["Type"], resource.get("Properties", {})
        by_type = {
            "AWS::SNS::Topic": lambda: self.arn("sns", self.named(name, props, "TopicName")),
            "AWS::SQS::Queue": lambda: f"https://sqs.{REGION}.amazonaws.com/{ACCOUNT}/{self.physical(name)}",
            "AWS::StepFunctions::StateMachine": lambda: self.arn(
                "states", f"stateMachine:{self.named(name, props, 'StateMachineName')}"
            ),
            "AWS::KMS::Key": lambda: "00000000-1111-2222-3333-444444444444",
            "AWS::SageMaker::Model": lambda: self.named(name, props, "ModelName"),
        }
        if rtype in by_type:
            return by_type[rtype]()
        for key in (
            "RoleName",
            "FunctionName",
            "TableName",
            "BucketName",
            "LogGroupName",
            "InstanceProfileName",
            "Name",
        ):
            if key in props:
                return str(self.resolve(props[key]))
        return self.physical(name).lower() if rtype == "AWS::S3::Bucket" else self.physical(name)

    def named(self, logical_id: str, props: Mapping[str, Any], key: str) -> str:
        return str(self.resolve(props[key])) if key in props else self.physical(logical_id)

    def arn(self, service: str, resource: str, region: str = REGION, account: str = ACCOUNT) -> str:
        return f"arn:{PARTITION}:{service}:{region}:{account}:{resource}"

    def get_att(self, logical_id: str, attribute: str) -> str:
        resource = self.resources.get(logical_id)
        if resource is None:
            raise LintInputError(f"GetAtt {logical_id}.{attribute}: no such resource")
        rtype = resource["Type"]
        name = self.ref(logical_id)
        arns = {
            "AWS::S3::Bucket": f"arn:{PARTITION}:s3:::{name}",
            "AWS::SQS::Queue": self.arn("sqs", self.physical(logical_id)),
            "AWS::SNS::Topic": name,
            "AWS::DynamoDB::Table": self.arn("dynamodb", f"table/{name}"),
            "AWS::Lambda::Function": self.arn("lambda", f"function:{name}"),
            "AWS::IAM::Role": f"arn:{PARTITION}:iam::{ACCOUNT}:role/{name}",
            "AWS::IAM::InstanceProfile": f"arn:{PARTITION}:iam::{ACCOUNT}:instance-profile/{name}",
            "AWS::Logs::LogGroup": self.arn("logs", f"log-group:{name}:*"),
            "AWS::KMS::Key": self.arn("kms", f"key/{name}"),
            "AWS::Events::Rule": self.arn("events", f"rule/{self.physical(logical_id)}"),
            "AWS::StepFunctions::StateMachine": name,
            "AWS::Scheduler::Schedule": self.arn("scheduler", f"schedule/default/{self.physical(logical_id)}"),
        }
        if attribute == "Arn" and rtype in arns:
            return arns[rtype]
        if (rtype, attribute) in {("AWS::SNS::Topic", "TopicName"), ("AWS::SQS::Queue", "QueueName")}:
            return self.physical(logical_id) if rtype == "AWS::SQS::Queue" else name.rsplit(":", 1)[-1]
        if (rtype, attribute) == ("AWS::SageMaker::Model", "ModelName"):
            return name
        if (rtype, attribute) == ("AWS::StepFunctions::StateMachine", "Name"):
            return name.rsplit(":", 1)[-1]
        raise LintInputError(f"GetAtt {logical_id}.{attribute} ({rtype}) is not known to the linter")

    # values -------------------------------------------------------------------------------
    def resolve(self, value: Any) -> Any:
        if isinstance(value, list):
            return [v for v in (self.resolve(x) for x in value) if v is not _NO_VALUE]
        if not isinstance(value, Mapping):
            return value
        if len(value) == 1:
            ((fn, arg),) = value.items()
            if fn == "Ref":
                return _NO_VALUE if arg == "AWS::NoValue" else self.ref(arg)
            if fn == "Fn::GetAtt":
                logical_id, attribute = arg if isinstance(arg, list) else arg.split(".", 1)
                return self.get_att(logical_id, attribute)
            if fn == "Fn::Sub":
                return self._sub(arg)
            if fn == "Fn::If":
                name, yes, no = arg
                return self.resolve(yes if self.condition(name) else no)
            if fn == "Fn::Join":
                separator, parts = arg
                return separator.join(str(p) for p in self.resolve(parts))
            if fn == "Fn::Select":
                index, items = arg
                return self.resolve(items)[int(self.resolve(index))]
            if fn == "Fn::FindInMap":
                table, key, attr = (self.resolve(x) for x in arg[:3])
                return self.template["Mappings"][table][key][attr]
            if fn.startswith("Fn::") or fn == "Condition":
                raise LintInputError(f"{fn} is not known to the linter")
        return {k: v for k, v in ((k, self.resolve(v)) for k, v in value.items()) if v is not _NO_VALUE}

    def _sub(self, arg: Any) -> str:
        text, variables = (arg, {}) if isinstance(arg, str) else (arg[0], arg[1])
        local = {k: self.resolve(v) for k, v in variables.items()}

        def replace(match: re.Match[str]) -> str:
            name = match.group(1)
            if name.startswith("!"):
                return "${" + name[1:] + "}"
            if name in local:
                return str(local[name])
            if "." in name and name.split(".", 1)[0] in self.resources:
                return self.get_att(*name.split(".", 1))
            return str(self.ref(name))

        return re.sub(r"\$\{([^}]+)\}", replace, text)


_NO_VALUE = object()


# ---------------------------------------------------------------------- collecting policies
@dataclass(frozen=True)
class Policy:
    resource: str
    name: str
    document: dict[str, Any]
    #: "identity" (attached to a role), "resource" (bucket/topic/queue/key policy) or "trust".
    kind: str


def policies(template: dict[str, Any], resolver: Resolver) -> Iterator[Policy]:
    for logical_id, resource in template.get("Resources", {}).items():
        if not resolver.created(logical_id):
            continue
        rtype, props = resource["Type"], resource.get("Properties", {})
        if rtype == "AWS::IAM::Role":
            for i, inline in enumerate(props.get("Policies", [])):
                name = str(resolver.resolve(inline.get("PolicyName", f"policy-{i}")))
                yield Policy(logical_id, name, resolver.resolve(inline["PolicyDocument"]), "identity")
            if "AssumeRolePolicyDocument" in props:
                document = resolver.resolve(props["AssumeRolePolicyDocument"])
                yield Policy(logical_id, "AssumeRolePolicyDocument", document, "trust")
        elif rtype in ("AWS::IAM::Policy", "AWS::IAM::ManagedPolicy"):
            yield Policy(logical_id, "PolicyDocument", resolver.resolve(props["PolicyDocument"]), "identity")
        elif rtype in ("AWS::S3::BucketPolicy", "AWS::SNS::TopicPolicy", "AWS::SQS::QueuePolicy"):
            yield Policy(logical_id, "PolicyDocument", resolver.resolve(props["PolicyDocument"]), "resource")
        elif rtype == "AWS::KMS::Key":
            # In a key policy "Resource": "*" means this key: lint it as the key's ARN.
            key_arn = resolver.get_att(logical_id, "Arn")
            document = resolver.resolve(props["KeyPolicy"])
            document = {
                **document,
                "Statement": [
                    {**st, "Resource": key_arn} if st.get("Resource") == "*" else st for st in _statements(document)
                ],
            }
            yield Policy(logical_id, "KeyPolicy", document, "resource")


# ---------------------------------------------------------------------- linting
@dataclass(frozen=True)
class Finding:
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


def _statements(document: Mapping[str, Any]) -> list[dict[str, Any]]:
    statements = document.get("Statement", [])
    return statements if isinstance(statements, list) else [statements]


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def parliament_findings(policy: Policy, parameters: str) -> list[Finding]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from parliament import analyze_policy_string

    found = []
    if policy.kind == "trust":
        return found  # parliament reads policies with resources; a trust policy has none (policy_sentry checks it)
    document = policy.document
    if policy.kind == "resource":
        # parliament reads identity policies: drop the principals and lint actions, resources and conditions
        statements = [
            {k: v for k, v in st.items() if k not in ("Principal", "NotPrincipal")} for st in _statements(document)
        ]
        document = {**document, "Statement": statements}
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
    from policy_sentry.querying.actions import get_privilege_info

    found = []
    for statement in _statements(policy.document):
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
    findings: list[Finding] = []
    count = 0
    for label, overrides in PARAMETER_SETS.items():
        resolver = Resolver(template, overrides)
        for policy in policies(template, resolver):
            count += 1
            findings += parliament_findings(policy, label)
            findings += policy_sentry_findings(policy, label)
            findings += version_findings(policy, label)
    return findings, count


def matches(justification: Mapping[str, str], finding: Finding) -> bool:
    """``issue``, ``resource`` and, when given, ``tool``, ``policy``, ``sid``, ``action``, ``detail_contains``."""
    return (
        justification["issue"] == finding.issue
        and justification["resource"] == finding.resource
        and justification.get("tool", finding.tool) == finding.tool
        and justification.get("policy", finding.policy) == finding.policy
        and justification.get("sid", finding.sid) == finding.sid
        and justification.get("action", finding.action) == finding.action
        and justification.get("detail_contains", "") in finding.detail
    )


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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--template", type=Path, default=ROOT / "build" / "translated-template.json")
    parser.add_argument("--allow", type=Path, default=ROOT / "checks" / "iam-lint-allow.json")
    args = parser.parse_args(argv)
    try:
        template = json.loads(args.template.read_text(encoding="utf-8"))
        allow = json.loads(args.allow.read_text(encoding="utf-8"))["justified"] if args.allow.exists() else []
        for j in allow:
            if not j.get("reason") or not j.get("issue") or not j.get("resource"):
                raise LintInputError(f"{args.allow}: every justification needs issue, resource and reason: {j}")
        findings, count = lint(template)
    except (OSError, ValueError, KeyError) as exc:
        print(f"iam_lint: error: {exc}", file=sys.stderr)
        return 2
    unique = sorted({f.line(): f for f in findings}.items())
    justified = [(line, f) for line, f in unique if any(matches(j, f) for j in allow)]
    unjustified = [(line, f) for line, f in unique if not any(matches(j, f) for j in allow)]
    stale = [j for j in allow if not any(matches(j, f) for f in findings)]
    print(
        f"iam_lint: {count} policy documents ({len(PARAMETER_SETS)} parameter sets) "
        "linted with parliament and policy_sentry"
    )
    for line, _ in justified:
        print(f"  justified  {line}")
    for line, _ in unjustified:
        print(f"  FINDING    {line}")
    for j in stale:
        print(f"  STALE      justification matches no finding: {json.dumps(j)}")
    print(
        f"iam_lint: {len(unjustified)} unjustified finding(s), {len(justified)} justified, "
        f"{len(stale)} stale justification(s)"
    )
    return 1 if unjustified or stale else 0


if __name__ == "__main__":
    sys.exit(main())
