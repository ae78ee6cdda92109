"""Deterministic generator of video-game character records (the EMR pipeline's sample data).

    python -m jobs.generate_characters --rows 100000 --seed 42 --out /tmp/characters.csv

Columns (header row first, comma-separated, no quoting needed): ``id`` (1..N), ``name``,
``class`` (Titan/Hunter/Warlock), ``race`` (Human/Awoken/Exo), ``level`` (1..50),
``light`` (power level, 1600..2010), ``guardian_rank`` (1..11), ``is_active``
(``true`` when played in the last 30 days of the window), ``last_played`` (ISO-8601 UTC,
``2025-12-31T23:59:59Z``, within 2025).

Determinism: rows are produced in fixed chunks of :data:`CHUNK_ROWS`, chunk *k* drawing
from ``numpy.random.default_rng([seed, k])``; a partial last chunk is a prefix of the full
one. So the same ``seed`` and ``rows`` give a byte-identical file, and the first *n* rows
of a larger file are the *n*-row file. Nothing depends on the clock. Memory is bounded by
one chunk whatever the size.
"""

from __future__ import annotations

import argparse
import io
import os
import sys
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import BinaryIO

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv

COLUMNS: tuple[str, ...] = (
    "id",
    "name",
    "class",
    "race",
    "level",
    "light",
    "guardian_rank",
    "is_active",
    "last_played",
)
HEADER = (",".join(COLUMNS) + "\n").encode("ascii")

CHUNK_ROWS = 100_000

CLASSES = ("Titan", "Hunter", "Warlock")
CLASS_WEIGHTS = (0.37, 0.33, 0.30)
RACES = ("Human", "Awoken", "Exo")
RACE_WEIGHTS = (0.40, 0.33, 0.27)

_FIRST = (
    "Aria",
    "Bastian",
    "Cael",
    "Dara",
    "Eris",
    "Felwinter",
    "Gala",
    "Hadrian",
    "Ikora",
    "Jolder",
    "Kell",
    "Lakshmi",
    "Mara",
    "Nolan",
    "Osiris",
    "Petra",
    "Quinn",
    "Rezyl",
    "Saint",
    "Tevis",
    "Uldren",
    "Vell",
    "Wren",
    "Xander",
    "Yor",
    "Zavala",
    "Amanda",
    "Brother",
    "Crow",
    "Devrim",
)
_LAST = (
    "Ashgrove",
    "Blackthorn",
    "Cinder",
    "Dawnblade",
    "Emberlight",
    "Frostveil",
    "Graves",
    "Hollowmere",
    "Ironwood",
    "Jadeheart",
    "Kestrel",
    "Lumen",
    "Morrow",
    "Nightfall",
    "Oakhelm",
    "Pyre",
    "Quell",
    "Ravensong",
    "Starfall",
    "Thorne",
    "Umbra",
    "Vesper",
    "Wyld",
    "Yarrow",
)
NAMES: tuple[str, ...] = tuple(f"{first} {last}" for first in _FIRST for last in _LAST)

#: last_played lies in [WINDOW_START, WINDOW_END), skewed towards the end.
WINDOW_START = np.datetime64("2025-01-01T00:00:00", "s")
WINDOW_END = np.datetime64("2026-01-01T00:00:00", "s")
ACTIVE_DAYS = 30

_WINDOW_SECONDS = int((WINDOW_END - WINDOW_START) / np.timedelta64(1, "s"))
_NAME_DICT = pa.array(NAMES, pa.string())
_CLASS_DICT = pa.array(CLASSES, pa.string())
_RACE_DICT = pa.array(RACES, pa.string())
_WRITE_OPTIONS = pacsv.WriteOptions(include_header=False, quoting_style="none", batch_size=CHUNK_ROWS)


