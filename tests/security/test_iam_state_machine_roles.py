"""The state machines' roles: the .sync integrations' event rules, SageMaker and EMR scoped to this stack.

Runs on the committed snapshot tests/security/translated-template.json; `bash checks/static.sh`
fails when that snapshot no longer matches template.yaml.
"""

from __future__ import annotations

import fnmatch

from security_support import (
    Statement,
    allows,
    as_list,
    condition_values,
    grants,
    resource_texts,
    statements_of_role,
    text_of,
)

EMR_SYNC_RULES = (
    "StepFunctionsGetEventForEMRRunJobFlowRule",
    "StepFunctionsGetEventForEMRTerminateJobFlowsRule",
    "StepFunctionsGetEventForEMRAddJobFlowStepsRule",
)
SAGEMAKER_TRANSFORM_SYNC_RULE = "StepFunctionsGetEventsForSageMakerTransformJobsRule"
SAGEMAKER_TRAINING_SYNC_RULE = "StepFunctionsGetEventsForSageMakerTrainingJobsRule"
#: Every SageMaker resource the stack's roles may act on: its own jobs, models and model packages, by name.
SAGEMAKER_SCOPES = {
    "arn:${AWS::Partition}:sagemaker:${AWS::Region}:${AWS::AccountId}:transform-job/${TransformJobBaseName}-*",
    "arn:${AWS::Partition}:sagemaker:${AWS::Region}:${AWS::AccountId}:training-job/${ModelBaseName}-train-*",
    "arn:${AWS::Partition}:sagemaker:${AWS::Region}:${AWS::AccountId}:model/${ModelBaseName}-v*",
    "arn:${AWS::Partition}:sagemaker:${AWS::Region}:${AWS::AccountId}:model-package/${AWS::StackName}-abalone/*",
    "arn:${AWS::Partition}:sagemaker:${AWS::Region}:${AWS::AccountId}:model-package-group/${AWS::StackName}-abalone",
}
#: The rule Step Functions manages for emr-serverless:startJobRun.sync (its IAM page; docs/emr-serverless.md §2).
SERVERLESS_SYNC_RULE = "StepFunctionsGetEventsForEMRServerlessJobRule"
STACK_TAG = "transient-analytics:stack"


def _event_rule_names(statements: list[Statement]) -> set[str]:
    names = set()
    for statement in statements:
        actions = set(as_list(statement.body.get("Action", [])))
        if allows(statement) and {"events:PutTargets", "events:PutRule", "events:DescribeRule"} <= actions:
            names |= {text_of(r).rsplit(":rule/", 1)[-1] for r in statement.resources}
    return names


def test_emr_state_machine_role_manages_the_three_emr_sync_event_rules(statements: list[Statement]) -> None:
    role = statements_of_role(statements, "EmrPipelineStateMachineRole")
    assert set(EMR_SYNC_RULES) <= _event_rule_names(role)


def test_transform_state_machine_role_manages_the_sagemaker_transform_sync_event_rule(
    statements: list[Statement],
) -> None:
    role = statements_of_role(statements, "BatchTransformStateMachineRole")
    assert SAGEMAKER_TRANSFORM_SYNC_RULE in _event_rule_names(role)


def test_event_rule_permissions_name_only_the_managed_sync_rules(statements: list[Statement]) -> None:
    every = {
        text_of(r).rsplit(":rule/", 1)[-1]
        for s in statements
        if allows(s)
        and any(a.startswith("events:") and a != "events:PutEvents" for a in as_list(s.body.get("Action", [])))
        for r in s.resources
    }
    assert every == set(EMR_SYNC_RULES) | {
        SAGEMAKER_TRANSFORM_SYNC_RULE,
        SAGEMAKER_TRAINING_SYNC_RULE,
        SERVERLESS_SYNC_RULE,
    }


def test_only_record_slots_puts_events_and_only_completion_events_on_the_default_bus(
    statements: list[Statement],
) -> None:
    putters = [s for s in filter(allows, statements) if "events:PutEvents" in s.actions]
    assert [s.where.split("/", 1)[0] for s in putters] == ["RecordSlotsFunctionRole"]
    for statement in putters:
        assert [text_of(r) for r in statement.resources] == [
            "arn:${AWS::Partition}:events:${AWS::Region}:${AWS::AccountId}:event-bus/default"
        ]
        assert statement.body["Condition"]["StringEquals"]["events:source"] == "transient-analytics"


