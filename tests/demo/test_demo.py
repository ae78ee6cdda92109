"""The offline twin end to end: `make demo` and `make demo-failure`, on small data, outputs checked.

Each demo runs the real Spark job (local[2]) and the real model behind the state machines,
so this module is the slowest of the suite (about a minute for both runs).
"""

from __future__ import annotations

import csv
import io
from collections import Counter
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from demo import Demo, DemoReport
from demo.run import landing_slot
from jobs.generate_characters import generate_csv_bytes
from tests.statemachines.sfn_support import EMR_HAPPY_STATES, EMR_STEP_FAILED_TAIL
from tools.publish import DEFAULT_SEED

ROWS = 2_000

pytestmark = [pytest.mark.spark, pytest.mark.slow]


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> DemoReport:
    return Demo(tmp_path_factory.mktemp("demo"), sample_rows=ROWS, echo=lambda line: None).run()


@pytest.fixture(scope="module")
def failing_demo(tmp_path_factory: pytest.TempPathFactory) -> DemoReport:
    return Demo(
        tmp_path_factory.mktemp("demo-failure"), sample_rows=ROWS, fail_spark_step=True, echo=lambda line: None
    ).run()


def input_counts_by_class() -> Counter[str]:
    reader = csv.DictReader(io.StringIO(generate_csv_bytes(ROWS, DEFAULT_SEED).decode()))
    return Counter(row["class"] for row in reader)


def test_the_emr_pipeline_writes_one_partition_per_class_with_the_inputs_row_counts(demo: DemoReport):
    emr = demo.workflow("EmrPipelineStateMachine")
    assert emr.result.status == "SUCCEEDED"
    assert emr.result.states_entered == EMR_HAPPY_STATES
    partitions = {
        line.split("/class=")[1].split("/")[0]: int(line.rsplit("  ", 1)[1].split()[0].replace(",", ""))
        for line in emr.objects
        if "/class=" in line
    }
    assert partitions == dict(input_counts_by_class())
    assert set(partitions) == {"Titan", "Hunter", "Warlock"}
    # AND the slot's completion manifest is beside its output, and the ledger holds it done with its rows
    assert [o for o in emr.objects if o.endswith("_manifest.json  (completion manifest)")]
    [(pipeline, slot, state, rows, run)] = [row for row in demo.ledger if row[0] == "emr"]
    assert (slot, state, rows) == (demo.slot, "done", ROWS)


def test_the_sample_query_on_the_demos_own_output_counts_the_inputs_rows_per_class(demo: DemoReport):
    query, day, result = demo.sample_query
    assert 'FROM "transient_analytics_dev"."curated_characters" WHERE dt = ?' in query
    counted = {line.split()[1]: int(line.split()[2]) for line in result.splitlines()[1:]}
    assert counted == dict(input_counts_by_class())
    assert day == demo.slot[:10]


def test_the_transform_appends_exactly_one_numeric_prediction_to_every_input_row(demo: DemoReport):
    transform = demo.workflow("BatchTransformStateMachine")
    assert transform.result.status == "SUCCEEDED"
    header, *first_rows = transform.objects
    assert "4,177 rows" in header
    batch_rows = Path("data/abalone/batch.csv").read_text().splitlines()
    for shown in first_rows:
        row = shown.strip()
        features, prediction = row.rsplit(",", 1)
        assert features in batch_rows
        assert 0 < float(prediction) < 40


def test_every_cluster_the_demo_started_ended_terminated(demo: DemoReport, failing_demo: DemoReport):
    for report in (demo, failing_demo):
        assert report.compute, "the EMR pipeline created no cluster"
        assert {c.state for c in report.compute} == {"TERMINATED"}


def test_the_report_names_each_state_with_its_duration_and_the_pictures_exist(demo: DemoReport):
    for workflow in demo.workflows:
        assert workflow.picture.is_file() and workflow.picture.read_text().startswith("<svg")
        assert "picture: " in demo.text
        for timing in workflow.states:
            assert f"| {timing.name} | {timing.state_type} | {timing.seconds:.2f} |" in demo.text
    assert "payload (Spark, model)" in demo.text


def test_a_failing_spark_step_terminates_the_cluster_fails_the_run_and_notifies_once(failing_demo: DemoReport):
    emr = failing_demo.workflow("EmrPipelineStateMachine")
    assert emr.result.status == "FAILED"
    assert emr.result.error == "States.TaskFailed"
    assert emr.result.states_entered[-6:] == EMR_STEP_FAILED_TAIL
    assert "guild" in emr.result.cause
    assert emr.notification is not None
    assert emr.notification["subject"].startswith("[transient-analytics] EMR pipeline FAILED at RunSparkStep")
    assert "guild" in emr.notification["message"]
    assert failing_demo.workflow("BatchTransformStateMachine").notification is None
    assert "SNS notification, subject:" in failing_demo.text
    # AND the slot is recorded failed, for the next run to take again
    [(_, _, state, _, _)] = [row for row in failing_demo.ledger if row[0] == "emr"]
    assert state == "failed"


def test_a_rerun_in_the_same_folder_queries_only_its_own_output(tmp_path: Path):
    # GIVEN an earlier run's mirror of the bucket, with rows in the day this run lands in
    day = f"{landing_slot():%Y-%m-%d}"
    stale = tmp_path / "bucket" / "curated" / "characters" / f"dt={day}" / "hour=00" / "minute=00" / "class=Titan"
    stale.mkdir(parents=True)
    pq.write_table(pa.table({"id": list(range(7))}), stale / "part-0.parquet")
    # WHEN the demo runs again into that folder
    report = Demo(tmp_path, sample_rows=ROWS, echo=lambda line: None).run()
    # THEN its sample query counts this run's rows only
    counted = {line.split()[1]: int(line.split()[2]) for line in report.sample_query[2].splitlines()[1:]}
    assert counted == dict(input_counts_by_class())
