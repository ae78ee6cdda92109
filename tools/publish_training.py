"""What ``make publish`` uploads for the model training: the training code and the dated labelled data.

* ``model/sourcedir.py``'s archive (the entry point and the model package) → ``layout.SOURCEDIR_KEY``,
  the ``code`` channel of every training job;
* the labelled abalone data ``data/abalone/abalone.data`` (UCI format, no header) →
  ``layout.training_day_prefix(<the slot's day>) + "abalone.csv"``: the next training run takes the
  newest such day. Publishing the same data again on a later day trains a new candidate (the gate then
  compares it with production on the same rows).

Standard library and the layer only (``tools.publish`` wraps each into an upload).
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from model.env import REPO_ROOT
from model.sourcedir import sourcedir_bytes
from transient_analytics import layout
from transient_analytics.slots import GRIDS

TRAINING_FILENAME = "abalone.csv"
ABALONE_PATH = REPO_ROOT / "data" / "abalone" / "abalone.data"

#: ``(source, key, content type, body)`` of one object to upload.
TrainingObject = tuple[str, str, str, bytes]


def training_objects(slot: datetime, data_path: Path = ABALONE_PATH) -> list[TrainingObject]:
    """The training code and the labelled data, dated by ``slot``'s UTC day."""
    if not data_path.is_file():
        raise FileNotFoundError(f"missing training data {data_path}")
    day = GRIDS["transform"].start_of(slot)
    return [
        ("model/sourcedir.py (training code)", layout.SOURCEDIR_KEY, "application/gzip", sourcedir_bytes()),
        (
            "data/abalone/abalone.data (labelled)",
            layout.training_day_prefix(day) + TRAINING_FILENAME,
            "text/csv",
            data_path.read_bytes(),
        ),
    ]
