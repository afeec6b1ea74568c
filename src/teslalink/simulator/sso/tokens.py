"""Placeholder: being written."""

from typing import Any


class TokenAuthority:
    def __init__(self, world: Any) -> None:
        self.world = world
