"""Build ``model.tar.gz``, the artifact the SageMaker scikit-learn container loads.

    python -m model.package [--model-dir model/artifacts] [--out model/artifacts/model.tar.gz]

Layout (what ``model_fn`` and the container expect under ``/opt/ml/model``)::

    model.pkl
    model.json
    code/*.py            inference.py and the modules beside it (model/code/, but __init__.py)

No ``code/requirements.txt``: the container installs nothing at start-up (the model runs
with network isolation), so the model must have been trained with the image's own Python,
numpy and scikit-learn. Two rules, one per moment:

* build time (here, the versions we choose): ``build_artifact`` refuses a model whose
  ``model.json`` records any library version other than ``requirements-model.txt`` pins (the
  image's), exactly, or another Python minor (the image does not pin its patch release);
* serving time (the image AWS runs, which a rebuild may have patched): ``model_fn`` refuses
  another minor version of Python, numpy or scikit-learn and accepts a patch release of the
  same minor (``model.code.model_metadata``, where the reasons are written).

The archive is reproducible: entries in that fixed order, mtime 0, owner root (0/0, no
names), mode 0644, and a gzip header without a timestamp or file name. The same inputs
give the same bytes. Standard library only: packaging runs in either environment.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from model.archive import CODE_DIR, CODE_FILES, reproducible_tar_gz, write_atomically
from model.code.model_metadata import METADATA_FILENAME, MODEL_FILENAME, PICKLE_LIBRARIES
from model.env import ARTIFACTS_DIR, DEFAULT_ARTIFACT, REQUIREMENTS_PATH, image_pins, image_python

ARTIFACT_NAME = DEFAULT_ARTIFACT.name
DEFAULT_MODEL_DIR = ARTIFACTS_DIR


def check_versions(model_dir: str | os.PathLike[str], requirements: str | os.PathLike[str] = REQUIREMENTS_PATH) -> None:
    """Refuse to package a model trained with anything but the serving image's versions.

    The training versions come from ``model.json`` (written by ``model.train``); the image's
    from ``requirements-model.txt``. Every library recorded there must be pinned to the same
    version (those of the pickle, :data:`PICKLE_LIBRARIES`, must be recorded), and Python's
    major.minor must be the image's. Exact, stricter than ``model_fn``: what we build is
    trained in the environment we test, so the metrics describe the served model.
    """
    card_path = Path(model_dir) / METADATA_FILENAME
    if not card_path.is_file():
        raise FileNotFoundError(f"{card_path} missing: train with model.train, which records the versions")
    trained = dict(json.loads(card_path.read_text()).get("versions") or {})
    pins, python = image_pins(requirements), image_python(requirements)
    problems = []
    recorded_python = ".".join(str(trained.pop("python", None)).split(".")[:2])
    if recorded_python != python:
        problems.append(f"python {recorded_python} (image: {python})")
    for name in PICKLE_LIBRARIES:
        trained.setdefault(name, None)
    for name, version in sorted(trained.items()):
        if pins.get(name) != version:
            problems.append(f"{name} {version} (image: {pins.get(name, 'not in the image')})")
    if problems:
        raise ValueError(
            f"{card_path}: the model was trained with {'; '.join(problems)}: not in the model environment "
            "(the serving image's versions); retrain there (`make model`)"
        )


def artifact_members(
    model_dir: str | os.PathLike[str], code_dir: str | os.PathLike[str] = CODE_DIR
) -> list[tuple[str, Path]]:
    """(name in the archive, source file) for every entry, in archive order."""
    folder = Path(model_dir)
    members = [(MODEL_FILENAME, folder / MODEL_FILENAME), (METADATA_FILENAME, folder / METADATA_FILENAME)]
    members += [(f"code/{name}", Path(code_dir) / name) for name in CODE_FILES]
    missing = [str(source) for _, source in members if not source.is_file()]
    if missing:
        raise FileNotFoundError(f"cannot build the model artifact, missing: {', '.join(missing)}")
    return members


def build_artifact(
    model_dir: str | os.PathLike[str] = DEFAULT_MODEL_DIR,
    out_path: str | os.PathLike[str] = DEFAULT_ARTIFACT,
    code_dir: str | os.PathLike[str] = CODE_DIR,
    requirements: str | os.PathLike[str] = REQUIREMENTS_PATH,
) -> Path:
    """Write the reproducible ``model.tar.gz`` to ``out_path`` (atomically) and return its path."""
    members = artifact_members(model_dir, code_dir)
    check_versions(model_dir, requirements)
    return write_atomically(out_path, reproducible_tar_gz(members))


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Build the SageMaker model artifact (model.tar.gz).")
    parser.add_argument(
        "--model-dir", default=str(DEFAULT_MODEL_DIR), help=f"directory holding {MODEL_FILENAME}, {METADATA_FILENAME}"
    )
    parser.add_argument("--out", default=str(DEFAULT_ARTIFACT), help="artifact path to write")
    args = parser.parse_args(argv)
    path = build_artifact(args.model_dir, args.out)
    sys.stdout.write(f"wrote {path} ({path.stat().st_size} bytes)\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
