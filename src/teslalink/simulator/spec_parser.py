"""The one reader of the twin's command-line specs: `--faults`, `--quirks`, `--rate-limits`.

All three are comma-separated items, each a bare name or ``name=value``, blanks ignored::

    spec_items("latency=0.2, owner_api.5xx=0.1")   # [SpecItem("latency=0.2", "latency", "0.2"), ...]
    spec_number("fault", "latency", "0.2")          # 0.2; ConfigError for "x", "nan" or "inf"

What a name means is the caller's (faults.py, quirks.py, owner_api/ratelimit.py); how the text
is cut and how a number is read, with which error, is here only.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from ..errors import ConfigError

__all__ = ["SpecItem", "spec_items", "spec_number"]


@dataclass(frozen=True, slots=True)
class SpecItem:
    """One item of a spec: as written (`text`), its name (stripped) and value (None: no "=")."""

    text: str
    name: str
    value: str | None

    @property
    def key(self) -> str:
        """The name as looked up: lower case."""
        return self.name.lower()


def spec_items(text: str) -> list[SpecItem]:
    """The items of ``"a=1, b ,c="`` in order: a=1, b (no value), c (an empty value)."""
    items: list[SpecItem] = []
    for raw in text.split(","):
        item = raw.strip()
        if not item:
            continue
        name, sep, value = item.partition("=")
        items.append(SpecItem(item, name.strip(), value.strip() if sep else None))
    return items


def spec_number(what: str, name: str, value: str) -> float:
    """`value` as a finite number; ConfigError "<what> 'name' needs a (finite) number" otherwise."""
    try:
        number = float(value)
    except ValueError:
        raise ConfigError(f"{what} {name!r} needs a number, got {value!r}") from None
    if not math.isfinite(number):
        raise ConfigError(f"{what} {name!r} needs a finite number, got {value!r}")
    return number
