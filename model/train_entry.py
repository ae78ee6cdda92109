"""SageMaker script-mode entry point: train the abalone model as a training job of the scikit-learn image.

    python train_entry.py [--candidates ridge,random_forest] [--seed 42] [--folds 5] [--test-size 0.2]

The SageMaker training toolkit (``sagemaker-training``, in the ``sagemaker-scikit-learn`` image)
extracts the job's ``sourcedir.tar.gz`` (``model/sourcedir.py``: this file at its root, the
``model`` package beside it) into ``/opt/ml/code`` and runs ``python train_entry.py`` there, the
job's hyperparameters as arguments (``--key value``, keys sorted) and its paths as environment
variables, each of which an option overrides (a run outside a container):

``SM_CHANNEL_TRAIN`` (``--train``)
    the ``train`` channel: labelled abalone CSV files (UCI format, no header; the dated
    ``training/abalone/dt=…/`` objects ``make publish`` writes), read in name order as one data set.
``SM_CHANNEL_INCUMBENT`` (``--incumbent``, optional)
    the ``incumbent`` channel: the production model's ``model.tar.gz``, scored on this run's hold-out.
``SM_MODEL_DIR`` (``--model-dir``)
    written: ``model.pkl``, ``model.json``, ``code/*.py`` — what ``model.package`` puts in
    ``model.tar.gz``, so the job's ``model.tar.gz`` is served as it is by the batch transform.
``SM_OUTPUT_DATA_DIR`` (``--output-data-dir``)
    written: ``evaluation.json`` (SageMaker uploads it in ``output.tar.gz``): the candidate's and the
    incumbent's scores on the same hold-out rows, the rows' digest, the data trained on, the versions.

It also prints ``holdout_rmse=…;`` (and ``incumbent_rmse=…;``) for the job's ``MetricDefinitions``.

A bad input (no CSV in the channel, an unreadable incumbent archive) ends the process with exit code
1 and one line naming the input and the rule, which the toolkit reports as the job's FailureReason.
An incumbent that exists but cannot be loaded in this container (trained with other library versions:
``model_metadata``'s guard) is not an error: ``incumbent.unscored`` says why, and the gate then
leaves the candidate to a person.

Python 3.10 to 3.12, the image's libraries only (no network: the job runs with network isolation).
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import os
import pickle
import shutil
import sys
import tarfile
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from model.archive import CODE_DIR, CODE_FILES
from model.candidates import CANDIDATES
from model.code.model_metadata import METADATA_FILENAME, MODEL_FILENAME, ModelMismatchError, read_metadata
from model.data import load_abalone
from model.metrics import Metrics, score
from model.train import DEFAULT_SEED, holdout_split, train

EVALUATION_FILENAME = "evaluation.json"
EVALUATION_FORMAT = 1
#: The training toolkit's environment variables (aws/sagemaker-training-toolkit, ENVIRONMENT_VARIABLES.md).
ENV_TRAIN, ENV_INCUMBENT = "SM_CHANNEL_TRAIN", "SM_CHANNEL_INCUMBENT"
ENV_MODEL_DIR, ENV_OUTPUT_DATA_DIR = "SM_MODEL_DIR", "SM_OUTPUT_DATA_DIR"


class TrainingInputError(ValueError):
    """A channel or option the job cannot train with; the message names it and the rule."""


def data_files(channel: Path) -> list[Path]:
    """The channel's data files in name order (markers and hidden files, ``_*`` and ``.*``, left out)."""
    if not channel.is_dir():
        raise TrainingInputError(f"train channel: {channel} is not a directory (is the channel 'train' configured?)")
    files = sorted(
        p for p in channel.rglob("*") if p.is_file() and not p.name.startswith(("_", ".")) and p.stat().st_size > 0
    )
    if not files:
        raise TrainingInputError(f"train channel: no data file under {channel} (expected labelled abalone CSV)")
    return files


