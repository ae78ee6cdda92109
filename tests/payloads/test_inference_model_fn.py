"""model_fn: the artifact is loaded only into a container with the versions and input it was made for.

Runs in the model environment (``make test-model``): the serving image's versions.
"""

from __future__ import annotations

import json
import pickle
from pathlib import Path

import pytest
import sklearn.base
from sklearn.linear_model import LinearRegression

from model.code import inference, model_metadata
from model.data import FEATURE_COLUMNS

from .conftest import TrainedModel


def write_card(model_dir: Path, **changes: object) -> None:
    card = json.loads((model_dir / model_metadata.METADATA_FILENAME).read_text())
    versions = dict(card["versions"])
    versions.update(changes.pop("versions", {}))  # type: ignore[call-overload]
    card.update(changes, versions=versions)
    (model_dir / model_metadata.METADATA_FILENAME).write_text(json.dumps(card))


@pytest.fixture
def model_copy(trained_model: TrainedModel, tmp_path: Path) -> Path:
    for name in (model_metadata.MODEL_FILENAME, model_metadata.METADATA_FILENAME):
        (tmp_path / name).write_bytes((trained_model.model_dir / name).read_bytes())
    return tmp_path


def test_model_fn_loads_the_pipeline_from_the_model_directory(trained_model: TrainedModel) -> None:
    model = inference.model_fn(str(trained_model.model_dir))
    assert model.n_features_in_ == len(FEATURE_COLUMNS)


@pytest.mark.parametrize(
    ("versions", "message"),
    [
        ({"scikit-learn": "1.6.1"}, "trained with scikit-learn 1.6.1, this container has 1.4.2"),  # issue 10.5
        ({"numpy": "2.5.5"}, "trained with numpy 2.5.5, this container has 2.1.0"),
        ({"python": "3.11.7"}, "trained with python 3.11, this container has 3.10"),
    ],
)
def test_model_fn_refuses_other_versions_before_unpickling(
    model_copy: Path, versions: dict[str, str], message: str
) -> None:
    # GIVEN a model recorded as trained with other versions, and a pickle that would not even load
    write_card(model_copy, versions=versions)
    (model_copy / model_metadata.MODEL_FILENAME).write_bytes(b"not a pickle")
    # WHEN the container loads it THEN it refuses with the versions, not with an unpickling error
    with pytest.raises(inference.ModelMismatchError, match=message):
        inference.model_fn(str(model_copy))


def test_model_fn_refuses_a_pickle_from_another_scikit_learn_version(
    trained_model: TrainedModel, model_copy: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN the model pickled as if by scikit-learn 0.0.1 (a model.json that does not say so)
    model = pickle.loads((trained_model.model_dir / model_metadata.MODEL_FILENAME).read_bytes())
    monkeypatch.setattr(sklearn.base, "__version__", "0.0.1")
    (model_copy / model_metadata.MODEL_FILENAME).write_bytes(pickle.dumps(model))
    monkeypatch.undo()
    # WHEN the container loads it THEN scikit-learn's own version record is checked too
    with pytest.raises(inference.ModelMismatchError, match="0.0.1"):
        inference.model_fn(str(model_copy))


def test_model_fn_refuses_an_artifact_without_model_json(model_copy: Path) -> None:
    (model_copy / model_metadata.METADATA_FILENAME).unlink()
    with pytest.raises(inference.ModelMismatchError, match="model.json missing"):
        inference.model_fn(str(model_copy))


@pytest.mark.parametrize(
    "changes",
    [{"features": ["a", "b"]}, {"sex_codes": {"M": 0.0, "F": 1.0, "I": 2.0}}, {"format": 2}],
    ids=["other-features", "other-sex-codes", "other-format"],
)
def test_model_fn_refuses_a_model_expecting_another_input(model_copy: Path, changes: dict[str, object]) -> None:
    write_card(model_copy, **changes)
    with pytest.raises(inference.ModelMismatchError, match="expects features|expected format"):
        inference.model_fn(str(model_copy))


def test_model_fn_refuses_a_model_of_another_width(model_copy: Path) -> None:
    (model_copy / model_metadata.MODEL_FILENAME).write_bytes(
        pickle.dumps(LinearRegression().fit([[0.0], [1.0]], [0, 1]))
    )
    with pytest.raises(inference.ModelMismatchError, match="not a fitted model of 8 features"):
        inference.model_fn(str(model_copy))
