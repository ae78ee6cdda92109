"""The process's own AWS settings, remembered once before tests/conftest.py replaces them with fakes.

A module of its own: pytest may import tests/conftest.py twice (as ``conftest`` and as
``tests.conftest``), and the second import would otherwise record the fakes.
"""

from __future__ import annotations

import os
from collections.abc import Iterable

REAL: dict[str, str | None] = {}


def remember(keys: Iterable[str]) -> None:
    """Record the current values of ``keys`` (``None`` when unset), the first time only."""
    for key in keys:
        REAL.setdefault(key, os.environ.get(key))
