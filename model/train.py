"""Train the abalone rings regressor: a scikit-learn Pipeline chosen by cross-validation.

    python -m model.train [--data data/abalone/abalone.data] [--out model/artifacts]

The model is a scikit-learn Pipeline, built only from scikit-learn classes so that the
pickle loads in the SageMaker scikit-learn container without this project. Its input is the
matrix ``inference.input_fn`` produces (``model.data.feature_matrix``: column 0 the sex
code, columns 1-7 the numerics), which keeps pandas out of the serving path. Linear
candidates one-hot the sex code and standardise the numerics first
(``ColumnTransformer``); tree candidates take the matrix as it is.

Run it in the model environment (``make model``): the pickle is only loadable with the
Python, numpy and scikit-learn minor versions that wrote it, and those must be the serving
image's (``requirements-model.txt``; ``model.package`` refuses anything else).

Procedure (all seeds fixed, default 42):

1. 80/20 split (``train_test_split(random_state=seed)``).
2. On the 80 %, 5-fold shuffled cross-validation of each candidate regressor (and of the
   mean predictor, for reference); the candidate with the lowest mean CV RMSE wins.
3. The winner is fitted on the 80 % and scored on the 20 % hold-out, beside the mean
   predictor fitted on the same 80 %. The shipped ``model.pkl`` (plain pickle, protocol 5:
   faster to load than joblib's format, and one library less in the compatibility surface)
   is exactly that fitted pipeline, so the hold-out figures in ``metrics.json`` describe the
   artifact itself. ``model.json`` beside it records what ``model_fn`` checks: the feature
   order, the sex codes and the library versions.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import logging
import os
import pickle
import platform
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import joblib
import narwhals
import numpy as np
import pandas
import pyarrow
import scipy
import sklearn
import threadpoolctl
from sklearn.dummy import DummyRegressor
from sklearn.model_selection import KFold, cross_validate, train_test_split

from model.candidates import CANDIDATES, single_threaded, tree_pipeline
from model.code.abalone_features import FEATURE_COLUMNS, SEX_CODES
from model.code.model_metadata import METADATA_FILENAME, METADATA_FORMAT, MODEL_FILENAME
from model.data import ABALONE_PATH, TARGET_COLUMN, feature_matrix, load_abalone
from model.env import ARTIFACTS_DIR
from model.metrics import METRICS_FILENAME, Metrics, Score, format_report, score

LOG = logging.getLogger(__name__)

DEFAULT_OUT_DIR = ARTIFACTS_DIR
PICKLE_PROTOCOL = 5
DEFAULT_SEED = 42


def train(
    data_path: str | os.PathLike[str] = ABALONE_PATH,
    out_dir: str | os.PathLike[str] = DEFAULT_OUT_DIR,
    *,
    seed: int = DEFAULT_SEED,
    test_size: float = 0.2,
    folds: int = 5,
    candidates: Sequence[str] | None = None,
) -> Metrics:
    """Choose, fit and save the model; returns (and writes) its metrics.

    Writes ``out_dir/model.pkl`` (the fitted Pipeline), ``out_dir/model.json`` (what
    ``model_fn`` checks) and ``out_dir/metrics.json``.
    """
    started = time.perf_counter()
    names = list(candidates) if candidates is not None else list(CANDIDATES)
    unknown = [n for n in names if n not in CANDIDATES]
    if unknown or not names:
        raise ValueError(f"unknown candidates {unknown}; choose from {list(CANDIDATES)}")

    frame = load_abalone(data_path)
    x_train, x_test, y_train, y_test = holdout_split(frame, seed=seed, test_size=test_size)
    splitter = KFold(n_splits=folds, shuffle=True, random_state=seed)

    cv: dict[str, Score] = {}
    for name in [*names, "mean_predictor"]:
        mean = name == "mean_predictor"
        result = cross_validate(
            tree_pipeline(DummyRegressor(strategy="mean")) if mean else CANDIDATES[name](seed),
            x_train,
            y_train,
            cv=splitter,
            scoring=("neg_root_mean_squared_error", "neg_mean_absolute_error"),
        )
        rmse, mae = -result["test_neg_root_mean_squared_error"], -result["test_neg_mean_absolute_error"]
        cv[name] = Score(
            rmse=float(rmse.mean()), mae=float(mae.mean()), rmse_std=float(rmse.std()), mae_std=float(mae.std())
        )
        LOG.info("cv %-24s rmse %.3f ± %.3f  mae %.3f", name, cv[name].rmse, cv[name].rmse_std, cv[name].mae)

    chosen = min(names, key=lambda n: cv[n].rmse)
    model = single_threaded(CANDIDATES[chosen](seed).fit(x_train, y_train))
    baseline = tree_pipeline(DummyRegressor(strategy="mean")).fit(x_train, y_train)
    holdout = score(y_test, model.predict(x_test))
    holdout_mean = score(y_test, baseline.predict(x_test))
    LOG.info(
        "chosen %s: hold-out rmse %.3f mae %.3f (mean predictor rmse %.3f)",
        chosen,
        holdout.rmse,
        holdout.mae,
        holdout_mean.rmse,
    )

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    versions = library_versions()
    (out / MODEL_FILENAME).write_bytes(pickle.dumps(model, protocol=PICKLE_PROTOCOL))
    model_card = {
        "format": METADATA_FORMAT,
        "features": list(FEATURE_COLUMNS),
        "sex_codes": SEX_CODES,
        "model": chosen,
        "versions": versions,
    }
    (out / METADATA_FILENAME).write_text(json.dumps(model_card, indent=2, sort_keys=True) + "\n")
    metrics = Metrics(
        chosen=chosen,
        cv=cv,
        holdout=holdout,
        holdout_mean_predictor=holdout_mean,
        n_rows=len(frame),
        n_train=len(x_train),
        n_test=len(x_test),
        folds=folds,
        seed=seed,
        data_sha256=hashlib.sha256(Path(data_path).read_bytes()).hexdigest(),
        versions=versions,
        train_seconds=round(time.perf_counter() - started, 3),
    )
    (out / METRICS_FILENAME).write_text(json.dumps(metrics.to_dict(), indent=2, sort_keys=True) + "\n")
    return metrics


def holdout_split(
    frame: pandas.DataFrame, *, seed: int = DEFAULT_SEED, test_size: float = 0.2
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """``(x_train, x_test, y_train, y_test)``: the model's input and ``rings``, split as :func:`train` splits them.

    The hold-out of a training run, and so the rows a quality gate scores another model on
    (``model.train_entry``): the same frame, seed and size give the same rows.
    """
    features, target = feature_matrix(frame), frame[TARGET_COLUMN].to_numpy(dtype="float64")
    x_train, x_test, y_train, y_test = train_test_split(features, target, test_size=test_size, random_state=seed)
    return x_train, x_test, y_train, y_test


def library_versions() -> dict[str, str]:
    """Python and every library of the serving image this process trained with."""
    return {
        "python": platform.python_version(),
        "numpy": np.__version__,
        "scikit-learn": sklearn.__version__,
        "scipy": scipy.__version__,
        "joblib": joblib.__version__,
        "threadpoolctl": threadpoolctl.__version__,
        "narwhals": narwhals.__version__,
        "pandas": pandas.__version__,
        "pyarrow": pyarrow.__version__,
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Train the abalone model: model.pkl, model.json, metrics.json.")
    parser.add_argument("--data", default=str(ABALONE_PATH), help="abalone.data (no header)")
    parser.add_argument("--out", default=str(DEFAULT_OUT_DIR), help="output directory (default model/artifacts)")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--candidates", nargs="+", choices=list(CANDIDATES), help="regressors to choose from (all)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    metrics = train(args.data, args.out, seed=args.seed, folds=args.folds, candidates=args.candidates)
    written = ", ".join((MODEL_FILENAME, METADATA_FILENAME, METRICS_FILENAME))
    sys.stdout.write(format_report(metrics) + f"\n\nwrote {written} to {args.out}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
