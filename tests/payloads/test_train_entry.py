"""The training job's entry point: what the SageMaker training toolkit runs in the scikit-learn image.

Runs in the model environment (``make test-model``): the image's versions. The entry point is run as
the toolkit runs it, from an extracted ``sourcedir.tar.gz`` with only the ``SM_*`` variables and the
hyperparameters as arguments, and its model directory is served as the batch transform serves it.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

from model import sourcedir
from model.code import inference
from model.data import ABALONE_PATH, BATCH_PATH
from model.package import artifact_members, build_artifact
from model.train import train
from model.train_entry import EVALUATION_FILENAME, evaluate, main

RIDGE = ["ridge"]


def channel_with(tmp_path: Path, name: str, files: dict[str, bytes]) -> Path:
    folder = tmp_path / "input" / "data" / name
    folder.mkdir(parents=True)
    for file_name, body in files.items():
        (folder / file_name).write_bytes(body)
    return folder


def split_in_two(body: bytes) -> dict[str, bytes]:
    lines = body.splitlines(keepends=True)
    return {"part-0.csv": b"".join(lines[:2000]), "part-1.csv": b"".join(lines[2000:])}


def sagemaker_tar(model_dir: Path, out: Path) -> Path:
    """``model.tar.gz`` as SageMaker builds it from /opt/ml/model (plain tar of the folder, gzip)."""
    with tarfile.open(out, "w:gz") as tar:
        for path in sorted(model_dir.rglob("*")):
            tar.add(path, arcname=str(path.relative_to(model_dir)), recursive=False)
    return out


@pytest.fixture(scope="module")
def ridge_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, object]]:
    """One ridge training on the data set split into two channel files, without incumbent."""
    root = tmp_path_factory.mktemp("ridge")
    train_dir = channel_with(root, "train", split_in_two(ABALONE_PATH.read_bytes()))
    evaluation = evaluate(train_dir, root / "model", root / "output" / "data", candidates=RIDGE)
    return root, evaluation


def test_the_model_directory_is_the_servable_artifact_layout_and_the_batch_transform_serves_it(ridge_run, tmp_path):
    # GIVEN a training run on the train channel
    root, evaluation = ridge_run
    model_dir = root / "model"

    # THEN the model directory holds exactly what model.package puts in model.tar.gz
    written = sorted(str(p.relative_to(model_dir)) for p in model_dir.rglob("*") if p.is_file())
    assert written == sorted(name for name, _ in artifact_members(model_dir))
    assert sorted(evaluation["model_files"]) == written
    # AND SageMaker's model.tar.gz of that directory loads and predicts as the container does
    archive = sagemaker_tar(model_dir, tmp_path / "model.tar.gz")
    served = tmp_path / "served"
    with tarfile.open(archive) as tar:
        tar.extractall(served, filter="data")
    model = inference.model_fn(str(served))
    rows = BATCH_PATH.read_bytes().splitlines(keepends=True)[:5]
    predictions = inference.output_fn(
        inference.predict_fn(inference.input_fn(b"".join(rows), "text/csv"), model), "text/csv"
    )
    assert len(predictions.strip().splitlines()) == 5
    # AND model.package accepts the directory (the versions it records are the image's)
    build_artifact(model_dir, tmp_path / "packaged.tar.gz")


def test_the_evaluation_scores_the_candidate_as_training_does_and_names_the_data_it_was_trained_on(ridge_run, tmp_path):
    # GIVEN the run on the data set split into two files
    _, evaluation = ridge_run

    # WHEN the same data is trained from the one file by model.train
    reference = train(ABALONE_PATH, tmp_path, candidates=RIDGE)

    # THEN the two files were read as that one data set: same bytes, same hold-out figures
    assert evaluation["data"]["sha256"] == reference.data_sha256
    assert [f["name"] for f in evaluation["data"]["files"]] == ["part-0.csv", "part-1.csv"]
    assert evaluation["data"]["rows"] == 4177
    assert evaluation["candidate"] == {
        "model": "ridge",
        "rmse": reference.holdout.rmse,
        "mae": reference.holdout.mae,
        "cv_rmse": reference.cv["ridge"].rmse,
    }
    assert evaluation["holdout"]["rows"] == reference.n_test == 836
    assert evaluation["incumbent"] == {"present": False}
    # AND the document is the one written to the output data directory
    written = json.loads((ridge_run[0] / "output" / "data" / EVALUATION_FILENAME).read_text())
    assert written == json.loads(json.dumps(evaluation))


def test_the_incumbent_is_scored_on_the_candidates_holdout_rows(ridge_run, tmp_path):
    # GIVEN the ridge model packaged as the production model, in the incumbent channel
    root, ridge = ridge_run
    incumbent = channel_with(tmp_path, "incumbent", {})
    sagemaker_tar(root / "model", incumbent / "model.tar.gz")
    train_dir = channel_with(tmp_path, "train", {"abalone.csv": ABALONE_PATH.read_bytes()})

    # WHEN a histogram gradient boosting candidate is trained on the same data
    evaluation = evaluate(
        train_dir, tmp_path / "model", tmp_path / "out", incumbent_dir=incumbent, candidates=["hist_gradient_boosting"]
    )

    # THEN both are scored on the same rows: the incumbent's score is exactly ridge's own hold-out score
    assert evaluation["holdout"]["sha256"] == ridge["holdout"]["sha256"]
    assert evaluation["incumbent"]["rmse"] == ridge["candidate"]["rmse"]
    assert evaluation["incumbent"]["model"] == "ridge"
    assert evaluation["candidate"]["model"] == "hist_gradient_boosting"
    assert evaluation["candidate"]["rmse"] != evaluation["incumbent"]["rmse"]


def test_an_incumbent_trained_with_other_library_versions_is_left_unscored_with_the_reason(ridge_run, tmp_path):
    # GIVEN an incumbent whose model.json records another scikit-learn than this container's
    root, _ = ridge_run
    card = json.loads((root / "model" / "model.json").read_text())
    card["versions"]["scikit-learn"] = "0.23.2"
    incumbent = channel_with(tmp_path, "incumbent", {})
    with tarfile.open(incumbent / "model.tar.gz", "w:gz") as tar:
        for name in ("model.pkl", "model.json"):
            body = json.dumps(card).encode() if name == "model.json" else (root / "model" / name).read_bytes()
            info = tarfile.TarInfo(name)
            info.size = len(body)
            tar.addfile(info, io.BytesIO(body))
    train_dir = channel_with(tmp_path, "train", {"abalone.csv": ABALONE_PATH.read_bytes()})

    # WHEN the candidate is trained
    evaluation = evaluate(train_dir, tmp_path / "model", tmp_path / "out", incumbent_dir=incumbent, candidates=RIDGE)

    # THEN the candidate is evaluated, the incumbent is not, and the reason is the version guard's
    assert evaluation["incumbent"]["present"] is True
    assert "rmse" not in evaluation["incumbent"]
    assert "scikit-learn 0.23.2" in evaluation["incumbent"]["unscored"]


@pytest.mark.parametrize(
    ("files", "args", "message"),
    [
        ({}, [], "train channel: no data file under"),
        ({"bad.csv": b"M,0.4,0.3\nF,abc\n"}, [], "train channel: not labelled abalone CSV"),
        (
            {"abalone.csv": b"M,0.455,0.365,0.095,0.514,0.2245,0.101,0.15,15\n"},
            ["--candidates", "lasso"],
            "--candidates: unknown ['lasso']",
        ),
    ],
)
def test_bad_input_ends_the_job_with_one_line_naming_the_input_and_the_rule(tmp_path, capsys, files, args, message):
    # GIVEN a train channel the job cannot train on (or an unknown candidate)
    train_dir = channel_with(tmp_path, "train", files)

    # WHEN the entry point runs
    code = main(
        ["--train", str(train_dir), "--model-dir", str(tmp_path / "m"), "--output-data-dir", str(tmp_path / "o"), *args]
    )

    # THEN it exits 1 with one line on stderr, and writes no model
    assert code == 1
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "m" / "model.pkl").exists()


def test_the_sourcedir_archive_runs_as_the_toolkit_runs_it_without_the_repository(tmp_path):
    # GIVEN the code archive make publish uploads, extracted as the toolkit extracts it into /opt/ml/code
    archive = sourcedir.build_sourcedir(tmp_path / "sourcedir.tar.gz")
    assert archive.read_bytes() == sourcedir.sourcedir_bytes()  # reproducible
    code_dir = tmp_path / "opt" / "ml" / "code"
    with tarfile.open(archive) as tar:
        names = tar.getnames()
        tar.extractall(code_dir, filter="data")
    # (no setup.py/requirements.txt: the toolkit would pip install, which network isolation forbids)
    assert names[0] == sourcedir.ENTRY_POINT and not set(sourcedir.FORBIDDEN) & {Path(n).name for n in names}
    train_dir = channel_with(tmp_path / "opt" / "ml", "train", {"abalone.csv": ABALONE_PATH.read_bytes()})
    model_dir, output_dir = tmp_path / "opt" / "ml" / "model", tmp_path / "opt" / "ml" / "output" / "data"

    # WHEN it runs with only the toolkit's variables, the hyperparameters as arguments, from the code folder
    env = {
        "PATH": os.environ.get("PATH", ""),
        "SM_CHANNEL_TRAIN": str(train_dir),
        "SM_MODEL_DIR": str(model_dir),
        "SM_OUTPUT_DATA_DIR": str(output_dir),
    }
    completed = subprocess.run(
        [sys.executable, "-E", sourcedir.ENTRY_POINT, "--candidates", "ridge", "--folds", "5", "--seed", "42"],
        cwd=code_dir, env=env, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip

    # THEN it trains from the archive's own modules and prints the metric the job's MetricDefinitions read
    assert completed.returncode == 0, completed.stderr
    assert "holdout_rmse=" in completed.stdout
    assert (model_dir / "model.pkl").is_file() and (model_dir / "code" / "inference.py").is_file()
    assert json.loads((output_dir / EVALUATION_FILENAME).read_text())["candidate"]["model"] == "ridge"
