"""The property that names a resource, per resource type (what CloudFormation would use instead of a
generated ``<stack>-<LogicalId>``): the one table :meth:`offline.cfn.resolver.Resolver.physical_name` reads.

The Glue resources name themselves inside their input (``DatabaseInput.Name``, ``TableInput.Name``).
"""

from __future__ import annotations

NAME_PROPERTIES: dict[str, str] = {
    "AWS::S3::Bucket": "BucketName",
    "AWS::SNS::Topic": "TopicName",
    "AWS::SQS::Queue": "QueueName",
    "AWS::DynamoDB::Table": "TableName",
    "AWS::Serverless::Function": "FunctionName",
    "AWS::Lambda::Function": "FunctionName",
    "AWS::Serverless::StateMachine": "Name",
    "AWS::StepFunctions::StateMachine": "StateMachineName",
    "AWS::IAM::Role": "RoleName",
    "AWS::IAM::ManagedPolicy": "ManagedPolicyName",
    "AWS::IAM::InstanceProfile": "InstanceProfileName",
    "AWS::Logs::LogGroup": "LogGroupName",
    "AWS::SageMaker::Model": "ModelName",
    "AWS::Serverless::LayerVersion": "LayerName",
    "AWS::Lambda::LayerVersion": "LayerName",
    "AWS::Events::Rule": "Name",
    "AWS::Scheduler::Schedule": "Name",
    "AWS::Athena::WorkGroup": "Name",
    "AWS::Glue::Database": "DatabaseInput",
    "AWS::Glue::Table": "TableInput",
}
