"""SageMaker serving handlers: model_fn → input_fn → predict_fn → output_fn."""

from __future__ import annotations

import ast
import json
import math
import sys
from pathlib import Path

import joblib
import numpy as np
import pandas as pd
import pytest
import sklearn.base
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from model.code import inference
from model.data import BATCH_PATH, FEATURE_COLUMNS, NUMERIC_COLUMNS, SEX_VALUES

from .conftest import REPO_ROOT, TrainedModel

ROW = "M,0.455,0.365,0.095,0.514,0.2245,0.101,0.15"
ROW2 = "F,0.53,0.42,0.135,0.677,0.2565,0.1415,0.21"


def score(body: bytes | str, model: object, accept: str = "text/csv") -> str:
    return inference.output_fn(inference.predict_fn(inference.input_fn(body, "text/csv"), model), accept)


# --------------------------------------------------------------------------- round trip


def test_batch_file_gives_one_finite_prediction_per_row(loaded_model: object) -> None:
    # GIVEN the transform input (no header, eight features per line)
    body = BATCH_PATH.read_bytes()
    rows = body.count(b"\n")
    # WHEN it goes through the handlers as SageMaker calls them
    response = score(body, loaded_model)
    # THEN there is exactly one prediction line per input line, each a finite plausible number of rings
    lines = response.splitlines()
    assert response.endswith("\n") and len(lines) == rows == 4177
    values = [float(line) for line in lines]
    assert all(math.isfinite(v) for v in values)
    assert min(values) >= 1 and max(values) <= 29


def test_predictions_are_the_pipelines_own_in_request_order(loaded_model: object) -> None:
    frame = pd.read_csv(BATCH_PATH, header=None, names=list(FEATURE_COLUMNS))
    expected = loaded_model.predict(frame)  # type: ignore[attr-defined]
    got = np.array([float(v) for v in score(BATCH_PATH.read_bytes(), loaded_model).splitlines()])
    np.testing.assert_array_equal(got, expected)  # repr() round-trips floats exactly


def test_str_and_bytes_bodies_and_crlf_lines_give_the_same_answer(loaded_model: object) -> None:
    body = f"{ROW}\n{ROW2}\n"
    assert (
        score(body, loaded_model)
        == score(body.encode(), loaded_model)
        == score(body.replace("\n", "\r\n"), loaded_model)
    )


def test_a_body_without_final_newline_is_accepted(loaded_model: object) -> None:
    assert score(ROW, loaded_model) == score(ROW + "\n", loaded_model)


def test_json_accept_returns_a_predictions_list(loaded_model: object) -> None:
    document = json.loads(score(f"{ROW}\n{ROW2}\n", loaded_model, accept="application/json"))
    csv_values = [float(v) for v in score(f"{ROW}\n{ROW2}\n", loaded_model).splitlines()]
    assert document == {"predictions": csv_values}


@pytest.mark.parametrize("accept", ["text/csv", "text/csv; charset=utf-8", "*/*", "", None])
def test_csv_is_the_default_response_format(loaded_model: object, accept: str | None) -> None:
    prediction = inference.predict_fn(inference.input_fn(ROW, "text/csv"), loaded_model)
    assert inference.output_fn(prediction, accept) == f"{float(prediction[0])!r}\n"


def test_unknown_sex_one_hot_is_never_reached_because_input_rejects_it() -> None:
    # The encoder ignores unknown categories, but input_fn is the contract: M, F or I only.
    with pytest.raises(inference.InputError, match=r"line 1, field 'sex': 'U' is not one of M, F, I"):
        inference.input_fn("U" + ROW[1:], "text/csv")


