"""Inference handlers for the SageMaker scikit-learn serving container (abalone rings model).

The container (``sagemaker-scikit-learn:1.4-2``: Python 3.10, numpy 2.1.0, scikit-learn 1.4.2,
pyarrow 17.0.0) loads this file as ``SAGEMAKER_PROGRAM=inference.py`` from
``/opt/ml/model/code`` and per request calls
``output_fn(predict_fn(input_fn(body, content_type), model_fn(model_dir)), accept)``.
It is self-contained: it imports nothing from this project and only what the image ships
(the artifact has no ``code/requirements.txt``: the model runs with network isolation).

Artifact (``/opt/ml/model``): ``model.pkl`` (the fitted scikit-learn Pipeline, plain pickle)
and ``model.json`` (what training recorded: feature order, the sex encoding, library
versions). ``model_fn`` reads ``model.json`` first and refuses, before unpickling anything,
a Python, numpy or scikit-learn version other than the one that trained the model.

Request (``text/csv``, UTF-8): one abalone per line, no header, exactly the eight feature
columns in training order — ``sex,length,diameter,height,whole_weight,shucked_weight,
viscera_weight,shell_weight`` — and no ``rings``. ``sex`` must be ``M``, ``F`` or ``I``
(anything else is rejected: it is far more often a shifted or garbled row than a new kind of
abalone); every other field must be a finite number >= 0. One final newline is allowed,
blank lines are not (they would shift the join of predictions to input rows). A bad request
fails as a whole with a message naming the first bad line and field, e.g.
``line 3, field 'length': 'abc' is not a number``.

``input_fn`` gives the model's input: a float64 matrix, one row per line, column 0 the sex
code (:data:`SEX_CODES`), columns 1-7 the numbers. Parsing is pyarrow's CSV reader when the
body is plain (no quotes, BOM or bare CR) and its result certainly valid; anything else goes
through the line-by-line parser that defines validity and writes the error messages.
pyarrow is imported at the first request, not with this module (``model_fn`` needs it not).

Response: ``text/csv`` (default, also for ``*/*``) is one prediction per line, in request
order, each line ending with ``\\n`` and the number written as Python's ``repr`` writes it
(shortest text that reads back to the same float): with batch transform ``SplitType: Line``,
``AssembleWith: Line`` and ``JoinSource: Input``, SageMaker appends each prediction to its
input row. ``application/json`` gives ``{"predictions": [...]}``.
"""

from __future__ import annotations

import csv
import functools
import json
import logging
import math
import os
import pickle
import platform
import types
import warnings
from typing import Any

import numpy as np

LOG = logging.getLogger(__name__)

MODEL_FILENAME = "model.pkl"
METADATA_FILENAME = "model.json"
METADATA_FORMAT = 1
#: Libraries whose exact version a pickled Pipeline needs (besides Python's major.minor).
PICKLE_LIBRARIES = ("numpy", "scikit-learn")

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
#: Column 0 of the model's input: the one-hot encoder's categories in sorted order, as the
#: Pipeline fitted on the strings F, I, M would order them.
SEX_CODES = {"F": 0.0, "I": 1.0, "M": 2.0}

CSV = "text/csv"
JSON = "application/json"

_WIDTH = len(FEATURE_COLUMNS)
_COLUMN_NAMES = [f"c{i}" for i in range(_WIDTH)]
#: Where pyarrow's shortest float text is the same as ``repr``'s: positional notation on both
#: sides (repr switches to an exponent below 1e-4 and from 1e16, pyarrow 17 from 1e10) and
#: not a whole number (repr writes ``9.0``, pyarrow ``9``). Anything else is written by repr.
_PLAIN_FLOAT_RANGE = (1e-4, 1e10)


@functools.cache
def _arrow() -> types.SimpleNamespace:
    """pyarrow and the CSV options, imported at the first request: ``model_fn`` does not need them.

    (Importing ``pyarrow.csv`` costs about 0.1 s; the container's health check waits for
    ``model_fn`` only, so it is paid once, by the first request.)
    """
    import pyarrow as pa
    import pyarrow.csv as pa_csv

    return types.SimpleNamespace(
        pa=pa,
        csv=pa_csv,
        read=pa_csv.ReadOptions(column_names=_COLUMN_NAMES, use_threads=True),
        parse=pa_csv.ParseOptions(delimiter=",", ignore_empty_lines=False),
        convert=pa_csv.ConvertOptions(
            column_types={"c0": pa.dictionary(pa.int32(), pa.string()), **{c: pa.float64() for c in _COLUMN_NAMES[1:]}},
            null_values=[],
            strings_can_be_null=False,
            quoted_strings_can_be_null=False,
        ),
        write=pa_csv.WriteOptions(include_header=False),
    )


