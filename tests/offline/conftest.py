"""Fixtures for the tests of the twin itself: the harness (tests/harness_fixtures.py)."""

from tests.harness_fixtures import gate, h, harness, module_harness

__all__ = ["gate", "h", "harness", "module_harness"]
