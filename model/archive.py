"""Reproducible archives of the model's files, and the serving code they carry. Standard library only.

``model.package`` (``model.tar.gz``) and ``model.sourcedir`` (``sourcedir.tar.gz``) build their
archives here, so both environments build the same bytes from the same inputs.
"""

from __future__ import annotations

import gzip
import io
import os
import tarfile
from collections.abc import Sequence
from pathlib import Path

CODE_DIR = Path(__file__).resolve().parent / "code"
#: Every module of model/code/ (the package marker aside: in the container code/ is a sys.path entry).
CODE_FILES: tuple[str, ...] = tuple(sorted(p.name for p in CODE_DIR.glob("*.py") if p.name != "__init__.py"))


def reproducible_tar_gz(members: Sequence[tuple[str, Path]]) -> bytes:
    """A ``.tar.gz`` of ``(name in the archive, source file)`` in that order: the same inputs, the same bytes.

    Entries with mtime 0, owner root (0/0, no names), mode 0644; a gzip header without a timestamp or name.
    """
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
    return compressed.getvalue()


def write_atomically(out_path: str | os.PathLike[str], body: bytes) -> Path:
    """Write ``body`` to ``out_path`` through a temporary file beside it (no reader sees half a file)."""
    target = Path(out_path)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.tmp")
    tmp.write_bytes(body)
    os.replace(tmp, target)
    return target
