"""Build ``model.tar.gz``, the artifact the SageMaker scikit-learn container loads.

    python -m model.package [--model-dir model/artifacts] [--out model/artifacts/model.tar.gz]

Layout (what ``model_fn`` and the container expect under ``/opt/ml/model``)::

    model.joblib
    code/inference.py
    code/requirements.txt

The archive is reproducible: entries in that fixed order, mtime 0, owner root (0/0, no
names), mode 0644, and a gzip header without a timestamp or file name. The same inputs
give the same bytes.
"""

from __future__ import annotations

import argparse
import gzip
import io
import json
import os
import re
import sys
import tarfile
from collections.abc import Sequence
from pathlib import Path

from model.train import DEFAULT_OUT_DIR, METRICS_FILENAME, MODEL_FILENAME

CODE_DIR = Path(__file__).resolve().parent / "code"
CODE_FILES: tuple[str, ...] = ("inference.py", "requirements.txt")
ARTIFACT_NAME = "model.tar.gz"
DEFAULT_ARTIFACT = DEFAULT_OUT_DIR / ARTIFACT_NAME


def pinned_version(requirements: str | os.PathLike[str], package: str) -> str | None:
    """The ``==`` version pinned for ``package`` in a requirements file, or None."""
    pattern = re.compile(rf"^\s*{re.escape(package)}\s*==\s*([^\s;#]+)", re.IGNORECASE)
    for line in Path(requirements).read_text().splitlines():
        match = pattern.match(line)
        if match:
            return match.group(1)
    return None


def check_versions(model_dir: str | os.PathLike[str], code_dir: str | os.PathLike[str] = CODE_DIR) -> None:
    """Refuse to package a model trained with another scikit-learn than code/requirements.txt pins.

    The training version comes from ``metrics.json`` (written by ``model.train``).
    """
    metrics_path = Path(model_dir) / METRICS_FILENAME
    if not metrics_path.is_file():
        raise FileNotFoundError(f"{metrics_path} missing: train with model.train, which records the versions")
    trained = json.loads(metrics_path.read_text()).get("versions", {}).get("scikit-learn")
    pinned = pinned_version(Path(code_dir) / "requirements.txt", "scikit-learn")
    if trained is None or trained != pinned:
        raise ValueError(
            f"model trained with scikit-learn {trained} but code/requirements.txt pins {pinned}: "
            "the container would refuse to load it; retrain or fix the pin"
        )


def artifact_members(
    model_dir: str | os.PathLike[str], code_dir: str | os.PathLike[str] = CODE_DIR
) -> list[tuple[str, Path]]:
    """(name in the archive, source file) for every entry, in archive order."""
    model_path = Path(model_dir) / MODEL_FILENAME
    members = [(MODEL_FILENAME, model_path)] + [(f"code/{name}", Path(code_dir) / name) for name in CODE_FILES]
    missing = [str(source) for _, source in members if not source.is_file()]
    if missing:
        raise FileNotFoundError(f"cannot build the model artifact, missing: {', '.join(missing)}")
    return members


def build_artifact(
    model_dir: str | os.PathLike[str] = DEFAULT_OUT_DIR,
    out_path: str | os.PathLike[str] = DEFAULT_ARTIFACT,
    code_dir: str | os.PathLike[str] = CODE_DIR,
) -> Path:
    """Write the reproducible ``model.tar.gz`` to ``out_path`` (atomically) and return its path."""
    members = artifact_members(model_dir, code_dir)
    check_versions(model_dir, code_dir)
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.USTAR_FORMAT) as tar:
        for name, source in members:
            data = source.read_bytes()
            info = tarfile.TarInfo(name)
            info.size = len(data)
            info.mtime = 0
            info.mode = 0o644
            info.uid = info.gid = 0
            info.uname = info.gname = ""
            tar.addfile(info, io.BytesIO(data))
    compressed = io.BytesIO()
    with gzip.GzipFile(filename="", mode="wb", fileobj=compressed, mtime=0, compresslevel=9) as gz:
        gz.write(raw.getvalue())

    target = Path(out_path)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.tmp")
    tmp.write_bytes(compressed.getvalue())
    os.replace(tmp, target)
    return target


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Build the SageMaker model artifact (model.tar.gz).")
    parser.add_argument("--model-dir", default=str(DEFAULT_OUT_DIR), help=f"directory holding {MODEL_FILENAME}")
    parser.add_argument("--out", default=str(DEFAULT_ARTIFACT), help="artifact path to write")
    args = parser.parse_args(argv)
    path = build_artifact(args.model_dir, args.out)
    sys.stdout.write(f"wrote {path} ({path.stat().st_size} bytes)\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
