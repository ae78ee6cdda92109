"""The CSV wire format: a ``text/csv`` request body to the model's input, predictions to lines.

Request (UTF-8): one abalone per line, no header, exactly the eight feature columns in training
order — ``sex,length,diameter,height,whole_weight,shucked_weight,viscera_weight,shell_weight`` —
and no ``rings``. ``sex`` must be ``M``, ``F`` or ``I`` (anything else is rejected: it is far
more often a shifted or garbled row than a new kind of abalone); every other field must be a
finite number >= 0. One final newline is allowed, blank lines are not (they would shift the join
of predictions to input rows). A bad request fails as a whole with an :class:`InputError` naming
the first bad line and field, e.g. ``line 3, field 'length': 'abc' is not a number``.

The model's input is a float64 matrix, one row per line, column 0 the sex code
(``SEX_CODES``), columns 1-7 the numbers. Parsing is pyarrow's CSV reader when the body is plain
(no quotes, BOM or bare CR) and its result certainly valid; anything else goes through the
line-by-line parser that defines validity and writes the error messages.

Response: one prediction per line, in request order, each line ending with ``\\n`` and the
number written as Python's ``repr`` writes it (shortest text that reads back to the same float).

pyarrow is imported at the first request, not with this module (``model_fn`` needs it not).
"""

from __future__ import annotations

import csv
import functools
import math
import types
from typing import Any

import numpy as np

if __package__:  # imported as model.code.csv_codec (training, tests, tools)
    from .abalone_features import FEATURE_COLUMNS, NUMERIC_COLUMNS, SEX_CODES, SEX_COLUMN, SEX_VALUES, WIDTH
else:  # the serving container: code/ is on sys.path and these files are top-level modules
    from abalone_features import FEATURE_COLUMNS, NUMERIC_COLUMNS, SEX_CODES, SEX_COLUMN, SEX_VALUES, WIDTH

_COLUMN_NAMES = [f"c{i}" for i in range(WIDTH)]
#: Where pyarrow's shortest float text is the same as ``repr``'s: positional notation on both
#: sides (repr switches to an exponent below 1e-4 and from 1e16, pyarrow 17 and 25 from 1e10) and
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


def read_body(request_body: bytes | str) -> np.ndarray:
    """The model's input (``n × 8`` float64, sex coded) for a request body; InputError if it is not valid."""
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
    matrix = parse_fast(data) if plain(data) else None
    return matrix if matrix is not None else parse_checked(_decode(data))


def write_lines(values: np.ndarray) -> str:
    """One prediction per line, each as ``repr`` writes it."""
    if arrow_writes_like_repr(values):
        return write_fast(values)
    return "".join(line + "\n" for line in map(repr, values.tolist()))  # repr: shortest exact round trip


def _decode(data: bytes) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InputError(f"request body is not UTF-8 text: {exc}") from None


def plain(data: bytes) -> bool:
    """No quoting, no byte-order mark, no CR other than in CRLF: what the fast parser may read."""
    if b'"' in data or data.startswith(b"\xef\xbb\xbf"):
        return False
    return b"\r" not in data or (data.count(b"\r") == data.count(b"\r\n") and not data.endswith(b"\r"))


def parse_fast(data: bytes) -> np.ndarray | None:
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
    matrix = np.empty((rows, WIDTH), dtype="float64")
    start = 0
    for chunk in table.column(0).chunks:  # dictionary-encoded: map each chunk's few strings
        if len(chunk):
            values = chunk.dictionary.to_pylist()
            if not all(value in SEX_CODES for value in values):
                return None  # an unknown sex: let the checked parser say where
            codes = np.array([SEX_CODES[value] for value in values])
            matrix[start : start + len(chunk), 0] = codes[_buffer_view(chunk.indices, np.int32)]
            start += len(chunk)
    for column in range(1, WIDTH):
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


def parse_checked(text: str) -> np.ndarray:
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
        if len(fields) != WIDTH:
            expected = f"{WIDTH} fields ({','.join(FEATURE_COLUMNS)})"
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
    return np.asarray(rows, dtype="float64").reshape(-1, WIDTH)


def arrow_writes_like_repr(values: np.ndarray) -> bool:
    """Whether pyarrow writes every value as ``repr`` does (all in :data:`_PLAIN_FLOAT_RANGE`, none whole)."""
    low, high = _PLAIN_FLOAT_RANGE
    magnitude = np.abs(values)
    return bool(values.size) and bool(((magnitude >= low) & (magnitude < high) & (values != np.floor(values))).all())


def write_fast(values: np.ndarray) -> str:
    """The values one per line, written by pyarrow's CSV writer (only where it writes what ``repr`` does)."""
    pa = _arrow().pa
    array = pa.Array.from_buffers(pa.float64(), len(values), [None, pa.py_buffer(values)])
    sink = pa.BufferOutputStream()
    _arrow().csv.write_csv(pa.Table.from_arrays([array], names=["prediction"]), sink, write_options=_arrow().write)
    return sink.getvalue().to_pybytes().decode("ascii")
