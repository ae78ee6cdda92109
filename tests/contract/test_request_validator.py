"""The request validator itself: every rule it enforces can fail, and says where and why."""

from __future__ import annotations

from typing import Any

import pytest

from checks.api_constraints import request_problems
from checks.java_patterns import compile_java_pattern
from checks.request_shapes import INTEGRATIONS, UnknownIntegration, integration_key, task_request_problems

CREATE = "arn:aws:states:::elasticmapreduce:createCluster.sync"
ADD_STEP = "arn:aws:states:::elasticmapreduce:addStep.sync"
TERMINATE = "arn:aws:states:::elasticmapreduce:terminateCluster.sync"
TRANSFORM = "arn:aws:states:::sagemaker:createTransformJob.sync"


def cluster() -> dict[str, Any]:
    return {
        "Name": "transient-analytics-dev-emr-20261125T2015Z-1a2b3c4d",
        "ReleaseLabel": "emr-7.13.0",
        "Applications": [{"Name": "Spark"}],
        "LogUri": "s3://bucket/logs/emr/",
        "ServiceRole": "service-role",
        "JobFlowRole": "instance-profile",
        "Instances": {
            "InstanceGroups": [
                {
                    "Name": "primary",
                    "InstanceRole": "MASTER",
                    "Market": "ON_DEMAND",
                    "InstanceType": "m7g.xlarge",
                    "InstanceCount": 1,
                }
            ],
            "KeepJobFlowAliveWhenNoSteps": True,
        },
        "Tags": [{"Key": "transient-analytics:execution", "Value": "arn:aws:states:us-east-1:1:execution:sm:run-1"}],
    }


def transform() -> dict[str, Any]:
    return {
        "TransformJobName": "ta-abalone-202611250600-1a2b3c4d-0-0",
        "ModelName": "model",
        "TransformInput": {"DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": "s3://b/in/"}}},
        "TransformOutput": {"S3OutputPath": "s3://b/out/"},
        "TransformResources": {"InstanceType": "ml.m5.large", "InstanceCount": 1},
        "Tags": [{"Key": "k", "Value": "v"}],
    }


def test_valid_requests_have_no_problems():
    assert task_request_problems(CREATE, cluster()) == []
    assert task_request_problems(TRANSFORM, transform()) == []
    assert (
        task_request_problems(
            ADD_STEP, {"ClusterId": "j-1", "Step": {"Name": "s", "HadoopJarStep": {"Jar": "command-runner.jar"}}}
        )
        == []
    )
    assert task_request_problems(TERMINATE, {"ClusterId": "j-1"}) == []


@pytest.mark.parametrize(
    "change, expected",
    [
        # botocore's ParamValidator: required, type, unknown member, min length / value
        (lambda r: r.pop("ModelName"), 'Missing required parameter in input: "ModelName"'),
        (
            lambda r: r["TransformResources"].update(InstanceCount="1"),
            "Invalid type for parameter TransformResources.InstanceCount",
        ),
        (lambda r: r.update(Surprise=1), 'Unknown parameter in input: "Surprise"'),
        (lambda r: r.update(TransformJobName=""), "Invalid length for parameter TransformJobName"),
        (
            lambda r: r["TransformResources"].update(InstanceCount=0),
            "Invalid value for parameter TransformResources.InstanceCount",
        ),
        # what it skips: pattern, max length, enum, max value, list length, map entries
        (
            lambda r: r.update(TransformJobName="a_b"),
            "TransformJobName: 'a_b' does not match pattern [a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}",
        ),
        (lambda r: r.update(TransformJobName="a" * 64), "TransformJobName: length 64 is more than the maximum of 63"),
        (
            lambda r: r["TransformResources"].update(InstanceType="ml.nope"),
            "TransformResources.InstanceType: 'ml.nope' is not one of the enum values",
        ),
        (
            lambda r: r.update(ModelClientConfig={"InvocationsMaxRetries": 4}),
            "ModelClientConfig.InvocationsMaxRetries: 4 is more than the maximum of 3",
        ),
        (lambda r: r.update(Tags=[{"Key": "k", "Value": "v"}] * 51), "Tags: 51 items, more than the maximum of 50"),
        (
            lambda r: r.update(Environment={f"K{i}": "v" for i in range(17)}),
            "Environment: 17 entries, more than the maximum of 16",
        ),
        (lambda r: r.update(Environment={"1bad": "v"}), "Environment<key '1bad'>: '1bad' does not match pattern"),
        # recursion through lists of structures, with the item's index in the path
        (
            lambda r: r["Tags"].append({"Key": "k2", "Value": "run(1)!"}),
            "Tags[1].Value: 'run(1)!' does not match pattern ([\\p{L}\\p{Z}\\p{N}_.:/=+\\-@]*)",
        ),
    ],
)
def test_each_rule_fails_with_the_parameter_path_and_the_rule(change, expected):
    request = transform()
    change(request)
    problems = task_request_problems(TRANSFORM, request)
    assert any(expected in p for p in problems), problems
    assert all(p.startswith("CreateTransformJob: ") for p in problems)