def _chunk(seed: int, index: int) -> pa.Table:
    """All CHUNK_ROWS rows of chunk ``index``; callers slice the last one."""
    rng = np.random.default_rng([seed, index])
    n = CHUNK_ROWS
    ids = np.arange(index * n + 1, (index + 1) * n + 1, dtype=np.int64)
    names = rng.integers(0, len(NAMES), n, dtype=np.int32)
    classes = rng.choice(len(CLASSES), n, p=CLASS_WEIGHTS).astype(np.int32)
    races = rng.choice(len(RACES), n, p=RACE_WEIGHTS).astype(np.int32)
    # Most guardians are at the level cap; the rest trail off.
    level = np.clip(50 - np.floor(rng.exponential(6.0, n)), 1, 50).astype(np.int32)
    light = np.clip(np.rint(1600 + (level - 1) * 7 + rng.normal(0, 25, n)), 1600, 2010).astype(np.int32)
    rank = np.clip(1 + (level * 6) // 50 + rng.integers(0, 5, n), 1, 11).astype(np.int32)
    # Seconds before the end of the window, exponential with a 60-day scale.
    ago = np.minimum(rng.exponential(60 * 86400.0, n).astype(np.int64), _WINDOW_SECONDS - 1) + 1
    played = WINDOW_END - ago.astype("timedelta64[s]")
    active = ago <= ACTIVE_DAYS * 86400
    return pa.table(
        {
            "id": pa.array(ids),
            "name": pa.DictionaryArray.from_arrays(pa.array(names), _NAME_DICT),
            "class": pa.DictionaryArray.from_arrays(pa.array(classes), _CLASS_DICT),
            "race": pa.DictionaryArray.from_arrays(pa.array(races), _RACE_DICT),
            "level": pa.array(level),
            "light": pa.array(light),
            "guardian_rank": pa.array(rank),
            "is_active": pa.array(active),
            "last_played": pa.array(np.datetime_as_string(played, unit="s", timezone="UTC")),
        }
    )


def iter_tables(rows: int, seed: int) -> Iterator[pa.Table]:
    """The records as Arrow tables of at most CHUNK_ROWS rows each."""
    if rows < 0:
        raise ValueError(f"rows must be >= 0, got {rows}")
    for index in range(-(-rows // CHUNK_ROWS)):
        table = _chunk(seed, index)
        remaining = rows - index * CHUNK_ROWS
        yield table if remaining >= CHUNK_ROWS else table.slice(0, remaining)


def write_csv(out: BinaryIO, rows: int, seed: int) -> int:
    """Write header + ``rows`` records to a binary stream; returns the bytes written."""
    out.write(HEADER)
    written = len(HEADER)
    for table in iter_tables(rows, seed):
        buffer = io.BytesIO()
        pacsv.write_csv(table, buffer, _WRITE_OPTIONS)
        data = buffer.getvalue()
        out.write(data)
        written += len(data)
    return written


def generate_csv_bytes(rows: int, seed: int) -> bytes:
    """The whole CSV in memory (for small samples)."""
    buffer = io.BytesIO()
    write_csv(buffer, rows, seed)
    return buffer.getvalue()


def generate_file(path: str | os.PathLike[str], rows: int, seed: int) -> int:
    """Write the CSV to ``path`` atomically (temp file + rename); returns its size in bytes."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            size = write_csv(handle, rows, seed)
        os.chmod(tmp, 0o644)  # mkstemp creates 0600
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return size


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, required=True, help="number of records (>= 0)")
    parser.add_argument("--seed", type=int, default=42, help="random seed (default 42)")
    parser.add_argument("--out", required=True, help="output CSV path, or - for stdout")
    args = parser.parse_args(argv)
    if args.rows < 0:
        parser.error("--rows must be >= 0")
    if args.out == "-":
        write_csv(sys.stdout.buffer, args.rows, args.seed)
    else:
        size = generate_file(args.out, args.rows, args.seed)
        sys.stderr.write(f"wrote {args.rows} rows ({size} bytes) to {args.out}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
