"""The artifact's record, ``model.json``: what training wrote, checked against this container.

``model_fn`` reads it before unpickling anything and refuses a container that breaks
:func:`version_problems`' rule, or a model expecting another input than the one
:mod:`abalone_features` defines.

The rule (what a container may differ in from the training environment, and why):

* **Python**: the same major.minor; any patch. The image's Dockerfile installs Amazon Linux's
  ``python3.12`` and applies security updates at build time without pinning the patch, so a
  rebuild of the same tag may bring another 3.12.x. A patch release keeps the C ABI the
  image's cp312 wheels are built for, and the pickle (protocol 5) does not depend on it.
* **numpy and scikit-learn** (:data:`PICKLE_LIBRARIES`): the same major.minor; a different
  patch release (``X.Y.Z``, digits only) is accepted. These are the only libraries the pickle
  names (measured: ``numpy.dtype``, ``numpy._core.numeric._frombuffer``, and scikit-learn's
  Pipeline, RandomForestRegressor, DecisionTreeRegressor and ``sklearn.tree._tree.Tree``), and
  their pickled state changes between minor releases (the tree node layout in scikit-learn
  1.3, ``numpy._core`` in numpy 2.0), while patch releases are bug fixes that keep it; a
  security rebuild that bumps a patch must not take production down. Pre-releases, dev and
  local versions carry no such promise: they must match exactly.
* **Everything else** (scipy, joblib, threadpoolctl, narwhals, pandas, pyarrow): not
  checked here. None is named by the pickle: scipy is only imported by scikit-learn, joblib
  only runs the forest's (single-threaded) predict, and the model is pickled with plain
  ``pickle``, not joblib's format. ``model.json`` records them; ``model.package`` requires
  every recorded version to be exactly the image's pin at build time.

scikit-learn checks its own record as well: unpickling an estimator saved by another version
emits ``InconsistentVersionWarning`` (on any difference, patches included). ``model_fn``
applies the same rule to the versions that warning carries, so a pickle that does not match
its ``model.json`` cannot load silently either.
"""

from __future__ import annotations

import json
import os
import platform
import re
from collections.abc import Mapping
from typing import Any

import numpy as np

if __package__:  # imported as model.code.model_metadata (training, tests, tools)
    from .abalone_features import FEATURE_COLUMNS, SEX_CODES
else:  # the serving container: code/ is on sys.path and these files are top-level modules
    from abalone_features import FEATURE_COLUMNS, SEX_CODES

MODEL_FILENAME = "model.pkl"
METADATA_FILENAME = "model.json"
METADATA_FORMAT = 1
#: The libraries the pickled Pipeline names (besides Python itself): their major.minor must match.
PICKLE_LIBRARIES = ("numpy", "scikit-learn")
#: A final release ``X.Y`` or ``X.Y.Z``: the only form whose patch may differ.
_RELEASE = re.compile(r"^(\d+)\.(\d+)(?:\.\d+)?$")


class ModelMismatchError(RuntimeError):
    """The artifact was made for other library versions or another input than this handler's."""


def same_minor(trained: object, running: str) -> bool:
    """Whether ``running`` may load what ``trained`` wrote: equal, or final releases of one major.minor."""
    if str(trained) == running:
        return True
    want, have = _RELEASE.match(str(trained)), _RELEASE.match(running)
    return bool(want and have and want.groups() == have.groups())


def version_problems(trained: Mapping[str, object], running: Mapping[str, str]) -> list[str]:
    """``"<name> <trained>, this container has <running>"`` for Python and each of :data:`PICKLE_LIBRARIES`
    whose running version may not load what the trained one wrote (:func:`same_minor`)."""
    return [
        f"{name} {trained.get(name)}, this container has {running[name]}"
        for name in ("python", *PICKLE_LIBRARIES)
        if not same_minor(trained.get(name), running[name])
    ]


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
    problems = version_problems(metadata.get("versions") or {}, running_versions())
    if problems:
        raise ModelMismatchError(
            f"{path}: the model was trained with {'; '.join(problems)}: a pickle only loads reliably with "
            "the Python, numpy and scikit-learn minor versions that wrote it; retrain in the model "
            "environment (requirements-model.txt pins the serving image's versions)"
        )
    if metadata.get("features") != list(FEATURE_COLUMNS) or metadata.get("sex_codes") != SEX_CODES:
        raise ModelMismatchError(
            f"{path}: the model expects features {metadata.get('features')} with sex codes "
            f"{metadata.get('sex_codes')}, this handler sends {list(FEATURE_COLUMNS)} with {SEX_CODES}"
        )
    return metadata


def running_versions() -> dict[str, str]:
    """Python's and :data:`PICKLE_LIBRARIES`' versions in this process."""
    import sklearn  # what unpickling the Pipeline imports anyway

    return {"python": platform.python_version(), "numpy": np.__version__, "scikit-learn": sklearn.__version__}