def test_add_step_becomes_add_job_flow_steps_with_one_step():
    # Step -> Steps[0], ClusterId -> JobFlowId: a bad enum is reported where AddJobFlowSteps sees it
    problems = task_request_problems(
        ADD_STEP, {"ClusterId": "j-1", "Step": {"Name": "s", "ActionOnFailure": "RETRY", "HadoopJarStep": {"Jar": "x"}}}
    )
    assert problems == [
        "AddJobFlowSteps: Steps[0].ActionOnFailure: 'RETRY' is not one of the enum values "
        "['TERMINATE_JOB_FLOW', 'TERMINATE_CLUSTER', 'CANCEL_AND_WAIT', 'CONTINUE']"
    ]
    assert any(
        "JobFlowId" in p
        for p in task_request_problems(ADD_STEP, {"Step": {"Name": "s", "HadoopJarStep": {"Jar": "x"}}})
    )


def test_terminate_cluster_becomes_terminate_job_flows_with_a_list_of_one():
    assert task_request_problems(TERMINATE, {"ClusterId": "j-1\x00"}) == [
        "TerminateJobFlows: JobFlowIds[0]: 'j-1\\x00' does not match pattern "
        "[\\u0020-\\uD7FF\\uE000-\\uFFFD\\uD800\\uDC00-\\uDBFF\\uDFFF\\r\\n\\t]*"
    ]
    assert any("JobFlowIds" in p for p in task_request_problems(TERMINATE, {}))


def test_create_cluster_keeps_the_integrations_own_rules():
    request = cluster()
    request["Instances"]["KeepJobFlowAliveWhenNoSteps"] = False
    request["Steps"] = []
    problems = task_request_problems(CREATE, request)
    assert "RunJobFlow: Instances.KeepJobFlowAliveWhenNoSteps: createCluster requires it to be true" in problems
    assert "RunJobFlow: Steps: createCluster does not allow Steps (add them with addStep)" in problems


@pytest.mark.parametrize(
    "tag, expected",
    [
        (
            {"Key": "k", "Value": "arn:aws:states:us-east-1:1:execution:sm:run(1)"},
            "Tags[0].Value: 'arn:aws:states:us-east-1:1:execution:sm:run(1)' breaks EMR's tag character set",
        ),
        ({"Key": "k", "Value": "v!"}, "breaks EMR's tag character set"),
        ({"Key": "", "Value": "v"}, "Tags[0].Key: length 0 is outside EMR's tag limit 1-128"),
        ({"Key": "k" * 129, "Value": "v"}, "Tags[0].Key: length 129 is outside EMR's tag limit 1-128"),
        ({"Key": "k", "Value": "v" * 257}, "Tags[0].Value: length 257 is outside EMR's tag limit 0-256"),
        ({"Key": "aws:owner", "Value": "v"}, "Tags[0].Key: 'aws:owner' starts with the reserved prefix aws:"),
    ],
)
def test_emr_tags_follow_emrs_documented_rules_the_model_does_not_carry(tag, expected):
    request = cluster()
    request["Tags"] = [tag]
    problems = task_request_problems(CREATE, request)
    assert any(expected in p for p in problems), problems


def test_lambda_payload_and_event_detail_are_sent_as_json_text():
    problems = task_request_problems(
        "arn:aws:states:::lambda:invoke",
        {"FunctionName": "arn:aws:lambda:us-east-1:123456789012:function:f", "Payload": {"a": 1}},
    )
    assert problems == []
    entry = {"Source": "transient-analytics", "DetailType": "Slot Converted", "Detail": {"slot": "x"}}
    assert task_request_problems("arn:aws:states:::events:putEvents", {"Entries": [entry]}) == []
    bad = task_request_problems(
        "arn:aws:states:::lambda:invoke", {"FunctionName": "not a function name!", "Payload": {}}
    )
    assert any("FunctionName: 'not a function name!' does not match pattern" in p for p in bad)


