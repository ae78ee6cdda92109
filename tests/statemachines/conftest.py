"""Fixtures for executing the deployed state machine definitions offline: the harness (tests/harness_fixtures.py)."""

from tests.harness_fixtures import gate, h, harness, module_harness
from tests.statemachines.training_support import training

__all__ = ["gate", "h", "harness", "module_harness", "training"]
