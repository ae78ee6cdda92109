"""Least privilege, read from the translated template (SAM policy templates and generated roles included).

Runs on the committed snapshot tests/security/translated-template.json; `bash checks/static.sh`
fails when that snapshot no longer matches template.yaml.
"""

from __future__ import annotations

import fnmatch
import re
from typing import Any

import pytest
from security_support import Statement, as_list, text_of

SERVICE_WIDE = re.compile(r"^[a-z0-9-]+:\*$")

#: Allow statements that may grant every action, each with the reason a reviewer accepts.
ALLOWED_WILDCARD_ACTIONS = {
    # The standard first statement of a key policy: the account (through IAM policies, which here
    # grant only kms:Decrypt/GenerateDataKey to the notifier) administers the key. Without it no
    # IAM policy could grant use of the key and the key could become unmanageable (AWS refuses a
    # key policy that locks the account out unless told to bypass that check).
    ("EncryptionKey/KeyPolicy", "AccountAdministers"),
}

#: AWS managed policies the roles may attach, and why.
ALLOWED_MANAGED_POLICIES = {
    "service-role/AWSLambdaBasicExecutionRole",  # function logs (SAM adds it to every function role)
    "AWSXrayWriteOnlyAccess",  # traces (SAM adds it for Tracing: Active / Tracing.Enabled)
    "service-role/AmazonEMRServicePolicy_v2",  # the EMR service role; limited to resources EMR tags
}

EMR_SYNC_RULES = (
    "StepFunctionsGetEventForEMRRunJobFlowRule",
    "StepFunctionsGetEventForEMRTerminateJobFlowsRule",
    "StepFunctionsGetEventForEMRAddJobFlowStepsRule",
)
SAGEMAKER_TRANSFORM_SYNC_RULE = "StepFunctionsGetEventsForSageMakerTransformJobsRule"
STACK_TAG = "transient-analytics:stack"


def allows(statement: Statement) -> bool:
    return statement.effect == "Allow"


def statements_of_role(statements: list[Statement], role: str) -> list[Statement]:
    return [s for s in statements if s.where.startswith(f"{role}/") and s.kind == "identity"]


def grants(statements: list[Statement], action: str) -> list[Statement]:
    """Allow statements whose Action list names ``action`` (exactly, or by a prefix pattern)."""
    return [
        s
        for s in statements
        if allows(s) and any(fnmatch.fnmatchcase(action.lower(), a.lower()) for a in as_list(s.body.get("Action", [])))
    ]


def resource_texts(statement: Statement) -> list[str]:
    return [text_of(r) for r in statement.resources]


def condition_values(statement: Statement, key: str) -> list[Any]:
    values = []
    for operator_block in statement.body.get("Condition", {}).values():
        if key in operator_block:
            values.extend(as_list(operator_block[key]))
    return values


#: What Step Functions needs to set up vended log delivery to CloudWatch Logs (resource "*" only).
LOG_DELIVERY_ACTIONS = (
    "logs:CreateLogDelivery",
    "logs:GetLogDelivery",
    "logs:UpdateLogDelivery",
    "logs:DeleteLogDelivery",
    "logs:ListLogDeliveries",
    "logs:PutResourcePolicy",
    "logs:DescribeResourcePolicies",
    "logs:DescribeLogGroups",
)


# ------------------------------------------------------------------ no wildcard grants


def test_no_allow_statement_grants_every_action_or_a_whole_service(statements: list[Statement]) -> None:
    offending = []
    for statement in filter(allows, statements):
        if (statement.where, statement.sid) in ALLOWED_WILDCARD_ACTIONS:
            continue
        if "NotAction" in statement.body:
            offending.append(f"{statement.where} {statement.sid}: Allow with NotAction")
        for action in as_list(statement.body.get("Action", [])):
            if action == "*" or SERVICE_WIDE.match(action):
                offending.append(f"{statement.where} {statement.sid}: {action}")
    assert not offending, "wildcard actions granted:\n" + "\n".join(offending)


