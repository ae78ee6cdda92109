"""The characters generator: deterministic, streaming, and matching the job's schema."""

from __future__ import annotations

import csv
import hashlib
import io
import json
from datetime import datetime
from pathlib import Path

import pytest

from jobs import generate_characters as gen

SCHEMA_PATH = Path(__file__).resolve().parents[2] / "jobs" / "schemas" / "characters.json"


def rows_of(data: bytes) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(data.decode("ascii"))))


def test_same_seed_and_size_give_byte_identical_csv() -> None:
    # GIVEN a seed and a size that spans a partial second chunk
    rows = gen.CHUNK_ROWS + 1234
    # WHEN the file is generated twice
    first, second = gen.generate_csv_bytes(rows, 7), gen.generate_csv_bytes(rows, 7)
    # THEN both are byte-identical
    assert hashlib.sha256(first).digest() == hashlib.sha256(second).digest()
    assert first.count(b"\n") == rows + 1


def test_different_seeds_give_different_data() -> None:
    assert gen.generate_csv_bytes(500, 1) != gen.generate_csv_bytes(500, 2)


def test_smaller_file_is_a_prefix_of_a_larger_one_with_the_same_seed() -> None:
    # GIVEN the same seed, WHEN 1,000 and 150,000 rows are generated
    small = gen.generate_csv_bytes(1_000, 42)
    large = gen.generate_csv_bytes(150_000, 42)
    # THEN the small file is exactly the beginning of the large one
    assert large.startswith(small)


def test_file_written_by_cli_equals_in_memory_generation(tmp_path: Path) -> None:
    out = tmp_path / "nested" / "characters.csv"
    assert gen.main(["--rows", "2500", "--seed", "3", "--out", str(out)]) == 0
    assert out.read_bytes() == gen.generate_csv_bytes(2500, 3)


def test_zero_rows_gives_header_only() -> None:
    assert gen.generate_csv_bytes(0, 1) == gen.HEADER


def test_negative_rows_are_rejected() -> None:
    with pytest.raises(ValueError, match="rows must be >= 0"):
        gen.generate_csv_bytes(-1, 1)


def test_header_matches_the_jobs_explicit_schema_column_for_column() -> None:
    schema = json.loads(SCHEMA_PATH.read_text())
    assert [f["name"] for f in schema["fields"]] == list(gen.COLUMNS)
    assert gen.HEADER.decode().rstrip("\n").split(",") == list(gen.COLUMNS)


def test_values_are_in_their_documented_domains() -> None:
    # GIVEN 5,000 generated records
    records = rows_of(gen.generate_csv_bytes(5_000, 11))
    # THEN ids are 1..N in order, and every value is within its documented domain
    assert [int(r["id"]) for r in records] == list(range(1, 5_001))
    assert {r["class"] for r in records} == set(gen.CLASSES)
    assert {r["race"] for r in records} == set(gen.RACES)
    assert all(r["name"] in gen.NAMES for r in records)
    assert all(1 <= int(r["level"]) <= 50 for r in records)
    assert all(1600 <= int(r["light"]) <= 2010 for r in records)
    assert all(1 <= int(r["guardian_rank"]) <= 11 for r in records)
    assert {r["is_active"] for r in records} == {"true", "false"}
    played = [datetime.fromisoformat(r["last_played"]) for r in records]
    assert all(r["last_played"].endswith("Z") and len(r["last_played"]) == 20 for r in records)
    assert all(p.utcoffset() is not None and p.utcoffset().total_seconds() == 0 for p in played)
    assert min(played).year == max(played).year == 2025


def test_is_active_means_played_in_the_last_30_days_of_the_window() -> None:
    records = rows_of(gen.generate_csv_bytes(3_000, 5))
    cutoff = datetime.fromisoformat("2025-12-02T00:00:00+00:00")
    for r in records:
        assert (r["is_active"] == "true") == (datetime.fromisoformat(r["last_played"]) >= cutoff)


def test_class_mix_follows_the_configured_weights() -> None:
    records = rows_of(gen.generate_csv_bytes(20_000, 9))
    for name, weight in zip(gen.CLASSES, gen.CLASS_WEIGHTS, strict=True):
        share = sum(r["class"] == name for r in records) / len(records)
        assert share == pytest.approx(weight, abs=0.02)
