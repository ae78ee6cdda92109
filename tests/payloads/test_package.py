"""The model.tar.gz artifact: the layout the SageMaker scikit-learn container loads."""

from __future__ import annotations

import gzip
import importlib.util
import io
import json
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest
import sklearn

from model.code import inference
from model.data import BATCH_PATH
from model.package import CODE_DIR, build_artifact, pinned_version

from .conftest import REPO_ROOT, TrainedModel


def test_artifact_holds_exactly_the_model_and_the_serving_code(
    model_artifact: Path, trained_model: TrainedModel
) -> None:
    with tarfile.open(model_artifact) as tar:
        members = tar.getmembers()
        assert [m.name for m in members] == ["model.joblib", "code/inference.py", "code/requirements.txt"]
        assert all(m.isfile() and m.mtime == 0 and m.mode == 0o644 and m.uid == 0 for m in members)
        contents = {m.name: tar.extractfile(m).read() for m in members}  # type: ignore[union-attr]
    assert contents["model.joblib"] == (trained_model.model_dir / "model.joblib").read_bytes()
    assert contents["code/inference.py"] == (CODE_DIR / "inference.py").read_bytes()
    assert contents["code/requirements.txt"] == (CODE_DIR / "requirements.txt").read_bytes()


def test_artifact_bytes_are_reproducible(model_artifact: Path, trained_model: TrainedModel, tmp_path: Path) -> None:
    again = build_artifact(trained_model.model_dir, tmp_path / "again.tar.gz")
    assert again.read_bytes() == model_artifact.read_bytes()
    with gzip.open(again) as stream, tarfile.open(fileobj=io.BytesIO(stream.read())) as tar:
        assert len(tar.getnames()) == 3  # a valid gzip'd tar
    assert again.read_bytes()[4:8] == b"\x00\x00\x00\x00"  # no timestamp in the gzip header


def test_extracted_artifact_serves_like_the_container(
    model_artifact: Path, tmp_path: Path, loaded_model: object
) -> None:
    # GIVEN the artifact extracted as SageMaker does into /opt/ml/model
    model_dir = tmp_path / "opt-ml-model"
    with tarfile.open(model_artifact) as tar:
        tar.extractall(model_dir, filter="data")
    # AND code/inference.py imported from there as a top-level module (SAGEMAKER_PROGRAM)
    spec = importlib.util.spec_from_file_location("inference", model_dir / "code" / "inference.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    # WHEN the handlers score the batch file
    model = module.model_fn(str(model_dir))
    body = BATCH_PATH.read_bytes()
    response = module.output_fn(module.predict_fn(module.input_fn(body, "text/csv"), model), "text/csv")
    # THEN the answer is the one the in-repo handlers give
    expected = inference.output_fn(inference.predict_fn(inference.input_fn(body, "text/csv"), loaded_model), "text/csv")
    assert response == expected


def test_model_pickle_loads_without_this_project_or_pandas(trained_model: TrainedModel, tmp_path: Path) -> None:
    # Only scikit-learn classes are pickled: loading needs neither `model` nor `pandas`.
    script = (
        "import sys; sys.modules['pandas'] = None; sys.modules['model'] = None\n"
        "import joblib\n"
        f"m = joblib.load({str(trained_model.model_dir / 'model.joblib')!r})\n"
        "print(type(m).__module__, type(m).__name__)\n"
    )
    completed = subprocess.run(
        [sys.executable, "-c", script], cwd=tmp_path, capture_output=True, text=True, timeout=120, check=False
    )
    assert completed.returncode == 0, completed.stderr
    assert completed.stdout.strip() == "sklearn.pipeline Pipeline"


def test_requirements_pin_the_training_scikit_learn_version() -> None:
    # The container must unpickle with the version that trained: the pin follows requirements-dev.txt.
    pinned = pinned_version(CODE_DIR / "requirements.txt", "scikit-learn")
    assert pinned == sklearn.__version__
    assert pinned == pinned_version(REPO_ROOT / "requirements-dev.txt", "scikit-learn")
    import joblib

    assert pinned_version(CODE_DIR / "requirements.txt", "joblib") == joblib.__version__


def test_packaging_refuses_a_model_trained_with_another_scikit_learn(
    trained_model: TrainedModel, tmp_path: Path
) -> None:
    model_dir = tmp_path / "model"
    model_dir.mkdir()
    (model_dir / "model.joblib").write_bytes((trained_model.model_dir / "model.joblib").read_bytes())
    metrics = json.loads((trained_model.model_dir / "metrics.json").read_text())
    metrics["versions"]["scikit-learn"] = "0.0.1"
    (model_dir / "metrics.json").write_text(json.dumps(metrics))
    with pytest.raises(ValueError, match="trained with scikit-learn 0.0.1 but code/requirements.txt pins"):
        build_artifact(model_dir, tmp_path / "model.tar.gz")
    assert not (tmp_path / "model.tar.gz").exists()


def test_packaging_without_a_model_names_what_is_missing(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="model.joblib"):
        build_artifact(tmp_path, tmp_path / "model.tar.gz")


def test_package_command_line_writes_the_artifact(trained_model: TrainedModel, tmp_path: Path) -> None:
    from model.package import main

    out = tmp_path / "cli.tar.gz"
    assert main(["--model-dir", str(trained_model.model_dir), "--out", str(out)]) == 0
    with tarfile.open(out) as tar:
        assert tar.getnames() == ["model.joblib", "code/inference.py", "code/requirements.txt"]
    assert out.read_bytes()[:2] == b"\x1f\x8b"  # gzip magic
