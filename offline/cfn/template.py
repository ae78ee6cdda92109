"""Loading ``template.yaml`` with cfn-lint's decoder: short-form tags into their long form, as CloudFormation does."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from cfnlint.decode import decode_str

from offline.cfn.resolver import TemplateError


def load_template(path: Path) -> dict[str, Any]:
    """The template as plain data, short-form tags turned into their long form."""
    decoded, problems = decode_str(path.read_text(encoding="utf-8"))
    if problems:
        raise TemplateError(f"{path} does not decode: " + "; ".join(str(p.message) for p in problems))
    if not isinstance(decoded, dict) or "Resources" not in decoded:
        raise TemplateError(f"{path} is not a CloudFormation template (no Resources)")
    # cfn-lint's nodes carry line marks; moto and boto3 get plain data.
    return dict(json.loads(json.dumps(decoded)))
