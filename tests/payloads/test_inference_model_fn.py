"""model_fn: the artifact is loaded only into a container with the versions and input it was made for.

The version rule (``model.code.model_metadata``): Python, numpy and scikit-learn of the same
minor version load, whatever their patch release (a rebuild of the image must not take
production down); another minor, a major or a pre-release is refused, naming both versions,
whether model.json or scikit-learn's own pickle record reveals it.

Runs in the model environment (``make test-model``): the serving image's versions.
"""

from __future__ import annotations

import json
import logging
import pickle
import re
from pathlib import Path

import numpy as np
import pytest
import sklearn.base
from sklearn.linear_model import LinearRegression

from model.code import inference, model_metadata
from model.data import FEATURE_COLUMNS, feature_matrix, load_abalone

from .conftest import TrainedModel


def write_card(model_dir: Path, **changes: object) -> None:
    card = json.loads((model_dir / model_metadata.METADATA_FILENAME).read_text())
    versions = dict(card["versions"])
    versions.update(changes.pop("versions", {}))  # type: ignore[call-overload]
    card.update(changes, versions=versions)
    (model_dir / model_metadata.METADATA_FILENAME).write_text(json.dumps(card))


def feature_rows() -> np.ndarray:
    return feature_matrix(load_abalone())[:200]


@pytest.fixture
def model_copy(trained_model: TrainedModel, tmp_path: Path) -> Path:
    for name in (model_metadata.MODEL_FILENAME, model_metadata.METADATA_FILENAME):
        (tmp_path / name).write_bytes((trained_model.model_dir / name).read_bytes())
    return tmp_path


def test_model_fn_loads_the_pipeline_from_the_model_directory(trained_model: TrainedModel) -> None:
    model = inference.model_fn(str(trained_model.model_dir))
    assert model.n_features_in_ == len(FEATURE_COLUMNS)


def pickled_as_if_by(trained: TrainedModel, sklearn_version: str, monkeypatch: pytest.MonkeyPatch) -> bytes:
    """The trained model pickled again, each estimator recording ``sklearn_version`` as its writer."""
    model = pickle.loads((trained.model_dir / model_metadata.MODEL_FILENAME).read_bytes())
    with monkeypatch.context() as patch:
        patch.setattr(sklearn.base, "__version__", sklearn_version)
        return pickle.dumps(model, protocol=5)


def with_patch_level(version: str, patch: int) -> str:
    major, minor = version.split(".")[:2]
    return f"{major}.{minor}.{patch}"


RUNNING = model_metadata.running_versions()
OTHER_PYTHON_PATCH = with_patch_level(RUNNING["python"], 99)
OTHER_NUMPY_PATCH = with_patch_level(RUNNING["numpy"], 9)
OTHER_SKLEARN_PATCH = with_patch_level(RUNNING["scikit-learn"], 7)


@pytest.mark.parametrize(
    "versions",
    [
        {"python": OTHER_PYTHON_PATCH},  # the image rebuilt on a newer Amazon Linux python3.12
        {"numpy": OTHER_NUMPY_PATCH},  # a security rebuild bumping numpy's patch release
        {"scikit-learn": OTHER_SKLEARN_PATCH},
        {"python": OTHER_PYTHON_PATCH, "numpy": OTHER_NUMPY_PATCH, "scikit-learn": OTHER_SKLEARN_PATCH},
        {"scipy": "1.17.1", "joblib": "1.4.2", "pandas": "2.3.3", "pyarrow": "24.0.0"},  # not in the pickle
    ],
    ids=["python-patch", "numpy-patch", "sklearn-patch", "all-three-patches", "libraries-the-pickle-does-not-name"],
)
def test_model_fn_loads_a_model_trained_with_another_patch_release_of_the_same_minor(
    trained_model: TrainedModel, model_copy: Path, loaded_model: object, versions: dict[str, str]
) -> None:
    # GIVEN a model recorded as trained with another patch release (a rebuild of the same image)
    write_card(model_copy, versions=versions)
    # WHEN the container loads it THEN it serves, and answers exactly what the model answers
    model = inference.model_fn(str(model_copy))
    rows = feature_rows()
    assert (model.predict(rows) == loaded_model.predict(rows)).all()  # type: ignore[attr-defined]