# --------------------------------------------------------------------------- malformed input


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (
            f"{ROW}\n{ROW2}\nI,abc,0.42,0.135,0.677,0.2565,0.1415,0.21\n",
            "line 3, field 'length': 'abc' is not a number",
        ),
        (f"{ROW}\nF,0.53,,0.135,0.677,0.2565,0.1415,0.21\n", "line 2, field 'diameter': '' is not a number"),
        ("M,0.455,0.365,nan,0.514,0.2245,0.101,0.15\n", "line 1, field 'height': 'nan' is not a finite number"),
        ("M,0.455,0.365,0.095,inf,0.2245,0.101,0.15\n", "line 1, field 'whole_weight': 'inf' is not a finite number"),
        ("M,0.455,0.365,0.095,0.514,-0.2,0.101,0.15\n", "line 1, field 'shucked_weight': '-0.2' is negative"),
        ("M,0.455,0.365,0.095,0.514,0.2245,1_0,0.15\n", "line 1, field 'viscera_weight': '1_0' is not a number"),
        ("X,0.455,0.365,0.095,0.514,0.2245,0.101,0.15\n", "line 1, field 'sex': 'X' is not one of M, F, I"),
        (
            f"{ROW}\n{ROW2},9\n",
            "line 2: expected 8 fields (sex,length,diameter,height,whole_weight,shucked_weight,viscera_weight,shell_weight), got 9",
        ),
        (f"{ROW},15\n{ROW2},9\n", "line 1: expected 8 fields"),
        (
            "M,0.455,0.365,0.095,0.514,0.2245,0.101\n",
            "line 1: expected 8 fields (sex,length,diameter,height,whole_weight,shucked_weight,viscera_weight,shell_weight), got 7",
        ),
        (f"{ROW}\n\n{ROW2}\n", "line 2: empty line"),
        (f"{ROW}\n\n", "line 2: empty line"),
        (",".join(FEATURE_COLUMNS) + f"\n{ROW}\n", "line 1 is a header row"),
        ("", "request body is empty"),
        ("\n", "request body is empty"),
        (b"M,0.4\xff5,0.365,0.095,0.514,0.2245,0.101,0.15\n", "request body is not UTF-8 text"),
    ],
    ids=[
        "not-a-number",
        "empty-field",
        "nan",
        "infinity",
        "negative",
        "underscore-number",
        "unknown-sex",
        "extra-field-on-one-line",
        "rings-column-on-every-line",
        "missing-field",
        "blank-line-inside",
        "blank-line-at-end",
        "header-row",
        "empty-body",
        "only-a-newline",
        "not-utf8",
    ],
)
def test_malformed_requests_fail_naming_the_line_and_field(body: str | bytes, message: str) -> None:
    with pytest.raises(inference.InputError) as error:
        inference.input_fn(body, "text/csv")
    assert str(error.value).startswith(message)


@pytest.mark.parametrize("content_type", ["application/json", "text/plain", "application/x-npy", ""])
def test_content_types_other_than_csv_are_rejected(content_type: str) -> None:
    with pytest.raises(inference.ContentTypeError, match="unsupported content type"):
        inference.input_fn(ROW, content_type)


def test_unsupported_accept_type_is_rejected() -> None:
    with pytest.raises(inference.ContentTypeError, match="unsupported accept type"):
        inference.output_fn(np.array([1.0]), "application/x-recordio-protobuf")


# --------------------------------------------------------------------------- the fast parser agrees with the checked one

_number = st.one_of(
    st.floats(min_value=0, max_value=3, allow_nan=False).map(repr),
    st.integers(min_value=0, max_value=100).map(str),
    st.sampled_from(["", "abc", "nan", "inf", "-1", "1e-3", "1_0", " 0.5", '"0.5"', "0x1", "1.5.2"]),
)
_field_sex = st.one_of(st.sampled_from(SEX_VALUES), st.sampled_from(["", "m", " M", "X", '"F"', "sex"]))
_line = st.builds(
    # sex, seven numbers, sometimes an eighth; then sometimes cut short anywhere
    lambda sex, numbers, extra, cut: ",".join([sex, *numbers, *extra])[:cut],
    _field_sex,
    st.lists(_number, min_size=7, max_size=7),
    st.lists(_number, max_size=1),
    st.one_of(st.none(), st.integers(min_value=0, max_value=60)),
)
_body = st.lists(st.one_of(_line, st.just("")), min_size=1, max_size=6).map(lambda lines: "\n".join(lines))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(body=_body)
def test_fast_parser_never_accepts_what_the_checked_parser_rejects(body: str) -> None:
    # The pandas fast path may only answer when its answer equals the line-by-line parser's.
    try:
        checked = inference._parse_checked(body)
    except inference.InputError:
        checked = None
    try:
        fast = inference._parse_fast(body, body.count("\n") + 1)
    except Exception:
        fast = None
    if checked is None:
        assert fast is None
    elif fast is not None:
        pd.testing.assert_frame_equal(fast, checked)


