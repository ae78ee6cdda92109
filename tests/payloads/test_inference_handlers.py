"""SageMaker serving handlers: model_fn → input_fn → predict_fn → output_fn, request to response.

Runs in the model environment (``make test-model``): the serving image's versions.
"""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest

from model.code import inference
from model.data import BATCH_PATH, FEATURE_COLUMNS, feature_matrix

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
    expected = loaded_model.predict(feature_matrix(frame))  # type: ignore[attr-defined]
    response = score(BATCH_PATH.read_bytes(), loaded_model)
    got = np.array([float(v) for v in response.splitlines()])
    assert got.tobytes() == expected.tobytes()  # the text round-trips every float exactly
    assert response == "".join(f"{value!r}\n" for value in expected.tolist())  # and is repr's text


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


def test_an_unknown_sex_is_rejected_because_it_has_no_code() -> None:
    # input_fn is the contract: M, F or I only; the model never sees another code.
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
