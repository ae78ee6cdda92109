"""The IAM lint's policy documents: every policy a translated template creates, resolved.

Inline role policies, managed and stand-alone policies, trust policies, and bucket, topic,
queue and key policies, each only when its resource is created under the parameter set.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from offline.cfn.resolver import Resolver


@dataclass(frozen=True)
class Policy:
    resource: str
    name: str
    document: dict[str, Any]
    #: "identity" (attached to a role), "resource" (bucket/topic/queue/key policy) or "trust".
    kind: str


def policies(template: dict[str, Any], resolver: Resolver) -> Iterator[Policy]:
    for logical_id, resource in template.get("Resources", {}).items():
        if not resolver.is_created(logical_id):
            continue
        rtype, props = resource["Type"], resource.get("Properties", {})
        if rtype == "AWS::IAM::Role":
            for i, inline in enumerate(props.get("Policies", [])):
                name = str(resolver.resolve(inline.get("PolicyName", f"policy-{i}")))
                yield Policy(logical_id, name, resolver.resolve(inline["PolicyDocument"]), "identity")
            if "AssumeRolePolicyDocument" in props:
                document = resolver.resolve(props["AssumeRolePolicyDocument"])
                yield Policy(logical_id, "AssumeRolePolicyDocument", document, "trust")
        elif rtype in ("AWS::IAM::Policy", "AWS::IAM::ManagedPolicy"):
            yield Policy(logical_id, "PolicyDocument", resolver.resolve(props["PolicyDocument"]), "identity")
        elif rtype in ("AWS::S3::BucketPolicy", "AWS::SNS::TopicPolicy", "AWS::SQS::QueuePolicy"):
            yield Policy(logical_id, "PolicyDocument", resolver.resolve(props["PolicyDocument"]), "resource")
        elif rtype == "AWS::KMS::Key":
            # In a key policy "Resource": "*" means this key: lint it as the key's ARN.
            key_arn = resolver.get_att(logical_id, "Arn")
            document = resolver.resolve(props["KeyPolicy"])
            document = {
                **document,
                "Statement": [
                    {**st, "Resource": key_arn} if st.get("Resource") == "*" else st for st in statements(document)
                ],
            }
            yield Policy(logical_id, "KeyPolicy", document, "resource")


def statements(document: Mapping[str, Any]) -> list[dict[str, Any]]:
    """A policy document's statements (a single statement object read as a list of one)."""
    statements = document.get("Statement", [])
    return statements if isinstance(statements, list) else [statements]
