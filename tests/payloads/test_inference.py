"""SageMaker serving handlers: model_fn → input_fn → predict_fn → output_fn.

Runs in the model environment (``make test-model``): the serving image's versions.
"""

from __future__ import annotations

import ast
import json
import math
import pickle
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import sklearn.base
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from model import env
from model.code import inference
from model.data import BATCH_PATH, FEATURE_COLUMNS, SEX_VALUES, feature_matrix

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
    expected = loaded_model.predict(feature_matrix(frame))  # type: ignore[attr-defined]
    response = score(BATCH_PATH.read_bytes(), loaded_model)
    got = np.array([float(v) for v in response.splitlines()])
    assert got.tobytes() == expected.tobytes()  # the text round-trips every float exactly
    assert response == "".join(f"{value!r}\n" for value in expected.tolist())  # and is repr's text


def test_the_fast_parser_is_the_one_that_reads_a_plain_batch() -> None:
    data = BATCH_PATH.read_bytes()[:-1]
    fast = inference._parse_fast(data)
    assert inference._plain(data) and fast is not None
    assert fast.tobytes() == inference._parse_checked(data.decode()).tobytes()


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


# --------------------------------------------------------------------------- the fast paths agree with the checked ones

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
    return inference._parse_checked(text)


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
    fast = inference._parse_fast(data)
    assert fast is not None  # plain valid input never needs the slow path
    matrix = inference.input_fn(body, "text/csv")
    assert matrix.tobytes() == fast.tobytes()
    assert matrix[:, 0].tolist() == [inference.SEX_CODES[sex] for sex, _ in rows]
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
    assert inference._arrow_writes_like_repr(values)
    assert inference._write_fast(values) == "".join(f"{v!r}\n" for v in values.tolist())


# --------------------------------------------------------------------------- model_fn


def write_card(model_dir: Path, **changes: object) -> None:
    card = json.loads((model_dir / inference.METADATA_FILENAME).read_text())
    versions = dict(card["versions"])
    versions.update(changes.pop("versions", {}))  # type: ignore[call-overload]
    card.update(changes, versions=versions)
    (model_dir / inference.METADATA_FILENAME).write_text(json.dumps(card))


@pytest.fixture
def model_copy(trained_model: TrainedModel, tmp_path: Path) -> Path:
    for name in (inference.MODEL_FILENAME, inference.METADATA_FILENAME):
        (tmp_path / name).write_bytes((trained_model.model_dir / name).read_bytes())
    return tmp_path


def test_model_fn_loads_the_pipeline_from_the_model_directory(trained_model: TrainedModel) -> None:
    model = inference.model_fn(str(trained_model.model_dir))
    assert model.n_features_in_ == len(FEATURE_COLUMNS)


@pytest.mark.parametrize(
    ("versions", "message"),
    [
        ({"scikit-learn": "1.6.1"}, "trained with scikit-learn 1.6.1, this container has 1.4.2"),  # issue 10.5
        ({"numpy": "2.5.5"}, "trained with numpy 2.5.5, this container has 2.1.0"),
        ({"python": "3.11.7"}, "trained with python 3.11, this container has 3.10"),
    ],
)
def test_model_fn_refuses_other_versions_before_unpickling(
    model_copy: Path, versions: dict[str, str], message: str
) -> None:
    # GIVEN a model recorded as trained with other versions, and a pickle that would not even load
    write_card(model_copy, versions=versions)
    (model_copy / inference.MODEL_FILENAME).write_bytes(b"not a pickle")
    # WHEN the container loads it THEN it refuses with the versions, not with an unpickling error
    with pytest.raises(inference.ModelMismatchError, match=message):
        inference.model_fn(str(model_copy))


def test_model_fn_refuses_a_pickle_from_another_scikit_learn_version(
    trained_model: TrainedModel, model_copy: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN the model pickled as if by scikit-learn 0.0.1 (a model.json that does not say so)
    model = pickle.loads((trained_model.model_dir / inference.MODEL_FILENAME).read_bytes())
    monkeypatch.setattr(sklearn.base, "__version__", "0.0.1")
    (model_copy / inference.MODEL_FILENAME).write_bytes(pickle.dumps(model))
    monkeypatch.undo()
    # WHEN the container loads it THEN scikit-learn's own version record is checked too
    with pytest.raises(inference.ModelMismatchError, match="0.0.1"):
        inference.model_fn(str(model_copy))


def test_model_fn_refuses_an_artifact_without_model_json(model_copy: Path) -> None:
    (model_copy / inference.METADATA_FILENAME).unlink()
    with pytest.raises(inference.ModelMismatchError, match="model.json missing"):
        inference.model_fn(str(model_copy))


@pytest.mark.parametrize(
    "changes",
    [{"features": ["a", "b"]}, {"sex_codes": {"M": 0.0, "F": 1.0, "I": 2.0}}, {"format": 2}],
    ids=["other-features", "other-sex-codes", "other-format"],
)
def test_model_fn_refuses_a_model_expecting_another_input(model_copy: Path, changes: dict[str, object]) -> None:
    write_card(model_copy, **changes)
    with pytest.raises(inference.ModelMismatchError, match="expects features|expected format"):
        inference.model_fn(str(model_copy))


def test_model_fn_refuses_a_model_of_another_width(model_copy: Path) -> None:
    from sklearn.linear_model import LinearRegression

    (model_copy / inference.MODEL_FILENAME).write_bytes(pickle.dumps(LinearRegression().fit([[0.0], [1.0]], [0, 1])))
    with pytest.raises(inference.ModelMismatchError, match="not a fitted model of 8 features"):
        inference.model_fn(str(model_copy))


# --------------------------------------------------------------------------- the file itself


def test_inference_module_is_self_contained_valid_python_3_10_and_uses_only_the_images_libraries() -> None:
    # The container runs Python 3.10 and has only code/ and the image's libraries, not this project.
    tree = ast.parse((REPO_ROOT / "model" / "code" / "inference.py").read_text(), feature_version=(3, 10))
    imported = {
        (node.module or "").split(".")[0] if isinstance(node, ast.ImportFrom) else alias.name.split(".")[0]
        for node in ast.walk(tree)
        if isinstance(node, (ast.Import, ast.ImportFrom))
        for alias in node.names
    }
    assert imported - set(sys.stdlib_module_names) == {"numpy", "pyarrow", "sklearn"}
    assert {"numpy", "pyarrow", "scikit-learn"} <= set(env.image_pins())


def test_serving_never_imports_pandas(trained_model: TrainedModel) -> None:
    # pandas costs 0.3 s of cold start: neither the handlers nor the shipped model may import it.
    script = (
        "import sys; sys.path.insert(0, sys.argv[1]); import inference\n"
        "m = inference.model_fn(sys.argv[2])\n"
        "inference.output_fn(inference.predict_fn(inference.input_fn(open(sys.argv[3], 'rb').read(), 'text/csv'), m), 'text/csv')\n"
        "print('pandas' in sys.modules)\n"
    )
    completed = subprocess.run(
        [
            sys.executable,
            "-I",
            "-c",
            script,
            str(REPO_ROOT / "model" / "code"),
            str(trained_model.model_dir),
            str(BATCH_PATH),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    assert completed.stdout.strip() == "False"


def test_inference_constants_match_the_training_columns() -> None:
    from model import data

    assert inference.FEATURE_COLUMNS == data.FEATURE_COLUMNS
    assert inference.SEX_VALUES == data.SEX_VALUES
    assert sorted(inference.SEX_CODES) == sorted(inference.SEX_VALUES)
