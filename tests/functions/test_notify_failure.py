import json
import time

import boto3
import pytest
from botocore.exceptions import ClientError

from tests.support import lambda_context, load_event
from tests.unit.test_history_and_notification import STEP_FAILED_HISTORY
from transient_analytics.aws import Clusters
from transient_analytics.errors import InvalidEventError
from transient_analytics.tags import TAG_EXECUTION, TAG_STACK


class FakeHistory:
    def __init__(self, events):
        self.events = events
        self.calls = []

    def history(self, execution_arn):
        self.calls.append(execution_arn)
        return self.events


@pytest.fixture
def history(notify_failure, monkeypatch):
    fake = FakeHistory(STEP_FAILED_HISTORY)
    monkeypatch.setattr(notify_failure, "executions", lambda: fake)
    return fake


def start_cluster(execution_arn: str, stack: str = "transient-analytics-dev") -> str:
    return boto3.client("emr").run_job_flow(
        Name="c",
        ReleaseLabel="emr-7.13.0",
        Instances={
            "InstanceGroups": [{"InstanceRole": "MASTER", "InstanceType": "m7g.xlarge", "InstanceCount": 1}],
            "KeepJobFlowAliveWhenNoSteps": True,
        },
        JobFlowRole="EMR_EC2_DefaultRole",
        ServiceRole="EMR_DefaultRole",
        Tags=[{"Key": TAG_EXECUTION, "Value": execution_arn}, {"Key": TAG_STACK, "Value": stack}],
    )["JobFlowId"]


def cluster_state(cluster_id: str) -> str:
    return boto3.client("emr").describe_cluster(ClusterId=cluster_id)["Cluster"]["Status"]["State"]


def test_a_failed_emr_run_publishes_one_readable_message(notify_failure, history, sns_inbox):
    event = load_event("notify_failure/failed_emr_step")
    result = notify_failure.lambda_handler(event, lambda_context())
    [message] = sns_inbox()
    assert result["published"] is True
    assert (
        message["Subject"]
        == "[transient-analytics] EMR pipeline FAILED at RunSparkStep: 3f1c2b9a-6d0e-4b1f-9a57-2c1e8d4f7a10"
    )
    assert "Failed state:  RunSparkStep" in message["Message"]
    assert "partition column 'class' not found" in message["Message"]
    assert history.calls == [event["detail"]["executionArn"]]


def test_the_same_event_delivered_twice_is_published_once(notify_failure, history, sns_inbox):
    event = load_event("notify_failure/failed_emr_step")
    first = notify_failure.lambda_handler(event, lambda_context())
    second = notify_failure.lambda_handler(json.loads(json.dumps(event)), lambda_context())
    assert len(sns_inbox()) == 1
    assert second["message_id"] == first["message_id"]


def test_two_different_failures_are_both_published(notify_failure, history, sns_inbox):
    notify_failure.lambda_handler(load_event("notify_failure/failed_emr_step"), lambda_context())
    notify_failure.lambda_handler(load_event("notify_failure/aborted_emr"), lambda_context())
    assert len(sns_inbox()) == 2


def test_an_aborted_emr_run_terminates_its_own_cluster_and_leaves_others_alone(notify_failure, history, sns_inbox):
    event = load_event("notify_failure/aborted_emr")
    mine = start_cluster(event["detail"]["executionArn"])
    other = start_cluster(event["detail"]["executionArn"].replace("9e8d", "0000"))
    result = notify_failure.lambda_handler(event, lambda_context())
    assert result["cleanup"]["terminated"] == [mine]
    assert cluster_state(mine) == "TERMINATED"
    assert cluster_state(other) == "WAITING"
    assert f"terminated EMR cluster(s) still running for this execution: {mine}" in sns_inbox()[0]["Message"]


def test_a_timed_out_emr_run_terminates_its_cluster(notify_failure, history, sns_inbox):
    event = load_event("notify_failure/timed_out_emr")
    mine = start_cluster(event["detail"]["executionArn"])
    notify_failure.lambda_handler(event, lambda_context())
    assert cluster_state(mine) == "TERMINATED"
    assert "TIMED_OUT" in sns_inbox()[0]["Subject"]


def test_a_transform_failure_touches_no_cluster(notify_failure, history, sns_inbox, monkeypatch):
    monkeypatch.setattr(notify_failure, "clusters", lambda: pytest.fail("no EMR call for a transform run"))
    result = notify_failure.lambda_handler(load_event("notify_failure/failed_transform"), lambda_context())
    assert result["cleanup"] is None
    assert sns_inbox()[0]["Subject"].startswith("[transient-analytics] Batch transform FAILED")


@pytest.mark.parametrize("name", ["other_state_machine", "succeeded_other_status"])
def test_events_that_are_not_our_failures_are_a_clean_no_op(notify_failure, history, sns_inbox, name):
    result = notify_failure.lambda_handler(load_event(f"notify_failure/{name}"), lambda_context())
    assert result == {"published": False, "reason": "not ours"}
    assert sns_inbox() == []
    assert history.calls == []


def test_a_malformed_event_names_the_fields_and_publishes_nothing(notify_failure, history, sns_inbox):
    with pytest.raises(InvalidEventError, match="detail.status"):
        notify_failure.lambda_handler(load_event("notify_failure/malformed"), lambda_context())
    assert sns_inbox() == []


