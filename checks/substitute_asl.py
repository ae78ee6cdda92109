"""Fill the ${...} placeholders of the ASL files with realistic test values, for asl-validator.

Usage: substitute_asl.py [--template template.yaml] [--out build/asl]

For every AWS::Serverless::StateMachine in the template that has a DefinitionUri, this
  * checks that every ${Name} placeholder of the ASL file has a DefinitionSubstitutions entry
    and that every entry is used by the file (either mismatch fails the check);
  * resolves each entry's CloudFormation value as CloudFormation would for a stack named
    transient-analytics-dev in us-east-1, account 123456789012, with the parameters' defaults
    (Ref, Fn::GetAtt, Fn::Sub, Fn::If with the template's Conditions, Fn::Join, Fn::FindInMap),
    giving resources realistic physical names and ARNs;
  * checks that each value is of the kind its name announces (an ARN for *Arn/*Sync/*Invoke,
    a name for *Name, a release label for *ReleaseLabel);
  * writes the substituted definition to <out>/<file name> and checks it is valid JSON.
It prints one line per written file. Standard library plus PyYAML (the SAM venv has it).
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path
from typing import Any

import yaml

STACK = "transient-analytics-dev"
PSEUDO = {
    "AWS::Partition": "aws",
    "AWS::Region": "us-east-1",
    "AWS::AccountId": "123456789012",
    "AWS::StackName": STACK,
    "AWS::URLSuffix": "amazonaws.com",
}
PLACEHOLDER = re.compile(r"\$\{([A-Za-z0-9_]+)\}")
SUB_VARIABLE = re.compile(r"\$\{([^}!][^}]*)\}")

#: What a substitution's value must look like, by the end of its name.
KINDS: list[tuple[str, re.Pattern[str], str]] = [
    ("Arn", re.compile(r"^arn:aws:[a-z0-9-]+:[a-z0-9-]*:(\d{12})?:\S+$"), "an ARN"),
    ("Sync", re.compile(r"^arn:aws:states:::[a-z0-9-]+:[A-Za-z]+\.sync(:2)?$"), "a .sync integration ARN"),
    ("Invoke", re.compile(r"^arn:aws:states:::[a-z0-9-]+:invoke$"), "an optimised integration ARN"),
    ("Name", re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.+=,@-]{0,127}$"), "a resource name"),
    ("ReleaseLabel", re.compile(r"^emr-\d+\.\d+\.\d+$"), "an EMR release label"),
]


class CheckFailed(Exception):
    pass


# ---------------------------------------------------------------- template loading
class _CfnLoader(yaml.SafeLoader):
    """SafeLoader that turns the short-form intrinsics (!Ref, !Sub, ...) into their long form."""


def _construct_intrinsic(loader: yaml.SafeLoader, tag_suffix: str, node: yaml.Node) -> Any:
    name = tag_suffix if tag_suffix in ("Ref", "Condition") else f"Fn::{tag_suffix}"
    if isinstance(node, yaml.ScalarNode):
        value: Any = loader.construct_scalar(node)
        if name == "Fn::GetAtt":
            value = value.split(".", 1)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)
    return {name: value}


_CfnLoader.add_multi_constructor("!", _construct_intrinsic)


def load_template(path: Path) -> dict[str, Any]:
    with path.open(encoding="utf-8") as handle:
        return yaml.load(handle, Loader=_CfnLoader)  # noqa: S506 - SafeLoader subclass


# ---------------------------------------------------------------- value resolution
class Resolver:
    def __init__(self, template: dict[str, Any]) -> None:
        self.template = template
        self.parameters = {name: str(spec.get("Default", "")) for name, spec in template.get("Parameters", {}).items()}
        self.resources = template.get("Resources", {})
        self.conditions = template.get("Conditions", {})
        self.mappings = template.get("Mappings", {})

    # physical names and attributes of resources, as CloudFormation would make them
    def physical_name(self, logical_id: str) -> str:
        resource = self.resources[logical_id]
        kind = resource["Type"]
        props = resource.get("Properties", {})
        if kind == "AWS::IAM::Role" and "RoleName" in props:
            return self.resolve(props["RoleName"])
        if kind == "AWS::IAM::InstanceProfile" and "InstanceProfileName" in props:
            return self.resolve(props["InstanceProfileName"])
        if kind in ("AWS::IAM::Role", "AWS::IAM::InstanceProfile"):
            return f"{STACK}-{logical_id}-1AB2CD3EF4GH"[:64]
        if kind == "AWS::Serverless::Function":
            return self.resolve(props.get("FunctionName", f"{STACK}-{logical_id}-Ab1Cd2Ef3Gh4"))
        if kind == "AWS::SageMaker::Model":
            return self.resolve(props.get("ModelName", f"{logical_id}-a1b2c3d4e5f6"))
        return f"{STACK}-{logical_id}-1AB2CD3EF4GH"

    def get_att(self, logical_id: str, attribute: str) -> str:
        if logical_id not in self.resources:
            raise CheckFailed(f"Fn::GetAtt of an unknown resource {logical_id}")
        kind = self.resources[logical_id]["Type"]
        name = self.physical_name(logical_id)
        p, r, a = PSEUDO["AWS::Partition"], PSEUDO["AWS::Region"], PSEUDO["AWS::AccountId"]
        table = {
            ("AWS::Serverless::Function", "Arn"): f"arn:{p}:lambda:{r}:{a}:function:{name}",
            ("AWS::IAM::Role", "Arn"): f"arn:{p}:iam::{a}:role/{name}",
            ("AWS::SageMaker::Model", "ModelName"): name,
            ("AWS::SNS::Topic", "TopicName"): name,
            ("AWS::SQS::Queue", "Arn"): f"arn:{p}:sqs:{r}:{a}:{name}",
            ("AWS::KMS::Key", "Arn"): f"arn:{p}:kms:{r}:{a}:key/1234abcd-12ab-34cd-56ef-1234567890ab",
        }
        if (kind, attribute) not in table:
            raise CheckFailed(f"no test value for Fn::GetAtt {logical_id}.{attribute} ({kind}): add one")
        return table[(kind, attribute)]

    def ref(self, name: str) -> str:
        if name in PSEUDO:
            return PSEUDO[name]
        if name in self.parameters:
            return self.parameters[name]
        if name in self.resources:
            return self.physical_name(name)
        raise CheckFailed(f"Ref to an unknown name {name}")

    def condition(self, name: str) -> bool:
        if name not in self.conditions:
            raise CheckFailed(f"unknown condition {name}")
        return bool(self.evaluate(self.conditions[name]))

    def evaluate(self, node: Any) -> Any:
        """Evaluate a condition expression."""
        if isinstance(node, dict) and len(node) == 1:
            ((fn, arg),) = node.items()
            if fn == "Fn::Equals":
                return self.resolve(arg[0]) == self.resolve(arg[1])
            if fn == "Fn::Not":
                return not self.evaluate(arg[0])
            if fn == "Fn::And":
                return all(self.evaluate(a) for a in arg)
            if fn == "Fn::Or":
                return any(self.evaluate(a) for a in arg)
            if fn == "Condition":
                return self.condition(arg)
        return self.resolve(node)

    def sub(self, text: str, variables: dict[str, Any]) -> str:
        def replace(match: re.Match[str]) -> str:
            name = match.group(1)
            if name in variables:
                return self.resolve(variables[name])
            if "." in name and name.split(".", 1)[0] in self.resources:
                return self.get_att(*name.split(".", 1))
            return self.ref(name)

        return SUB_VARIABLE.sub(replace, text)

    def resolve(self, node: Any) -> str:
        if isinstance(node, (str, int, float, bool)):
            return str(node).lower() if isinstance(node, bool) else str(node)
        if isinstance(node, dict) and len(node) == 1:
            ((fn, arg),) = node.items()
            if fn == "Ref":
                return self.ref(arg)
            if fn == "Fn::GetAtt":
                logical_id, attribute = arg if isinstance(arg, list) else arg.split(".", 1)
                return self.get_att(logical_id, attribute)
            if fn == "Fn::Sub":
                if isinstance(arg, str):
                    return self.sub(arg, {})
                return self.sub(arg[0], arg[1])
            if fn == "Fn::If":
                name, if_true, if_false = arg
                return self.resolve(if_true if self.condition(name) else if_false)
            if fn == "Fn::Join":
                return self.resolve(arg[0]).join(self.resolve(part) for part in arg[1])
            if fn == "Fn::FindInMap":
                table, key, attr = (self.resolve(a) for a in arg)
                return str(self.mappings[table][key][attr])
        raise CheckFailed(f"cannot resolve {node!r}")


# ---------------------------------------------------------------- the check
def check_kind(name: str, value: str) -> None:
    for suffix, pattern, description in KINDS:
        if name.endswith(suffix):
            if not pattern.match(value):
                raise CheckFailed(f"${{{name}}} should be {description}, resolves to {value!r}")
            return
    raise CheckFailed(
        f"${{{name}}}: no kind is known for this name (end it with Arn, Sync, Invoke, Name or ReleaseLabel, "
        "or teach checks/substitute_asl.py the new kind)"
    )


def substitute(template_path: Path, out_dir: Path) -> list[Path]:
    template = load_template(template_path)
    resolver = Resolver(template)
    base = template_path.parent
    written: list[Path] = []
    errors: list[str] = []
    machines = {
        logical_id: resource.get("Properties", {})
        for logical_id, resource in template.get("Resources", {}).items()
        if resource.get("Type") == "AWS::Serverless::StateMachine"
    }
    if not machines:
        raise CheckFailed("no AWS::Serverless::StateMachine in the template")
    for logical_id, props in machines.items():
        uri = props.get("DefinitionUri")
        if not isinstance(uri, str):
            errors.append(f"{logical_id}: no local DefinitionUri (inline or S3 definitions are not checked here)")
            continue
        asl_path = base / uri
        text = asl_path.read_text(encoding="utf-8")
        placeholders = set(PLACEHOLDER.findall(text))
        substitutions = props.get("DefinitionSubstitutions", {}) or {}
        for missing in sorted(placeholders - set(substitutions)):
            errors.append(f"{uri}: ${{{missing}}} has no DefinitionSubstitutions entry in {logical_id}")
        for unused in sorted(set(substitutions) - placeholders):
            errors.append(f"{logical_id}: DefinitionSubstitutions entry {unused} is not used by {uri}")
        values: dict[str, str] = {}
        for name in sorted(placeholders & set(substitutions)):
            try:
                values[name] = resolver.resolve(substitutions[name])
                check_kind(name, values[name])
            except CheckFailed as exc:
                errors.append(f"{logical_id}: {exc}")
        if errors:
            continue
        # Placeholders sit inside JSON strings: insert each value JSON-escaped.
        filled = PLACEHOLDER.sub(lambda m, v=values: json.dumps(v[m.group(1)])[1:-1], text)
        try:
            json.loads(filled)
        except json.JSONDecodeError as exc:
            errors.append(f"{uri}: not valid JSON once substituted: {exc}")
            continue
        out = out_dir / asl_path.name
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(filled, encoding="utf-8")
        written.append(out)
    if errors:
        raise CheckFailed("\n".join(errors))
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--template", type=Path, default=Path("template.yaml"))
    parser.add_argument("--out", type=Path, default=Path("build/asl"))
    args = parser.parse_args(argv)
    try:
        written = substitute(args.template, args.out)
    except CheckFailed as exc:
        print(f"ASL substitution check failed:\n{exc}", file=sys.stderr)
        return 1
    for path in written:
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