def test_model_fn_loads_a_pickle_written_by_another_scikit_learn_patch_release(
    trained_model: TrainedModel,
    model_copy: Path,
    loaded_model: object,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    # GIVEN the model pickled by scikit-learn X.Y.7 (each estimator records it; scikit-learn
    # warns with InconsistentVersionWarning on unpickling) and model.json saying so
    (model_copy / model_metadata.MODEL_FILENAME).write_bytes(
        pickled_as_if_by(trained_model, OTHER_SKLEARN_PATCH, monkeypatch)
    )
    write_card(model_copy, versions={"scikit-learn": OTHER_SKLEARN_PATCH})
    # WHEN the container loads it
    with caplog.at_level(logging.WARNING):
        model = inference.model_fn(str(model_copy))
    # THEN it serves the same predictions, and says once which versions met
    rows = feature_rows()
    assert (model.predict(rows) == loaded_model.predict(rows)).all()
    notes = [r.getMessage() for r in caplog.records if "pickled by scikit-learn" in r.getMessage()]
    assert len(notes) == 1 and f"{OTHER_SKLEARN_PATCH}, this container has {RUNNING['scikit-learn']}" in notes[0]


@pytest.mark.parametrize(
    ("versions", "message"),
    [
        ({"scikit-learn": "1.8.2"}, f"trained with scikit-learn 1.8.2, this container has {RUNNING['scikit-learn']}"),
        ({"scikit-learn": "1.6.1"}, f"trained with scikit-learn 1.6.1, this container has {RUNNING['scikit-learn']}"),
        ({"scikit-learn": "2.9.0"}, f"trained with scikit-learn 2.9.0, this container has {RUNNING['scikit-learn']}"),
        ({"numpy": "2.4.4"}, f"trained with numpy 2.4.4, this container has {RUNNING['numpy']}"),
        ({"numpy": "1.26.4"}, f"trained with numpy 1.26.4, this container has {RUNNING['numpy']}"),
        ({"python": "3.11.7"}, f"trained with python 3.11.7, this container has {RUNNING['python']}"),
        # a pre-release or local build of the same minor promises nothing: only an exact match loads
        (
            {"scikit-learn": "1.9.0rc1"},
            f"trained with scikit-learn 1.9.0rc1, this container has {RUNNING['scikit-learn']}",
        ),
        ({"numpy": "2.5.1+local"}, f"trained with numpy 2.5.1+local, this container has {RUNNING['numpy']}"),
        ({"scikit-learn": None}, f"trained with scikit-learn None, this container has {RUNNING['scikit-learn']}"),
    ],
    ids=[
        "sklearn-minor",
        "sklearn-issue-10.5",
        "sklearn-major",
        "numpy-minor",
        "numpy-major",
        "python-minor",
        "sklearn-prerelease",
        "numpy-local-build",
        "sklearn-unrecorded",
    ],
)
def test_model_fn_refuses_another_minor_version_before_unpickling(
    model_copy: Path, versions: dict[str, str], message: str
) -> None:
    # GIVEN a model recorded as trained with another minor version, and a pickle that would not even load
    write_card(model_copy, versions=versions)
    (model_copy / model_metadata.MODEL_FILENAME).write_bytes(b"not a pickle")
    # WHEN the container loads it THEN it refuses naming both versions, not with an unpickling error
    with pytest.raises(inference.ModelMismatchError, match=re.escape(message)):
        inference.model_fn(str(model_copy))


@pytest.mark.parametrize("pickled_by", ["1.8.2", "0.0.1", "1.9.0rc1"])
def test_model_fn_refuses_a_pickle_from_another_scikit_learn_minor_whatever_model_json_says(
    trained_model: TrainedModel, model_copy: Path, monkeypatch: pytest.MonkeyPatch, pickled_by: str
) -> None:
    # GIVEN the model pickled by another scikit-learn, with a model.json that does not say so
    (model_copy / model_metadata.MODEL_FILENAME).write_bytes(pickled_as_if_by(trained_model, pickled_by, monkeypatch))
    # WHEN the container loads it THEN scikit-learn's own version record is held to the same rule
    message = f"pickled by scikit-learn {pickled_by}, this container has {RUNNING['scikit-learn']}"
    with pytest.raises(inference.ModelMismatchError, match=re.escape(message)):
        inference.model_fn(str(model_copy))


@pytest.mark.parametrize(
    ("trained", "running", "loads"),
    [
        ("3.12.1", "3.12.13", True),
        ("1.9.0", "1.9.1", True),
        ("2.5", "2.5.1", True),
        ("2.5.1", "2.5.1", True),
        ("1.9.0rc1", "1.9.0rc1", True),
        ("1.9.0", "1.10.0", False),
        ("1.9.0", "2.9.0", False),
        ("1.9.0rc1", "1.9.0", False),
        ("1.9.0", "1.9.0.post1", False),
        ("None", "1.9.0", False),
        (None, "1.9.0", False),
    ],
)
def test_same_minor_is_the_rule_both_checks_apply(trained: object, running: str, loads: bool) -> None:
    assert model_metadata.same_minor(trained, running) is loads


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
