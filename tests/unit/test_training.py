"""The training plan (training/plan.py): which data, which job, which channels, and when there is nothing to do."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from model import sourcedir
from transient_analytics import naming
from transient_analytics.errors import InvalidEventError
from transient_analytics.models import parse_event
from transient_analytics.settings import PrepareTrainingSettings
from transient_analytics.slots import Fingerprint
from transient_analytics.training.plan import (
    CODE_CHANNEL,
    ENTRY_POINT,
    SUBMIT_DIRECTORY,
    PrepareTrainingEvent,
    TrainingPlan,
    build_training_plan,
)
from transient_analytics.training.registry import ProductionModel

SETTINGS = PrepareTrainingSettings(
    DATA_BUCKET="ta-dev-data",
    NAME_PREFIX="transient-analytics-dev",
    MODEL_BASE_NAME="ta-abalone",
    MODEL_PACKAGE_GROUP="transient-analytics-dev-abalone",
    PRODUCTION_TABLE="ta-dev-production",
)
SCHEDULED = datetime(2026, 11, 30, 4, 0, tzinfo=UTC)
EXECUTION = {
    "id": "arn:aws:states:us-east-1:123456789012:execution:transient-analytics-dev-train-model:weekly-1",
    "name": "weekly-1",
    "state_machine_arn": "arn:aws:states:us-east-1:123456789012:stateMachine:transient-analytics-dev-train-model",
}
DAY_1, DAY_2 = datetime(2026, 11, 20, tzinfo=UTC), datetime(2026, 11, 25, tzinfo=UTC)
FP_1 = Fingerprint(digest="1" * 32, objects=1, bytes=191873)
FP_2 = Fingerprint(digest="2" * 32, objects=2, bytes=200000)
PACKAGE = "arn:aws:sagemaker:us-east-1:123456789012:model-package/transient-analytics-dev-abalone/3"


def event(**request: object) -> PrepareTrainingEvent:
    return parse_event({"input": request, "execution": EXECUTION}, PrepareTrainingEvent)


def production(fingerprint: str = FP_2.digest) -> ProductionModel:
    return ProductionModel(
        revision=2,
        model_package_arn=PACKAGE,
        version=3,
        model_name="ta-abalone-v3-1a2b3c4d",
        model_data_url="s3://ta-dev-data/models/abalone/dt=2026-11-20/run=x/job/output/model.tar.gz",
        rmse=2.21,
        holdout_sha256="f" * 64,
        data_fingerprint=fingerprint,
        promoted_at="2026-11-21T04:10:00Z",
        promoted_by=EXECUTION["id"],
    )


def plan(days: dict[datetime, Fingerprint], prod: ProductionModel | None = None, **request: object) -> TrainingPlan:
    trigger = request.pop("trigger", "schedule")
    return build_training_plan(event(**request), SETTINGS, SCHEDULED, trigger, days, prod)  # type: ignore[arg-type]


def test_a_scheduled_run_trains_on_the_newest_days_data_with_the_code_channel_and_a_fresh_job_name():
    # GIVEN data published on two days, and no production model
    result = plan({DAY_1: FP_1, DAY_2: FP_2})

    # THEN the run trains on the newer day, in script mode, its output dated by that day and the run
    assert (result.mode, result.work) == ("train", True)
    job = result.training
    assert job is not None and job.incumbent is None
    assert job.data.day == "2026-11-25" and job.data.fingerprint == FP_2.digest
    assert [c["ChannelName"] for c in job.input_data_config] == ["train", "code"]
    train, code = job.input_data_config
    assert train["DataSource"]["S3DataSource"]["S3Uri"] == "s3://ta-dev-data/training/abalone/dt=2026-11-25/"
    assert code["DataSource"]["S3DataSource"]["S3Uri"] == "s3://ta-dev-data/artifacts/training/sourcedir.tar.gz"
    assert job.output_uri == f"s3://ta-dev-data/models/abalone/dt=2026-11-25/run={result.run_id}/"
    # AND the hyperparameters are JSON-encoded as the SDK sends them, naming the entry point in the code channel
    decoded = {k: json.loads(v) for k, v in job.hyperparameters.items()}
    assert decoded["sagemaker_program"] == "train_entry.py"
    assert decoded["sagemaker_submit_directory"] == "/opt/ml/input/data/code/sourcedir.tar.gz"
    assert decoded["candidates"] == "ridge,random_forest,hist_gradient_boosting"
    assert (decoded["seed"], decoded["folds"], decoded["test-size"]) == (42, 5, 0.2)
    # AND the job name is the model base, "train", the scheduled minute and the execution: valid with any suffix
    assert job.job_name_prefix.startswith("ta-abalone-train-202611300400-")
    assert naming.is_valid_transform_job_name(f"{job.job_name_prefix}-99-1000")
    assert {t.Key: t.Value for t in result.tags}["transient-analytics:pipeline"] == "train"


def test_with_a_production_model_the_job_gets_its_artifact_as_the_incumbent_channel():
    result = plan({DAY_2: FP_2}, production(fingerprint="0" * 32))
    assert result.training is not None and result.training.incumbent is not None
    assert result.training.incumbent.model_package_arn == PACKAGE
    incumbent = result.training.input_data_config[-1]
    assert incumbent["ChannelName"] == "incumbent"
    assert incumbent["DataSource"]["S3DataSource"]["S3Uri"] == production().model_data_url
    assert "gated against production v3" in result.reason


def test_without_training_data_there_is_nothing_to_do_and_the_reason_says_where_to_publish():
    result = plan({})
    assert (result.mode, result.work, result.training) == ("none", False, None)
    assert "no training data under s3://ta-dev-data/training/abalone/" in result.reason
    assert "make publish" in result.reason


def test_data_published_after_the_scheduled_day_is_not_used():
    result = plan({DAY_1: FP_1, datetime(2026, 12, 1, tzinfo=UTC): FP_2})
    assert result.training is not None and result.training.data.day == "2026-11-20"


def test_a_scheduled_run_skips_data_production_was_trained_on_but_a_manual_run_trains_anyway():
    scheduled = plan({DAY_2: FP_2}, production(fingerprint=FP_2.digest))
    assert (scheduled.mode, scheduled.work) == ("none", False)
    assert "no new training data: production v3" in scheduled.reason
    manual = plan({DAY_2: FP_2}, production(fingerprint=FP_2.digest), trigger="manual")
    assert (manual.mode, manual.work) == ("train", True)


def test_a_manual_run_may_narrow_the_candidates_to_configured_ones_only():
    narrowed = plan({DAY_2: FP_2}, trigger="manual", candidates=["ridge"])
    assert narrowed.training is not None
    assert json.loads(narrowed.training.hyperparameters["candidates"]) == "ridge"
    with pytest.raises(InvalidEventError, match=r"input\.candidates: \['lasso'\] not among the configured"):
        plan({DAY_2: FP_2}, trigger="manual", candidates=["lasso"])


@pytest.mark.parametrize(
    ("request_input", "message"),
    [
        ({"approve": {"model_package_arn": PACKAGE}, "candidates": ["ridge"]}, "an approval trains nothing"),
        ({"approve": {"model_package_arn": "arn:aws:s3:::bucket/key"}}, r"input\.approve\.model_package_arn"),
        ({"candidates": []}, r"input\.candidates"),
        ({"schedule": "weekly"}, r"input\.schedule: Extra inputs are not permitted"),
    ],
)
def test_a_bad_request_is_refused_naming_the_field(request_input, message):
    with pytest.raises(InvalidEventError, match=message):
        parse_event({"input": request_input, "execution": EXECUTION}, PrepareTrainingEvent)


def test_the_plan_names_the_entry_point_and_code_channel_the_sourcedir_archive_provides():
    assert ENTRY_POINT == sourcedir.ENTRY_POINT
    assert CODE_CHANNEL == sourcedir.CODE_CHANNEL
    assert SUBMIT_DIRECTORY == sourcedir.SUBMIT_DIRECTORY


def test_the_longest_model_base_still_gives_valid_job_and_model_names():
    base = "a" * naming.MODEL_BASE_NAME_MAX
    settings = SETTINGS.model_copy(update={"MODEL_BASE_NAME": base})
    result = build_training_plan(event(), settings, SCHEDULED, "schedule", {DAY_2: FP_2}, None)
    assert result.training is not None
    assert naming.is_valid_transform_job_name(f"{result.training.job_name_prefix}-99-1000")
    assert naming.is_valid_transform_job_name(naming.model_name(base, 999999, PACKAGE))