class InputError(ValueError):
    """The request cannot be scored; the message says where and why."""


class ContentTypeError(ValueError):
    """The request or accept content type is not supported."""


class ModelMismatchError(RuntimeError):
    """The artifact was made for other library versions or another input than this handler's."""


# --------------------------------------------------------------------------- handlers


def model_fn(model_dir: str) -> Any:
    """Load the fitted Pipeline after checking ``model.json`` against this container."""
    metadata = _read_metadata(model_dir)
    path = os.path.join(model_dir, MODEL_FILENAME)
    with open(path, "rb") as stream, warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model = pickle.load(stream)
    for warning in caught:
        if type(warning.message).__name__ == "InconsistentVersionWarning":
            detail = " ".join(str(warning.message).split())
            raise ModelMismatchError(f"{path}: {detail}")
    if getattr(model, "n_features_in_", None) != _WIDTH or not hasattr(model, "predict"):
        raise ModelMismatchError(f"{path} is not a fitted model of {_WIDTH} features: {type(model).__name__}")
    LOG.info("loaded %s (trained with %s)", path, metadata["versions"])
    return model


def input_fn(request_body: bytes | str, content_type: str) -> np.ndarray:
    """Parse a ``text/csv`` body into the model's input (``n × 8`` float64, sex coded)."""
    if _media_type(content_type) != CSV:
        raise ContentTypeError(f"unsupported content type {content_type!r}: send {CSV}")
    if isinstance(request_body, str):
        data = request_body.encode("utf-8", "surrogatepass")
    elif isinstance(request_body, (bytes, bytearray, memoryview)):
        data = bytes(request_body)
    else:
        raise InputError(f"request body must be bytes or str, got {type(request_body).__name__}")
    if data.endswith(b"\n"):
        data = data[:-1]
    if not data:
        raise InputError("request body is empty: expected at least one CSV line")
    matrix = _parse_fast(data) if _plain(data) else None
    return matrix if matrix is not None else _parse_checked(_decode(data))


def predict_fn(data: np.ndarray, model: Any) -> np.ndarray:
    """Predicted rings, one float per input row."""
    return np.asarray(model.predict(data), dtype="float64").reshape(-1)


def output_fn(prediction: np.ndarray, accept: str | None) -> str:
    """Serialise predictions: ``text/csv`` one per line (default), or ``application/json``."""
    media = _media_type(accept or "")
    values = np.ascontiguousarray(prediction, dtype="float64").reshape(-1)
    if media in (CSV, "*/*", ""):
        if _arrow_writes_like_repr(values):
            return _write_fast(values)
        return "".join(line + "\n" for line in map(repr, values.tolist()))  # repr: shortest exact round trip
    if media == JSON:
        return json.dumps({"predictions": values.tolist()})
    raise ContentTypeError(f"unsupported accept type {accept!r}: use {CSV} or {JSON}")


# --------------------------------------------------------------------------- model.json


def _read_metadata(model_dir: str) -> dict[str, Any]:
    path = os.path.join(model_dir, METADATA_FILENAME)
    try:
        with open(path, encoding="utf-8") as stream:
            metadata = json.load(stream)
    except FileNotFoundError:
        raise ModelMismatchError(f"{path} missing: the artifact was not built by model.package") from None
    if not isinstance(metadata, dict) or metadata.get("format") != METADATA_FORMAT:
        raise ModelMismatchError(f"{path}: expected format {METADATA_FORMAT}, got {metadata!r:.200}")
    trained = metadata.get("versions") or {}
    running = running_versions()
    for name in ("python", *PICKLE_LIBRARIES):
        want, have = trained.get(name), running[name]
        if name == "python":
            want = ".".join(str(want).split(".")[:2])
        if want != have:
            raise ModelMismatchError(
                f"{path}: the model was trained with {name} {want}, this container has {have}: "
                "a pickle only loads reliably with the versions that wrote it; retrain in the model "
                "environment (requirements-model.txt pins the serving image's versions)"
            )
    if metadata.get("features") != list(FEATURE_COLUMNS) or metadata.get("sex_codes") != SEX_CODES:
        raise ModelMismatchError(
            f"{path}: the model expects features {metadata.get('features')} with sex codes "
            f"{metadata.get('sex_codes')}, this handler sends {list(FEATURE_COLUMNS)} with {SEX_CODES}"
        )
    return metadata


def running_versions() -> dict[str, str]:
    """Python's major.minor and the versions of :data:`PICKLE_LIBRARIES` in this process."""
    import sklearn  # what unpickling the Pipeline imports anyway

    return {
        "python": ".".join(platform.python_version_tuple()[:2]),
        "numpy": np.__version__,
        "scikit-learn": sklearn.__version__,
    }


