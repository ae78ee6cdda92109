"""The artifact's record, ``model.json``: what training wrote, checked against this container.

``model_fn`` reads it before unpickling anything and refuses a Python, numpy or scikit-learn
version other than the one that trained the model, or a model expecting another input than the
one :mod:`abalone_features` defines.
"""

from __future__ import annotations

import json
import os
import platform
from typing import Any

import numpy as np

if __package__:  # imported as model.code.model_metadata (training, tests, tools)
    from .abalone_features import FEATURE_COLUMNS, SEX_CODES
else:  # the serving container: code/ is on sys.path and these files are top-level modules
    from abalone_features import FEATURE_COLUMNS, SEX_CODES

MODEL_FILENAME = "model.pkl"
METADATA_FILENAME = "model.json"
METADATA_FORMAT = 1
#: Libraries whose exact version a pickled Pipeline needs (besides Python's major.minor).
PICKLE_LIBRARIES = ("numpy", "scikit-learn")


class ModelMismatchError(RuntimeError):
    """The artifact was made for other library versions or another input than this handler's."""


def read_metadata(model_dir: str) -> dict[str, Any]:
    """``model_dir``'s ``model.json``, or ModelMismatchError when it does not fit this container or input."""
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
