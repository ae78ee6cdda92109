"""The EMR pipeline deployed with ``SparkBackend=serverless``, executed offline, succeeding: one EMR
Serverless job run converts every closed slot with the cluster's job and arguments, a retried
StartJobRun never starts a second job, and RecordSlots prices the run from the job run's billed usage.
"""

from __future__ import annotations

import json
from decimal import ROUND_HALF_UP, Decimal

import boto3

from offline.harness import OfflineHarness
from tests.statemachines.ledger_support import put_landing, records, states
from tests.statemachines.serverless_support import (
    SERVERLESS_HAPPY_STATES,
    Fault,
    SimulatedServerlessJob,
    check_serverless_requests,
    clusters,
    job_run,
    module_harness,
    runner,
)
from tests.statemachines.sfn_support import (
    EARLIER,
    EARLIER_PATH,
    EMR,
    SCHEDULED,
    SLOT,
    SLOT_PATH,
    bucket,
    check_record_slots_request,
    plan_of,
)

__all__ = ["module_harness"]


def test_a_scheduled_serverless_run_converts_every_closed_slot_with_one_job_run_and_no_cluster(
    h: OfflineHarness, tmp_path
):
    # GIVEN landing data in the two slots closed before the 20:15 tick
    put_landing(h, EARLIER)
    put_landing(h, SLOT)
    job = SimulatedServerlessJob()
    twin = runner(h, tmp_path, job)

    # WHEN the scheduler's 20:15 run executes
    result = h.run(EMR, SCHEDULED)

    # THEN it takes the serverless branch and succeeds, creating no cluster
    assert (result.status, result.states_entered) == ("SUCCEEDED", SERVERLESS_HAPPY_STATES)
    assert clusters(h) == []
    # AND one job run ran the cluster's job with the cluster's arguments (spark-submit's, after the script)
    plan = plan_of(result)
    assert plan["backend"] == "serverless" and plan["emr"] is None
    b = bucket(h)
    ledger = records(h)
    assert plan["serverless"]["entry_point"] == f"s3://{b}/artifacts/jobs/csv_to_parquet.py"
    assert plan["serverless"]["entry_point_arguments"] == [
        "--schema", f"s3://{b}/artifacts/jobs/schemas/characters.json",
        "--partition-column", "class",
        "--run-id", plan["run_id"],
        "--report", f"s3://{b}/runs/emr/{plan['run_id']}/report.json",
        "--partition-values", "Titan,Hunter,Warlock",
        "--slot", EARLIER, f"s3://{b}/landing/characters/{EARLIER_PATH}/", f"s3://{b}/curated/characters/{EARLIER_PATH}/",
        ledger[EARLIER].fingerprint,
        "--slot", SLOT, f"s3://{b}/landing/characters/{SLOT_PATH}/", f"s3://{b}/curated/characters/{SLOT_PATH}/",
        ledger[SLOT].fingerprint,
    ]  # fmt: skip
    [run] = twin.job_runs
    assert job.calls == [[plan["serverless"]["entry_point"], *plan["serverless"]["entry_point_arguments"]]]
    # AND the request is the plan's: stack application and job role, token = run id + redrive count, tags
    check_serverless_requests(h, result)
    [request] = result.tasks("RunServerlessJob")
    assert request.parameters["Tags"]["transient-analytics:execution"] == result.arn
    assert request.parameters["ExecutionTimeoutMinutes"] == 60  # SparkStepTimeoutSeconds 3600
    # AND the job's logs go under logs/emr-serverless/ (the bucket's lifecycle rule covers logs/)
    assert (
        request.parameters["ConfigurationOverrides"]["MonitoringConfiguration"]["S3MonitoringConfiguration"]["LogUri"]
        == f"s3://{b}/logs/emr-serverless/dt=2026-11-25/hour=20/minute=15/"
    )
    # AND the state keeps the job run's ids; RecordSlots got the job run id (what it prices)
    assert result.output["job_run"] == {"application_id": run.application_id, "job_run_id": run.job_run_id}
    check_record_slots_request(result, "step_succeeded", None, job_run_id=run.job_run_id)
    assert job_run(h, run.job_run_id)["state"] == "SUCCESS"
    assert states(h) == {EARLIER: "done", SLOT: "done"}
    assert {r.attempts for r in records(h).values()} == {0}
    assert h.sleeps == [] and h.published() == []


