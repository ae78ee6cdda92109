"""The template serves the image whose Python and libraries the model environment pins.

Runs in the development environment (it reads template.yaml). requirements-model.txt names
the image (``# image:``) beside its pins; a template serving another tag would score with a
scikit-learn the model was not trained for, and every transform would fail in model_fn.
"""

from __future__ import annotations

from pathlib import Path

from model import env
from offline.cfn.template import load_template

TEMPLATE = load_template(Path(__file__).resolve().parents[2] / "template.yaml")


def test_the_model_is_served_by_the_image_requirements_model_pins() -> None:
    # GIVEN no SklearnImageUri WHEN the template picks the region's image
    condition, given, default = TEMPLATE["Resources"]["AbaloneModel"]["Properties"]["PrimaryContainer"]["Image"][
        "Fn::If"
    ]
    uri, variables = default["Fn::Sub"]
    # THEN it is the image requirements-model.txt pins, from the region's registry account
    assert (condition, given) == ("HasImageUri", {"Ref": "SklearnImageUri"})
    assert uri == "${Account}.dkr.ecr.${AWS::Region}.${AWS::URLSuffix}/" + env.image()
    assert variables == {"Account": {"Fn::FindInMap": ["SklearnRegistry", {"Ref": "AWS::Region"}, "Account"]}}


def test_the_parameter_and_the_region_rule_name_the_same_image() -> None:
    assert env.image() in TEMPLATE["Parameters"]["SklearnImageUri"]["Description"]
    [assertion] = TEMPLATE["Rules"]["SklearnImageKnownForRegion"]["Assertions"]
    assert env.image() in assertion["AssertDescription"]
