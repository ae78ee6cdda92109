"""Inference handlers for the SageMaker scikit-learn serving container (abalone rings model).

The container (``sagemaker-scikit-learn``, framework 1.4-2: Python 3.10) loads this file as
``SAGEMAKER_PROGRAM=inference.py`` from ``/opt/ml/model/code`` after pip-installing
``code/requirements.txt``, then per request calls
``output_fn(predict_fn(input_fn(body, content_type), model_fn(model_dir)), accept)``.
It is self-contained: it imports nothing from this project.

Request (``text/csv``, UTF-8): one abalone per line, no header, exactly the eight feature
columns in training order — ``sex,length,diameter,height,whole_weight,shucked_weight,
viscera_weight,shell_weight`` — and no ``rings``. ``sex`` must be ``M``, ``F`` or ``I``
(anything else is rejected: it is far more often a shifted or garbled row than a new kind of
abalone); every other field must be a finite number >= 0. One final newline is allowed,
blank lines are not (they would shift the join of predictions to input rows). A bad request
fails as a whole with a message naming the first bad line and field, e.g.
``line 3, field 'length': 'abc' is not a number``.

Response: ``text/csv`` (default, also for ``*/*``) is one prediction per line, in request
order, each line ending with ``\\n``: with batch transform ``SplitType: Line``,
``AssembleWith: Line`` and ``JoinSource: Input``, SageMaker appends each prediction to its
input row. ``application/json`` gives ``{"predictions": [...]}``.
"""

from __future__ import annotations

import csv
import io
import json
import logging
import math
import os
import warnings
from typing import Any

import joblib
import numpy as np
import pandas as pd

LOG = logging.getLogger(__name__)

MODEL_FILENAME = "model.joblib"

SEX_COLUMN = "sex"
NUMERIC_COLUMNS = (
    "length",
    "diameter",
    "height",
    "whole_weight",
    "shucked_weight",
    "viscera_weight",
    "shell_weight",
)
FEATURE_COLUMNS = (SEX_COLUMN, *NUMERIC_COLUMNS)
SEX_VALUES = ("M", "F", "I")

CSV = "text/csv"
JSON = "application/json"

_POSITIONAL_DTYPES = {0: str, **{i: "float64" for i in range(1, len(FEATURE_COLUMNS))}}


class InputError(ValueError):
    """The request cannot be scored; the message says where and why."""


class ContentTypeError(ValueError):
    """The request or accept content type is not supported."""


def model_fn(model_dir: str) -> Any:
    """Load the fitted Pipeline; refuse a scikit-learn version other than the training one."""
    path = os.path.join(model_dir, MODEL_FILENAME)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model = joblib.load(path)
    for warning in caught:
        if type(warning.message).__name__ == "InconsistentVersionWarning":
            detail = " ".join(str(warning.message).split())
            raise RuntimeError(
                f"{path} was pickled with another scikit-learn version than this container's: {detail} "
                "code/requirements.txt pins the training version; check that the container installed it "
                "(it needs network access to PyPI at start-up)."
            )
    expected = list(FEATURE_COLUMNS)
    actual = list(getattr(model, "feature_names_in_", expected))
    if actual != expected:
        raise RuntimeError(f"{path} expects features {actual}, this handler sends {expected}")
    LOG.info("loaded %s", path)
    return model


def input_fn(request_body: bytes | str, content_type: str) -> pd.DataFrame:
    """Parse a ``text/csv`` body into a DataFrame with :data:`FEATURE_COLUMNS`."""
    if _media_type(content_type) != CSV:
        raise ContentTypeError(f"unsupported content type {content_type!r}: send {CSV}")
    if isinstance(request_body, (bytes, bytearray, memoryview)):
        try:
            text = bytes(request_body).decode("utf-8")
        except UnicodeDecodeError as exc:
            raise InputError(f"request body is not UTF-8 text: {exc}") from None
    elif isinstance(request_body, str):
        text = request_body
    else:
        raise InputError(f"request body must be bytes or str, got {type(request_body).__name__}")
    if text.endswith("\n"):
        text = text[:-1]
    if not text:
        raise InputError("request body is empty: expected at least one CSV line")
    expected_rows = text.count("\n") + 1
    try:
        frame = _parse_fast(text, expected_rows)
    except Exception:  # any trouble: the line-by-line pass below defines the outcome
        frame = None
    return frame if frame is not None else _parse_checked(text)