def test_the_key_administration_exception_is_limited_to_the_account_root(statements: list[Statement]) -> None:
    (admin,) = [s for s in statements if (s.where, s.sid) in ALLOWED_WILDCARD_ACTIONS]
    principal = admin.body["Principal"]["AWS"]
    assert text_of(principal) == "arn:${AWS::Partition}:iam::${AWS::AccountId}:root"


def test_no_allow_statement_has_a_wildcard_principal(statements: list[Statement]) -> None:
    offending = [
        f"{s.where} {s.sid}"
        for s in statements
        if allows(s) and s.kind != "identity" and s.body.get("Principal") in ("*", {"AWS": "*"})
    ]
    assert not offending, offending


def test_roles_attach_only_the_expected_aws_managed_policies(resources: dict[str, Any]) -> None:
    attached = {
        text_of(arn).split(":policy/", 1)[1]
        for resource in resources.values()
        if resource["Type"] == "AWS::IAM::Role"
        for arn in resource["Properties"].get("ManagedPolicyArns", [])
    }
    assert attached <= ALLOWED_MANAGED_POLICIES, attached - ALLOWED_MANAGED_POLICIES


def test_statements_on_every_resource_are_only_those_aws_allows_no_other_way(statements: list[Statement]) -> None:
    """``Resource: "*"`` only for actions that support no resource-level permission, or with a condition."""
    without_resource_types = {"ecr:GetAuthorizationToken", "elasticmapreduce:ListClusters", *LOG_DELIVERY_ACTIONS}
    offending = []
    for statement in filter(allows, statements):
        if statement.kind != "identity" or "*" not in statement.resources:
            continue
        unconditioned = [a for a in as_list(statement.body["Action"]) if a not in without_resource_types]
        if unconditioned and "Condition" not in statement.body:
            offending.append(f"{statement.where} {statement.sid}: {unconditioned}")
    assert not offending, 'Resource "*" without a condition:\n' + "\n".join(offending)


# ------------------------------------------------------------------ iam:PassRole
def test_pass_role_names_its_roles_and_the_service_they_are_passed_to(statements: list[Statement]) -> None:
    passing = grants(statements, "iam:PassRole")
    assert passing, "expected the EMR state machine and service roles to pass roles"
    for statement in passing:
        assert "iam:PassRole" in as_list(statement.body["Action"]), f"{statement.where}: PassRole by a wildcard"
        for resource in resource_texts(statement):
            assert re.search(r":role/(\$\{[A-Za-z]+\}|[\w+=,.@-]+)$", resource), (
                f"{statement.where} {statement.sid}: PassRole on {resource!r}, not one named role"
            )
        passed_to = condition_values(statement, "iam:PassedToService")
        assert passed_to, f"{statement.where} {statement.sid}: PassRole without an iam:PassedToService condition"


# ------------------------------------------------------------------ resource policies
RESOURCE_POLICY_OF = {
    "AWS::S3::Bucket": ("AWS::S3::BucketPolicy", "Bucket", {"s3:*"}),
    "AWS::SQS::Queue": ("AWS::SQS::QueuePolicy", "Queues", {"sqs:*"}),
    # SNS topic policies name SNS actions individually; the documented TLS guard denies Publish.
    "AWS::SNS::Topic": ("AWS::SNS::TopicPolicy", "Topics", {"sns:*", "sns:Publish"}),
}


def _targets(policy: dict[str, Any], key: str) -> list[str]:
    return [t["Ref"] for t in as_list(policy["Properties"][key]) if isinstance(t, dict) and "Ref" in t]


@pytest.mark.parametrize("resource_type", sorted(RESOURCE_POLICY_OF))
def test_every_bucket_queue_and_topic_denies_requests_without_tls(
    resources: dict[str, Any], resource_type: str
) -> None:
    policy_type, key, deny_actions = RESOURCE_POLICY_OF[resource_type]
    owned = [logical_id for logical_id, r in resources.items() if r["Type"] == resource_type]
    assert owned, f"no {resource_type} in the template"
    for logical_id in owned:
        policies = [p for p in resources.values() if p["Type"] == policy_type and logical_id in _targets(p, key)]
        assert len(policies) == 1, f"{logical_id}: expected one {policy_type}, found {len(policies)}"
        denies_plain_http = [
            s
            for s in as_list(policies[0]["Properties"]["PolicyDocument"]["Statement"])
            if s["Effect"] == "Deny"
            and s.get("Principal") in ("*", {"AWS": "*"})
            and s.get("Condition", {}).get("Bool", {}).get("aws:SecureTransport") in ("false", False)
            and set(as_list(s["Action"])) & deny_actions
        ]
        assert denies_plain_http, f"{logical_id}: its {policy_type} does not deny aws:SecureTransport=false"
        if resource_type == "AWS::S3::Bucket":
            covered = {text_of(r) for s in denies_plain_http for r in as_list(s["Resource"])}
            assert f"${{{logical_id}.Arn}}/*" in covered, f"{logical_id}: objects not covered by the TLS guard"


