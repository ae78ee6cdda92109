"""Print a state machine's definition as deployed: its ASL file with ``DefinitionSubstitutions`` applied.

    python -m offline.cfn.print_definition EmrPipelineStateMachine [-p Param=Value] [-s Key=Value] | --list

For ``aws stepfunctions create-state-machine --definition`` (e.g. Step Functions Local) or
asl-validator. ``-p`` overrides a parameter (conditions follow); ``-s`` replaces one resolved
substitution (e.g. a Lambda ARN pointing at ``sam local start-lambda``)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from offline.cfn.definitions import render_definition
from offline.cfn.resolver import DEFAULT_ACCOUNT_ID, DEFAULT_REGION, DEFAULT_STACK_NAME, TemplateError
from offline.cfn.stack import Stack
from offline.cfn.template import load_template

REPO_ROOT = Path(__file__).resolve().parents[2]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m offline.cfn.print_definition", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("logical_id", nargs="?", help="logical id of an AWS::Serverless::StateMachine")
    parser.add_argument("--list", action="store_true", help="list the state machines of the template")
    parser.add_argument("-p", "--parameter", action="append", default=[], metavar="NAME=VALUE")
    parser.add_argument("-s", "--substitution", action="append", default=[], metavar="KEY=VALUE")
    parser.add_argument("--template", type=Path, default=REPO_ROOT / "template.yaml")
    parser.add_argument("--stack-name", default=DEFAULT_STACK_NAME)
    parser.add_argument("--region", default=DEFAULT_REGION)
    parser.add_argument("--account-id", default=DEFAULT_ACCOUNT_ID)
    args = parser.parse_args(argv)
    try:
        parameters = dict(_pair(p) for p in args.parameter)
        stack = Stack(
            load_template(args.template),
            parameters=parameters,
            stack_name=args.stack_name,
            region=args.region,
            account_id=args.account_id,
        )
        if args.list or not args.logical_id:
            for logical_id, spec in stack.state_machines().items():
                sys.stdout.write(f"{logical_id}\t{spec.name}\t{spec.definition_uri}\n")
            return 0 if args.list else 2
        overrides = dict(_pair(s) for s in args.substitution)
        rendered = render_definition(stack, args.template.resolve().parent, args.logical_id, overrides)
    except (TemplateError, ValueError) as exc:
        sys.stderr.write(f"error: {exc}\n")
        return 1
    sys.stdout.write(rendered.text if rendered.text.endswith("\n") else rendered.text + "\n")
    return 0


def _pair(text: str) -> tuple[str, str]:
    name, sep, value = text.partition("=")
    if not sep or not name:
        raise ValueError(f"override {text!r} is not NAME=VALUE")
    return name, value


if __name__ == "__main__":
    raise SystemExit(main())
