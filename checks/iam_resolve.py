"""The IAM lint's template resolver: intrinsic functions and references to concrete values.

A translated SAM template is resolved as CloudFormation would for one parameter set of
:data:`PARAMETER_SETS` (partition ``aws``, region ``us-east-1``, an example account, physical
names in CloudFormation's style), so that the policy documents can be linted as IAM reads them.
Anything this resolver does not know raises :class:`LintInputError`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

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
#: The parameter sets linted: the defaults, and existing roles with the model published, so that
#: both sides of every ``Fn::If`` are linted.
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


class LintInputError(ValueError):
    """The template cannot be resolved (an intrinsic function or a reference this linter does not know)."""


@dataclass
class Resolver:
    """The template's values under one parameter set (``overrides`` over the parameters' defaults)."""

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