def test_a_start_job_run_whose_answer_was_lost_is_retried_with_the_same_token_and_reaches_the_same_job_run(
    h: OfflineHarness, tmp_path
):
    # GIVEN a slot with data; StartJobRun throttled once before it took effect, then its next answer lost after
    put_landing(h, SLOT)
    twin = runner(
        h,
        tmp_path,
        faults=[Fault(), Fault(error="EMRServerless.InternalServerException", after_start=True)],
    )

    # WHEN the pipeline runs
    result = h.run(EMR, SCHEDULED)

    # THEN RunServerlessJob was sent three times with one token, after 15 then 30 seconds (the Retry's back-off)
    attempts = result.tasks("RunServerlessJob")
    assert len(attempts) == 3
    assert len({a.parameters["ClientToken"] for a in attempts}) == 1
    assert [s.seconds for s in h.sleeps] == [15, 30]
    # AND exactly one job run exists: the retry after the lost answer found it by its token and waited for it
    assert len(twin.job_runs) == 1
    assert result.status == "SUCCEEDED" and states(h) == {SLOT: "done"}
    assert result.output["job_run"]["job_run_id"] == twin.job_runs[0].job_run_id


def test_a_serverless_run_is_priced_from_the_job_runs_billed_usage_in_its_metrics_and_slot_events(
    h: OfflineHarness, tmp_path, capsys
):
    # GIVEN an EventBridge rule delivering "Slot Converted" events to a queue, and two slots of unequal size
    events, sqs = boto3.client("events", region_name=h.region), boto3.client("sqs", region_name=h.region)
    queue = sqs.create_queue(QueueName="slot-converted")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    events.put_rule(Name="converted", EventPattern=json.dumps({"detail-type": ["Slot Converted"]}))
    events.put_targets(Rule="converted", Targets=[{"Id": "q", "Arn": queue_arn}])
    put_landing(h, EARLIER, body=b"id,name\n1,a\n")
    put_landing(h, SLOT, body=b"id,name\n1,a\n2,b\n3,c\n4,d\n")  # 24 bytes against 12
    runner(h, tmp_path, SimulatedServerlessJob(seconds=75))
    capsys.readouterr()

    # WHEN the run converts both slots with a 75-second job run
    assert h.run(EMR, SCHEDULED).status == "SUCCEEDED"

    # THEN the run's estimated cost is the billed usage at the ARM64 prices: the template's default sizing is
    # a driver of 2 vCPU / 4 GB and 3 executors of 4 vCPU / 8 GB, memory billed with its 10 % overhead rounded
    # up (5 and 9 GB): 14 vCPU and 32 GB for 75 s = 0.291667 vCPU-h and 0.666667 GB-h; storage within 20 GB free
    expected = (Decimal("0.291667") * Decimal("0.0420992") + Decimal("0.666667") * Decimal("0.0046228")).quantize(
        Decimal("0.000001"), rounding=ROUND_HALF_UP
    )
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith('{"_aws"')]
    [emf] = [m for m in lines if "EstimatedRunCostUSD" in m]
    assert [Decimal(str(v)) for v in emf["EstimatedRunCostUSD"]] == [expected]
    # AND each slot's share follows its landing bytes (one third, two thirds, to the micro-dollar), adding up
    earlier, later = sorted(Decimal(str(s)) for s in emf["EstimatedSlotCostUSD"])
    assert earlier + later == expected
    assert abs(later - 2 * earlier) <= Decimal("0.000002")
    # AND each "Slot Converted" event carries its slot's share
    bodies = [json.loads(m["Body"]) for m in sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10)["Messages"]]
    costs = {b["detail"]["slot"]: Decimal(str(b["detail"]["cost_usd"])) for b in bodies}
    assert set(costs) == {EARLIER, SLOT}
    assert sum(costs.values()) == expected and costs[SLOT] > costs[EARLIER]
