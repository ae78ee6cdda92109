"""A request checked against its botocore operation model: everything the API would refuse.

:func:`request_problems` validates a request with botocore's own ``ParamValidator`` (required
members, types, unknown members, minimum lengths and values) and adds the model constraints
botocore does not check on the client: ``pattern`` (Java regular expressions, translated by
:mod:`checks.java_patterns`), ``max`` length / value, and ``enum``, recursively through
structures, lists and maps. Every problem names the parameter path and the rule.

Pure: botocore's bundled models only (the version the layer pins), no client, no network.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import cache
from typing import Any

import botocore.session
from botocore.model import ListShape, MapShape, OperationModel, Shape, StructureShape
from botocore.validate import ParamValidator

from checks.java_patterns import compile_java_pattern


@cache
def operation_model(service: str, operation: str) -> OperationModel:
    """botocore's model of ``service``'s ``operation`` (bundled, loaded once)."""
    return botocore.session.get_session().get_service_model(service).operation_model(operation)


def request_problems(service: str, operation: str, request: Mapping[str, Any]) -> list[str]:
    """botocore's ParamValidator, plus pattern, max length/value and enum through the whole request."""
    model = operation_model(service, operation)
    problems: list[str] = []
    report = ParamValidator().validate(dict(request), model.input_shape)
    if report.has_errors():
        problems += [line.strip() for line in report.generate_report().splitlines() if line.strip()]
    problems += constraint_problems(request, model.input_shape)
    return [p if p.startswith(f"{operation}:") else f"{operation}: {p}" for p in problems]


def constraint_problems(value: Any, shape: Shape, path: str = "") -> list[str]:
    """The model constraints ParamValidator skips, found recursively; each names its path and rule."""
    where = path or "(request)"
    problems: list[str] = []
    meta = shape.metadata
    if isinstance(shape, StructureShape) and isinstance(value, Mapping):
        for name, member in shape.members.items():
            if name in value:
                problems += constraint_problems(value[name], member, f"{path}.{name}" if path else name)
    elif isinstance(shape, ListShape) and isinstance(value, list):
        if "max" in meta and len(value) > meta["max"]:
            problems.append(f"{where}: {len(value)} items, more than the maximum of {meta['max']}")
        for i, item in enumerate(value):
            problems += constraint_problems(item, shape.member, f"{path}[{i}]")
    elif isinstance(shape, MapShape) and isinstance(value, Mapping):
        if "max" in meta and len(value) > meta["max"]:
            problems.append(f"{where}: {len(value)} entries, more than the maximum of {meta['max']}")
        for key, item in value.items():
            problems += constraint_problems(key, shape.key, f"{path}<key {key!r}>")
            problems += constraint_problems(item, shape.value, f"{path}[{key!r}]")
    elif shape.type_name == "string" and isinstance(value, str):
        problems += _string_problems(value, shape, where)
    elif shape.type_name in ("integer", "long", "float", "double") and isinstance(value, (int, float)):
        if "max" in meta and value > meta["max"]:
            problems.append(f"{where}: {value} is more than the maximum of {meta['max']}")
    elif shape.type_name == "blob" and isinstance(value, (str, bytes)):
        size = len(value.encode("utf-8") if isinstance(value, str) else value)
        if "max" in meta and size > meta["max"]:
            problems.append(f"{where}: {size} bytes, more than the maximum of {meta['max']}")
    return problems


def _string_problems(value: str, shape: Shape, where: str) -> list[str]:
    problems = []
    meta = shape.metadata
    if "max" in meta and len(value) > meta["max"]:
        problems.append(f"{where}: length {len(value)} is more than the maximum of {meta['max']} ({short_repr(value)})")
    if shape.enum and value not in shape.enum:
        problems.append(f"{where}: {short_repr(value)} is not one of the enum values {list(shape.enum)}")
    pattern = meta.get("pattern")
    if pattern and not compile_java_pattern(pattern).fullmatch(value):
        problems.append(f"{where}: {short_repr(value)} does not match pattern {pattern}")
    return problems


def short_repr(value: str, limit: int = 120) -> str:
    """``repr`` of ``value``, cut to ``limit`` characters (a problem line stays readable)."""
    return repr(value if len(value) <= limit else value[:limit] + "…")