def combine(files: Sequence[Path], target: Path) -> dict[str, Any]:
    """Write the files one after another to ``target`` (each ending in a newline); describe what was read."""
    digest = hashlib.sha256()
    described = []
    with target.open("wb") as out:
        for path in files:
            body = path.read_bytes()
            if not body.endswith(b"\n"):
                body += b"\n"
            out.write(body)
            digest.update(body)
            described.append({"name": path.name, "bytes": len(body), "sha256": hashlib.sha256(body).hexdigest()})
    return {"files": described, "sha256": digest.hexdigest()}


def holdout_digest(x_test: np.ndarray, y_test: np.ndarray) -> str:
    """Names the hold-out rows: two runs scored the same rows exactly when their digests are equal."""
    digest = hashlib.sha256()
    for array in (x_test, y_test):
        digest.update(np.ascontiguousarray(array, dtype="float64").tobytes())
    return digest.hexdigest()


def _safe_extract(archive: Path, target: Path) -> None:
    """Extract regular files and folders only, never outside ``target`` (any Python 3.10-3.12)."""
    with tarfile.open(archive, mode="r:gz") as tar:
        for member in tar.getmembers():
            name = Path(member.name)
            if name.is_absolute() or ".." in name.parts or not (member.isfile() or member.isdir()):
                raise TrainingInputError(f"incumbent channel: {archive.name} holds {member.name!r}, not a model file")
            if member.isdir():
                (target / name).mkdir(parents=True, exist_ok=True)
                continue
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            source = tar.extractfile(member)
            if source is not None:
                (target / name).write_bytes(source.read())


def score_incumbent(channel: Path | None, x_test: np.ndarray, y_test: np.ndarray, work: Path) -> dict[str, Any]:
    """The incumbent's hold-out scores, or why it has none; ``{"present": False}`` without the channel."""
    if channel is None or not channel.is_dir():
        return {"present": False}
    archives = sorted(p for p in channel.rglob("*.tar.gz") if p.is_file())
    if len(archives) != 1:
        raise TrainingInputError(f"incumbent channel: expected one model.tar.gz under {channel}, found {len(archives)}")
    described: dict[str, Any] = {
        "present": True,
        "artifact_sha256": hashlib.sha256(archives[0].read_bytes()).hexdigest(),
    }
    model_dir = work / "incumbent"
    try:
        _safe_extract(archives[0], model_dir)
    except (tarfile.TarError, OSError) as exc:
        raise TrainingInputError(f"incumbent channel: {archives[0].name} is not a gzip'd tar archive ({exc})") from None
    try:
        card = read_metadata(str(model_dir))
    except ModelMismatchError as exc:
        return {**described, "unscored": str(exc)}
    described["model"] = card.get("model")
    pipeline = pickle.loads((model_dir / MODEL_FILENAME).read_bytes())
    result = score(y_test, pipeline.predict(x_test))
    return {**described, "rmse": result.rmse, "mae": result.mae}


def write_model_dir(trained: Path, model_dir: Path) -> list[str]:
    """Copy the serving artifact's files into ``model_dir`` (model.package's layout); their names."""
    model_dir.mkdir(parents=True, exist_ok=True)
    names = [MODEL_FILENAME, METADATA_FILENAME]
    for name in names:
        shutil.copyfile(trained / name, model_dir / name)
    (model_dir / "code").mkdir(exist_ok=True)
    for name in CODE_FILES:
        shutil.copyfile(CODE_DIR / name, model_dir / "code" / name)
    return [*names, *(f"code/{name}" for name in CODE_FILES)]


