"""The committed abalone files: attribution kept, batch input derived exactly from the data."""

from __future__ import annotations

import csv
import io

from model.data import ABALONE_PATH, BATCH_PATH, FEATURE_COLUMNS, batch_csv_bytes

from .conftest import REPO_ROOT


def test_batch_csv_is_the_data_set_without_rings_regenerated_byte_for_byte() -> None:
    assert BATCH_PATH.read_bytes() == batch_csv_bytes(ABALONE_PATH)


def test_batch_csv_has_one_line_of_eight_features_per_abalone_and_no_header() -> None:
    rows = list(csv.reader(io.StringIO(BATCH_PATH.read_text())))
    source = list(csv.reader(io.StringIO(ABALONE_PATH.read_text())))
    assert len(rows) == len(source) == 4177
    assert all(len(row) == len(FEATURE_COLUMNS) for row in rows)
    assert [row for row in rows] == [row[: len(FEATURE_COLUMNS)] for row in source]
    assert rows[0][0] in {"M", "F", "I"}


def test_attribution_and_licence_travel_with_the_data() -> None:
    readme = (REPO_ROOT / "data" / "abalone" / "README.md").read_text()
    assert "CC BY 4.0" in readme and "Nash, Sellers, Talbot, Cawthorn and Ford" in readme
    top = (REPO_ROOT / "data" / "README.md").read_text()
    assert "CC BY 4.0" in top
