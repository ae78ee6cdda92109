"""The resource policies: TLS required everywhere, service principals bound to this account or resource.

Runs on the committed snapshot tests/security/translated-template.json; `bash checks/static.sh`
fails when that snapshot no longer matches template.yaml.
"""

from __future__ import annotations

from typing import Any

import pytest
from security_support import (
    Statement,
    allows,
    as_list,
    text_of,
)

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
