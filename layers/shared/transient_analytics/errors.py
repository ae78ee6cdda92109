"""Errors the functions raise on purpose, and how a validation error is put into words.

The class name is what Step Functions sees as the error name (``Lambda`` reports the
exception's type as ``errorType``), so these are the names a ``Catch`` or a reader of a
failure notification meets.
"""

from __future__ import annotations

from pydantic import ValidationError

_MAX_INPUT_CHARS = 60


class InvalidEventError(ValueError):
    """The event does not fit its model; the message names each field and the rule it breaks."""


class ConfigurationError(RuntimeError):
    """The function's environment (set by the template) is missing or malformed."""


def describe_validation_error(exc: ValidationError, prefix: str = "") -> str:
    """One line per problem: ``field.path: rule (got 'value')``, sorted, bounded in size."""
    lines = []
    for err in exc.errors(include_url=False):
        loc = ".".join(str(p) for p in (prefix, *err["loc"]) if p != "")
        got = ""
        if err["type"] != "missing" and "input" in err:
            shown = repr(err["input"])
            if len(shown) > _MAX_INPUT_CHARS:
                shown = shown[: _MAX_INPUT_CHARS - 1] + "…"
            got = f" (got {shown})"
        lines.append(f"{loc or '<event>'}: {err['msg']}{got}")
    return "; ".join(sorted(set(lines))[:10])
