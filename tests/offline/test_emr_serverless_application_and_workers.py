"""What the EMR Serverless runner takes from a request and an application: auto-start, the workers' bill, the --conf pairs."""

from __future__ import annotations

import pytest

from offline.integrations import TaskFailure
from offline.runners.emr_serverless import EmrServerlessRunner
from offline.runners.serverless_job import (
    SimulatedServerlessJob,
    local_conf,
    parse_spark_submit_parameters,
    worker_utilization,
)
from tests.offline.serverless_support import CURATED_A, LANDING_A, SLOT_A, aws, request, task_context

__all__ = ["aws"]


def test_a_stopped_application_auto_starts_unless_auto_start_is_off_and_a_terminated_one_takes_no_job(aws, tmp_path):
    _, emrs, app_id = aws
    runner = EmrServerlessRunner(tmp_path, job=SimulatedServerlessJob())
    emrs.stop_application(applicationId=app_id)
    runner(request(app_id, (SLOT_A, LANDING_A, CURATED_A)), task_context())
    assert emrs.get_application(applicationId=app_id)["application"]["state"] == "STARTED"
    manual = emrs.create_application(
        name="manual", releaseLabel="emr-7.13.0", type="SPARK", autoStartConfiguration={"enabled": False}
    )["applicationId"]
    emrs.stop_application(applicationId=manual)
    with pytest.raises(TaskFailure, match="is STOPPED, auto-start off"):
        runner(request(manual, (SLOT_A, LANDING_A, CURATED_A)), task_context())
    emrs.delete_application(applicationId=manual)
    with pytest.raises(TaskFailure, match="is TERMINATED: no job runs"):
        runner(request(manual, (SLOT_A, LANDING_A, CURATED_A)), task_context())


# --- the worker model and the --conf pairs ---------------------------------------------------------


def test_the_bill_is_modelled_from_the_workers_the_job_asks_for_with_emr_serverless_defaults():
    # defaults: a driver and 3 executors of 4 vCPU, 14 GB + 10 % -> 16 GB, 20 GB disk (free)
    billed, total = worker_utilization({}, 1800)
    assert billed == {"vCPUHour": 8.0, "memoryGBHour": 32.0, "storageGBHour": 0.0}
    assert total == {"vCPUHour": 8.0, "memoryGBHour": 32.0, "storageGBHour": 40.0}
    # a short job pays a minute per worker; disk above 20 GB is billed; 27 GB + 10 % -> 30 GB
    conf = {
        "spark.executor.instances": "1",
        "spark.executor.memory": "27g",
        "spark.emr-serverless.executor.disk": "50G",
    }
    billed, total = worker_utilization(conf, 12.5)
    assert billed == {
        "vCPUHour": round(8 * 60 / 3600, 6),
        "memoryGBHour": round(46 * 60 / 3600, 6),
        "storageGBHour": 0.5,
    }
    assert total["vCPUHour"] == round(8 * 12.5 / 3600, 6)


def test_worker_sizing_confs_stay_on_aws_and_every_other_conf_reaches_local_spark():
    conf = parse_spark_submit_parameters(
        "--conf spark.executor.cores=4 --conf spark.driver.memory=14g --conf spark.executor.instances=2 "
        "--conf spark.dynamicAllocation.enabled=false --conf spark.emr-serverless.executor.disk=50g "
        "--conf spark.sql.shuffle.partitions=8 --conf 'spark.driver.extraJavaOptions=-Da=b -Dc=d'"
    )
    assert local_conf(conf) == {"spark.sql.shuffle.partitions": "8", "spark.driver.extraJavaOptions": "-Da=b -Dc=d"}
    assert parse_spark_submit_parameters("") == {}
    with pytest.raises(ValueError, match="got '--conf'"):
        parse_spark_submit_parameters("--conf no-equals-sign")
