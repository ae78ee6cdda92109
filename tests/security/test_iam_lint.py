"""The IAM lint (checks/iam_lint.py, parliament + policy_sentry) passes the template and catches what it should.

Runs the linter in its own environment (.venv-iamlint, made by checks/static.sh or `make iam-lint`).
"""

from __future__ import annotations

import copy
import json
import subprocess
from pathlib import Path
from typing import Any

import pytest
from security_support import ROOT, SNAPSHOT

PYTHON = ROOT / ".venv-iamlint" / "bin" / "python"
pytestmark = pytest.mark.skipif(
    not PYTHON.exists(), reason=".venv-iamlint is missing: run `make iam-lint` (or checks/static.sh) first"
)


def lint(
    template: dict[str, Any], tmp_path: Path, allow: Path = ROOT / "checks" / "iam-lint-allow.json"
) -> subprocess.CompletedProcess[str]:
    path = tmp_path / "template.json"
    path.write_text(json.dumps(template), encoding="utf-8")
    return subprocess.run(
        [str(PYTHON), str(ROOT / "checks" / "iam_lint.py"), "--template", str(path), "--allow", str(allow)],
        capture_output=True,
        text=True,
        env={"PYTHONWARNINGS": "ignore", "PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT)},
        check=False,
        timeout=300,
    )


def statement(template: dict[str, Any], role: str, sid: str) -> dict[str, Any]:
    for policy in template["Resources"][role]["Properties"]["Policies"]:
        for st in policy["PolicyDocument"]["Statement"]:
            if st.get("Sid") == sid:
                return st
    raise AssertionError(f"{role} has no statement {sid}")


@pytest.fixture(scope="module")
def snapshot() -> dict[str, Any]:
    return json.loads(SNAPSHOT.read_text(encoding="utf-8"))


def test_the_template_has_no_unjustified_finding(snapshot, tmp_path):
    result = lint(snapshot, tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 unjustified finding(s)" in result.stdout and "0 stale" in result.stdout


def test_a_condition_key_the_action_does_not_define_is_a_finding(snapshot, tmp_path):
    # GIVEN the statement the issue found: iam:PutRolePolicy under iam:AWSServiceName
    broken = copy.deepcopy(snapshot)
    statement(broken, "EmrPipelineStateMachineRole", "EmrCleanupServiceLinkedRole")["Action"] = [
        "iam:CreateServiceLinkedRole",
        "iam:PutRolePolicy",
    ]
    result = lint(broken, tmp_path)
    assert result.returncode == 1
    assert "iam:AWSServiceName is not defined for iam:PutRolePolicy" in result.stdout
    assert "Unknown condition iam:AWSServiceName for action iam:PutRolePolicy" in result.stdout


def test_an_unknown_action_is_a_finding(snapshot, tmp_path):
    broken = copy.deepcopy(snapshot)
    statement(broken, "PrepareRunFunctionRole", "ClaimSlots")["Action"] = "dynamodb:PutItems"
    result = lint(broken, tmp_path)
    assert result.returncode == 1
    assert "UNKNOWN_ACTION" in result.stdout and "dynamodb:PutItems" in result.stdout


def test_a_justification_that_matches_nothing_fails_the_lint(snapshot, tmp_path):
    allow = json.loads((ROOT / "checks" / "iam-lint-allow.json").read_text(encoding="utf-8"))
    allow["justified"].append({"issue": "RESOURCE_STAR", "resource": "NoSuchRole", "reason": "stale"})
    path = tmp_path / "allow.json"
    path.write_text(json.dumps(allow), encoding="utf-8")
    result = lint(snapshot, tmp_path, allow=path)
    assert result.returncode == 1
    assert "STALE" in result.stdout and "NoSuchRole" in result.stdout