def predict_fn(data: pd.DataFrame, model: Any) -> np.ndarray:
    """Predicted rings, one float per input row."""
    return np.asarray(model.predict(data), dtype="float64").reshape(-1)


def output_fn(prediction: np.ndarray, accept: str | None) -> str:
    """Serialise predictions: ``text/csv`` one per line (default), or ``application/json``."""
    media = _media_type(accept or "")
    values = np.asarray(prediction, dtype="float64").reshape(-1).tolist()
    if media in (CSV, "*/*", ""):
        return "".join(line + "\n" for line in map(repr, values))  # repr: shortest exact round trip
    if media == JSON:
        return json.dumps({"predictions": values})
    raise ContentTypeError(f"unsupported accept type {accept!r}: use {CSV} or {JSON}")


# --------------------------------------------------------------------------- parsing


def _media_type(content_type: str | None) -> str:
    return (content_type or "").split(";", 1)[0].strip().lower()


def _parse_fast(text: str, expected_rows: int) -> pd.DataFrame | None:
    """pandas' C parser; returns None unless the result is certainly valid."""
    frame = pd.read_csv(
        io.StringIO(text),
        header=None,
        dtype=_POSITIONAL_DTYPES,
        index_col=False,
        skip_blank_lines=False,
        keep_default_na=False,
        na_filter=False,
        engine="c",
    )
    if frame.shape != (expected_rows, len(FEATURE_COLUMNS)):
        return None
    frame.columns = list(FEATURE_COLUMNS)
    if not frame[SEX_COLUMN].isin(SEX_VALUES).all():
        return None
    numbers = frame[list(NUMERIC_COLUMNS)].to_numpy(dtype="float64")
    if not (np.isfinite(numbers).all() and (numbers >= 0).all()):
        return None
    frame[SEX_COLUMN] = frame[SEX_COLUMN].astype(object)
    return frame


def _parse_checked(text: str) -> pd.DataFrame:
    """Line-by-line parser that defines what is valid; raises InputError at the first problem."""
    sexes: list[str] = []
    numbers: list[list[float]] = []
    for number, line in enumerate(text.split("\n"), start=1):
        line = line[:-1] if line.endswith("\r") else line
        if not line.strip():
            raise InputError(f"line {number}: empty line")
        try:
            fields = next(csv.reader([line]))
        except csv.Error as exc:
            raise InputError(f"line {number}: not valid CSV ({exc})") from None
        if len(fields) != len(FEATURE_COLUMNS):
            raise InputError(
                f"line {number}: expected {len(FEATURE_COLUMNS)} fields "
                f"({','.join(FEATURE_COLUMNS)}), got {len(fields)}"
            )
        if number == 1 and tuple(field.strip().lower() for field in fields) == FEATURE_COLUMNS:
            raise InputError("line 1 is a header row: send the feature values only, without a header")
        sex = fields[0]
        if sex not in SEX_VALUES:
            raise InputError(f"line {number}, field {SEX_COLUMN!r}: {sex!r} is not one of {', '.join(SEX_VALUES)}")
        row = []
        for name, raw in zip(NUMERIC_COLUMNS, fields[1:], strict=True):
            try:
                if "_" in raw:  # float() accepts "1_000"; a CSV number does not
                    raise ValueError(raw)
                value = float(raw)
            except ValueError:
                raise InputError(f"line {number}, field {name!r}: {raw!r} is not a number") from None
            if not math.isfinite(value):
                raise InputError(f"line {number}, field {name!r}: {raw!r} is not a finite number")
            if value < 0:
                raise InputError(f"line {number}, field {name!r}: {raw!r} is negative")
            row.append(value)
        sexes.append(sex)
        numbers.append(row)
    frame = pd.DataFrame(np.asarray(numbers, dtype="float64"), columns=list(NUMERIC_COLUMNS))
    frame.insert(0, SEX_COLUMN, pd.Series(sexes, dtype=object))
    return frame
