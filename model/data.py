"""The abalone data set: column names, loading, and the batch-transform input derived from it.

``data/abalone/abalone.data`` is UCI's file as published (no header, comma-separated; see
``data/abalone/README.md`` for the attribution, CC BY 4.0). The model's features are the
first eight columns; ``rings`` is the regression target.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd

# The features, in the order a batch CSV row carries them, and the sex encoding of the model's
# input are defined once, in the serving code: model/code/ ships alone in model.tar.gz, so it
# cannot import from here.
from model.code.abalone_features import FEATURE_COLUMNS, NUMERIC_COLUMNS, SEX_CODES, SEX_COLUMN, SEX_VALUES

REPO_ROOT = Path(__file__).resolve().parent.parent
ABALONE_PATH = REPO_ROOT / "data" / "abalone" / "abalone.data"
BATCH_PATH = REPO_ROOT / "data" / "abalone" / "batch.csv"

TARGET_COLUMN = "rings"
COLUMNS: tuple[str, ...] = (*FEATURE_COLUMNS, TARGET_COLUMN)


def load_abalone(path: str | os.PathLike[str] = ABALONE_PATH) -> pd.DataFrame:
    """The data set as a DataFrame with :data:`COLUMNS` (sex as str, numerics float64, rings int64).

    Raises ``ValueError`` if the file does not have exactly those nine columns, has missing
    values, or a sex outside M/F/I.
    """
    dtypes: dict[str, object] = {SEX_COLUMN: str, **{c: "float64" for c in NUMERIC_COLUMNS}, TARGET_COLUMN: "int64"}
    frame = pd.read_csv(path, header=None, names=list(COLUMNS), dtype=dtypes, index_col=False)
    if frame.isna().any().any():
        raise ValueError(f"{path}: missing values in columns {list(frame.columns[frame.isna().any()])}")
    unknown = sorted(set(frame[SEX_COLUMN]) - set(SEX_VALUES))
    if unknown:
        raise ValueError(f"{path}: unknown sex values {unknown}")
    frame[SEX_COLUMN] = frame[SEX_COLUMN].astype(object)
    return frame


def feature_matrix(frame: pd.DataFrame) -> np.ndarray:
    """The model's input for the rows of ``frame``: what ``inference.input_fn`` gives for them.

    ``n × 8`` float64, column 0 the sex code (``abalone_features.SEX_CODES``), then the numerics.
    """
    codes = frame[SEX_COLUMN].map(SEX_CODES)
    if codes.isna().any():
        raise ValueError(f"unknown sex values {sorted(set(frame[SEX_COLUMN][codes.isna()]))}")
    matrix = np.empty((len(frame), len(FEATURE_COLUMNS)), dtype="float64")
    matrix[:, 0] = codes.to_numpy(dtype="float64")
    matrix[:, 1:] = frame[list(NUMERIC_COLUMNS)].to_numpy(dtype="float64")
    return matrix


def batch_csv_bytes(path: str | os.PathLike[str] = ABALONE_PATH) -> bytes:
    """The batch-transform input: every row of the data set, in order, with ``rings`` dropped.

    CSV without a header, the eight feature columns, values exactly as written in the source
    file (no float re-formatting), ``\\n`` line endings.
    """
    lines = Path(path).read_text(encoding="ascii").splitlines()
    out = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        fields = line.split(",")
        if len(fields) != len(COLUMNS):
            raise ValueError(f"{path}: line {number} has {len(fields)} fields, expected {len(COLUMNS)}")
        out.append(",".join(fields[: len(FEATURE_COLUMNS)]))
    return ("\n".join(out) + "\n").encode("ascii")


def write_batch_csv(
    out_path: str | os.PathLike[str] = BATCH_PATH, data_path: str | os.PathLike[str] = ABALONE_PATH
) -> Path:
    """(Re)write ``data/abalone/batch.csv`` from the data set; returns its path."""
    target = Path(out_path)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(batch_csv_bytes(data_path))
    return target


if __name__ == "__main__":
    print(write_batch_csv())
