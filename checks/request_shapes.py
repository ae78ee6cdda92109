"""Every request a Task state sends, mapped to the AWS API call it ends up making, and checked.

A Step Functions service integration is not the API call itself: ``createCluster`` is EMR's
``RunJobFlow``, ``addStep`` wraps its one ``Step`` into ``AddJobFlowSteps``' ``Steps`` list,
``lambda:invoke`` serialises a JSON ``Payload``. :data:`INTEGRATIONS` maps each resource the
pipelines use to its botocore operation and renders the Task's resolved ``Parameters`` into the
request the service receives (as the Step Functions developer guide documents it:
``connect-emr``, ``connect-emr-serverless``, ``connect-sagemaker``, ``connect-ddb``,
``connect-lambda``, ``connect-sns``, ``connect-eventbridge``), with the rules an integration adds
on top of its API.

:func:`task_request_problems` checks the integration's rules, then the API model's
(:mod:`checks.api_constraints`). Every problem names the parameter path and the rule, e.g.
``CreateTransformJob: Tags[0].Value: 'arn:…:run(1)' does not match pattern ^([\\p{L}…]*)$``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from botocore.model import ListShape, MapShape, Shape, StructureShape

from checks.api_constraints import operation_model, request_problems, short_repr
from checks.java_patterns import compile_java_pattern

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
                problems.append(f"{where}: {short_repr(value)} breaks EMR's tag character set {EMR_TAG_PATTERN}")
            if value.lower().startswith("aws:"):
                problems.append(f"{where}: {short_repr(value)} starts with the reserved prefix aws:")
    return problems


#: Stands in for the token botocore generates when a request has none (``idempotencyToken`` members).
SDK_GENERATED_TOKEN = "sdk-generated-idempotency-token"


def _api_member_names(service: str, operation: str) -> Callable[[Mapping[str, Any]], Request]:
    """Parameters named with an upper-case first letter (``ApplicationId``, ``JobDriver.SparkSubmit``)
    renamed to the API's own member names (``applicationId``, ``jobDriver.sparkSubmit``), through
    the model's structures only: map keys (``Tags``, configuration ``Properties``) keep their case.
    A name the model does not know stays as given, so the API check reports it as unknown. An
    idempotency token left out is filled in, as botocore (and Step Functions) do.
    """

    def rename(value: Any, shape: Shape) -> Any:
        if isinstance(shape, StructureShape) and isinstance(value, Mapping):
            renamed = {}
            for key, item in value.items():
                name = key if key in shape.members else str(key)[:1].lower() + str(key)[1:]
                name = name if name in shape.members else key
                renamed[name] = rename(item, shape.members[name]) if name in shape.members else item
            return renamed
        if isinstance(shape, ListShape) and isinstance(value, list):
            return [rename(item, shape.member) for item in value]
        if isinstance(shape, MapShape) and isinstance(value, Mapping):
            return {key: rename(item, shape.value) for key, item in value.items()}
        return value

    def render(parameters: Mapping[str, Any]) -> Request:
        shape = operation_model(service, operation).input_shape
        request: Request = rename(dict(parameters), shape)
        for name, member in shape.members.items():
            if member.metadata.get("idempotencyToken") and name not in request:
                request[name] = SDK_GENERATED_TOKEN
        return request

    return render


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
    "sagemaker:createTrainingJob": Integration("sagemaker", "CreateTrainingJob", _same),
    "sagemaker:createModel": Integration("sagemaker", "CreateModel", _same),
    # AWS SDK integrations (``arn:aws:states:::aws-sdk:<service>:<action>``): the API call as it is.
    "aws-sdk:sagemaker:describeModel": Integration("sagemaker", "DescribeModel", _same),
    "aws-sdk:sagemaker:updateModelPackage": Integration("sagemaker", "UpdateModelPackage", _same),
    "dynamodb:getItem": Integration("dynamodb", "GetItem", _same),
    "dynamodb:putItem": Integration("dynamodb", "PutItem", _same),
    "dynamodb:updateItem": Integration("dynamodb", "UpdateItem", _same),
    "dynamodb:deleteItem": Integration("dynamodb", "DeleteItem", _same),
    "lambda:invoke": Integration("lambda", "Invoke", _json_blob("Payload")),
    "sns:publish": Integration("sns", "Publish", _json_blob("Message")),
    "events:putEvents": Integration("events", "PutEvents", _put_events),
    # connect-emr-serverless: "no differences between the requests and responses" of startJobRun
    # and StartJobRun, the members written with an upper-case first letter as in its examples.
    "emr-serverless:startJobRun": Integration(
        "emr-serverless", "StartJobRun", _api_member_names("emr-serverless", "StartJobRun")
    ),
}

_RESOURCE_ARN = re.compile(
    r"^arn:[a-z-]+:states:::(?P<service>(aws-sdk:)?[a-zA-Z0-9-]+):(?P<action>[a-zA-Z0-9]+)(?P<pattern>\..+)?$"
)
_PATTERNS = (".sync", ".sync:2", ".waitForTaskToken")


class UnknownIntegration(KeyError):
    """A Task resource this module does not map (add it to :data:`INTEGRATIONS`)."""


def integration_key(resource: str, resource_type: str | None = None) -> str:
    """``elasticmapreduce:createCluster`` from a resource ARN, or from a history event's (type, resource).

    ``TaskScheduled`` events record ``resourceType`` (``elasticmapreduce``, ``aws-sdk:sagemaker``) and
    ``resource`` (``createCluster.sync``, ``updateModelPackage``); a definition holds the whole ARN.
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


def task_request_problems(resource: str, parameters: Mapping[str, Any], resource_type: str | None = None) -> list[str]:
    """Everything wrong with what a Task sends: the integration's own rules, then the API model's."""
    integration = integration_for(resource, resource_type)
    label = f"{integration.operation}"
    problems = [f"{label}: {p}" for p in integration.extra_rules(parameters)]
    problems += request_problems(integration.service, integration.operation, integration.render(parameters))
    return problems
