"""Print a body the way the Wall Connector firmware does, byte for byte in style.

The firmware does not use a JSON library: it prints each field with a fixed number of decimals
(``grid_hz`` with 3, ``session_energy_wh`` with 3, most others with 1). Older releases then
drop trailing zeros (``1``, ``0``), newer ones keep them (``12.0``). A non-finite float
comes out as a bare ``nan``, which is not JSON; that is exactly the fault users see. Bodies end
with a newline, which is why a body cut before its final ``}`` ends in a blank line.

Our choice: a value that rounds to zero prints ``0`` (``0.0``), never ``-0``. Real units do print
``-0`` (pilot_low_v in tests/fixtures/wall_connector/vitals_na_splitphase_charging_30A.json, and the
decoder's fixture tests keep covering it), but the twin feeds the demo and every example a user
reads, and a ``-0`` there reads as a fault (issue 8).
"""

from __future__ import annotations

from collections.abc import Mapping

import orjson

__all__ = ["DECIMALS", "format_number", "render_object", "strip_final_brace"]

DECIMALS: dict[str, int] = {
    "grid_hz": 3,
    "session_energy_wh": 3,
    "avg_startup_temp": 1,
}
"""Decimals per float field; every float field not listed here is printed with 1."""

_ALWAYS_FIXED = frozenset({"grid_hz"})


def format_number(value: float, decimals: int, *, trim: bool) -> str:
    """``%.Nf``, then (when `trim`) without trailing zeros; ``nan`` as C's printf does, no ``-0``."""
    text = f"{value:.{decimals}f}"
    if text.startswith("-") and not text.strip("-0."):
        text = text[1:]  # -0.0, or -0.04 at 1 decimal: a zero, shown as one
    if trim and "." in text:
        text = text.rstrip("0").rstrip(".")
    return text


def _value(key: str, value: object, trim: bool) -> str:
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return format_number(value, DECIMALS.get(key, 1), trim=trim and key not in _ALWAYS_FIXED)
    if isinstance(value, str):
        return orjson.dumps(value).decode()
    if isinstance(value, list | tuple):
        return "[" + ",".join(_value(key, item, trim) for item in value) + "]"
    if value is None:
        return "null"
    raise TypeError(f"cannot render {key}={value!r}")


def render_object(values: Mapping[str, object], *, compact: bool, trim: bool) -> bytes:
    """One JSON-like object: compact on one line, or 4-space pretty with ``"key":value`` lines."""
    if compact:
        inner = ",".join(f'"{key}":{_value(key, value, trim)}' for key, value in values.items())
        return f"{{{inner}}}\n".encode()
    inner = ",\n".join(f'    "{key}":{_value(key, value, trim)}' for key, value in values.items())
    return f"{{\n{inner}\n}}\n".encode()


def strip_final_brace(body: bytes) -> bytes:
    """The truncation users see while charging: the last ``}`` never arrives."""
    index = body.rfind(b"}")
    return body if index < 0 else body[:index] + body[index + 1 :]
