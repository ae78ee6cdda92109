"""Inference handlers for the SageMaker scikit-learn serving container (abalone rings model).

The container (``sagemaker-scikit-learn:1.9-0``: Python 3.12, numpy 2.5.1, scikit-learn 1.9.0,
pyarrow 25.0.0) loads this file as ``SAGEMAKER_PROGRAM=inference.py`` from
``/opt/ml/model/code`` and per request calls
``output_fn(predict_fn(input_fn(body, content_type), model_fn(model_dir)), accept)``.
It is self-contained with the modules beside it in ``code/`` (``abalone_features``,
``model_metadata``, ``csv_codec``): they import nothing from this project and only what the
image ships (the artifact has no ``code/requirements.txt``: the model runs with network isolation).

Artifact (``/opt/ml/model``): ``model.pkl`` (the fitted scikit-learn Pipeline, plain pickle)
and ``model.json`` (what training recorded: feature order, the sex encoding, library
versions). ``model_fn`` reads ``model.json`` first (:mod:`model_metadata`) and refuses, before
unpickling anything, a Python, numpy or scikit-learn of another minor version than the one
that trained the model (a patch release of the same minor loads: the rule and its reasons are
in :mod:`model_metadata`), then holds scikit-learn's own ``InconsistentVersionWarning`` to
the same rule.

Request: ``text/csv``, parsed by :mod:`csv_codec` into the model's input (a bad request fails
as a whole, naming the first bad line and field). Response: ``text/csv`` (default, also for
``*/*``) is one prediction per line, in request order, each written as Python's ``repr`` writes
it: with batch transform ``SplitType: Line``, ``AssembleWith: Line`` and ``JoinSource: Input``,
SageMaker appends each prediction to its input row. ``application/json`` gives
``{"predictions": [...]}``.
"""

from __future__ import annotations

import json
import logging
import os
import pickle
import warnings
from typing import Any

import numpy as np

if __package__:  # imported as model.code.inference (training, tests, tools)
    from .abalone_features import WIDTH
    from .csv_codec import InputError, read_body, write_lines
    from .model_metadata import MODEL_FILENAME, ModelMismatchError, read_metadata, same_minor
else:  # the serving container: code/ is on sys.path and these files are top-level modules
    from abalone_features import WIDTH
    from csv_codec import InputError, read_body, write_lines
    from model_metadata import MODEL_FILENAME, ModelMismatchError, read_metadata, same_minor

#: The four handlers, and the errors they raise (callers catch them as ``inference.InputError``, …).
__all__ = ["ContentTypeError", "InputError", "ModelMismatchError", "input_fn", "model_fn", "output_fn", "predict_fn"]

LOG = logging.getLogger(__name__)

CSV = "text/csv"
JSON = "application/json"


class ContentTypeError(ValueError):
    """The request or accept content type is not supported."""


def model_fn(model_dir: str) -> Any:
    """Load the fitted Pipeline after checking ``model.json`` against this container."""
    metadata = read_metadata(model_dir)
    path = os.path.join(model_dir, MODEL_FILENAME)
    with open(path, "rb") as stream, warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model = pickle.load(stream)
    # scikit-learn's own record of the version that pickled each estimator (one warning per
    # estimator, every tree of the forest) is held to model.json's rule.
    pickled_by = {
        (
            str(getattr(w.message, "original_sklearn_version", None)),
            str(getattr(w.message, "current_sklearn_version", "")),
        )
        for w in caught
        if type(w.message).__name__ == "InconsistentVersionWarning"
    }
    for original, current in sorted(pickled_by):
        if not same_minor(original, current):
            raise ModelMismatchError(
                f"{path}: pickled by scikit-learn {original}, this container has {current} "
                "(scikit-learn's InconsistentVersionWarning): another minor version, not loaded"
            )
        note = "%s: pickled by scikit-learn %s, this container has %s: same minor, loaded"
        LOG.warning(note, path, original, current)
    if getattr(model, "n_features_in_", None) != WIDTH or not hasattr(model, "predict"):
        raise ModelMismatchError(f"{path} is not a fitted model of {WIDTH} features: {type(model).__name__}")
    LOG.info("loaded %s (trained with %s)", path, metadata["versions"])
    return model


def input_fn(request_body: bytes | str, content_type: str) -> np.ndarray:
    """Parse a ``text/csv`` body into the model's input (``n × 8`` float64, sex coded)."""
    if _media_type(content_type) != CSV:
        raise ContentTypeError(f"unsupported content type {content_type!r}: send {CSV}")
    return read_body(request_body)


def predict_fn(data: np.ndarray, model: Any) -> np.ndarray:
    """Predicted rings, one float per input row."""
    return np.asarray(model.predict(data), dtype="float64").reshape(-1)


def output_fn(prediction: np.ndarray, accept: str | None) -> str:
    """Serialise predictions: ``text/csv`` one per line (default), or ``application/json``."""
    media = _media_type(accept or "")
    values = np.ascontiguousarray(prediction, dtype="float64").reshape(-1)
    if media in (CSV, "*/*", ""):
        return write_lines(values)
    if media == JSON:
        return json.dumps({"predictions": values.tolist()})
    raise ContentTypeError(f"unsupported accept type {accept!r}: use {CSV} or {JSON}")


def _media_type(content_type: str | None) -> str:
    return (content_type or "").split(";", 1)[0].strip().lower()