def test_sagemaker_actions_are_scoped_to_this_stacks_job_model_and_package_names(statements: list[Statement]) -> None:
    sagemaker = [s for s in filter(allows, statements) if any(a.startswith("sagemaker:") for a in s.actions)]
    assert sagemaker, "expected the transform and training state machines to drive SageMaker"
    for statement in sagemaker:
        assert resource_texts(statement), f"{statement.where} {statement.sid}"
        assert set(resource_texts(statement)) <= SAGEMAKER_SCOPES, f"{statement.where} {statement.sid}"
    transform = statements_of_role(statements, "BatchTransformStateMachineRole")
    assert {r for s in transform if any(a.startswith("sagemaker:") for a in s.actions) for r in resource_texts(s)} == {
        "arn:${AWS::Partition}:sagemaker:${AWS::Region}:${AWS::AccountId}:transform-job/${TransformJobBaseName}-*"
    }


def test_transform_state_machine_can_create_describe_stop_and_tag_its_jobs(statements: list[Statement]) -> None:
    role = statements_of_role(statements, "BatchTransformStateMachineRole")
    for action in ("CreateTransformJob", "DescribeTransformJob", "StopTransformJob", "AddTags"):
        assert grants(role, f"sagemaker:{action}"), action


def test_emr_cluster_actions_are_scoped_by_this_stacks_tag(statements: list[Statement]) -> None:
    """Every EMR action is tied to the stack tag, except listing (which no tag can scope)."""
    emr = [s for s in filter(allows, statements) if any(a.startswith("elasticmapreduce:") for a in s.actions)]
    assert emr
    for statement in emr:
        actions = set(as_list(statement.body["Action"]))
        if actions == {"elasticmapreduce:ListClusters"}:
            # Read-only, supports no resource or tag condition: NotifyFailure lists clusters to find
            # its own by tag, then may only describe/terminate those carrying this stack's tag.
            continue
        tags = condition_values(statement, f"elasticmapreduce:RequestTag/{STACK_TAG}") + condition_values(
            statement, f"elasticmapreduce:ResourceTag/{STACK_TAG}"
        )
        assert tags == [{"Ref": "AWS::StackName"}], f"{statement.where} {statement.sid}: {sorted(actions)}"
        if actions != {"elasticmapreduce:RunJobFlow"}:
            assert resource_texts(statement) == [
                "arn:${AWS::Partition}:elasticmapreduce:${AWS::Region}:${AWS::AccountId}:cluster/*"
            ], f"{statement.where} {statement.sid}"


def test_emr_state_machine_role_has_what_the_three_emr_sync_tasks_call(statements: list[Statement]) -> None:
    role = statements_of_role(statements, "EmrPipelineStateMachineRole")
    for action in (
        "RunJobFlow",
        "DescribeCluster",
        "TerminateJobFlows",
        "AddJobFlowSteps",
        "DescribeStep",
        "CancelSteps",
    ):
        assert grants(role, f"elasticmapreduce:{action}"), action
    (passing,) = [p for p in grants(role, "iam:PassRole") if p.sid != "PassTheJobRole"]
    # StringLike service-principal patterns, as AWS's managed policies write them: every partition's principal matches
    assert "StringLike" in passing.body["Condition"]
    patterns = condition_values(passing, "iam:PassedToService")
    for principal in (
        "elasticmapreduce.amazonaws.com",
        "elasticmapreduce.amazonaws.com.cn",
        "ec2.amazonaws.com",
        "ec2.amazonaws.com.cn",
    ):
        assert any(fnmatch.fnmatchcase(principal, p) for p in patterns), principal
    # the EMR cleanup service-linked role: only iam:CreateServiceLinkedRole, the one action iam:AWSServiceName is defined for
    (linked,) = grants(role, "iam:CreateServiceLinkedRole")
    assert as_list(linked.body["Action"]) == ["iam:CreateServiceLinkedRole"]
    assert set(condition_values(linked, "iam:AWSServiceName")) == {
        "elasticmapreduce.amazonaws.com",
        "elasticmapreduce.amazonaws.com.cn",
    }
