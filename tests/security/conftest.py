"""Fixtures of the security tests: template.yaml, its translated snapshot, every policy statement."""

from __future__ import annotations

import json
from typing import Any

import pytest
from security_support import SNAPSHOT, TEMPLATE, Statement, collect_statements, load_checks_module


@pytest.fixture(scope="session")
def translated() -> dict[str, Any]:
    return json.loads(SNAPSHOT.read_text(encoding="utf-8"))


@pytest.fixture(scope="session")
def template() -> dict[str, Any]:
    """template.yaml in the long form (``{"Fn::Sub": ...}``) the translated template uses."""
    return load_checks_module("substitute_asl").load_template(TEMPLATE)


@pytest.fixture(scope="session")
def resources(translated: dict[str, Any]) -> dict[str, Any]:
    return translated["Resources"]


@pytest.fixture(scope="session")
def statements(translated: dict[str, Any]) -> list[Statement]:
    found = collect_statements(translated)
    assert len(found) > 30, "the snapshot holds fewer policy statements than expected: is it the right file?"
    return found