def evaluate(
    train_dir: Path,
    model_dir: Path,
    output_data_dir: Path,
    *,
    incumbent_dir: Path | None = None,
    candidates: Sequence[str] | None = None,
    seed: int = DEFAULT_SEED,
    folds: int = 5,
    test_size: float = 0.2,
) -> dict[str, Any]:
    """Train, write the model directory and ``evaluation.json``; return the evaluation."""
    with tempfile.TemporaryDirectory(prefix="train-entry-") as scratch:
        work = Path(scratch)
        data = combine(data_files(train_dir), work / "train.csv")
        try:
            frame = load_abalone(work / "train.csv")
        except (ValueError, KeyError) as exc:
            raise TrainingInputError(f"train channel: not labelled abalone CSV: {exc}") from None
        metrics: Metrics = train(
            work / "train.csv", work / "model", seed=seed, folds=folds, test_size=test_size, candidates=candidates
        )
        _, x_test, _, y_test = holdout_split(frame, seed=seed, test_size=test_size)
        incumbent = score_incumbent(incumbent_dir, x_test, y_test, work)
        files = write_model_dir(work / "model", model_dir)
    evaluation: dict[str, Any] = {
        "format": EVALUATION_FORMAT,
        "metric": "rmse",
        "holdout": {
            "rows": int(len(y_test)),
            "seed": seed,
            "test_size": test_size,
            "sha256": holdout_digest(x_test, y_test),
        },
        "candidate": {
            "model": metrics.chosen,
            "rmse": metrics.holdout.rmse,
            "mae": metrics.holdout.mae,
            "cv_rmse": metrics.cv[metrics.chosen].rmse,
        },
        "incumbent": incumbent,
        "mean_predictor": {"rmse": metrics.holdout_mean_predictor.rmse, "mae": metrics.holdout_mean_predictor.mae},
        "data": {**data, "rows": metrics.n_rows},
        "model_files": files,
        "versions": metrics.versions,
        "training": metrics.to_dict(),
    }
    output_data_dir.mkdir(parents=True, exist_ok=True)
    (output_data_dir / EVALUATION_FILENAME).write_text(json.dumps(evaluation, indent=2, sort_keys=True) + "\n")
    return evaluation


def _required(value: str | None, option: str, env: str) -> Path:
    if not value:
        raise TrainingInputError(f"{option}: not given and {env} is not set (run as a SageMaker training job)")
    return Path(value)


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Train the abalone model as a SageMaker training job.")
    parser.add_argument("--train", default=os.environ.get(ENV_TRAIN), help=f"train channel (default ${ENV_TRAIN})")
    parser.add_argument("--incumbent", default=os.environ.get(ENV_INCUMBENT), help="incumbent channel (optional)")
    parser.add_argument("--model-dir", default=os.environ.get(ENV_MODEL_DIR), help=f"default ${ENV_MODEL_DIR}")
    parser.add_argument("--output-data-dir", default=os.environ.get(ENV_OUTPUT_DATA_DIR), help="evaluation.json")
    parser.add_argument("--candidates", default=",".join(CANDIDATES), help="comma-separated regressors")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--test-size", type=float, default=0.2)
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        candidates = [c.strip() for c in str(args.candidates).split(",") if c.strip()]
        unknown = [c for c in candidates if c not in CANDIDATES]
        if unknown or not candidates:
            raise TrainingInputError(f"--candidates: unknown {unknown or 'none given'}; choose from {list(CANDIDATES)}")
        if not 2 <= args.folds <= 20 or not 0.05 <= args.test_size <= 0.5:
            raise TrainingInputError("--folds must be 2-20 and --test-size 0.05-0.5")
        evaluation = evaluate(
            _required(args.train, "--train", ENV_TRAIN),
            _required(args.model_dir, "--model-dir", ENV_MODEL_DIR),
            _required(args.output_data_dir, "--output-data-dir", ENV_OUTPUT_DATA_DIR),
            incumbent_dir=Path(args.incumbent) if args.incumbent else None,
            candidates=candidates,
            seed=args.seed,
            folds=args.folds,
            test_size=args.test_size,
        )
    except TrainingInputError as exc:
        sys.stderr.write(f"{exc}\n")
        return 1
    out = io.StringIO()
    out.write(f"candidate {evaluation['candidate']['model']}: holdout_rmse={evaluation['candidate']['rmse']:.6f};\n")
    incumbent = evaluation["incumbent"]
    if "rmse" in incumbent:
        out.write(f"incumbent {incumbent.get('model')}: incumbent_rmse={incumbent['rmse']:.6f};\n")
    elif incumbent.get("present"):
        out.write(f"incumbent not scored: {incumbent['unscored']}\n")
    sys.stdout.write(out.getvalue())
    return 0


if __name__ == "__main__":
    sys.exit(main())
