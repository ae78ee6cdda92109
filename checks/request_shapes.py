"""Every request a Task state sends, checked against the AWS API model it ends up calling.

A Step Functions service integration is not the API call itself: ``createCluster`` is EMR's
``RunJobFlow``, ``addStep`` wraps its one ``Step`` into ``AddJobFlowSteps``' ``Steps`` list,
``lambda:invoke`` serialises a JSON ``Payload``. :data:`INTEGRATIONS` maps each resource the
pipelines use to its botocore operation and renders the Task's resolved ``Parameters`` into the
request the service receives (as the Step Functions developer guide documents it:
``connect-emr``, ``connect-sagemaker``, ``connect-ddb``, ``connect-lambda``, ``connect-sns``,
``connect-eventbridge``).

:func:`request_problems` then validates that request with botocore's own ``ParamValidator``
(required members, types, unknown members, minimum lengths and values) and adds the model
constraints botocore does not check on the client: ``pattern`` (Java regular expressions,
translated), ``max`` length / value, and ``enum``, recursively through structures, lists and
maps. Every problem names the parameter path and the rule, e.g.
``CreateTransformJob: Tags[0].Value: 'arn:…:run(1)' does not match pattern ^([\\p{L}…]*)$``.

Pure: botocore's bundled models only (the version the layer pins), no client, no network.
"""

from __future__ import annotations

import json
import re
import sys
import unicodedata
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any

import botocore.session
from botocore.model import ListShape, MapShape, OperationModel, Shape, StructureShape
from botocore.validate import ParamValidator

Request = dict[str, Any]


@dataclass(frozen=True)
class Integration:
    """One optimized integration: the botocore operation behind it and how its parameters map."""

    service: str
    operation: str
    #: Turns the Task's resolved ``Parameters`` into the API request (identity for most).
    render: Callable[[Mapping[str, Any]], Request]
    #: Rules the integration adds on top of the API (the developer guide's "differences").
    extra_rules: Callable[[Mapping[str, Any]], list[str]] = lambda parameters: []


def _same(parameters: Mapping[str, Any]) -> Request:
    return dict(parameters)


def _add_step(parameters: Mapping[str, Any]) -> Request:
    """``addStep``: ``ClusterId`` → ``JobFlowId``, ``Step`` → ``Steps: [Step]``."""
    request = {k: v for k, v in parameters.items() if k not in ("ClusterId", "Step")}
    if "ClusterId" in parameters:
        request["JobFlowId"] = parameters["ClusterId"]
    if "Step" in parameters:
        request["Steps"] = [parameters["Step"]]
    return request


def _terminate_cluster(parameters: Mapping[str, Any]) -> Request:
    """``terminateCluster``: ``ClusterId`` → ``JobFlowIds: [ClusterId]``."""
    request = {k: v for k, v in parameters.items() if k != "ClusterId"}
    if "ClusterId" in parameters:
        request["JobFlowIds"] = [parameters["ClusterId"]]
    return request


def _create_cluster_rules(parameters: Mapping[str, Any]) -> list[str]:
    """``createCluster`` uses RunJobFlow's syntax, except: KeepJobFlowAliveWhenNoSteps must be true, no Steps."""
    problems = []
    instances = parameters.get("Instances")
    if not isinstance(instances, Mapping) or instances.get("KeepJobFlowAliveWhenNoSteps") is not True:
        problems.append("Instances.KeepJobFlowAliveWhenNoSteps: createCluster requires it to be true")
    if "Steps" in parameters:
        problems.append("Steps: createCluster does not allow Steps (add them with addStep)")
    return problems + emr_tag_problems(parameters.get("Tags"))


#: EMR's Tag shape carries no pattern in the API model; the EMR Management Guide
#: (emr-plan-tags-restrictions, which defers to EC2's) documents the rule: letters and numbers of
#: any language, white space and separators, ``_ . : / = + - @``; keys 1-128, values 0-256.
EMR_TAG_PATTERN = r"[\p{L}\p{Z}\p{N}_.:/=+\-@]*"
EMR_TAG_KEY_MAX = 128
EMR_TAG_VALUE_MAX = 256


