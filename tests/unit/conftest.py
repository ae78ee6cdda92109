"""Unit tests run with sockets disabled (pytest-socket): the layer's rules are pure, and a test that
reached for the network, AWS or moto server included, fails here instead of passing by accident."""

from __future__ import annotations

import pytest
from pytest_socket import disable_socket, enable_socket


@pytest.fixture(autouse=True)
def _no_network() -> object:
    disable_socket(allow_unix_socket=True)
    yield
    enable_socket()
