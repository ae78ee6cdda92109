"""IAM lint: every policy of the translated template through parliament and policy_sentry.

    PYTHONPATH=. .venv-iamlint/bin/python checks/iam_lint.py [--template build/translated-template.json]
                                                            [--allow checks/iam-lint-allow.json]

Runs in its own environment (requirements-iamlint.txt) with the repository root on PYTHONPATH:
the template's intrinsic functions are resolved by the twin's resolver (:mod:`offline.cfn.resolver`,
no cfn-lint needed) for each parameter set of ``iam_findings`` (the defaults, and existing roles with
the model published, so both sides of every ``Fn::If`` are linted); ``iam_policies`` collects every
policy document it creates, and ``iam_findings`` runs parliament and policy_sentry over them.

Each finding is printed with the resource, policy, statement and action. The run fails unless
every finding is justified in the allow file (``{"justified": [{"issue", "resource", "reason",
and optionally "tool", "policy", "sid", "action", "detail_contains"}]}``) and every
justification still matches a finding (a stale one fails too). Exit status: 0 clean, 1 findings, 2 bad input.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Mapping
from pathlib import Path

from iam_findings import PARAMETER_SETS, Finding, lint

ROOT = Path(__file__).resolve().parents[1]


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
                raise ValueError(f"{args.allow}: every justification needs issue, resource and reason: {j}")
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
