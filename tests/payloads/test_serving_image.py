"""The model is trained and served by the image whose Python and libraries the model environment pins.

Runs in the development environment (it reads template.yaml). requirements-model.txt names
the image (``# image:``) beside its pins. The training state machine trains in that image and
creates each promoted model with it (its ``SklearnImage`` substitution, recorded in the model
package), so the batch transform serves with it too; a template naming another tag would train
and score with a scikit-learn the model environment does not test, and a model trained in the
old image would fail in model_fn.
"""

from __future__ import annotations

from pathlib import Path

from model import env
from offline.cfn.template import load_template

TEMPLATE = load_template(Path(__file__).resolve().parents[2] / "template.yaml")


def test_the_model_is_trained_and_served_by_the_image_requirements_model_pins() -> None:
    # GIVEN no SklearnImageUri WHEN the training state machine picks the region's image
    substitutions = TEMPLATE["Resources"]["TrainModelStateMachine"]["Properties"]["DefinitionSubstitutions"]
    condition, given, default = substitutions["SklearnImage"]["Fn::If"]
    uri, variables = default["Fn::Sub"]
    # THEN it is the image requirements-model.txt pins, from the region's registry account
    assert (condition, given) == ("HasImageUri", {"Ref": "SklearnImageUri"})
    assert uri == "${Account}.dkr.ecr.${AWS::Region}.${AWS::URLSuffix}/" + env.image()
    assert variables == {"Account": {"Fn::FindInMap": ["SklearnRegistry", {"Ref": "AWS::Region"}, "Account"]}}


def test_the_parameter_and_the_region_rule_name_the_same_image() -> None:
    assert env.image() in TEMPLATE["Parameters"]["SklearnImageUri"]["Description"]
    [assertion] = TEMPLATE["Rules"]["SklearnImageKnownForRegion"]["Assertions"]
    assert env.image() in assertion["AssertDescription"]


def test_no_other_scikit_learn_image_tag_is_named_in_the_template() -> None:
    # GIVEN the template's text WHEN every sagemaker-scikit-learn tag in it is listed
    text = (Path(__file__).resolve().parents[2] / "template.yaml").read_text(encoding="utf-8")
    tags = {part.split()[0].rstrip(".,);") for part in text.split("sagemaker-scikit-learn:")[1:]}
    # THEN it is only the pinned one (training and serving cannot drift apart)
    assert tags == {env.image().split(":", 1)[1]}
