"""Well-formed requests of the pipelines' .sync tasks, as the runners receive them."""

EXECUTION = "arn:aws:states:us-east-1:123456789012:execution:transient-analytics-dev-emr-pipeline:run-1"
CLUSTER_REQUEST = {
    "Name": "transient-analytics-dev-emr-20261125T2015Z-0123abcd",
    "ReleaseLabel": "emr-7.13.0",
    "Applications": [{"Name": "Spark"}],
    "LogUri": "s3://bucket/logs/emr/dt=2026-11-25/hour=20/minute=15/",
    "ServiceRole": "service-role",
    "JobFlowRole": "instance-profile",
    "Instances": {
        "InstanceGroups": [
            {"InstanceRole": "MASTER", "InstanceType": "m7g.xlarge", "InstanceCount": 1},
            {"InstanceRole": "CORE", "InstanceType": "m7g.xlarge", "InstanceCount": 2},
        ],
        "KeepJobFlowAliveWhenNoSteps": True,
    },
    "Tags": [
        {"Key": "transient-analytics:execution", "Value": EXECUTION},
        {"Key": "transient-analytics:run-id", "Value": "20261125T2015Z-0123abcd"},
        {"Key": "transient-analytics:stack", "Value": "transient-analytics-dev"},
    ],
}
TRANSFORM_REQUEST = {
    "TransformJobName": "ta-abalone-202611250600-0123abcd-0-0",
    "ModelName": "model",
    "MaxPayloadInMB": 6,
    "TransformInput": {
        "DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": "s3://b/in/"}},
        "SplitType": "Line",
    },
    "TransformOutput": {"S3OutputPath": "s3://b/out/", "AssembleWith": "Line"},
    "TransformResources": {"InstanceType": "ml.m5.large", "InstanceCount": 1},
    "DataProcessing": {"JoinSource": "Input"},
}
