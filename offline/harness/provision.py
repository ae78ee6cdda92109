"""Provisioning moto from the template: buckets, queues, tables, model package groups, topics (each subscribed to
the inbox), roles, functions and the state machines with their deployed definitions."""

from __future__ import annotations

import io
import json
import zipfile
from typing import TYPE_CHECKING

import boto3

from offline.cfn.definitions import all_states, render_definition
from offline.harness.inbox import SnsInbox

if TYPE_CHECKING:  # the harness passes itself; importing it at run time would be circular
    from offline.harness.core import OfflineHarness


def create_applications(harness: OfflineHarness) -> None:
    """The template's EMR Serverless applications, created in moto first: the ids moto gives them are what
    the definitions and the functions' environments name (the resolver is told, the specs re-read)."""
    created = harness.stack.resources_of_type("AWS::EMRServerless::Application")
    if not created:
        return
    client = boto3.client("emr-serverless", region_name=harness.region)
    for lid in created:
        props = harness.stack.resource_property
        capacity = props(lid, "MaximumCapacity") or {}
        response = client.create_application(
            name=props(lid, "Name"),
            releaseLabel=props(lid, "ReleaseLabel"),
            type=props(lid, "Type"),
            architecture=props(lid, "Architecture", "X86_64"),
            autoStartConfiguration={"enabled": bool((props(lid, "AutoStartConfiguration") or {}).get("Enabled"))},
            autoStopConfiguration={
                "enabled": bool((props(lid, "AutoStopConfiguration") or {}).get("Enabled")),
                "idleTimeoutMinutes": int((props(lid, "AutoStopConfiguration") or {}).get("IdleTimeoutMinutes", 15)),
            },
            maximumCapacity={k.lower(): str(v) for k, v in capacity.items()},
        )
        harness.stack.assign(lid, response["applicationId"])
    harness.refresh_specs()


def provision(harness: OfflineHarness) -> SnsInbox:
    """Create in moto what the template's definitions and functions refer to; the SNS inbox."""
    create_applications(harness)
    s3 = boto3.client("s3", region_name=harness.region)
    for lid in harness.stack.resources_of_type("AWS::S3::Bucket"):
        s3.create_bucket(Bucket=harness.stack.ref(lid))
    sqs = boto3.client("sqs", region_name=harness.region)
    for lid in harness.stack.resources_of_type("AWS::SQS::Queue"):
        sqs.create_queue(QueueName=harness.stack.physical_name(lid))
    dynamodb = boto3.client("dynamodb", region_name=harness.region)
    for lid in harness.stack.resources_of_type("AWS::DynamoDB::Table"):
        indexes = harness.stack.resource_property(lid, "GlobalSecondaryIndexes")
        dynamodb.create_table(
            TableName=harness.stack.ref(lid),
            KeySchema=harness.stack.resource_property(lid, "KeySchema"),
            AttributeDefinitions=harness.stack.resource_property(lid, "AttributeDefinitions"),
            BillingMode=harness.stack.resource_property(lid, "BillingMode", "PAY_PER_REQUEST"),
            **({"GlobalSecondaryIndexes": indexes} if indexes else {}),
        )
    sagemaker = boto3.client("sagemaker", region_name=harness.region)
    for lid in harness.stack.resources_of_type("AWS::SageMaker::ModelPackageGroup"):
        sagemaker.create_model_package_group(
            ModelPackageGroupName=harness.stack.resource_property(lid, "ModelPackageGroupName")
        )
    inbox = SnsInbox(harness.region)
    for lid in harness.stack.resources_of_type("AWS::SNS::Topic"):
        inbox.create_topic(harness.stack.physical_name(lid))
    iam = boto3.client("iam", region_name=harness.region)
    trust = json.dumps({"Version": "2012-10-17", "Statement": []})
    roles: dict[str, str] = {}
    for lid in [*harness.functions, *harness.state_machines]:
        # SAM generates a role per function and state machine: <LogicalId>Role.
        roles[lid] = iam.create_role(RoleName=f"{harness.stack.stack_name}-{lid}Role", AssumeRolePolicyDocument=trust)[
            "Role"
        ]["Arn"]
    lambda_client = boto3.client("lambda", region_name=harness.region)
    for lid, spec in harness.functions.items():
        lambda_client.create_function(
            FunctionName=spec.name,
            Runtime=spec.runtime or "python3.13",
            Role=roles[lid],
            Handler=f"{spec.module.rsplit('.', 1)[-1]}.{spec.handler}",
            Code={"ZipFile": placeholder_zip(spec.module)},
            Timeout=spec.timeout_seconds,
            MemorySize=spec.memory_mb,
            Environment={"Variables": spec.environment},
        )
    for lid, machine in harness.state_machines.items():
        rendered = render_definition(harness.stack, harness.root, lid)
        created = harness.sfn.create_state_machine(
            name=machine.name, definition=rendered.text, roleArn=roles[lid], type=machine.type
        )
        if created["stateMachineArn"] != machine.arn:
            raise RuntimeError(f"{lid}: moto named it {created['stateMachineArn']}, the template {machine.arn}")
        if harness.mock_config is not None:
            harness.mock_config.check_states(machine.name, set(all_states(rendered.definition)))
    return inbox


def placeholder_zip(module: str) -> bytes:
    """moto needs a deployment package; the code that runs is the repository's, in-process."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("README.txt", f"Offline harness placeholder: the handler runs from {module} in-process.\n")
    return buffer.getvalue()
