"""The EMR Serverless backend's IAM (``SparkBackend=serverless``): the .sync integration's statements as the
Step Functions guide lists them, scoped to this stack's application; the job role; the functions' reads.

Runs on the committed snapshot tests/security/translated-template.json, whose conditional statements
(``Fn::If`` on UseServerless) are both collected (security_support.collect_statements).
"""

from __future__ import annotations

from typing import Any

import pytest
from security_support import (
    Statement,
    as_list,
    condition_values,
    grants,
    resource_texts,
    statements_of_role,
)

APPLICATION = "arn:${AWS::Partition}:emr-serverless:${AWS::Region}:${AWS::AccountId}:/applications/${SparkApplication.ApplicationId}"


def serverless(statements: list[Statement]) -> list[Statement]:
    return [s for s in statements if any(a.startswith("emr-serverless:") for a in s.actions)]


def test_serverless_actions_name_only_this_stacks_application_and_its_job_runs(statements: list[Statement]) -> None:
    found = serverless(statements)
    assert {s.where.split("/")[0] for s in found} == {
        "EmrPipelineStateMachineRole",
        "RecordSlotsFunctionRole",
        "NotifyFailureFunctionRole",
    }
    for statement in found:
        assert set(resource_texts(statement)) <= {APPLICATION, APPLICATION + "/jobruns/*"}, statement.where


@pytest.mark.parametrize(
    ("role", "actions"),
    [
        # the .sync integration: start on the application; watch and (on abort) cancel its job runs
        (
            "EmrPipelineStateMachineRole",
            {"emr-serverless:StartJobRun", "emr-serverless:GetJobRun", "emr-serverless:CancelJobRun"},
        ),
        # RecordSlots prices a run: its job run, or (the task failed, no id) the newest run of its name
        ("RecordSlotsFunctionRole", {"emr-serverless:GetJobRun", "emr-serverless:ListJobRuns"}),
        # NotifyFailure cancels what a dead run left going
        ("NotifyFailureFunctionRole", {"emr-serverless:ListJobRuns", "emr-serverless:CancelJobRun"}),
    ],
)
def test_each_role_gets_exactly_the_serverless_actions_its_calls_need(
    statements: list[Statement], role: str, actions: set[str]
) -> None:
    granted = {a for s in serverless(statements_of_role(statements, role)) for a in s.actions}
    assert granted == actions


def test_starting_a_job_is_allowed_only_on_the_application_not_its_job_runs(statements: list[Statement]) -> None:
    [start] = grants(statements, "emr-serverless:StartJobRun")
    assert resource_texts(start) == [APPLICATION]
    assert as_list(start.body["Action"]) == ["emr-serverless:StartJobRun"]


def test_the_job_role_is_passed_only_to_emr_serverless(statements: list[Statement]) -> None:
    [passing] = [s for s in grants(statements, "iam:PassRole") if s.sid == "PassTheJobRole"]
    assert passing.body["Resource"] == {"Fn::GetAtt": ["ServerlessJobRole", "Arn"]}
    assert "StringLike" in passing.body["Condition"]
    assert condition_values(passing, "iam:PassedToService") == ["emr-serverless.amazonaws.com*"]


def test_the_job_role_is_assumed_only_by_this_stacks_application_in_this_account(resources: dict[str, Any]) -> None:
    role = resources["ServerlessJobRole"]
    assert role["Condition"] == "UseServerless"
    [trust] = role["Properties"]["AssumeRolePolicyDocument"]["Statement"]
    assert trust["Principal"] == {"Service": "emr-serverless.amazonaws.com"}
    assert trust["Condition"]["StringEquals"] == {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}
    assert trust["Condition"]["ArnLike"] == {"aws:SourceArn": {"Fn::Sub": APPLICATION}}


def test_the_job_role_reads_the_job_and_its_input_and_writes_only_output_reports_and_logs(
    statements: list[Statement],
) -> None:
    role = statements_of_role(statements, "ServerlessJobRole")
    assert {a for s in role for a in s.actions} == {
        "s3:ListBucket",
        "s3:GetBucketLocation",
        "s3:GetObject",
        "s3:PutObject",
        "s3:DeleteObject",
        "s3:AbortMultipartUpload",
    }
    written = {r for s in grants(role, "s3:PutObject") for r in resource_texts(s)}
    assert written == {
        "${DataBucket.Arn}/curated/*",
        "${DataBucket.Arn}/runs/emr/*",
        "${DataBucket.Arn}/logs/emr-serverless/*",
    }
    read = {r for s in grants(role, "s3:GetObject") for r in resource_texts(s)}
    assert read == {"${DataBucket.Arn}/artifacts/jobs/*", "${DataBucket.Arn}/landing/*", "${DataBucket.Arn}/curated/*"}


def test_the_application_is_arm64_starts_on_demand_stops_when_idle_and_keeps_no_idle_workers(
    resources: dict[str, Any],
) -> None:
    app = resources["SparkApplication"]["Properties"]
    assert (app["Type"], app["Architecture"]) == ("SPARK", "ARM64")
    assert app["ReleaseLabel"] == {"Ref": "EmrReleaseLabel"}  # the cluster's release: the same Spark
    assert app["AutoStartConfiguration"] == {"Enabled": True}
    assert app["AutoStopConfiguration"] == {
        "Enabled": True,
        "IdleTimeoutMinutes": {"Ref": "ServerlessIdleTimeoutMinutes"},
    }
    assert "InitialCapacity" not in app  # pre-initialized workers are billed while idle
    assert set(app["MaximumCapacity"]) == {"Cpu", "Memory"}