def emr_tag_problems(tags: Any) -> list[str]:
    if not isinstance(tags, list):
        return []
    problems = []
    pattern = compile_java_pattern(EMR_TAG_PATTERN)
    for i, tag in enumerate(tags):
        if not isinstance(tag, Mapping):
            continue
        for field, low, high in (("Key", 1, EMR_TAG_KEY_MAX), ("Value", 0, EMR_TAG_VALUE_MAX)):
            value = tag.get(field)
            if not isinstance(value, str):
                continue
            where = f"Tags[{i}].{field}"
            if not low <= len(value) <= high:
                problems.append(f"{where}: length {len(value)} is outside EMR's tag limit {low}-{high}")
            if not pattern.fullmatch(value):
                problems.append(f"{where}: {_short(value)} breaks EMR's tag character set {EMR_TAG_PATTERN}")
            if value.lower().startswith("aws:"):
                problems.append(f"{where}: {_short(value)} starts with the reserved prefix aws:")
    return problems


def _json_blob(field: str) -> Callable[[Mapping[str, Any]], Request]:
    """Step Functions serialises a JSON value given for a blob/string field (Payload, Message)."""

    def render(parameters: Mapping[str, Any]) -> Request:
        request = dict(parameters)
        if field in request and not isinstance(request[field], (str, bytes)):
            request[field] = json.dumps(request[field], separators=(",", ":"))
        return request

    return render


def _put_events(parameters: Mapping[str, Any]) -> Request:
    """``events:putEvents``: an entry's ``Detail`` may be a JSON object, sent as a string."""
    request = dict(parameters)
    entries = request.get("Entries")
    if isinstance(entries, list):
        request["Entries"] = [
            {**e, "Detail": json.dumps(e["Detail"], separators=(",", ":"))}
            if isinstance(e, Mapping) and "Detail" in e and not isinstance(e["Detail"], str)
            else e
            for e in entries
        ]
    return request


#: ``<service>:<action>`` (the resource ARN after ``arn:<partition>:states:::``, without the
#: integration pattern suffix) → the API behind it.
INTEGRATIONS: Mapping[str, Integration] = {
    "elasticmapreduce:createCluster": Integration("emr", "RunJobFlow", _same, _create_cluster_rules),
    "elasticmapreduce:addStep": Integration("emr", "AddJobFlowSteps", _add_step),
    "elasticmapreduce:terminateCluster": Integration("emr", "TerminateJobFlows", _terminate_cluster),
    "sagemaker:createTransformJob": Integration("sagemaker", "CreateTransformJob", _same),
    "dynamodb:getItem": Integration("dynamodb", "GetItem", _same),
    "dynamodb:putItem": Integration("dynamodb", "PutItem", _same),
    "dynamodb:updateItem": Integration("dynamodb", "UpdateItem", _same),
    "dynamodb:deleteItem": Integration("dynamodb", "DeleteItem", _same),
    "lambda:invoke": Integration("lambda", "Invoke", _json_blob("Payload")),
    "sns:publish": Integration("sns", "Publish", _json_blob("Message")),
    "events:putEvents": Integration("events", "PutEvents", _put_events),
}

_RESOURCE_ARN = re.compile(
    r"^arn:[a-z-]+:states:::(?P<service>[a-zA-Z0-9-]+):(?P<action>[a-zA-Z0-9]+)(?P<pattern>\..+)?$"
)
_PATTERNS = (".sync", ".sync:2", ".waitForTaskToken")


class UnknownIntegration(KeyError):
    """A Task resource this module does not map (add it to :data:`INTEGRATIONS`)."""


def integration_key(resource: str, resource_type: str | None = None) -> str:
    """``elasticmapreduce:createCluster`` from a resource ARN, or from a history event's (type, resource).

    ``TaskScheduled`` events record ``resourceType`` (``elasticmapreduce``) and ``resource``
    (``createCluster.sync``); a definition holds the whole ARN.
    """
    if resource_type is not None:
        action = resource
        for suffix in _PATTERNS:
            if action.endswith(suffix):
                action = action[: -len(suffix)]
        return f"{resource_type}:{action}"
    match = _RESOURCE_ARN.match(resource)
    if not match or (match.group("pattern") and match.group("pattern") not in _PATTERNS):
        raise UnknownIntegration(f"{resource!r} is not an optimized service integration resource ARN")
    return f"{match.group('service')}:{match.group('action')}"


