"""The operations dashboard shows only metrics the code emits, exactly as it emits them.

Reads the dashboard body from the translated template (tests/security/translated-template.json,
refreshed by `bash checks/static.sh --update-snapshot`) and checks every metric it references
against transient_analytics.metrics_catalog, the list the functions emit from: namespace,
name, the dimension set, and dimension values (this stack, a pipeline that emits the metric,
this stack's state machines and notifier).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from transient_analytics import metrics_catalog as mc

SNAPSHOT = Path(__file__).resolve().parents[1] / "security" / "translated-template.json"
DASHBOARD = "OperationsDashboard"
_SUB_VARIABLE = re.compile(r"\$\{([^}!][^}]*)\}")


@dataclass(frozen=True)
class MetricRef:
    widget: str
    namespace: str
    name: str
    dimensions: dict[str, str]
    options: dict[str, Any]


@pytest.fixture(scope="module")
def translated() -> dict[str, Any]:
    return json.loads(SNAPSHOT.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def body(translated: dict[str, Any]) -> dict[str, Any]:
    resource = translated["Resources"][DASHBOARD]
    assert resource["Type"] == "AWS::CloudWatch::Dashboard"
    text = resource["Properties"]["DashboardBody"]["Fn::Sub"]
    assert isinstance(text, str), "the body is one !Sub string (no variable map)"
    # ${Name} becomes <Name>: the JSON must be valid whatever CloudFormation substitutes.
    return json.loads(_SUB_VARIABLE.sub(lambda m: f"<{m.group(1)}>", text))


def metric_refs(body: dict[str, Any]) -> list[MetricRef]:
    refs = []
    for widget in body["widgets"]:
        if widget["type"] != "metric":
            continue
        title = widget["properties"]["title"]
        for row in widget["properties"]["metrics"]:
            assert "..." not in row and "." not in row[:2], f"{title}: write every metric out in full: {row}"
            options = row[-1] if isinstance(row[-1], dict) else {}
            fields = row[:-1] if options else row
            namespace, name, *pairs = fields
            assert len(pairs) % 2 == 0, f"{title}: dimension names and values must pair up: {row}"
            dims = dict(zip(pairs[::2], pairs[1::2], strict=True))
            refs.append(MetricRef(title, namespace, name, dims, options))
    return refs


@pytest.fixture(scope="module")
def refs(body: dict[str, Any]) -> list[MetricRef]:
    found = metric_refs(body)
    assert len(found) >= 10
    return found


def test_every_substitution_in_the_body_names_a_resource_or_pseudo_parameter(translated):
    text = translated["Resources"][DASHBOARD]["Properties"]["DashboardBody"]["Fn::Sub"]
    names = set(_SUB_VARIABLE.findall(text))
    unknown = sorted(n for n in names if not n.startswith("AWS::") and n not in translated["Resources"])
    assert unknown == []


def test_every_metric_is_in_one_of_the_three_namespaces_the_stack_has(refs):
    assert {r.namespace for r in refs} <= {mc.NAMESPACE, "AWS/States", "AWS/Lambda"}


def custom_metric_problems(ref: MetricRef) -> list[str]:
    """Why a custom metric of the dashboard is not one the code emits (empty: it is)."""
    metric = mc.CUSTOM_METRICS.get(ref.name)
    if ref.namespace != mc.NAMESPACE or metric is None:
        return [f"{ref.widget}: {ref.namespace} {ref.name} is emitted by no function"]
    problems = []
    if tuple(ref.dimensions) != metric.dimensions:
        problems.append(
            f"{ref.widget}: {ref.name} dimensions {tuple(ref.dimensions)}, emitted with {metric.dimensions}"
        )
    if ref.dimensions.get(mc.SERVICE_DIMENSION) != "<AWS::StackName>":
        problems.append(f"{ref.widget}: {ref.name} service must be the stack name")
    if ref.dimensions.get(mc.PIPELINE_DIMENSION) not in metric.pipelines:
        problems.append(f"{ref.widget}: {ref.name} is not emitted for pipeline {ref.dimensions.get('pipeline')!r}")
    return problems


def test_every_custom_metric_is_one_the_code_emits_with_exactly_its_dimensions(refs):
    custom = [r for r in refs if r.namespace == mc.NAMESPACE]
    assert len(custom) >= 8
    assert [p for r in custom for p in custom_metric_problems(r)] == []


@pytest.mark.parametrize(
    ("row", "problem"),
    [
        (
            ["TransientAnalytics", "RowsWriten", "service", "<AWS::StackName>", "pipeline", "emr"],
            "emitted by no function",
        ),
        (
            ["Transient-Analytics", "RowsWritten", "service", "<AWS::StackName>", "pipeline", "emr"],
            "emitted by no function",
        ),
        (["TransientAnalytics", "RowsWritten", "service", "<AWS::StackName>"], "dimensions ('service',)"),
        (["TransientAnalytics", "RowsWritten", "pipeline", "emr", "service", "<AWS::StackName>"], "dimensions"),
        (["TransientAnalytics", "RowsWritten", "service", "prepare-run", "pipeline", "emr"], "service must be"),
        (
            ["TransientAnalytics", "ClustersCreated", "service", "<AWS::StackName>", "pipeline", "transform"],
            "not emitted for pipeline 'transform'",
        ),
    ],
)
def test_a_metric_the_code_does_not_emit_that_way_is_reported(row, problem):
    (ref,) = metric_refs({"widgets": [{"type": "metric", "properties": {"title": "t", "metrics": [row]}}]})
    assert any(problem in p for p in custom_metric_problems(ref))


def test_every_aws_metric_is_one_of_the_catalog_with_its_dimension(refs):
    known = {(m.namespace, m.name): m for m in mc.AWS_METRICS}
    for ref in (r for r in refs if r.namespace != mc.NAMESPACE):
        assert (ref.namespace, ref.name) in known, f"{ref.widget}: {ref.namespace} {ref.name}"
        assert tuple(ref.dimensions) == known[(ref.namespace, ref.name)].dimensions


def test_state_machine_metrics_are_of_this_stacks_two_state_machines_and_errors_of_the_notifier(refs, translated):
    for ref in refs:
        if ref.namespace == "AWS/States":
            logical_id = ref.dimensions["StateMachineArn"].strip("<>")
            assert translated["Resources"][logical_id]["Type"] == "AWS::StepFunctions::StateMachine"
        if ref.namespace == "AWS/Lambda":
            assert ref.dimensions == {"FunctionName": "<NotifyFailureFunction>"}


def shown(refs: list[MetricRef]) -> set[tuple[str, str]]:
    """(metric name, pipeline or state machine) pairs the dashboard shows."""
    return {(r.name, r.dimensions.get("pipeline") or next(iter(r.dimensions.values()))) for r in refs}


@pytest.mark.parametrize(
    ("name", "of"),
    [
        ("ExecutionsSucceeded", "<EmrPipelineStateMachine>"),
        ("ExecutionsFailed", "<EmrPipelineStateMachine>"),
        ("ExecutionsSucceeded", "<BatchTransformStateMachine>"),
        ("ExecutionsFailed", "<BatchTransformStateMachine>"),
        ("RunsWithoutWork", "emr"),
        ("RunsWithoutWork", "transform"),
        ("OldestPendingSlotAgeSeconds", "emr"),
        ("OldestPendingSlotAgeSeconds", "transform"),
        ("RowsWritten", "emr"),
        ("BadRows", "emr"),
        ("TransformJobDurationSeconds", "transform"),
        ("Errors", "<NotifyFailureFunction>"),
        ("ClustersCreated", "emr"),
    ],
)
def test_the_dashboard_shows_what_the_issue_asks_for(refs, name, of):
    assert (name, of) in shown(refs)


def test_every_widget_reads_the_stacks_region(body):
    assert {w["properties"]["region"] for w in body["widgets"] if w["type"] == "metric"} == {"<AWS::Region>"}


def test_a_function_that_emits_metrics_names_the_catalog_namespace_and_the_stack_as_service(translated):
    emitting = {
        logical_id: resource["Properties"]["Environment"]["Variables"]
        for logical_id, resource in translated["Resources"].items()
        if resource["Type"] == "AWS::Lambda::Function"
        and "POWERTOOLS_METRICS_NAMESPACE" in resource["Properties"].get("Environment", {}).get("Variables", {})
    }
    if not emitting:
        pytest.skip("no function sets POWERTOOLS_METRICS_NAMESPACE yet (prepare_run and record_slots will)")
    for logical_id, variables in emitting.items():
        assert variables["POWERTOOLS_METRICS_NAMESPACE"] == mc.NAMESPACE, logical_id
        assert variables["POWERTOOLS_SERVICE_NAME"] == {"Ref": "AWS::StackName"}, logical_id
