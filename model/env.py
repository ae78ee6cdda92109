"""The model environment: the serving image's libraries, as ``requirements-model.txt`` pins them.

The model is trained, packaged, tested and served offline only in that environment
(``.venv-model``, made by ``make venv-model``), never in the development one. This module
reads the pins (for ``model.package``'s refusal and the tests), tells whether the running
interpreter *is* that environment, and runs model commands in it from the development
environment (``tools.publish``, the offline transform runner, the dev-suite tests).

Standard library only, Python 3.12 syntax: it is imported by both environments (3.13 and 3.12).
"""

from __future__ import annotations

import os
import platform
import re
import subprocess
import sys
from collections.abc import Sequence
from importlib import metadata
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
REQUIREMENTS_PATH = REPO_ROOT / "requirements-model.txt"
#: Where ``make venv-model`` creates the environment; ``MODEL_PYTHON`` overrides its interpreter.
VENV_DIR = REPO_ROOT / ".venv-model"
ARTIFACTS_DIR = REPO_ROOT / "model" / "artifacts"
DEFAULT_ARTIFACT = ARTIFACTS_DIR / "model.tar.gz"

#: The first line of the test-tooling section: pins after it are not the image's.
TEST_TOOLING_MARKER = "# --- test tooling"
_PIN = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)\s*==\s*([^\s;#]+)")
_IMAGE_PYTHON = re.compile(r"^#\s*image python:\s*(\d+\.\d+)\s*$")
_IMAGE = re.compile(r"^#\s*image:\s*(\S+:\S+)\s*$")


class ModelEnvError(RuntimeError):
    """The model environment is missing, or a command in it failed; the message says which."""


def image_pins(path: str | os.PathLike[str] = REQUIREMENTS_PATH) -> dict[str, str]:
    """``{distribution: version}`` for every library of the serving image (names lower-case)."""
    pins: dict[str, str] = {}
    for line in Path(path).read_text().splitlines():
        if line.startswith(TEST_TOOLING_MARKER):
            break
        match = _PIN.match(line)
        if match:
            pins[match.group(1).lower()] = match.group(2)
    return pins


def image_python(path: str | os.PathLike[str] = REQUIREMENTS_PATH) -> str:
    """The image's Python, ``major.minor``, from the ``# image python:`` line."""
    for line in Path(path).read_text().splitlines():
        match = _IMAGE_PYTHON.match(line)
        if match:
            return match.group(1)
    raise ValueError(f"{path} has no '# image python: X.Y' line")


def image(path: str | os.PathLike[str] = REQUIREMENTS_PATH) -> str:
    """The serving image whose libraries the file pins, ``repository:tag``, from the ``# image:`` line."""
    for line in Path(path).read_text().splitlines():
        match = _IMAGE.match(line)
        if match:
            return match.group(1)
    raise ValueError(f"{path} has no '# image: repository:tag' line")


def installed_versions(names: Sequence[str]) -> dict[str, str | None]:
    """The installed version of each distribution in this interpreter (None if absent)."""
    found: dict[str, str | None] = {}
    for name in names:
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            found[name] = None
    return found


def mismatches(path: str | os.PathLike[str] = REQUIREMENTS_PATH) -> list[str]:
    """How this interpreter differs from the serving image (empty: it is the model environment)."""
    problems = []
    python = ".".join(platform.python_version_tuple()[:2])
    if python != image_python(path):
        problems.append(f"python {python} (image: {image_python(path)})")
    for name, installed in installed_versions(list(image_pins(path))).items():
        if installed != image_pins(path)[name]:
            problems.append(f"{name} {installed} (image: {image_pins(path)[name]})")
    return problems


def is_model_env() -> bool:
    return not mismatches()


def model_python() -> Path:
    """The model environment's interpreter; raises ModelEnvError naming the fix if it is missing."""
    override = os.environ.get("MODEL_PYTHON")
    python = Path(override) if override else VENV_DIR / "bin" / "python"
    if not python.is_file():
        raise ModelEnvError(f"the model environment is missing ({python}): run `make venv-model`")
    return python


def run_in_model_env(args: Sequence[str], *, timeout: float = 600) -> subprocess.CompletedProcess[str]:
    """``<model python> -m ...`` from the repository root; raises ModelEnvError with its stderr if it fails."""
    command = [str(model_python()), *args]
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    completed = subprocess.run(
        command, cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=timeout, check=False
    )
    if completed.returncode != 0:
        tail = "\n".join(completed.stderr.strip().splitlines()[-15:])
        raise ModelEnvError(f"{' '.join(args)} failed in the model environment (exit {completed.returncode}):\n{tail}")
    return completed


def build_artifact_in_model_env(
    out_path: str | os.PathLike[str] = DEFAULT_ARTIFACT, *, candidates: Sequence[str] | None = None
) -> Path:
    """Train (``model.train``) and package (``model.package``) in the model environment.

    The model and its metrics go beside ``out_path``; ``candidates`` limits the regressors
    cross-validation chooses from (e.g. ``["ridge"]`` for a quick test artifact).
    """
    target = Path(out_path)
    model_dir = target.parent
    train_args = ["-m", "model.train", "--out", str(model_dir)]
    if candidates:
        train_args += ["--candidates", *candidates]
    run_in_model_env(train_args)
    run_in_model_env(["-m", "model.package", "--model-dir", str(model_dir), "--out", str(target)])
    return target


if __name__ == "__main__":  # `python -m model.env`: is this interpreter the serving image's environment?
    found = mismatches()
    print("this interpreter matches the serving image" if not found else "differs from the image: " + "; ".join(found))
    sys.exit(1 if found else 0)
