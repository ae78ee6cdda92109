"""Log delivery, schedules and keys: each role can do what its logging, schedule or encryption needs.

Runs on the committed snapshot tests/security/translated-template.json; `bash checks/static.sh`
fails when that snapshot no longer matches template.yaml.
"""

from __future__ import annotations

import fnmatch
import re
from datetime import UTC, datetime
from typing import Any

import pytest
from security_support import (
    LOG_DELIVERY_ACTIONS,
    Statement,
    as_list,
    grants,
    statements_of_role,
    text_of,
)

from transient_analytics.naming import JOB_BASE_NAME_MAX, transform_job_name, transform_job_name_prefix


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
    assert len(schedules) == 3  # the EMR pipeline, the batch transform, the model training
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
    assert len(encrypted) == 9  # three state machines, six functions
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
