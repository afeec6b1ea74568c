"""Fixtures for the twin's tests."""

from __future__ import annotations

import pytest

from teslalink.simulator import World

from .helpers import START


@pytest.fixture
def world() -> World:
    """A world whose clock only moves by advance()."""
    return World(seed=7, speed=0.0, start=START)
