"""The model training's IAM: the training job's role, the training state machine's role, the registry functions.

Runs on the committed snapshot tests/security/translated-template.json (`bash checks/static.sh`
fails when it no longer matches template.yaml).
"""

from __future__ import annotations

from typing import Any

from security_support import Statement, allows, as_list, condition_values, grants, resource_texts, statements_of_role

BUCKET_OBJECTS = "${DataBucket.Arn}/"
TRAINING_ROLE_READS = {"training/abalone/*", "artifacts/training/*", "models/abalone/*"}


def _object_prefixes(statements: list[Statement], action: str) -> set[str]:
    return {text.removeprefix(BUCKET_OBJECTS) for s in grants(statements, action) for text in resource_texts(s)}


def test_the_training_job_role_is_assumed_by_sagemaker_of_this_account_only(resources: dict[str, Any]) -> None:
    trust = resources["SageMakerTrainingRole"]["Properties"]["AssumeRolePolicyDocument"]
    [statement] = trust["Statement"]
    assert statement["Principal"] == {"Service": "sagemaker.amazonaws.com"}
    assert statement["Condition"] == {"StringEquals": {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}}


def test_the_training_job_reads_its_channels_and_writes_only_its_output_prefix(statements: list[Statement]) -> None:
    role = statements_of_role(statements, "SageMakerTrainingRole")
    assert _object_prefixes(role, "s3:GetObject") == TRAINING_ROLE_READS
    assert _object_prefixes(role, "s3:PutObject") == {"models/abalone/*"}
    assert not grants(role, "s3:DeleteObject")
    (listing,) = grants(role, "s3:ListBucket")
    assert set(condition_values(listing, "s3:prefix")) == TRAINING_ROLE_READS
    (pull,) = grants(role, "ecr:BatchGetImage")
    assert [r.rsplit(":", 1)[-1] for r in resource_texts(pull)] == ["repository/sagemaker-scikit-learn"]
    (metrics,) = grants(role, "cloudwatch:PutMetricData")
    assert condition_values(metrics, "cloudwatch:namespace") == ["/aws/sagemaker/TrainingJobs"]


def test_the_serving_role_reads_promoted_artifacts_and_batch_input_but_writes_only_transform_output(
    statements: list[Statement],
) -> None:
    role = statements_of_role(statements, "SageMakerExecutionRole")
    # THEN models come only from training jobs' output (no uploaded artifacts/models/ any more)
    assert _object_prefixes(role, "s3:GetObject") == {"models/abalone/*", "batch/abalone/input/*"}
    assert _object_prefixes(role, "s3:PutObject") == {"batch/abalone/output/*"}


def test_the_training_state_machine_passes_only_its_two_roles_and_only_to_sagemaker(
    statements: list[Statement],
) -> None:
    role = statements_of_role(statements, "TrainModelStateMachineRole")
    (passing,) = grants(role, "iam:PassRole")
    assert as_list(passing.body["Action"]) == ["iam:PassRole"]
    assert [r.rsplit(":role/", 1)[-1] for r in resource_texts(passing)] == ["${SageMakerTrainingRole}", "${Name}"]
    assert passing.body["Condition"] == {"StringEquals": {"iam:PassedToService": "sagemaker.amazonaws.com"}}


def test_the_training_state_machine_creates_only_network_isolated_models(statements: list[Statement]) -> None:
    role = statements_of_role(statements, "TrainModelStateMachineRole")
    (create,) = grants(role, "sagemaker:CreateModel")
    assert as_list(create.body["Action"]) == ["sagemaker:CreateModel"]
    assert create.body["Condition"] == {"Bool": {"sagemaker:NetworkIsolation": "true"}}


def test_the_training_state_machine_has_what_its_sync_training_task_calls(statements: list[Statement]) -> None:
    role = statements_of_role(statements, "TrainModelStateMachineRole")
    for action in ("CreateTrainingJob", "DescribeTrainingJob", "StopTrainingJob", "AddTags", "DescribeModel"):
        assert grants(role, f"sagemaker:{action}"), action
    rules = {text.rsplit(":rule/", 1)[-1] for s in grants(role, "events:PutRule") for text in resource_texts(s)}
    assert rules == {"StepFunctionsGetEventsForSageMakerTrainingJobsRule"}
    assert grants(role, "sns:Publish") and grants(role, "kms:GenerateDataKey")  # the pending-approval message


def test_only_the_training_state_machine_approves_packages_and_registration_is_pending_only(
    statements: list[Statement],
) -> None:
    approvers = {s.where.split("/", 1)[0] for s in grants(statements, "sagemaker:UpdateModelPackage")}
    assert approvers == {"TrainModelStateMachineRole"}
    (register,) = grants(statements, "sagemaker:CreateModelPackage")
    assert register.where.startswith("RegisterModelFunctionRole/")
    assert condition_values(register, "sagemaker:ModelApprovalStatus") == ["PendingManualApproval"]


def test_only_the_promotion_function_writes_the_production_pointer(statements: list[Statement]) -> None:
    writers = [
        s for s in filter(allows, statements) if "dynamodb:PutItem" in s.actions
        and any("ProductionModelTable" in r for r in resource_texts(s))
    ]  # fmt: skip
    assert [s.where.split("/", 1)[0] for s in writers] == ["PromoteModelFunctionRole"]
    (reader,) = [
        s for s in statements_of_role(statements, "PrepareTrainingFunctionRole") if "dynamodb:GetItem" in s.actions
    ]
    assert as_list(reader.body["Action"]) == ["dynamodb:GetItem"]


def test_the_training_schedule_is_disabled_unless_the_stack_enables_it(
    resources: dict[str, Any], template: dict[str, Any]
) -> None:
    (schedule,) = [
        r for r in resources.values()
        if r["Type"] == "AWS::Scheduler::Schedule" and r["Properties"]["State"] == {"Ref": "TrainingScheduleState"}
    ]  # fmt: skip
    assert template["Parameters"]["TrainingScheduleState"]["Default"] == "DISABLED"
    assert schedule["Properties"]["Target"]["Arn"] == {"Ref": "TrainModelStateMachine"}
