"""Helpers shared by the twin's tests."""

from __future__ import annotations

import re
from pathlib import Path

FIXTURES = Path(__file__).parent.parent / "fixtures" / "wall_connector"
START = 1_700_000_000.0
OLD_FW = "21.29.1+g4152353e50f744"
NEW_FW = "23.8.2+gce13e49b546382"
_KEY = re.compile(rb'"([A-Za-z0-9_]+)"\s*:')


def fixture_bytes(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def keys_of(body: bytes) -> list[str]:
    """Object keys in the order they appear, also for bodies that are not valid JSON."""
    return [m.decode() for m in _KEY.findall(body)]


def is_subsequence(part: list[str], whole: list[str]) -> bool:
    it = iter(whole)
    return all(key in it for key in part)