# --------------------------------------------------------------------------- parsing


def _media_type(content_type: str | None) -> str:
    return (content_type or "").split(";", 1)[0].strip().lower()


def _decode(data: bytes) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InputError(f"request body is not UTF-8 text: {exc}") from None


def _plain(data: bytes) -> bool:
    """No quoting, no byte-order mark, no CR other than in CRLF: what the fast parser may read."""
    if b'"' in data or data.startswith(b"\xef\xbb\xbf"):
        return False
    return b"\r" not in data or (data.count(b"\r") == data.count(b"\r\n") and not data.endswith(b"\r"))


def _parse_fast(data: bytes) -> np.ndarray | None:
    """pyarrow's multi-threaded CSV reader; returns None unless the result is certainly valid."""
    arrow = _arrow()
    try:
        table = arrow.csv.read_csv(
            arrow.pa.py_buffer(data), read_options=arrow.read, parse_options=arrow.parse, convert_options=arrow.convert
        )
    except (arrow.pa.ArrowInvalid, arrow.pa.ArrowNotImplementedError):
        return None
    rows = table.num_rows
    if rows != data.count(b"\n") + 1:
        return None
    matrix = np.empty((rows, _WIDTH), dtype="float64")
    start = 0
    for chunk in table.column(0).chunks:  # dictionary-encoded: map each chunk's few strings
        if len(chunk):
            values = chunk.dictionary.to_pylist()
            if not all(value in SEX_CODES for value in values):
                return None  # an unknown sex: let the checked parser say where
            codes = np.array([SEX_CODES[value] for value in values])
            matrix[start : start + len(chunk), 0] = codes[_buffer_view(chunk.indices, np.int32)]
            start += len(chunk)
    for column in range(1, _WIDTH):
        start = 0
        for chunk in table.column(column).chunks:
            if chunk.null_count:
                return None
            if not len(chunk):
                continue
            matrix[start : start + len(chunk), column] = _buffer_view(chunk, np.float64)
            start += len(chunk)
    numbers = matrix[:, 1:]
    if not (numbers.min() >= 0 and numbers.max() < np.inf):  # False for any NaN too
        return None  # nan, inf or a negative number: let the checked parser say which
    return matrix


def _buffer_view(array: Any, dtype: type) -> np.ndarray:
    """The values of a null-free primitive Arrow array as a numpy view (no copy, no pandas)."""
    offset = array.offset * np.dtype(dtype).itemsize
    return np.frombuffer(array.buffers()[1], dtype=dtype, count=len(array), offset=offset)


def _parse_checked(text: str) -> np.ndarray:
    """Line-by-line parser that defines what is valid; raises InputError at the first problem."""
    rows: list[list[float]] = []
    for number, line in enumerate(text.split("\n"), start=1):
        line = line[:-1] if line.endswith("\r") else line
        if not line.strip():
            raise InputError(f"line {number}: empty line")
        try:
            fields = next(csv.reader([line]))
        except csv.Error as exc:
            raise InputError(f"line {number}: not valid CSV ({exc})") from None
        if len(fields) != _WIDTH:
            expected = f"{_WIDTH} fields ({','.join(FEATURE_COLUMNS)})"
            raise InputError(f"line {number}: expected {expected}, got {len(fields)}")
        if number == 1 and tuple(field.strip().lower() for field in fields) == FEATURE_COLUMNS:
            raise InputError("line 1 is a header row: send the feature values only, without a header")
        sex = fields[0]
        if sex not in SEX_VALUES:
            raise InputError(f"line {number}, field {SEX_COLUMN!r}: {sex!r} is not one of {', '.join(SEX_VALUES)}")
        row = [SEX_CODES[sex]]
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
        rows.append(row)
    return np.asarray(rows, dtype="float64").reshape(-1, _WIDTH)


# --------------------------------------------------------------------------- writing


def _arrow_writes_like_repr(values: np.ndarray) -> bool:
    low, high = _PLAIN_FLOAT_RANGE
    magnitude = np.abs(values)
    return bool(values.size) and bool(((magnitude >= low) & (magnitude < high) & (values != np.floor(values))).all())


def _write_fast(values: np.ndarray) -> str:
    pa = _arrow().pa
    array = pa.Array.from_buffers(pa.float64(), len(values), [None, pa.py_buffer(values)])
    sink = pa.BufferOutputStream()
    _arrow().csv.write_csv(pa.Table.from_arrays([array], names=["prediction"]), sink, write_options=_arrow().write)
    return sink.getvalue().to_pybytes().decode("ascii")
