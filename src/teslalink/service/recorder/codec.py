"""How one value is stored: fixed point for samples, plain numbers for spans, clean text and JSON.

Samples are most of the rows, so they are stored as small integers: SQLite writes an integer in
1 to 8 bytes by its size (a float always takes 8), and PostgreSQL's `integer` is 4. Each sample
column has a scale (`latitude_e7` holds degrees times 10^7, `grid_v_x10` tenths of a volt); a
value is multiplied, rounded and read back divided, so what comes back is the value rounded to
that resolution (our choice of resolutions: docs/service.md, "The recorder"). A value that does
not fit a 32-bit integer at its scale is refused with the record (`ValueRefused`), never clipped.

Spans, events and the ledger are few rows: they keep their floats as they are. Everywhere a
non-finite float is None ("not known", as the records say), and text loses only what no database
can hold (NUL, lone surrogates: U+FFFD instead), so the same record is stored the same way in
SQLite and in PostgreSQL.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from typing import Any, Final

__all__ = [
    "INT32_MAX",
    "INT64_MAX",
    "ValueRefused",
    "decode_figures",
    "encode_figures",
    "from_fixed",
    "to_epoch_ms",
    "to_fixed",
    "to_flag",
    "to_int",
    "to_real",
    "to_text",
]

INT32_MAX: Final = 2**31 - 1
INT64_MAX: Final = 2**63 - 1

_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


class ValueRefused(ValueError):
    """A record holds a value the database cannot keep (the record is refused, with this reason)."""


def to_real(value: float | None) -> float | None:
    """A float column: None and non-finite values are NULL."""
    if value is None or isinstance(value, bool):
        return None
    number = float(value)
    return number if math.isfinite(number) else None


def to_fixed(value: float | None, scale: int, column: str) -> int | None:
    """A fixed-point column: `value * scale` rounded, within a 32-bit integer."""
    real = to_real(value)
    if real is None:
        return None
    stored = round(real * scale)
    if abs(stored) > INT32_MAX:
        raise ValueRefused(f"{column}: {real!r} does not fit its column")
    return stored


def from_fixed(stored: Any, scale: int) -> float | None:
    """The float a fixed-point column holds (an exact decimal of the scale's resolution)."""
    if stored is None:
        return None
    return float(stored) if scale == 1 else int(stored) / scale


def to_int(value: int | None, column: str, limit: int = INT64_MAX) -> int | None:
    """An integer column (phases, evse_state, ids, counts)."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueRefused(f"{column}: {value!r} is not an integer")
    if abs(value) > limit:
        raise ValueRefused(f"{column}: {value!r} does not fit its column")
    return value


def to_epoch_ms(value: int | None, column: str) -> int | None:
    """A time: integer epoch milliseconds (a float of whole milliseconds is accepted)."""
    if isinstance(value, float) and math.isfinite(value) and value.is_integer():
        value = int(value)
    return to_int(value, column)


def to_flag(value: bool | None) -> int | None:
    """A yes/no column, as 0 or 1 (the same integer in both databases; SQLite stores it in no bytes)."""
    return None if value is None else int(bool(value))


def to_text(value: str | None) -> str | None:
    """A text column: NUL and lone surrogates (which no database keeps) become U+FFFD."""
    if value is None:
        return None
    text = str(value)
    return _UNSTORABLE.sub("\ufffd", text) if _UNSTORABLE.search(text) else text


def _json_safe(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, str):
        return to_text(value)
    if value is None or isinstance(value, bool | int | float):
        return value
    return to_text(str(value))


def encode_figures(figures: Mapping[str, Any]) -> str:
    """An event's figures as compact JSON text (non-finite numbers are null)."""
    clean = {to_text(str(key)): _json_safe(value) for key, value in figures.items()}
    return json.dumps(clean, ensure_ascii=False, separators=(",", ":"), allow_nan=False)


def decode_figures(text: Any) -> dict[str, Any]:
    """The figures back; a value PostgreSQL already decoded (a dict) is taken as it is."""
    if text is None or text == "":
        return {}
    data = text if isinstance(text, dict) else json.loads(text)
    return dict(data) if isinstance(data, dict) else {}
