"""Build ``sourcedir.tar.gz``, the training code a SageMaker training job of the scikit-learn image runs.

    python -m model.sourcedir [--out model/artifacts/sourcedir.tar.gz]

Layout (extracted by the training toolkit into ``/opt/ml/code``, then ``python train_entry.py``)::

    train_entry.py          model/train_entry.py: the entry point (``sagemaker_program``)
    model/*.py              the training modules it imports (train, candidates, data, metrics, package, env)
    model/code/*.py         the serving code, copied into the model directory as the artifact's code/

No ``setup.py`` and no ``requirements.txt``: with either, the toolkit runs ``pip install``, which
needs the network, and the job runs with network isolation. So the code uses only what the image
ships, as the serving code does. The job receives the archive through its ``code`` channel, and
``sagemaker_submit_directory`` names it there (``/opt/ml/input/data/code/sourcedir.tar.gz``): with
network isolation the container cannot download it from S3 itself. Reproducible (``model.archive``);
standard library only, so both environments build it.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from model.archive import CODE_DIR, CODE_FILES, reproducible_tar_gz, write_atomically
from model.env import ARTIFACTS_DIR, REPO_ROOT

MODEL_DIR = REPO_ROOT / "model"
SOURCEDIR_NAME = "sourcedir.tar.gz"
DEFAULT_SOURCEDIR = ARTIFACTS_DIR / SOURCEDIR_NAME
#: ``sagemaker_program``: the entry point, at the archive's root.
ENTRY_POINT = "train_entry.py"
#: The ``model`` modules the entry point imports (directly or through one another).
TRAINING_MODULES = (
    "__init__.py",
    "archive.py",
    "candidates.py",
    "data.py",
    "env.py",
    "metrics.py",
    "package.py",
    "train.py",
)
#: The channel the code reaches the job through, and where the toolkit finds it (``sagemaker_submit_directory``).
CODE_CHANNEL = "code"
SUBMIT_DIRECTORY = f"/opt/ml/input/data/{CODE_CHANNEL}/{SOURCEDIR_NAME}"
#: What the toolkit would ``pip install`` (which needs the network): never in the archive.
FORBIDDEN = ("setup.py", "requirements.txt", "pyproject.toml")


def sourcedir_members(model_dir: Path = MODEL_DIR, code_dir: Path = CODE_DIR) -> list[tuple[str, Path]]:
    """(name in the archive, source file) for every entry, in archive order."""
    members = [(ENTRY_POINT, model_dir / "train_entry.py")]
    members += [(f"model/{name}", model_dir / name) for name in TRAINING_MODULES]
    members += [("model/code/__init__.py", code_dir / "__init__.py")]
    members += [(f"model/code/{name}", code_dir / name) for name in CODE_FILES]
    missing = [str(source) for _, source in members if not source.is_file()]
    if missing:
        raise FileNotFoundError(f"cannot build the training code archive, missing: {', '.join(missing)}")
    return members


def build_sourcedir(out_path: Path = DEFAULT_SOURCEDIR) -> Path:
    """Write the reproducible ``sourcedir.tar.gz`` to ``out_path`` (atomically); its path."""
    return write_atomically(out_path, sourcedir_bytes())


def sourcedir_bytes() -> bytes:
    return reproducible_tar_gz(sourcedir_members())


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Build the training job's code archive (sourcedir.tar.gz).")
    parser.add_argument("--out", type=Path, default=DEFAULT_SOURCEDIR, help="archive to write")
    args = parser.parse_args(argv)
    path = build_sourcedir(args.out)
    sys.stdout.write(f"wrote {path} ({path.stat().st_size} bytes)\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
