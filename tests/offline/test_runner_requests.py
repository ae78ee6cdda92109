"""The runners refuse what EMR and SageMaker would refuse, and register for every .sync resource."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest

from offline.runners.emr import EmrRunner, cluster_request_problems
from offline.runners.sagemaker import TransformRunner, transform_request_problems
from tests.offline.runner_support import CLUSTER_REQUEST, EXECUTION, TRANSFORM_REQUEST


def test_a_well_formed_cluster_request_passes():
    assert cluster_request_problems(CLUSTER_REQUEST, EXECUTION) == []


@pytest.mark.parametrize(
    "change, problem",
    [
        (lambda r: r.update(ReleaseLabel="emr-6.15.0"), "not an emr-7.x release"),
        (lambda r: r.update(Applications=[{"Name": "Hive"}]), "must include Spark"),
        (lambda r: r.update(ServiceRole=""), "ServiceRole is required"),
        (lambda r: r["Instances"].update(KeepJobFlowAliveWhenNoSteps=False), "KeepJobFlowAliveWhenNoSteps"),
        (lambda r: r["Instances"]["InstanceGroups"].pop(), "exactly one MASTER and one CORE"),
        (lambda r: r.update(Tags=[]), "Tags lack transient-analytics:execution"),
        (lambda r: r.update(LogUri="hdfs:///logs"), "LogUri must be an s3:// URI"),
    ],
)
def test_a_cluster_request_emr_would_reject_is_refused_with_the_reason(change, problem):
    request = copy.deepcopy(CLUSTER_REQUEST)
    change(request)
    assert any(problem in p for p in cluster_request_problems(request, EXECUTION))


def test_a_cluster_tagged_for_another_execution_is_refused():
    assert "the execution tag does not name this execution" in cluster_request_problems(
        CLUSTER_REQUEST, EXECUTION + "x"
    )


@pytest.mark.parametrize(
    "change, problem",
    [
        (lambda r: r.update(TransformJobName="-bad"), "TransformJobName"),
        (lambda r: r.update(TransformJobName="a" * 64), "TransformJobName"),
        (lambda r: r["DataProcessing"].update(JoinSource="None"), "JoinSource Input"),
        (lambda r: r["TransformInput"].update(SplitType="None"), "SplitType Line"),
        (lambda r: r.update(MaxPayloadInMB=0), "MaxPayloadInMB"),
        (lambda r: r["TransformResources"].update(InstanceCount=0), "TransformResources.InstanceCount"),
        (lambda r: r.pop("TransformResources"), 'required parameter in input: "TransformResources"'),
    ],
)
def test_a_transform_request_sagemaker_would_reject_is_refused(change, problem):
    request = copy.deepcopy(TRANSFORM_REQUEST)
    assert transform_request_problems(request) == []
    change(request)
    assert any(problem in p for p in transform_request_problems(request))


def test_the_harness_sees_all_four_sync_resources():
    registered: dict[str, object] = {}

    class Registry:
        def register(self, arn: str, runner: object) -> None:
            registered[arn] = runner

    class Harness:
        runners = Registry()

    EmrRunner(Path(".")).register(Harness())
    TransformRunner(Path("."), model_data_url="s3://b/m.tar.gz").register(Harness())
    assert sorted(registered) == sorted(
        [
            "arn:aws:states:::elasticmapreduce:createCluster.sync",
            "arn:aws:states:::elasticmapreduce:addStep.sync",
            "arn:aws:states:::elasticmapreduce:terminateCluster.sync",
            "arn:aws:states:::sagemaker:createTransformJob.sync",
        ]
    )