def test_service_principals_in_resource_policies_are_bound_to_this_account_or_resource(
    statements: list[Statement],
) -> None:
    offending = []
    for statement in statements:
        if not allows(statement) or statement.kind not in ("resource", "key"):
            continue
        principal = statement.body.get("Principal", {})
        if not isinstance(principal, dict) or "Service" not in principal:
            continue
        keys = {k for block in statement.body.get("Condition", {}).values() for k in block}
        if not keys & {"aws:SourceAccount", "aws:SourceArn", "kms:EncryptionContext:aws:logs:arn"}:
            offending.append(f"{statement.where} {statement.sid}")
    assert not offending, "service principals without a confused-deputy condition:\n" + "\n".join(offending)


def test_only_this_stacks_failure_rule_may_send_to_the_notifier_dead_letter_queue(
    resources: dict[str, Any],
) -> None:
    policy = resources["NotifyFailureDeadLetterQueuePolicy"]["Properties"]["PolicyDocument"]
    (events,) = [s for s in policy["Statement"] if s.get("Principal") == {"Service": "events.amazonaws.com"}]
    assert events["Action"] == "sqs:SendMessage"
    assert events["Condition"]["ArnEquals"]["aws:SourceArn"] == {
        "Fn::GetAtt": ["NotifyFailureFunctionExecutionDidNotSucceed", "Arn"]
    }
    rule = resources["NotifyFailureFunctionExecutionDidNotSucceed"]
    assert rule["Type"] == "AWS::Events::Rule"


# ------------------------------------------------------------------ .sync integrations
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
    assert every == set(EMR_SYNC_RULES) | {SAGEMAKER_TRANSFORM_SYNC_RULE}


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


def test_sagemaker_actions_are_scoped_to_the_transform_job_name_prefix(statements: list[Statement]) -> None:
    sagemaker = [s for s in filter(allows, statements) if any(a.startswith("sagemaker:") for a in s.actions)]
    assert sagemaker, "expected the transform state machine to drive SageMaker"
    for statement in sagemaker:
        assert resource_texts(statement) == [
            "arn:${AWS::Partition}:sagemaker:${AWS::Region}:${AWS::AccountId}:transform-job/${TransformJobBaseName}-*"
        ], f"{statement.where} {statement.sid}"


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
    (passing,) = grants(role, "iam:PassRole")
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


# ------------------------------------------------------------------ logging, schedules, keys
@pytest.mark.parametrize("role", ["EmrPipelineStateMachineRole", "BatchTransformStateMachineRole"])
def test_state_machine_roles_can_set_up_log_delivery(statements: list[Statement], role: str) -> None:
    """Without these Step Functions refuses to create a state machine that logs to CloudWatch Logs."""
    granted = statements_of_role(statements, role)
    for action in LOG_DELIVERY_ACTIONS:
        assert grants(granted, action), action


def _role_of_schedule(schedule: dict[str, Any]) -> str:
    return schedule["Properties"]["Target"]["RoleArn"]["Fn::GetAtt"][0]


def test_schedules_start_only_their_state_machine_and_can_dead_letter(
    resources: dict[str, Any], statements: list[Statement]
) -> None:
    schedules = {k: r for k, r in resources.items() if r["Type"] == "AWS::Scheduler::Schedule"}
    assert len(schedules) == 2
    for logical_id, schedule in schedules.items():
        target = schedule["Properties"]["Target"]
        role = statements_of_role(statements, _role_of_schedule(schedule))
        (start,) = grants(role, "states:StartExecution")
        assert start.resources == [target["Arn"]], logical_id
        # Scheduler delivers to its DLQ with the execution role, not through a queue policy.
        (send,) = grants(role, "sqs:SendMessage")
        assert send.resources == [target["DeadLetterConfig"]["Arn"]], logical_id


