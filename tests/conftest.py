"""Shared test helpers: the copied real device responses."""

from __future__ import annotations

from pathlib import Path

import pytest

FIXTURES = Path(__file__).parent / "fixtures"


@pytest.fixture
def wc_fixture():
    """Read a Wall Connector fixture as bytes by file name."""

    def read(name: str) -> bytes:
        return (FIXTURES / "wall_connector" / name).read_bytes()

    return read
