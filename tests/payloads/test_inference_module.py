"""The serving code itself: the image's Python and libraries only, no pandas needed, training's columns.

Runs in the model environment (``make test-model``): the serving image's versions.
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys

from model import data, env
from model.code import abalone_features
from model.data import BATCH_PATH
from model.package import CODE_DIR, CODE_FILES

from .conftest import REPO_ROOT, TrainedModel


def test_inference_module_is_self_contained_valid_image_python_and_uses_only_the_images_libraries() -> None:
    # The container runs the image's Python (3.12) and has only code/ and the image's libraries, not this
    # project: inference.py and every module shipped beside it import the standard library, those and each
    # other only.
    major, minor = (int(part) for part in env.image_python().split("."))
    shipped = {path.stem: path for path in CODE_DIR.glob("*.py") if path.name != "__init__.py"}
    assert "inference" in shipped and sorted(f"{name}.py" for name in shipped) == list(CODE_FILES)
    imported: set[str] = set()
    for path in shipped.values():
        tree = ast.parse(path.read_text(), feature_version=(major, minor))
        imported |= {
            (node.module or "").split(".")[0] if isinstance(node, ast.ImportFrom) else alias.name.split(".")[0]
            for node in ast.walk(tree)
            if isinstance(node, (ast.Import, ast.ImportFrom))
            for alias in node.names
        }
    assert imported - set(sys.stdlib_module_names) - set(shipped) == {"numpy", "pyarrow", "sklearn"}
    assert {"numpy", "pyarrow", "scikit-learn"} <= set(env.image_pins())


_SERVE = """
import json, sys
if sys.argv[4] == "blocked":
    sys.modules["pandas"] = None  # import pandas raises ImportError, as if the image had none
sys.path.insert(0, sys.argv[1])
import inference
imported_by_handlers = "pandas" in sys.modules
m = inference.model_fn(sys.argv[2])
body = open(sys.argv[3], "rb").read()
response = inference.output_fn(inference.predict_fn(inference.input_fn(body, "text/csv"), m), "text/csv")
print(json.dumps({"response": response, "imported_by_handlers": imported_by_handlers}))
"""


def serve(trained_model: TrainedModel, pandas: str) -> dict[str, object]:
    args = [str(REPO_ROOT / "model" / "code"), str(trained_model.model_dir), str(BATCH_PATH), pandas]
    completed = subprocess.run(
        [sys.executable, "-I", "-c", _SERVE, *args], capture_output=True, text=True, timeout=120, check=False
    )
    assert completed.returncode == 0, completed.stderr
    result: dict[str, object] = json.loads(completed.stdout)
    return result


def test_serving_needs_no_pandas(trained_model: TrainedModel) -> None:
    # pandas costs ~0.3 s of cold start. scikit-learn 1.9 imports it itself when present
    # (sklearn.utils.fixes), which the handlers cannot avoid; they must not need it:
    # GIVEN pandas unimportable WHEN the handlers load the model and score the batch file
    without, with_pandas = serve(trained_model, "blocked"), serve(trained_model, "available")
    # THEN they answer exactly what they answer with pandas, and importing them imports no pandas
    assert without["response"] == with_pandas["response"]
    assert with_pandas["imported_by_handlers"] is False


def test_inference_constants_match_the_training_columns() -> None:
    assert abalone_features.FEATURE_COLUMNS == data.FEATURE_COLUMNS
    assert abalone_features.SEX_VALUES == data.SEX_VALUES
    assert sorted(abalone_features.SEX_CODES) == sorted(abalone_features.SEX_VALUES)
