"""Against a stack deployed with ``SparkBackend=serverless``: a tiny slot converted by one EMR Serverless job
run, priced, and no cluster started (skipped for a ``cluster`` stack, and without a stack or credentials).

Costs one small job run (a minute or two of a driver and three executors); the application stops itself
after ``ServerlessIdleTimeoutMinutes``.
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta

import pytest

from tests.integration.conftest import Stack
from tests.integration.test_deployed_stack import (
    EMR_TIMEOUT,
    ROWS,
    closed_slot,
    ledger_mentions,
    publish_inputs,
    run,
    slot_id,
)
from transient_analytics.tags import ascii_tag_safe, execution_tag_value


def test_the_serverless_backend_converts_a_tiny_slot_with_one_job_run_and_no_cluster(stack: Stack):
    application = stack.outputs.get("SparkApplicationId")
    if not application:
        pytest.skip("the stack runs the cluster backend: deploy with SparkBackend=serverless")
    # GIVEN ROWS landing rows for the latest closed 15-minute slot
    slot = closed_slot(15, datetime.now(UTC))
    publish_inputs(stack, slot)
    started = datetime.now(UTC)
    # WHEN the pipeline runs now
    name = f"it-serverless-{uuid.uuid4().hex[:12]}"
    described = run(stack, "EmrPipelineStateMachineArn", name, {"trigger": "manual"}, EMR_TIMEOUT)
    # THEN it succeeds and the slot's manifest holds the rows the landing input had
    assert described["status"] == "SUCCEEDED", described.get("cause") or described
    s3, bucket = stack.client("s3"), stack.outputs["DataBucketName"]
    prefix = f"curated/characters/dt={slot:%Y-%m-%d}/hour={slot:%H}/minute={slot:%M}/"
    manifest = json.loads(s3.get_object(Bucket=bucket, Key=prefix + "_manifest.json")["Body"].read())
    assert manifest["rows_read"] == ROWS
    # AND exactly one job run carries this execution's tag, SUCCESS, with a billed usage to price
    serverless = stack.client("emr-serverless")
    tag = ascii_tag_safe(execution_tag_value(described["executionArn"]))
    mine = []
    for page in serverless.get_paginator("list_job_runs").paginate(
        applicationId=application, createdAtAfter=started - timedelta(minutes=1)
    ):
        for summary in page["jobRuns"]:
            job = serverless.get_job_run(applicationId=application, jobRunId=summary["id"])["jobRun"]
            if job.get("tags", {}).get("transient-analytics:execution") == tag:
                mine.append(job)
    assert [j["state"] for j in mine] == ["SUCCESS"], mine
    billed = mine[0]["billedResourceUtilization"]
    assert billed["vCPUHour"] > 0 and billed["memoryGBHour"] > 0
    # AND no cluster was created for it
    emr = stack.client("emr")
    for summary in emr.list_clusters(CreatedAfter=started - timedelta(minutes=1))["Clusters"]:
        tags = emr.describe_cluster(ClusterId=summary["Id"])["Cluster"].get("Tags", [])
        assert {"Key": "transient-analytics:execution", "Value": tag} not in tags, summary
    # AND the ledger holds the slot
    assert ledger_mentions(stack, slot_id(slot)), f"no ledger item mentions {slot_id(slot)}"