def integration_for(resource: str, resource_type: str | None = None) -> Integration:
    key = integration_key(resource, resource_type)
    try:
        return INTEGRATIONS[key]
    except KeyError:
        raise UnknownIntegration(f"no API mapping for the integration {key!r}; known: {sorted(INTEGRATIONS)}") from None


@cache
def operation_model(service: str, operation: str) -> OperationModel:
    return botocore.session.get_session().get_service_model(service).operation_model(operation)


def task_request_problems(resource: str, parameters: Mapping[str, Any], resource_type: str | None = None) -> list[str]:
    """Everything wrong with what a Task sends: the integration's own rules, then the API model's."""
    integration = integration_for(resource, resource_type)
    label = f"{integration.operation}"
    problems = [f"{label}: {p}" for p in integration.extra_rules(parameters)]
    problems += request_problems(integration.service, integration.operation, integration.render(parameters))
    return problems


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
        problems.append(f"{where}: length {len(value)} is more than the maximum of {meta['max']} ({_short(value)})")
    if shape.enum and value not in shape.enum:
        problems.append(f"{where}: {_short(value)} is not one of the enum values {list(shape.enum)}")
    pattern = meta.get("pattern")
    if pattern and not compile_java_pattern(pattern).fullmatch(value):
        problems.append(f"{where}: {_short(value)} does not match pattern {pattern}")
    return problems


def _short(value: str, limit: int = 120) -> str:
    return repr(value if len(value) <= limit else value[:limit] + "…")


# ---------------------------------------------------------------------- Java regular expressions
# The API models' patterns are Java regexes, matched against the whole value. Python's ``re``
# lacks two constructs they use: Unicode categories (``\p{L}``) and UTF-16 surrogate pairs for
# supplementary characters (``\uD800\uDC00-\uDBFF\uDFFF``). Both are rewritten to ranges.
_SURROGATE_PAIR = re.compile(r"\\u(?P<hi>[dD][89abAB][0-9a-fA-F]{2})\\u(?P<lo>[dD][c-fC-F][0-9a-fA-F]{2})")
_CATEGORY = re.compile(r"\\p\{(?P<cat>[A-Za-z]{1,2})\}")


def _pair_to_codepoint(match: re.Match[str]) -> str:
    hi, lo = int(match.group("hi"), 16), int(match.group("lo"), 16)
    return f"\\U{0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00):08X}"


@cache
def _category_ranges(category: str) -> str:
    """A character-class body (no brackets) matching every code point of a Unicode category prefix."""
    ranges: list[tuple[int, int]] = []
    for cp in range(sys.maxunicode + 1):
        if unicodedata.category(chr(cp)).startswith(category):
            if ranges and ranges[-1][1] == cp - 1:
                ranges[-1] = (ranges[-1][0], cp)
            else:
                ranges.append((cp, cp))
    if not ranges:
        raise ValueError(f"unknown Unicode category \\p{{{category}}}")
    return "".join(f"\\U{a:08X}" if a == b else f"\\U{a:08X}-\\U{b:08X}" for a, b in ranges)


@cache
def compile_java_pattern(pattern: str) -> re.Pattern[str]:
    """The Python equivalent of an API model pattern (matched with ``fullmatch``, as Java's ``matches``)."""
    translated = _SURROGATE_PAIR.sub(_pair_to_codepoint, pattern)
    out, in_class, i = [], False, 0
    while i < len(translated):
        ch = translated[i]
        if ch == "\\":
            match = _CATEGORY.match(translated, i)
            if match:
                body = _category_ranges(match.group("cat"))
                out.append(body if in_class else f"[{body}]")
                i = match.end()
                continue
            out.append(translated[i : i + 2])
            i += 2
            continue
        if ch == "[" and not in_class:
            in_class = True
        elif ch == "]" and in_class:
            in_class = False
        out.append(ch)
        i += 1
    return re.compile("".join(out), re.DOTALL)
