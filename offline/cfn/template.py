"""Loading ``template.yaml`` with cfn-lint's decoder (short-form tags into their long form, as
CloudFormation reads them), the stack defaults, and the template's error."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from cfnlint.decode import decode_str

#: moto's default account; also what the fixtures in events/ use.
DEFAULT_ACCOUNT_ID = "123456789012"
DEFAULT_REGION = "us-east-1"
DEFAULT_STACK_NAME = "transient-analytics-dev"
PARTITION = "aws"
URL_SUFFIX = "amazonaws.com"


class TemplateError(ValueError):
    """The template uses something this resolver does not know, or refers to a missing name."""


def load_template(path: Path) -> dict[str, Any]:
    """The template as plain data, short-form tags turned into their long form."""
    decoded, problems = decode_str(path.read_text(encoding="utf-8"))
    if problems:
        raise TemplateError(f"{path} does not decode: " + "; ".join(str(p.message) for p in problems))
    if not isinstance(decoded, dict) or "Resources" not in decoded:
        raise TemplateError(f"{path} is not a CloudFormation template (no Resources)")
    # cfn-lint's nodes carry line marks; moto and boto3 get plain data.
    return dict(json.loads(json.dumps(decoded)))


def as_parameter_string(value: Any) -> str:
    """CloudFormation hands every parameter and environment value over as a string."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