def test_a_schedule_with_a_customer_key_has_a_role_that_can_decrypt_with_it(
    resources: dict[str, Any], statements: list[Statement]
) -> None:
    for logical_id, schedule in resources.items():
        if schedule["Type"] != "AWS::Scheduler::Schedule" or "KmsKeyArn" not in schedule["Properties"]:
            continue
        role = statements_of_role(statements, _role_of_schedule(schedule))
        decrypting = [s for s in grants(role, "kms:Decrypt") if schedule["Properties"]["KmsKeyArn"] in s.resources]
        assert decrypting, f"{logical_id}: encrypted with a key its execution role cannot decrypt with"


def test_log_groups_encrypted_with_the_stack_key_are_named_in_its_logs_statement(
    resources: dict[str, Any], statements: list[Statement]
) -> None:
    (logs_statement,) = [
        s
        for s in statements
        if s.kind == "key" and s.body.get("Principal") == {"Service": {"Fn::Sub": "logs.${AWS::Region}.amazonaws.com"}}
    ]
    patterns = [
        text_of(p).split(":log-group:", 1)[1]
        for p in logs_statement.body["Condition"]["ArnLike"]["kms:EncryptionContext:aws:logs:arn"]
    ]
    encrypted = {k: r for k, r in resources.items() if r["Type"] == "AWS::Logs::LogGroup"}
    assert len(encrypted) == 5
    for logical_id, group in encrypted.items():
        props = group["Properties"]
        assert props.get("KmsKeyId") == {"Fn::GetAtt": ["EncryptionKey", "Arn"]}, logical_id
        name = text_of(props["LogGroupName"])
        assert any(fnmatch.fnmatchcase(name, p) for p in patterns), f"{logical_id}: {name} not in {patterns}"


def test_alarms_can_publish_to_the_encrypted_topic(resources: dict[str, Any], statements: list[Statement]) -> None:
    assert resources["NotificationTopic"]["Properties"]["KmsMasterKeyId"] == {"Ref": "EncryptionKey"}
    key_use = [
        s
        for s in statements
        if s.kind == "key" and "cloudwatch.amazonaws.com" in as_list(s.body.get("Principal", {}).get("Service", []))
    ]
    assert key_use and {"kms:Decrypt", "kms:GenerateDataKey*"} <= set(as_list(key_use[0].body["Action"]))


def test_the_notifier_can_publish_to_the_encrypted_topic(statements: list[Statement]) -> None:
    role = statements_of_role(statements, "NotifyFailureFunctionRole")
    for action in ("sns:Publish", "kms:GenerateDataKey", "kms:Decrypt"):
        assert grants(role, action), action


def test_every_allowed_base_name_starts_the_job_names_the_policy_is_scoped_to(template: dict[str, Any]) -> None:
    """The policy names ``transform-job/${TransformJobBaseName}-*``: the base must reach the job name intact."""
    from datetime import UTC, datetime

    from transient_analytics.naming import JOB_BASE_NAME_MAX, transform_job_name, transform_job_name_prefix

    parameter = template["Parameters"]["TransformJobBaseName"]
    pattern = re.compile(parameter["AllowedPattern"])
    assert int(parameter["MaxLength"]) <= JOB_BASE_NAME_MAX, "a base this long would be cut in job names"
    longest = ("a-" * JOB_BASE_NAME_MAX)[: int(parameter["MaxLength"])].rstrip("-")
    for base in ("ta-abalone", "x", longest, "a" * int(parameter["MaxLength"])):
        assert pattern.fullmatch(base), base
        prefix = transform_job_name_prefix(base, datetime(2026, 11, 25, 6, tzinfo=UTC), "arn:aws:states:::execution:x")
        name = transform_job_name(prefix, 2, 1)
        assert fnmatch.fnmatchcase(name, f"{base}-*"), name
        assert name == name.lower()  # SageMaker ARNs spell job names in lower case
