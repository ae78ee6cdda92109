"""Read ``template.yaml`` and resolve what the harness needs from it, as CloudFormation would.

The template is the single source of truth: state machine names, ``DefinitionSubstitutions``,
function handlers and environment variables, and the resources those refer to (bucket, topic,
idempotency table, roles) all come from here, never from copies in the tests.

:func:`load_template` reads CloudFormation YAML with its short-form tags (``!Sub``, ``!Ref``,
``!GetAtt``, ``!If`` …) into the long form (``{"Fn::Sub": …}``). :class:`Stack` then evaluates
intrinsic functions for one set of parameter values (the template's defaults unless
overridden) with the physical names :class:`Stack` gives to every resource, the names the
harness then creates in moto. Only the intrinsic functions and resource types this project
uses are known; anything else raises :class:`TemplateError` naming it, instead of guessing.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

#: moto's default account; also what the fixtures in events/ use.
DEFAULT_ACCOUNT_ID = "123456789012"
DEFAULT_REGION = "us-east-1"
DEFAULT_STACK_NAME = "transient-analytics-dev"
PARTITION = "aws"
URL_SUFFIX = "amazonaws.com"

_SHORT_FORM_FUNCTIONS = (
    "Base64",
    "Cidr",
    "FindInMap",
    "GetAZs",
    "ImportValue",
    "Join",
    "Select",
    "Split",
    "Sub",
    "Transform",
    "And",
    "Equals",
    "If",
    "Not",
    "Or",
    # rule functions (the template's Rules section, which CloudFormation checks at deploy time;
    # read here so the template loads, not evaluated: the harness has no deploy step)
    "Contains",
    "EachMemberEquals",
    "EachMemberIn",
    "RefAll",
    "ValueOf",
    "ValueOfAll",
)


class TemplateError(ValueError):
    """The template uses something this resolver does not know, or refers to a missing name."""


_BaseLoader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _TemplateLoader(_BaseLoader):  # type: ignore[misc]
    """A (libyaml when available) SafeLoader that understands CloudFormation's short-form tags."""


def _construct_node(loader: yaml.SafeLoader, node: yaml.Node) -> Any:
    if isinstance(node, yaml.ScalarNode):
        return loader.construct_scalar(node)
    if isinstance(node, yaml.SequenceNode):
        return loader.construct_sequence(node, deep=True)
    if isinstance(node, yaml.MappingNode):
        return loader.construct_mapping(node, deep=True)
    raise TemplateError(f"unexpected YAML node {node!r}")  # pragma: no cover - YAML has only three kinds


def _ref(loader: yaml.SafeLoader, node: yaml.Node) -> dict[str, Any]:
    return {"Ref": _construct_node(loader, node)}


def _condition(loader: yaml.SafeLoader, node: yaml.Node) -> dict[str, Any]:
    return {"Condition": _construct_node(loader, node)}


def _get_att(loader: yaml.SafeLoader, node: yaml.Node) -> dict[str, Any]:
    value = _construct_node(loader, node)
    if isinstance(value, str):
        resource, _, attribute = value.partition(".")
        value = [resource, attribute]
    return {"Fn::GetAtt": value}


def _function(name: str) -> Any:
    def construct(loader: yaml.SafeLoader, node: yaml.Node) -> dict[str, Any]:
        return {f"Fn::{name}": _construct_node(loader, node)}

    return construct


_TemplateLoader.add_constructor("!Ref", _ref)
_TemplateLoader.add_constructor("!Condition", _condition)
_TemplateLoader.add_constructor("!GetAtt", _get_att)
for _name in _SHORT_FORM_FUNCTIONS:
    _TemplateLoader.add_constructor(f"!{_name}", _function(_name))


def load_template(path: Path) -> dict[str, Any]:
    """The template as plain data, short-form tags turned into their long form."""
    with path.open(encoding="utf-8") as handle:
        data = yaml.load(handle, Loader=_TemplateLoader)  # noqa: S506 - SafeLoader subclass
    if not isinstance(data, dict) or "Resources" not in data:
        raise TemplateError(f"{path} is not a CloudFormation template (no Resources)")
    return data