@settings(max_examples=100, deadline=None)
@given(
    rows=st.lists(
        st.tuples(
            st.sampled_from(SEX_VALUES),
            st.lists(st.floats(min_value=0, max_value=5, allow_nan=False), min_size=7, max_size=7),
        ),
        min_size=1,
        max_size=20,
    )
)
def test_valid_rows_parse_to_exactly_their_values(rows: list[tuple[str, list[float]]]) -> None:
    body = "".join(f"{sex},{','.join(repr(v) for v in values)}\n" for sex, values in rows)
    frame = inference.input_fn(body, "text/csv")
    assert list(frame.columns) == list(FEATURE_COLUMNS)
    assert frame["sex"].tolist() == [sex for sex, _ in rows]
    np.testing.assert_array_equal(frame[list(NUMERIC_COLUMNS)].to_numpy(), np.array([v for _, v in rows]))


# --------------------------------------------------------------------------- model_fn


def test_model_fn_loads_the_pipeline_from_the_model_directory(trained_model: TrainedModel) -> None:
    model = inference.model_fn(str(trained_model.model_dir))
    assert list(model.feature_names_in_) == list(FEATURE_COLUMNS)


def test_model_fn_refuses_a_pickle_from_another_scikit_learn_version(
    trained_model: TrainedModel, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN the model pickled as if by scikit-learn 0.0.1
    model = joblib.load(trained_model.model_dir / inference.MODEL_FILENAME)
    monkeypatch.setattr(sklearn.base, "__version__", "0.0.1")
    joblib.dump(model, tmp_path / inference.MODEL_FILENAME)
    monkeypatch.undo()
    # WHEN the container loads it THEN it refuses, pointing at the requirements pin
    with pytest.raises(RuntimeError, match="another scikit-learn version.*code/requirements.txt"):
        inference.model_fn(str(tmp_path))


def test_model_fn_refuses_a_model_expecting_other_features(tmp_path: Path) -> None:
    from sklearn.linear_model import LinearRegression

    joblib.dump(
        LinearRegression().fit(pd.DataFrame({"a": [0.0, 1.0]}), [0.0, 1.0]), tmp_path / inference.MODEL_FILENAME
    )
    with pytest.raises(RuntimeError, match=r"expects features \['a'\]"):
        inference.model_fn(str(tmp_path))


# --------------------------------------------------------------------------- the file itself


def test_inference_module_is_self_contained_and_valid_python_3_10() -> None:
    # The container runs Python 3.10 and has only code/ and its requirements, not this project.
    tree = ast.parse((REPO_ROOT / "model" / "code" / "inference.py").read_text(), feature_version=(3, 10))
    imported = {
        (node.module or "").split(".")[0] if isinstance(node, ast.ImportFrom) else alias.name.split(".")[0]
        for node in ast.walk(tree)
        if isinstance(node, (ast.Import, ast.ImportFrom))
        for alias in node.names
    }
    assert imported - set(sys.stdlib_module_names) == {"joblib", "numpy", "pandas"}


def test_inference_constants_match_the_training_columns() -> None:
    assert inference.FEATURE_COLUMNS == FEATURE_COLUMNS
    assert inference.NUMERIC_COLUMNS == NUMERIC_COLUMNS
    assert inference.SEX_VALUES == SEX_VALUES
