"""The batch transform scores with the promoted model, and waits for one: one deploy is enough.

The transform's PrepareRun reads the production pointer and names its model in the plan; the real
transform runner serves that model's artifact (the training job's model.tar.gz, found through
DescribeModel in moto) in the model environment.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import boto3

from offline.harness import OfflineHarness
from offline.runners.sagemaker import TransformRunner
from offline.runners.sagemaker_training import TrainingRunner
from tests.statemachines.ledger_support import put_batch, records, states
from tests.statemachines.sfn_support import TRANSFORM
from tests.statemachines.training_support import PROMOTED_STATES, TRAIN, clear_registry, manual, production

DAY = "2026-11-24T00:00Z"
SCHEDULED = {"scheduled_time": "2026-11-25T06:00:00Z", "trigger": "schedule"}
ROWS = b"M,0.455,0.365,0.095,0.514,0.2245,0.101,0.15\nF,0.53,0.42,0.135,0.677,0.2565,0.1415,0.21\n"


def test_before_any_model_is_promoted_transform_slots_wait_unclaimed_with_the_reason(h: OfflineHarness):
    # GIVEN a batch file in a closed day, and no production model (a stack just deployed)
    clear_registry(h)
    put_batch(h, DAY, body=ROWS)

    # WHEN the daily transform runs
    result = h.run(TRANSFORM, SCHEDULED)

    # THEN it ends like a run without new data, saying why; the slot is neither claimed nor failed
    assert (result.status, result.states_entered) == ("SUCCEEDED", ["PrepareRun", "HasWork", "NoNewData"])
    plan = result.output["plan"]
    assert plan["work"] is False and plan["slots"] == []
    assert plan["reason"].startswith("no model to score with yet: 1 slot(s) with data wait unclaimed")
    assert records(h, "transform") == {}
    assert h.published() == []


def test_a_promoted_model_is_the_one_the_next_transform_scores_with(h: OfflineHarness, training: TrainingRunner):
    # GIVEN a batch waiting because no model was promoted yet
    put_batch(h, DAY, body=ROWS)
    waited = h.run(TRANSFORM, SCHEDULED)
    assert waited.states_entered[-1] == "NoNewData"

    # WHEN a model is trained and promoted, and the transform runs again (no deploy in between)
    trained = h.run(TRAIN, manual("ridge"), timeout=120)
    assert trained.states_entered == PROMOTED_STATES
    promoted = production(h)
    assert promoted is not None
    with tempfile.TemporaryDirectory(prefix="transform-") as work:
        TransformRunner(Path(work), region=h.region).register(h)
        result = h.run(TRANSFORM, SCHEDULED, timeout=120)

    # THEN the waiting slot is scored by the promoted model, named in the plan and on the job
    assert result.status == "SUCCEEDED", result.cause
    [job] = result.tasks("RunTransformJob")
    assert job.parameters["ModelName"] == result.output["plan"]["transform"]["model_name"] == promoted.model_name
    assert {"Key": "transient-analytics:model", "Value": promoted.model_name} in job.parameters["Tags"]
    assert states(h, "transform") == {DAY: "done"}
    output = result.output["plan"]["slots"][0]["output_uri"]
    bucket, prefix = output[5:].split("/", 1)
    s3 = boto3.client("s3")
    [key] = [o["Key"] for o in s3.list_objects_v2(Bucket=bucket, Prefix=prefix)["Contents"]]
    lines = s3.get_object(Bucket=bucket, Key=key)["Body"].read().decode().splitlines()
    assert [line.rsplit(",", 1)[0] for line in lines] == ROWS.decode().splitlines()
    assert all(4.0 < float(line.rsplit(",", 1)[1]) < 20.0 for line in lines)  # rings, from the ridge model