@dataclass(frozen=True)
class FunctionSpec:
    """An ``AWS::Serverless::Function`` as the harness runs it in-process."""

    logical_id: str
    name: str
    arn: str
    #: ``functions.prepare_run.app``: the module ``CodeUri`` + ``Handler`` name.
    module: str
    handler: str
    code_uri: str
    environment: dict[str, str]
    timeout_seconds: int
    memory_mb: int
    runtime: str
    #: Directories of the layers the function uses (``ContentUri``), as Lambda mounts them under /opt/python.
    layer_paths: tuple[str, ...] = ()


@dataclass(frozen=True)
class StateMachineSpec:
    """An ``AWS::Serverless::StateMachine``: its name, ASL file and resolved substitutions."""

    logical_id: str
    name: str
    arn: str
    definition_uri: str
    substitutions: dict[str, str]
    type: str = "STANDARD"


@dataclass
class Stack:
    """A template evaluated for one set of parameter values, with stable physical names.

    ``Stack(template)`` uses every parameter's default; pass ``parameters`` to override some.
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
                values[name] = _as_parameter_string(spec["Default"])
            else:
                raise TemplateError(f"parameter {name} has no Default: pass a value for it")
        self.parameter_values: dict[str, str] = values
        self.resources: dict[str, dict[str, Any]] = self.template["Resources"]
        self._conditions: dict[str, bool] = {}

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
        explicit = {
            "AWS::S3::Bucket": "BucketName",
            "AWS::SNS::Topic": "TopicName",
            "AWS::SQS::Queue": "QueueName",
            "AWS::DynamoDB::Table": "TableName",
            "AWS::Serverless::Function": "FunctionName",
            "AWS::Serverless::StateMachine": "Name",
            "AWS::IAM::Role": "RoleName",
            "AWS::IAM::InstanceProfile": "InstanceProfileName",
            "AWS::Logs::LogGroup": "LogGroupName",
            "AWS::SageMaker::Model": "ModelName",
            "AWS::Serverless::LayerVersion": "LayerName",
        }.get(rtype)
        if explicit:
            named = self._property(logical_id, explicit)
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
            "AWS::NoValue": "",
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
        if rtype == "AWS::Serverless::StateMachine":
            return self._arn("states", f"stateMachine:{physical}")
        if rtype == "AWS::Serverless::LayerVersion":
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
            ("AWS::Serverless::StateMachine", "Arn"): self._arn("states", f"stateMachine:{physical}"),
            ("AWS::Serverless::StateMachine", "Name"): physical,
            ("AWS::IAM::Role", "Arn"): f"arn:{PARTITION}:iam::{self.account_id}:role/{physical}",
            ("AWS::IAM::InstanceProfile", "Arn"): (
                f"arn:{PARTITION}:iam::{self.account_id}:instance-profile/{physical}"
            ),
            ("AWS::Logs::LogGroup", "Arn"): self._arn("logs", f"log-group:{physical}:*"),
            ("AWS::KMS::Key", "Arn"): self._arn("kms", f"key/{self.ref(logical_id)}"),
            ("AWS::SageMaker::Model", "ModelName"): physical,
        }
        try:
            return attributes[(rtype, attribute)]
        except KeyError:
            raise TemplateError(f"!GetAtt {logical_id}.{attribute} ({rtype}) is not known to the resolver") from None

    def _arn(self, service: str, resource: str) -> str:
        return f"arn:{PARTITION}:{service}:{self.region}:{self.account_id}:{resource}"

    # ------------------------------------------------------------------ intrinsic functions
    def resolve(self, value: Any) -> Any:
        """``value`` with every intrinsic function evaluated (``!If`` only evaluates the branch taken)."""
        if isinstance(value, list):
            return [self.resolve(v) for v in value]
        if not isinstance(value, dict):
            return value
        if len(value) == 1:
            (key, arg), *_ = value.items()
            if key == "Ref":
                return self.ref(arg)
            if key == "Fn::GetAtt":
                resource, attribute = arg if isinstance(arg, list) else str(arg).split(".", 1)
                return self.get_att(resource, attribute)
            if key == "Fn::Sub":
                return self._sub(arg)
            if key == "Fn::If":
                condition, when_true, when_false = arg
                return self.resolve(when_true if self.condition(condition) else when_false)
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
        return {k: self.resolve(v) for k, v in value.items()}

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

    # ------------------------------------------------------------------ resources the harness runs
    def resources_of_type(self, rtype: str) -> list[str]:
        """Logical ids of the created resources of one type, in template order."""
        return [lid for lid, r in self.resources.items() if r.get("Type") == rtype and self.is_created(lid)]

    def functions(self) -> dict[str, FunctionSpec]:
        """Every ``AWS::Serverless::Function``, with ``Globals`` merged in as SAM does."""
        globals_fn = (self.template.get("Globals", {}) or {}).get("Function", {}) or {}
        specs = {}
        for lid in self.resources_of_type("AWS::Serverless::Function"):
            props = self._resource(lid).get("Properties", {})
            env = dict(self.resolve((globals_fn.get("Environment") or {}).get("Variables") or {}))
            env.update(self.resolve((props.get("Environment") or {}).get("Variables") or {}))
            handler = str(props.get("Handler") or globals_fn.get("Handler") or "")
            module_in_code, _, attribute = handler.rpartition(".")
            code_uri = str(props.get("CodeUri") or globals_fn.get("CodeUri") or "").strip("/")
            if not module_in_code or not code_uri:
                raise TemplateError(f"{lid}: CodeUri and Handler must both be set")
            module = ".".join([*Path(code_uri).parts, *module_in_code.split(".")])
            layers = self.resolve(props.get("Layers", globals_fn.get("Layers", [])))
            layer_paths = tuple(self._layer_path(arn) for arn in layers)
            name = self.physical_name(lid)
            specs[lid] = FunctionSpec(
                logical_id=lid,
                name=name,
                arn=self.get_att(lid, "Arn"),
                module=module,
                handler=attribute,
                code_uri=code_uri,
                environment={k: _as_parameter_string(v) for k, v in env.items()},
                timeout_seconds=int(props.get("Timeout", globals_fn.get("Timeout", 3))),
                memory_mb=int(props.get("MemorySize", globals_fn.get("MemorySize", 128))),
                runtime=str(props.get("Runtime", globals_fn.get("Runtime", ""))),
                layer_paths=tuple(p for p in layer_paths if p),
            )
        return specs

    def _layer_path(self, layer_arn: str) -> str:
        for lid in self.resources_of_type("AWS::Serverless::LayerVersion"):
            if self.ref(lid) == layer_arn:
                return str(self._resource(lid)["Properties"].get("ContentUri", "")).strip("/")
        return ""

    def state_machines(self) -> dict[str, StateMachineSpec]:
        """Every ``AWS::Serverless::StateMachine`` with its ``DefinitionSubstitutions`` resolved."""
        specs = {}
        for lid in self.resources_of_type("AWS::Serverless::StateMachine"):
            props = self._resource(lid).get("Properties", {})
            if "DefinitionUri" not in props:
                raise TemplateError(f"{lid}: only DefinitionUri state machines are supported")
            substitutions = self.resolve(props.get("DefinitionSubstitutions") or {})
            specs[lid] = StateMachineSpec(
                logical_id=lid,
                name=self.physical_name(lid),
                arn=self.ref(lid),
                definition_uri=str(props["DefinitionUri"]),
                substitutions={k: _as_parameter_string(v) for k, v in substitutions.items()},
                type=str(props.get("Type", "STANDARD")),
            )
        return specs

    def resource_property(self, logical_id: str, name: str, default: Any = None) -> Any:
        """One of a resource's ``Properties``, resolved (only that one: others may name SAM-generated resources)."""
        value = self._property(logical_id, name)
        return default if value is None else value


def _as_parameter_string(value: Any) -> str:
    """CloudFormation hands every parameter and environment value over as a string."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
