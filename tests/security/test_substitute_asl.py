"""checks/substitute_asl.py: every ASL placeholder has a substitution of the right kind, and back."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from security_support import ROOT, load_checks_module

substitute_asl = load_checks_module("substitute_asl")


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A copy of template.yaml and statemachines/ that a test may break."""
    shutil.copy(ROOT / "template.yaml", tmp_path / "template.yaml")
    shutil.copytree(ROOT / "statemachines", tmp_path / "statemachines")
    return tmp_path


def _replace(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, f"{old!r} not in {path.name}"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def test_every_definition_is_filled_with_no_placeholder_left(project: Path) -> None:
    written = substitute_asl.substitute(project / "template.yaml", project / "out")
    assert sorted(p.name for p in written) == [
        "batch_transform.asl.json",
        "emr_pipeline.asl.json",
        "train_model.asl.json",
    ]
    for path in written:
        text = path.read_text(encoding="utf-8")
        assert "${" not in text
        json.loads(text)


def test_values_are_what_cloudformation_would_substitute_with_the_default_parameters(project: Path) -> None:
    (emr,) = [p for p in substitute_asl.substitute(project / "template.yaml", project / "out") if "emr" in p.name]
    states = json.loads(emr.read_text(encoding="utf-8"))["States"]
    assert states["CreateCluster"]["Resource"] == "arn:aws:states:::elasticmapreduce:createCluster.sync"
    assert states["CreateCluster"]["Parameters"]["ReleaseLabel"] == "emr-7.13.0"
    assert states["PrepareRun"]["Parameters"]["FunctionName"].startswith(
        "arn:aws:lambda:us-east-1:123456789012:function:"
    )


def test_a_placeholder_without_a_substitution_fails_naming_it(project: Path) -> None:
    _replace(
        project / "statemachines/batch_transform.asl.json", "${RecordSlotsFunctionArn}", "${RecordSlotsFunctionArnTypo}"
    )
    with pytest.raises(
        substitute_asl.CheckFailed, match=r"\$\{RecordSlotsFunctionArnTypo\} has no DefinitionSubstitutions"
    ):
        substitute_asl.substitute(project / "template.yaml", project / "out")


def test_a_substitution_the_definition_does_not_use_fails_naming_it(project: Path) -> None:
    _replace(
        project / "template.yaml",
        "        EmrReleaseLabel: !Ref EmrReleaseLabel\n",
        "        EmrReleaseLabel: !Ref EmrReleaseLabel\n        LeftOverArn: !GetAtt PrepareRunFunction.Arn\n",
    )
    with pytest.raises(substitute_asl.CheckFailed, match="LeftOverArn is not used"):
        substitute_asl.substitute(project / "template.yaml", project / "out")


def test_a_substitution_of_the_wrong_kind_fails(project: Path) -> None:
    _replace(
        project / "template.yaml",
        "        EmrReleaseLabel: !Ref EmrReleaseLabel\n",
        "        EmrReleaseLabel: !Ref EmrPrimaryInstanceType\n",
    )
    with pytest.raises(substitute_asl.CheckFailed, match="should be an EMR release label"):
        substitute_asl.substitute(project / "template.yaml", project / "out")


def test_a_sync_integration_must_be_a_sync_arn(project: Path) -> None:
    _replace(project / "template.yaml", "addStep.sync", "addStep")
    with pytest.raises(substitute_asl.CheckFailed, match=r"EmrAddStepSync\} should be a \.sync integration ARN"):
        substitute_asl.substitute(project / "template.yaml", project / "out")
