"""CloudFormation's intrinsic functions and physical names, evaluated for one set of parameter values.

Physical names are ``<stack>-<LogicalId>`` unless the template names the resource (what the
harness creates in moto and ``checks/substitute_asl.py`` hands asl-validator). Only the intrinsic
functions and resource types this project uses are known; anything else is a :class:`TemplateError`."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from offline.cfn.names import NAME_PROPERTIES

#: moto's default account; also what the fixtures in events/ use.
DEFAULT_ACCOUNT_ID = "123456789012"
DEFAULT_REGION = "us-east-1"
DEFAULT_STACK_NAME = "transient-analytics-dev"
PARTITION = "aws"
URL_SUFFIX = "amazonaws.com"


class TemplateError(ValueError):
    """The template uses something this resolver does not know, or refers to a missing name."""


def as_parameter_string(value: Any) -> str:
    """CloudFormation hands every parameter and environment value over as a string."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


@dataclass
class Resolver:
    """A template evaluated for one set of parameter values, with stable physical names.

    Built as :class:`offline.cfn.stack.Stack`; ``Stack(template)`` uses every parameter's default,
    ``parameters`` overrides some.
    """

    template: dict[str, Any]
    parameters: Mapping[str, str] = field(default_factory=dict)
    stack_name: str = DEFAULT_STACK_NAME
    region: str = DEFAULT_REGION
    account_id: str = DEFAULT_ACCOUNT_ID

    def __post_init__(self) -> None:
        declared = self.template.get("Parameters", {}) or {}
        unknown = sorted(set(self.parameters) - set(declared))
        if unknown:
            raise TemplateError(f"unknown parameter(s) {unknown}; the template declares {sorted(declared)}")
        values: dict[str, str] = {}
        for name, spec in declared.items():
            if name in self.parameters:
                values[name] = str(self.parameters[name])
            elif "Default" in spec:
                values[name] = as_parameter_string(spec["Default"])
            else:
                raise TemplateError(f"parameter {name} has no Default: pass a value for it")
        self.parameter_values: dict[str, str] = values
        self.resources: dict[str, dict[str, Any]] = self.template["Resources"]
        self._conditions: dict[str, bool] = {}
        #: Ids a service chose for a resource (moto's EMR Serverless application id): :meth:`assign`.
        self._assigned: dict[str, str] = {}

    def assign(self, logical_id: str, physical_id: str) -> None:
        """The id the service gave a resource at creation; ``!Ref`` and ``!GetAtt …Id`` read it from now on."""
        self._assigned[logical_id] = physical_id

    # ------------------------------------------------------------------ conditions
    def condition(self, name: str) -> bool:
        """The value of a condition of the template's ``Conditions`` section."""
        if name not in self._conditions:
            conditions = self.template.get("Conditions", {}) or {}
            if name not in conditions:
                raise TemplateError(f"unknown condition {name!r}")
            self._conditions[name] = bool(self._evaluate_condition(conditions[name]))
        return self._conditions[name]

    def _evaluate_condition(self, expression: Any) -> bool:
        if isinstance(expression, dict) and len(expression) == 1:
            (key, value), *_ = expression.items()
            if key == "Condition":
                return self.condition(value)
            if key == "Fn::Equals":
                left, right = (self.resolve(v) for v in value)
                return str(left) == str(right)
            if key == "Fn::Not":
                return not self._evaluate_condition(value[0])
            if key == "Fn::And":
                return all(self._evaluate_condition(v) for v in value)
            if key == "Fn::Or":
                return any(self._evaluate_condition(v) for v in value)
        raise TemplateError(f"unsupported condition expression {expression!r}")

    def is_created(self, logical_id: str) -> bool:
        """Whether a resource exists for these parameter values (its ``Condition`` holds)."""
        resource = self._resource(logical_id)
        condition = resource.get("Condition")
        return condition is None or self.condition(condition)

    # ------------------------------------------------------------------ physical names
    def _resource(self, logical_id: str) -> dict[str, Any]:
        try:
            return self.resources[logical_id]
        except KeyError:
            raise TemplateError(f"no resource or parameter named {logical_id!r} in the template") from None

    def _property(self, logical_id: str, name: str) -> Any:
        value = self._resource(logical_id).get("Properties", {}).get(name)
        return None if value is None else self.resolve(value)

    def physical_name(self, logical_id: str) -> str:
        """The name CloudFormation would give the resource (``<stack>-<LogicalId>`` unless named)."""
        rtype = self._resource(logical_id)["Type"]
        explicit = NAME_PROPERTIES.get(rtype)
        if explicit:
            named = self._property(logical_id, explicit)
            if isinstance(named, dict):  # the Glue resources name themselves inside their input
                named = named.get("Name")
            if named:
                return str(named)
        generated = f"{self.stack_name}-{logical_id}"
        # S3 bucket names are lower case; CloudFormation lower-cases the generated ones too.
        return generated.lower() if rtype == "AWS::S3::Bucket" else generated

    def ref(self, name: str) -> str:
        """``!Ref name``: a parameter's value, a pseudo parameter, or a resource's physical id."""
        pseudo = {
            "AWS::StackName": self.stack_name,
            "AWS::Region": self.region,
            "AWS::AccountId": self.account_id,
            "AWS::Partition": PARTITION,
            "AWS::URLSuffix": URL_SUFFIX,
            "AWS::StackId": (
                f"arn:{PARTITION}:cloudformation:{self.region}:{self.account_id}:stack/{self.stack_name}/offline"
            ),
        }
        if name in pseudo:
            return pseudo[name]
        if name in self.parameter_values:
            return self.parameter_values[name]
        if not self.is_created(name):
            raise TemplateError(f"!Ref {name}: the resource is not created for these parameter values")
        rtype = self._resource(name)["Type"]
        physical = self.physical_name(name)
        if rtype == "AWS::SNS::Topic":
            return self._arn("sns", physical)
        if rtype == "AWS::SQS::Queue":
            return f"https://sqs.{self.region}.{URL_SUFFIX}/{self.account_id}/{physical}"
        if rtype in ("AWS::Serverless::StateMachine", "AWS::StepFunctions::StateMachine"):
            return self._arn("states", f"stateMachine:{physical}")
        if rtype in ("AWS::Serverless::LayerVersion", "AWS::Lambda::LayerVersion"):
            return self._arn("lambda", f"layer:{physical}:1")
        if rtype == "AWS::KMS::Key":
            digest = hashlib.sha256(f"{self.stack_name}/{name}".encode()).hexdigest()
            return f"{digest[:8]}-{digest[8:12]}-4{digest[13:16]}-8{digest[17:20]}-{digest[20:32]}"
        return physical

    def get_att(self, logical_id: str, attribute: str) -> str:
        """``!GetAtt logical_id.attribute`` for the attributes this project uses."""
        if not self.is_created(logical_id):
            raise TemplateError(f"!GetAtt {logical_id}.{attribute}: the resource is not created")
        rtype = self._resource(logical_id)["Type"]
        physical = self.physical_name(logical_id)
        attributes: dict[tuple[str, str], str] = {
            ("AWS::S3::Bucket", "Arn"): f"arn:{PARTITION}:s3:::{physical}",
            ("AWS::SNS::Topic", "TopicName"): physical,
            ("AWS::SNS::Topic", "TopicArn"): self._arn("sns", physical),
            ("AWS::SQS::Queue", "Arn"): self._arn("sqs", physical),
            ("AWS::SQS::Queue", "QueueName"): physical,
            ("AWS::DynamoDB::Table", "Arn"): self._arn("dynamodb", f"table/{physical}"),
            ("AWS::Serverless::Function", "Arn"): self._arn("lambda", f"function:{physical}"),
            ("AWS::Lambda::Function", "Arn"): self._arn("lambda", f"function:{physical}"),
            ("AWS::Serverless::StateMachine", "Arn"): self._arn("states", f"stateMachine:{physical}"),
            ("AWS::Serverless::StateMachine", "Name"): physical,
            ("AWS::StepFunctions::StateMachine", "Arn"): self._arn("states", f"stateMachine:{physical}"),
            ("AWS::StepFunctions::StateMachine", "Name"): physical,
            ("AWS::Events::Rule", "Arn"): self._arn("events", f"rule/{physical}"),
            ("AWS::Scheduler::Schedule", "Arn"): self._arn("scheduler", f"schedule/default/{physical}"),
            ("AWS::IAM::Role", "Arn"): f"arn:{PARTITION}:iam::{self.account_id}:role/{physical}",
            ("AWS::IAM::InstanceProfile", "Arn"): (
                f"arn:{PARTITION}:iam::{self.account_id}:instance-profile/{physical}"
            ),
            ("AWS::Logs::LogGroup", "Arn"): self._arn("logs", f"log-group:{physical}:*"),
            ("AWS::KMS::Key", "Arn"): self._arn("kms", f"key/{self.ref(logical_id)}"),
            ("AWS::SageMaker::Model", "ModelName"): physical,
            ("AWS::EMRServerless::Application", "ApplicationId"): self._application_id(logical_id),
            ("AWS::EMRServerless::Application", "Arn"): self._arn(
                "emr-serverless", f"/applications/{self._application_id(logical_id)}"
            ),
        }
        try:
            return attributes[(rtype, attribute)]
        except KeyError:
            raise TemplateError(f"!GetAtt {logical_id}.{attribute} ({rtype}) is not known to the resolver") from None

    def _application_id(self, logical_id: str) -> str:
        """EMR Serverless names an application by an id it generates: the assigned one, else a stable stand-in."""
        if logical_id in self._assigned:
            return self._assigned[logical_id]
        return "00" + hashlib.sha256(f"{self.stack_name}/{logical_id}".encode()).hexdigest()[:14]

    def _arn(self, service: str, resource: str) -> str:
        return f"arn:{PARTITION}:{service}:{self.region}:{self.account_id}:{resource}"

    # ------------------------------------------------------------------ intrinsic functions
    def resolve(self, value: Any) -> Any:
        """``value`` with every intrinsic function evaluated (``!If`` only evaluates the branch taken).

        ``!Ref AWS::NoValue`` removes the list item or mapping key it stands for, as CloudFormation
        does (a value that is nothing but it resolves to None).
        """
        resolved = self._resolve(value)
        return None if resolved is _NO_VALUE else resolved

    def _resolve(self, value: Any) -> Any:
        if isinstance(value, list):
            return [v for v in (self._resolve(item) for item in value) if v is not _NO_VALUE]
        if not isinstance(value, dict):
            return value
        if len(value) == 1:
            (key, arg), *_ = value.items()
            if key == "Ref":
                if arg == "AWS::NoValue":
                    return _NO_VALUE
                return self.ref(arg).split(",") if self._is_list_parameter(arg) else self.ref(arg)
            if key == "Fn::GetAtt":
                resource, attribute = arg if isinstance(arg, list) else str(arg).split(".", 1)
                return self.get_att(resource, attribute)
            if key == "Fn::Sub":
                return self._sub(arg)
            if key == "Fn::If":
                condition, when_true, when_false = arg
                return self._resolve(when_true if self.condition(condition) else when_false)
            if key == "Fn::Join":
                separator, items = arg
                return str(separator).join(str(v) for v in self.resolve(items))
            if key == "Fn::Select":
                index, items = arg
                return self.resolve(items)[int(self.resolve(index))]
            if key == "Fn::Split":
                separator, text = arg
                return str(self.resolve(text)).split(separator)
            if key == "Fn::FindInMap":
                mapping, top, second = (self.resolve(v) for v in arg)
                try:
                    return self.template["Mappings"][mapping][top][second]
                except KeyError:
                    raise TemplateError(f"!FindInMap [{mapping}, {top}, {second}]: no such entry") from None
            if key in ("Fn::Equals", "Fn::Not", "Fn::And", "Fn::Or", "Condition"):
                return self._evaluate_condition(value)
            if key.startswith("Fn::"):
                raise TemplateError(f"intrinsic function {key} is not supported by the offline resolver")
        return {k: v for k, v in ((k, self._resolve(v)) for k, v in value.items()) if v is not _NO_VALUE}

    def _is_list_parameter(self, name: str) -> bool:
        """A ``CommaDelimitedList`` (or ``List<…>``) parameter: ``!Ref`` gives a list, as in CloudFormation."""
        spec = (self.template.get("Parameters", {}) or {}).get(name) or {}
        kind = str(spec.get("Type", ""))
        return kind == "CommaDelimitedList" or kind.startswith("List<")

    def _sub(self, arg: Any) -> str:
        if isinstance(arg, list):
            text, variables = arg
            local = {k: self.resolve(v) for k, v in variables.items()}
        else:
            text, local = arg, {}

        def replace(match: re.Match[str]) -> str:
            token = match.group(1)
            if token.startswith("!"):
                return "${" + token[1:] + "}"
            if token in local:
                return str(local[token])
            if "." in token and not token.startswith("AWS::"):
                resource, attribute = token.split(".", 1)
                return self.get_att(resource, attribute)
            return self.ref(token)

        return re.sub(r"\$\{([^}]+)\}", replace, str(text))


#: What ``!Ref AWS::NoValue`` resolves to until the list or mapping holding it drops it.
_NO_VALUE = object()
