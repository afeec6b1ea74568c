"""Firmware and network quirks of real Wall Connectors, switchable per unit.

Every quirk here was reported by users of real units (see docs/reference.md §1).
All are off by default. From the command line they are a comma-separated list, each name
optionally with ``=value``::

    nan                   bare `nan` in lifetime avg_startup_temp, alert_count, contactor_cycles_loaded
    missing-brace[=P]     while charging, an answer lacks its final `}` with probability P (0.2)
    slow[=S]              S seconds (3) before the first byte of every answer; connects at once
    stall[=S]             a request arriving while another is in flight on the unit waits S s (30)
    drops[=P]             probability P (0.1) of closing the connection without an answer
    glitch[=MIN]          lifetime energy_wh jumps by tens of kWh about every MIN minutes (90)
    all                   every quirk above with its default value

Network delays (slow, stall) are real seconds: they are about sockets, not about the world.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, replace
from typing import Any

from ..errors import ConfigError
from .spec_parser import spec_items, spec_number

__all__ = ["EnergyGlitches", "Quirks"]

_DEFAULT_SLOW_S = 3.0
_DEFAULT_DROP_RATE = 0.1


@dataclass(frozen=True, slots=True)
class Quirks:
    """Which firmware faults a unit shows. Immutable: give a unit a new Quirks to change them."""

    nan_in_lifetime: bool = False
    missing_brace: bool = False
    missing_brace_rate: float = 0.2
    slow_first_byte_s: float = 0.0
    stall_on_concurrent: bool = False
    stall_s: float = 30.0
    drop_rate: float = 0.0
    energy_glitch: bool = False
    glitch_interval_s: float = 90 * 60.0

    def __post_init__(self) -> None:
        for name in ("missing_brace_rate", "drop_rate"):
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                raise ConfigError(f"{name} must be between 0 and 1, got {value!r}")
        for name in ("slow_first_byte_s", "stall_s"):
            value = getattr(self, name)
            if not (value >= 0.0 and math.isfinite(value)):
                raise ConfigError(f"{name} must be a finite number of seconds >= 0, got {value!r}")
        if not (self.glitch_interval_s > 0.0 and math.isfinite(self.glitch_interval_s)):
            raise ConfigError(f"glitch_interval_s must be positive, got {self.glitch_interval_s!r}")

    @property
    def any(self) -> bool:
        """True when at least one quirk is switched on."""
        return (
            self.nan_in_lifetime
            or self.missing_brace
            or self.slow_first_byte_s > 0
            or self.stall_on_concurrent
            or self.drop_rate > 0
            or self.energy_glitch
        )

    @classmethod
    def all(cls) -> Quirks:
        """Every quirk on, with its default value."""
        return cls.parse("all")

    @classmethod
    def parse(cls, text: str) -> Quirks:
        """Parse ``"nan,missing-brace=0.5,slow=2,stall,drops=0.05,glitch"``; raise ConfigError."""
        quirks = cls()
        for item in spec_items(text):
            if item.text.lower() == "none":
                continue
            key = item.key.replace("_", "-")
            if key not in _PARSERS:
                known = ", ".join(sorted({*_PARSERS} - _ALIASES))
                raise ConfigError(f"unknown quirk {item.name!r}; known: {known}")
            quirks = replace(quirks, **_PARSERS[key](item.value))
        return quirks

    def to_spec(self) -> str:
        """The command-line form of these quirks (the inverse of `parse`)."""
        parts: list[str] = []
        if self.nan_in_lifetime:
            parts.append("nan")
        if self.missing_brace:
            parts.append(f"missing-brace={self.missing_brace_rate:g}")
        if self.slow_first_byte_s > 0:
            parts.append(f"slow={self.slow_first_byte_s:g}")
        if self.stall_on_concurrent:
            parts.append(f"stall={self.stall_s:g}")
        if self.drop_rate > 0:
            parts.append(f"drops={self.drop_rate:g}")
        if self.energy_glitch:
            parts.append(f"glitch={self.glitch_interval_s / 60.0:g}")
        return ",".join(parts)

    def __str__(self) -> str:
        return self.to_spec() or "none"


def _number(name: str, value: str | None, default: float) -> float:
    if value is None or value == "":
        return default
    return spec_number("quirk", name, value)


def _flag(name: str, value: str | None) -> None:
    if value not in (None, ""):
        raise ConfigError(f"quirk {name!r} takes no value, got {value!r}")


def _nan(value: str | None) -> dict[str, Any]:
    _flag("nan", value)
    return {"nan_in_lifetime": True}


def _missing_brace(value: str | None) -> dict[str, Any]:
    return {"missing_brace": True, "missing_brace_rate": _number("missing-brace", value, 0.2)}


def _slow(value: str | None) -> dict[str, Any]:
    return {"slow_first_byte_s": _number("slow", value, _DEFAULT_SLOW_S)}


def _stall(value: str | None) -> dict[str, Any]:
    return {"stall_on_concurrent": True, "stall_s": _number("stall", value, 30.0)}


def _drops(value: str | None) -> dict[str, Any]:
    return {"drop_rate": _number("drops", value, _DEFAULT_DROP_RATE)}


def _glitch(value: str | None) -> dict[str, Any]:
    return {"energy_glitch": True, "glitch_interval_s": _number("glitch", value, 90.0) * 60.0}


def _all(value: str | None) -> dict[str, Any]:
    _flag("all", value)
    merged: dict[str, Any] = {}
    for parser in (_nan, _missing_brace, _slow, _stall, _drops, _glitch):
        merged.update(parser(None))
    return merged


_PARSERS = {
    "nan": _nan,
    "nan-in-lifetime": _nan,
    "missing-brace": _missing_brace,
    "slow": _slow,
    "slow-first-byte": _slow,
    "stall": _stall,
    "stall-on-concurrent": _stall,
    "drops": _drops,
    "drop": _drops,
    "glitch": _glitch,
    "energy-glitch": _glitch,
    "all": _all,
}
_ALIASES = {"nan-in-lifetime", "slow-first-byte", "stall-on-concurrent", "drop", "energy-glitch"}


class EnergyGlitches:
    """The lifetime energy jumps users report: tens of kWh at once, about every interval.

    The schedule is drawn from its own random stream and depends only on world time, never on
    how often the unit is read, so a replay shows the same jumps at the same moments.
    """

    def __init__(self, rng: random.Random, t0: float, interval_s: float) -> None:
        self._rng = rng
        self._interval_s = interval_s
        self._next_t = t0 + self._gap()
        self.total_wh = 0.0
        self.count = 0

    def offset_wh(self, t: float) -> float:
        """Total extra energy of all jumps up to world time `t`."""
        while self._next_t <= t:
            self.total_wh += self._rng.uniform(20_000.0, 90_000.0)
            self.count += 1
            self._next_t += self._gap()
        return self.total_wh

    def _gap(self) -> float:
        return self._interval_s * self._rng.uniform(0.8, 1.2)