def test_dynamodb_requests_are_checked_against_the_dynamodb_model():
    key = {"pk": {"S": "emr#2026-11-25T20:15Z"}}
    assert task_request_problems("arn:aws:states:::dynamodb:getItem", {"TableName": "ledger", "Key": key}) == []
    problems = task_request_problems(
        "arn:aws:states:::dynamodb:updateItem", {"TableName": "t" * 1025, "Key": key, "ReturnValues": "SOME"}
    )
    assert any("TableName: length 1025 is more than the maximum of 1024" in p for p in problems)
    assert any("ReturnValues: 'SOME' is not one of the enum values" in p for p in problems)


def test_resources_from_definitions_and_from_history_events_map_the_same_way():
    assert integration_key("arn:aws-cn:states:::elasticmapreduce:addStep.sync") == "elasticmapreduce:addStep"
    assert integration_key("addStep.sync", "elasticmapreduce") == "elasticmapreduce:addStep"
    assert integration_key("invoke", "lambda") == "lambda:invoke"
    assert set(INTEGRATIONS) >= {
        "elasticmapreduce:createCluster",
        "elasticmapreduce:addStep",
        "elasticmapreduce:terminateCluster",
        "sagemaker:createTransformJob",
        "dynamodb:getItem",
        "dynamodb:putItem",
        "dynamodb:updateItem",
        "lambda:invoke",
        "sns:publish",
        "events:putEvents",
        "sagemaker:createTrainingJob",
        "sagemaker:createModel",
        "aws-sdk:sagemaker:describeModel",
        "aws-sdk:sagemaker:updateModelPackage",
    }


def test_an_aws_sdk_integration_is_the_api_call_itself_from_a_definition_or_a_history_event():
    assert (
        integration_key("arn:aws:states:::aws-sdk:sagemaker:updateModelPackage")
        == "aws-sdk:sagemaker:updateModelPackage"
    )
    assert integration_key("updateModelPackage", "aws-sdk:sagemaker") == "aws-sdk:sagemaker:updateModelPackage"
    problems = task_request_problems(
        "arn:aws:states:::aws-sdk:sagemaker:updateModelPackage",
        {
            "ModelPackageArn": "arn:aws:sagemaker:us-east-1:123456789012:model-package/g/1",
            "ModelApprovalStatus": "Done",
        },
    )
    assert problems == ["UpdateModelPackage: ModelApprovalStatus: 'Done' is not one of the enum values "
                        "['Approved', 'Rejected', 'PendingManualApproval']"]  # fmt: skip


def test_an_unmapped_integration_is_an_error_not_a_pass():
    with pytest.raises(UnknownIntegration, match="no API mapping for the integration 'glue:startJobRun'"):
        task_request_problems("arn:aws:states:::glue:startJobRun.sync", {})
    with pytest.raises(UnknownIntegration, match="is not an optimized service integration resource ARN"):
        integration_key("arn:aws:lambda:us-east-1:1:function:f")


def test_java_patterns_keep_their_meaning_in_python():
    tag_value = compile_java_pattern(r"([\p{L}\p{Z}\p{N}_.:/=+\-@]*)")
    assert tag_value.fullmatch("Zürich 東京 ٣ a:b/c=d+e-f@g_h.i")
    assert not tag_value.fullmatch("run(1)") and not tag_value.fullmatch("a!") and not tag_value.fullmatch("😀")
    # surrogate pairs (supplementary characters) and control characters
    xml = compile_java_pattern(r"[\u0020-\uD7FF\uE000-\uFFFD\uD800\uDC00-\uDBFF\uDFFF\r\n\t]*")
    assert xml.fullmatch("emoji 😀\n") and not xml.fullmatch("\x00")
    # a quantified end anchor (SageMaker's CustomerMetadataKey): Java repeats the anchor, Python may not
    metadata_key = compile_java_pattern(r"([\p{L}\p{Z}\p{N}_.:\/=+\-@]*)${1,128}")
    assert metadata_key.fullmatch("holdout-rmse") and not metadata_key.fullmatch("run(1)")


def test_request_problems_needs_a_known_operation():
    assert request_problems("emr", "TerminateJobFlows", {"JobFlowIds": ["j-1"]}) == []
    with pytest.raises(Exception, match="NoSuchOperation|Operation"):
        request_problems("emr", "NoSuchOperation", {})
