"""`make demo SPARK_BACKEND=serverless`, on small data: the same job on an EMR Serverless job run, the same output."""

from __future__ import annotations

import pytest

from demo import Demo, DemoReport
from tests.demo.test_demo import ROWS, input_counts_by_class
from tests.statemachines.serverless_support import SERVERLESS_HAPPY_STATES

pytestmark = [pytest.mark.spark, pytest.mark.slow]


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> DemoReport:
    return Demo(
        tmp_path_factory.mktemp("demo-serverless"), sample_rows=ROWS, spark_backend="serverless", echo=lambda _: None
    ).run()


def test_the_serverless_backend_writes_the_same_partitions_with_one_priced_job_run_and_no_cluster(demo: DemoReport):
    emr = demo.workflow("EmrPipelineStateMachine")
    assert (emr.result.status, emr.result.states_entered) == ("SUCCEEDED", SERVERLESS_HAPPY_STATES)
    partitions = {
        line.split("/class=")[1].split("/")[0]: int(line.rsplit("  ", 1)[1].split()[0].replace(",", ""))
        for line in emr.objects
        if "/class=" in line
    }
    assert partitions == dict(input_counts_by_class())
    # AND the compute was one job run, finished, billed at least a minute of each worker and priced
    [job_run] = demo.compute
    assert job_run.state == "SUCCESS" and job_run.name.endswith(emr.result.output["plan"]["run_id"])
    assert job_run.cost_usd is not None and job_run.cost_usd > 0
    assert "## EMR Serverless job runs (SparkBackend=serverless)" in demo.text
    # AND the ledger holds the slot done with every row, as after a cluster's run
    [(_, slot, state, rows, _)] = [row for row in demo.ledger if row[0] == "emr"]
    assert (slot, state, rows) == (demo.slot, "done", ROWS)
