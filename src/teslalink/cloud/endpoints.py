"""The catalogue of named Owner API endpoints (`endpoints.json`), loaded once, on first use.

Why a data file: a new Tesla endpoint needs a line of JSON, not code. Names are the ones users
know from TeslaPy (`VEHICLE_DATA`, `CHARGING_AMPS`...). Each entry says whether the car must be
online (`online`: calling it on a sleeping car answers 408, and it keeps an awake car awake),
and its `kind`: "read" (idempotent, safe to retry), "command" (never retried blindly) or "wake".
"""

from __future__ import annotations

import functools
import re
import string
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources
from typing import Any, Literal

from .._json import loads
from ..errors import ConfigError

__all__ = ["Endpoint", "catalogue", "endpoint"]

Kind = Literal["read", "command", "wake"]
_KINDS = ("read", "command", "wake")
_PLACEHOLDER = re.compile(r"^[a-z_]+$")


@dataclass(frozen=True, slots=True)
class Endpoint:
    """One named endpoint: HTTP method, path template (relative to the API base), how it behaves."""

    name: str
    method: str
    path: str
    online: bool
    kind: Kind
    params: tuple[str, ...] = ()

    @property
    def idempotent(self) -> bool:
        """Reads may be retried; commands and wakes may not (a retry could act twice)."""
        return self.kind == "read" and self.method == "GET"

    @property
    def placeholders(self) -> tuple[str, ...]:
        return tuple(field for _, field, _, _ in string.Formatter().parse(self.path) if field)

    def format_path(self, path_vars: Mapping[str, object]) -> str:
        """The path with its `{placeholders}` filled in; ConfigError names a missing one."""
        missing = [name for name in self.placeholders if name not in path_vars]
        if missing:
            raise ConfigError(f"endpoint {self.name} needs {', '.join(missing)}")
        return self.path.format_map({name: str(path_vars[name]) for name in self.placeholders})


def _parse(name: str, entry: Any) -> Endpoint:
    if not isinstance(entry, dict):
        raise ConfigError(f"catalogue entry {name!r} is not an object")
    kind = entry.get("kind")
    if kind not in _KINDS:
        raise ConfigError(f"catalogue entry {name!r} has an unknown kind {kind!r}")
    found = Endpoint(
        name=name,
        method=str(entry["method"]).upper(),
        path=str(entry["path"]),
        online=bool(entry["online"]),
        kind=kind,
        params=tuple(str(p) for p in entry.get("params", ())),
    )
    for field in found.placeholders:
        if not _PLACEHOLDER.match(field):
            raise ConfigError(f"catalogue entry {name!r}: bad placeholder {{{field}}}")
    return found


@functools.cache
def catalogue() -> Mapping[str, Endpoint]:
    """Every named endpoint, read from the package's endpoints.json on the first call."""
    raw = loads(resources.files(__package__).joinpath("endpoints.json").read_bytes())
    return {name: _parse(name, entry) for name, entry in raw["endpoints"].items()}


def endpoint(name: str) -> Endpoint:
    """The endpoint called `name` (case-insensitive); ConfigError if there is none."""
    found = catalogue().get(name.upper())
    if found is None:
        raise ConfigError(f"unknown endpoint {name!r}")
    return found
