"""The serving code itself: Python 3.10, the image's libraries only, no pandas, training's columns.

Runs in the model environment (``make test-model``): the serving image's versions.
"""

from __future__ import annotations

import ast
import subprocess
import sys

from model import data, env
from model.code import abalone_features
from model.data import BATCH_PATH
from model.package import CODE_DIR, CODE_FILES

from .conftest import REPO_ROOT, TrainedModel


def test_inference_module_is_self_contained_valid_python_3_10_and_uses_only_the_images_libraries() -> None:
    # The container runs Python 3.10 and has only code/ and the image's libraries, not this project:
    # inference.py and every module shipped beside it import the standard library, those and each other only.
    shipped = {path.stem: path for path in CODE_DIR.glob("*.py") if path.name != "__init__.py"}
    assert "inference" in shipped and sorted(f"{name}.py" for name in shipped) == list(CODE_FILES)
    imported: set[str] = set()
    for path in shipped.values():
        tree = ast.parse(path.read_text(), feature_version=(3, 10))
        imported |= {
            (node.module or "").split(".")[0] if isinstance(node, ast.ImportFrom) else alias.name.split(".")[0]
            for node in ast.walk(tree)
            if isinstance(node, (ast.Import, ast.ImportFrom))
            for alias in node.names
        }
    assert imported - set(sys.stdlib_module_names) - set(shipped) == {"numpy", "pyarrow", "sklearn"}
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
    assert abalone_features.FEATURE_COLUMNS == data.FEATURE_COLUMNS
    assert abalone_features.SEX_VALUES == data.SEX_VALUES
    assert sorted(abalone_features.SEX_CODES) == sorted(abalone_features.SEX_VALUES)
