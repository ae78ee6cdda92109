"""The handlers' fast paths (pyarrow's CSV reader and writer) answer exactly what the checked ones do.

Runs in the model environment (``make test-model``): the serving image's versions.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from model.code import abalone_features, csv_codec, inference
from model.data import BATCH_PATH, FEATURE_COLUMNS, SEX_VALUES


def test_the_fast_parser_is_the_one_that_reads_a_plain_batch() -> None:
    data = BATCH_PATH.read_bytes()[:-1]
    fast = csv_codec.parse_fast(data)
    assert csv_codec.plain(data) and fast is not None
    assert fast.tobytes() == csv_codec.parse_checked(data.decode()).tobytes()


_number = st.one_of(
    st.floats(min_value=0, max_value=3, allow_nan=False).map(repr),
    st.integers(min_value=0, max_value=100).map(str),
    st.sampled_from(
        ["", "abc", "nan", "inf", "-1", "-0", "+1", "1e-3", "1E5", "1.", ".5", "1_0", " 0.5", "0.5 ", '"0.5"']
        + ["0x1", "1.5.2", "١٢", "1e", "e5", "Infinity", "0.1\r", "\ufeff1", "0.1\x00"]
    ),
)
_field_sex = st.one_of(
    st.sampled_from(SEX_VALUES), st.sampled_from(["", "m", " M", "M ", "X", '"F"', "sex", "\ufeffM", "I\r", "é"])
)
_line = st.builds(
    # sex, seven numbers, sometimes an eighth; then sometimes cut short anywhere
    lambda sex, numbers, extra, cut: ",".join([sex, *numbers, *extra])[:cut],
    _field_sex,
    st.lists(_number, min_size=7, max_size=7),
    st.lists(_number, max_size=1),
    st.one_of(st.none(), st.integers(min_value=0, max_value=60)),
)
_body = st.builds(
    lambda lines, newline, final: newline.join(lines) + (newline if final else ""),
    st.lists(st.one_of(_line, _line, _line, st.just(""), st.just(",".join(FEATURE_COLUMNS))), min_size=1, max_size=6),
    st.sampled_from(["\n", "\n", "\r\n", "\r"]),
    st.booleans(),
)


def reference_parse(body: str) -> np.ndarray:
    """What input_fn must answer: the line-by-line parser's result or its error."""
    text = body[:-1] if body.endswith("\n") else body
    if not text:
        raise inference.InputError("request body is empty: expected at least one CSV line")
    return csv_codec.parse_checked(text)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(body=_body, as_bytes=st.booleans())
def test_input_fn_answers_exactly_what_the_checked_parser_answers(body: str, as_bytes: bool) -> None:
    # The pyarrow path may only answer when its answer is the line-by-line parser's, bit for bit;
    # otherwise the checked parser answers, with its message naming the line and field.
    try:
        expected: np.ndarray | str = reference_parse(body)
    except inference.InputError as error:
        expected = str(error)
    try:
        got: np.ndarray | str = inference.input_fn(body.encode() if as_bytes else body, "text/csv")
    except inference.InputError as error:
        got = str(error)
    if isinstance(expected, str):
        assert got == expected
    else:
        assert isinstance(got, np.ndarray) and got.dtype == np.float64
        assert got.shape == expected.shape and got.tobytes() == expected.tobytes()


@settings(max_examples=100, deadline=None)
@given(
    rows=st.lists(
        st.tuples(
            st.sampled_from(SEX_VALUES),
            st.lists(st.floats(min_value=0, max_value=5, allow_nan=False), min_size=7, max_size=7),
        ),
        min_size=1,
        max_size=20,
    ),
    crlf=st.booleans(),
)
def test_valid_rows_parse_on_the_fast_path_to_exactly_their_values(
    rows: list[tuple[str, list[float]]], crlf: bool
) -> None:
    newline = "\r\n" if crlf else "\n"
    body = "".join(f"{sex},{','.join(repr(v) for v in values)}{newline}" for sex, values in rows)
    data = body.encode()[:-1]
    fast = csv_codec.parse_fast(data)
    assert fast is not None  # plain valid input never needs the slow path
    matrix = inference.input_fn(body, "text/csv")
    assert matrix.tobytes() == fast.tobytes()
    assert matrix[:, 0].tolist() == [abalone_features.SEX_CODES[sex] for sex, _ in rows]
    assert matrix[:, 1:].tobytes() == np.array([v for _, v in rows], dtype="float64").tobytes()


_prediction = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.floats(min_value=1, max_value=30),
    st.integers(min_value=-(10**17), max_value=10**17).map(float),
    st.sampled_from([0.0, -0.0, 1e-4, 9.999999999999999e-05, 9999999999.999998, 1e10, 10000000000.5, 1e16, 5e-324]),
    st.floats(min_value=1e9, max_value=1e11),
)


@settings(max_examples=300, deadline=None)
@given(values=st.lists(_prediction, min_size=1, max_size=30))
def test_csv_output_is_reprs_text_for_any_float(values: list[float]) -> None:
    array = np.array(values, dtype="float64")
    assert inference.output_fn(array, "text/csv") == "".join(f"{v!r}\n" for v in array.tolist())


@pytest.mark.parametrize("scale", [1e-4, 1e-2, 1.0, 30.0, 1e6, 1e9])
def test_pyarrows_float_text_is_reprs_on_a_large_sample(scale: float) -> None:
    # The pyarrow writer is used only where its shortest text is repr's; check that on many values.
    values = np.random.default_rng(int(scale * 1e4) % 2**32).uniform(scale, scale * 10, 50_000)
    values = values[values < 1e10]
    assert csv_codec.arrow_writes_like_repr(values)
    assert csv_codec.write_fast(values) == "".join(f"{v!r}\n" for v in values.tolist())