def test_a_failing_publish_fails_the_invocation_so_lambda_retries_and_the_next_try_publishes(
    notify_failure, history, sns_inbox, monkeypatch
):
    sns = boto3.client("sns")
    topic_arn = load_event("env")["NotifyFailureFunction"]["TOPIC_ARN"]
    event = load_event("notify_failure/failed_emr_step")
    original = notify_failure.topic()._sns

    class Throttled:
        def publish(self, **kwargs):
            raise ClientError({"Error": {"Code": "Throttling", "Message": "Rate exceeded"}}, "Publish")

    notify_failure.topic()._sns = Throttled()
    with pytest.raises(ClientError, match="Rate exceeded"):
        notify_failure.lambda_handler(event, lambda_context())
    assert sns_inbox() == []

    notify_failure.topic()._sns = original  # Lambda's retry: the idempotency record was released
    notify_failure.lambda_handler(event, lambda_context())
    assert len(sns_inbox()) == 1
    assert sns.get_topic_attributes(TopicArn=topic_arn)


def test_a_missing_topic_fails_the_invocation(notify_failure, history, monkeypatch):
    monkeypatch.setenv("TOPIC_ARN", "arn:aws:sns:us-east-1:123456789012:deleted-topic")
    notify_failure.settings.cache_clear()
    notify_failure.topic.cache_clear()
    with pytest.raises(ClientError, match="NotFound|does not exist"):
        notify_failure.lambda_handler(load_event("notify_failure/failed_emr_step"), lambda_context())


def test_cluster_cleanup_errors_are_reported_not_raised():
    class Broken:
        def get_paginator(self, name):
            raise ClientError({"Error": {"Code": "AccessDenied", "Message": "no"}}, "ListClusters")

    report = Clusters(Broken()).terminate_tagged(TAG_EXECUTION, "arn")
    assert report.terminated == ()
    assert "AccessDenied" in report.error


def test_clusters_the_notifier_may_not_describe_are_someone_elses_and_are_skipped():
    # IAM lets NotifyFailure describe only clusters tagged with its stack (TerminateOnlyThisStacksClusters).
    class Paginator:
        def paginate(self, **kwargs):
            return [{"Clusters": [{"Id": "j-OTHERSTACK"}, {"Id": "j-OURS"}]}]

    class Emr:
        terminated = None

        def get_paginator(self, name):
            return Paginator()

        def describe_cluster(self, ClusterId):
            if ClusterId == "j-OTHERSTACK":
                raise ClientError({"Error": {"Code": "AccessDeniedException", "Message": "no"}}, "DescribeCluster")
            return {"Cluster": {"Id": ClusterId, "Tags": [{"Key": TAG_EXECUTION, "Value": "arn"}]}}

        def terminate_job_flows(self, JobFlowIds):
            self.terminated = JobFlowIds

    emr = Emr()
    report = Clusters(emr).terminate_tagged(TAG_EXECUTION, "arn")
    assert report.error is None
    assert report.terminated == ("j-OURS",)
    assert emr.terminated == ["j-OURS"]


def test_a_redelivery_after_the_idempotency_record_expired_is_published_again(notify_failure, history, sns_inbox):
    event = load_event("notify_failure/failed_emr_step")
    notify_failure.lambda_handler(event, lambda_context())
    table = load_event("env")["NotifyFailureFunction"]["IDEMPOTENCY_TABLE"]
    dynamodb = boto3.client("dynamodb")
    [record] = dynamodb.scan(TableName=table)["Items"]
    # the record carries the TTL the template's table expires it by (IDEMPOTENCY_TTL_SECONDS, a day)
    assert 86_000 < int(record["expiration"]["N"]) - int(time.time()) <= 86_400
    dynamodb.update_item(
        TableName=table,
        Key={"id": record["id"]},
        UpdateExpression="SET expiration = :past",
        ExpressionAttributeValues={":past": {"N": str(int(time.time()) - 1)}},
    )
    notify_failure.lambda_handler(event, lambda_context())
    assert len(sns_inbox()) == 2


def test_an_aborted_run_named_with_characters_tags_forbid_still_has_its_cluster_terminated(
    notify_failure, history, sns_inbox
):
    # GIVEN a manual run named "rerun(2)!'s" whose cluster carries the tag-safe form of its ARN
    from transient_analytics.tags import execution_tag_value

    event = load_event("notify_failure/aborted_emr")
    arn = event["detail"]["executionArn"].rsplit(":", 1)[0] + ":rerun(2)!'s"
    event["detail"]["executionArn"] = arn
    event["id"] = "b5a0c0de-0000-4000-8000-000000000001"
    mine = start_cluster(execution_tag_value(arn))
    other = start_cluster(execution_tag_value(arn.replace("rerun(2)", "rerun(3)")))
    assert execution_tag_value(arn) != arn
    # WHEN the notifier handles its ABORTED event
    result = notify_failure.lambda_handler(event, lambda_context())
    # THEN it finds and terminates that cluster by the same tag value, and no other
    assert result["cleanup"]["terminated"] == [mine]
    assert (cluster_state(mine), cluster_state(other)) == ("TERMINATED", "WAITING")
