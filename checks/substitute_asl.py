"""Fill the ${...} placeholders of the ASL files with realistic test values, for asl-validator.

Usage: substitute_asl.py [--template template.yaml] [--out build/asl]

For every AWS::Serverless::StateMachine in the template that has a DefinitionUri, this
  * checks that every ${Name} placeholder of the ASL file has a DefinitionSubstitutions entry
    and that every entry is used by the file (either mismatch fails the check);
  * resolves each entry's CloudFormation value with the offline twin's resolver (offline/cfn/: the
    one place that rule lives) for the stack transient-analytics-dev in us-east-1, account
    123456789012, with the parameters' defaults, so resources get the names the twin gives them;
  * checks that each value is of the kind its name announces (an ARN for *Arn/*Sync/*Invoke/*Resource,
    an ECR image for *Image, a name for *Name, a release label for *ReleaseLabel, an application id for
    *ApplicationId);
  * writes the substituted definition to <out>/<file name> and checks it is valid JSON.
It prints one line per written file. Needs the repository root on sys.path (static.sh sets PYTHONPATH)
and cfn-lint (the SAM venv has it).
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

from offline.cfn.definitions import render_definition
from offline.cfn.resolver import TemplateError
from offline.cfn.stack import Stack
from offline.cfn.template import load_template

PLACEHOLDER = re.compile(r"\$\{([A-Za-z0-9_]+)\}")

#: What a substitution's value must look like, by the end of its name.
KINDS: list[tuple[str, re.Pattern[str], str]] = [
    ("Arn", re.compile(r"^arn:aws:[a-z0-9-]+:[a-z0-9-]*:(\d{12})?:\S+$"), "an ARN"),
    ("Sync", re.compile(r"^arn:aws:states:::[a-z0-9-]+:[A-Za-z]+\.sync(:2)?$"), "a .sync integration ARN"),
    ("Invoke", re.compile(r"^arn:aws:states:::[a-z0-9-]+:invoke$"), "an optimised integration ARN"),
    (
        "Resource",
        re.compile(r"^arn:aws:states:::(aws-sdk:)?[a-z0-9-]+:[A-Za-z]+$"),
        "a request-response integration ARN",
    ),
    (
        "Image",
        re.compile(r"^\d{12}\.dkr\.ecr\.[a-z0-9-]+\.amazonaws\.com(\.cn)?/[a-z0-9._/-]+:[A-Za-z0-9._-]+$"),
        "an ECR image URI",
    ),
    ("Name", re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.+=,@-]{0,127}$"), "a resource name"),
    ("ReleaseLabel", re.compile(r"^emr-\d+\.\d+\.\d+$"), "an EMR release label"),
    ("ApplicationId", re.compile(r"^[0-9a-z]{1,64}$"), "an EMR Serverless application id"),
]


class CheckFailed(Exception):
    pass


# ---------------------------------------------------------------- the check
def check_kind(name: str, value: str) -> None:
    for suffix, pattern, description in KINDS:
        if name.endswith(suffix):
            if not pattern.match(value):
                raise CheckFailed(f"${{{name}}} should be {description}, resolves to {value!r}")
            return
    raise CheckFailed(
        f"${{{name}}}: no kind is known for this name (end it with Arn, Sync, Invoke, Resource, Image, Name, "
        "ReleaseLabel or ApplicationId, or teach checks/substitute_asl.py the new kind)"
    )


def substitute(template_path: Path, out_dir: Path) -> list[Path]:
    try:
        stack = Stack(load_template(template_path))
        machines = stack.state_machines()
    except TemplateError as exc:
        raise CheckFailed(str(exc)) from exc
    if not machines:
        raise CheckFailed("no AWS::Serverless::StateMachine in the template")
    written: list[Path] = []
    errors: list[str] = []
    for logical_id, spec in machines.items():
        uri = spec.definition_uri
        placeholders = set(PLACEHOLDER.findall((template_path.parent / uri).read_text(encoding="utf-8")))
        for missing in sorted(placeholders - set(spec.substitutions)):
            errors.append(f"{uri}: ${{{missing}}} has no DefinitionSubstitutions entry in {logical_id}")
        for unused in sorted(set(spec.substitutions) - placeholders):
            errors.append(f"{logical_id}: DefinitionSubstitutions entry {unused} is not used by {uri}")
        for name in sorted(placeholders & set(spec.substitutions)):
            try:
                check_kind(name, spec.substitutions[name])
            except CheckFailed as exc:
                errors.append(f"{logical_id}: {exc}")
        if errors:
            continue
        try:
            rendered = render_definition(stack, template_path.parent, logical_id)
        except TemplateError as exc:
            errors.append(str(exc))
            continue
        out = out_dir / Path(uri).name
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(rendered.text, encoding="utf-8")
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
