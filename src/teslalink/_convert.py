"""The one set of value converters for decoded answers: a JSON value in, a typed value or None out.

Every typed view (the Wall Connector's models, `VehicleData`, the energy site's `LiveStatus` and
`SiteInfo`) reads its fields through these, so a reading means the same on every device: a value
of the wrong kind is no reading (None), never an exception and never a guessed number.

What each accepts, exactly (the type itself, not subclasses: `type(value) is ...`):

- `to_float`: an int or a finite float; None for nan/inf, an int beyond float, a bool, a string.
- `to_int`: an int or a whole float (`3.0`) within int64; None for `3.5`, beyond int64, a bool, a string.
- `to_nearest_int`: what `to_float` accepts, rounded to the nearest int (an int stays exact), in int64.
- `to_bool`: `true` or `false` only; None for 0 and 1, "true", null.
- `to_str`: a string (a lone surrogate becomes U+FFFD); None for anything else.
- `to_tuple`: a JSON array (a list) as a tuple, its items unconverted; None for anything else.

Our choices, each for a reason:
- A number in a string ("230.1") is None: the devices send JSON numbers, and a string where a
  number belongs is a firmware fault to see, not to paper over.
- A bool is never a number and 0/1 is never a bool (in Python `True == 1`): `to_float(True)` would
  otherwise read as 1.0 volt.
- Non-finite numbers are None (the decoder already turns the firmware's `nan` into null): a reading
  the device does not have must never look like a number.
- Integers are bounded to int64 (-2**63 .. 2**63-1), tighter than the decoder's bound (`_json.py`
  keeps what orjson holds, up to 2**64-1): no counter comes near, and a 301-digit int would break
  JSON output. `INT_MIN`/`INT_MAX` are that bound, for msgspec's fast path (`Int64`).
- `to_nearest_int` is for readings a car may send either way (a battery level of 79.6 reads 80);
  `to_int` for counters, where a fraction means the value is not what we think it is.

Not here, on purpose: the streaming CSV's parsers (`cloud/stream_models.py`: their input is text,
"" is None), the state files' strict readers (`wallconnector/energy.py`: a wrong value there is a
ConfigError, not a missing reading), and the CLI's formatters (values to text).
"""

from __future__ import annotations

import math
import re
from typing import Any, Final

__all__ = ["INT_MAX", "INT_MIN", "to_bool", "to_float", "to_int", "to_nearest_int", "to_str", "to_tuple"]

INT_MIN: Final = -(2**63)
INT_MAX: Final = 2**63 - 1
_LONE_SURROGATE: Final = re.compile("[\ud800-\udfff]")


def to_float(value: Any) -> float | None:
    """A finite number as float, else None (missing, null from `nan`, a string, a bool, beyond float)."""
    kind = type(value)
    if kind is float:
        return value if math.isfinite(value) else None
    if kind is not int:
        return None
    try:
        return float(value)
    except OverflowError:
        return None


def to_int(value: Any) -> int | None:
    """An integer within int64 (a whole float such as `3.0` counts), else None."""
    kind = type(value)
    if kind is float and value.is_integer():
        value = int(value)
    elif kind is not int:
        return None
    return int(value) if INT_MIN <= value <= INT_MAX else None


def to_nearest_int(value: Any) -> int | None:
    """A finite number rounded to the nearest integer (half to even, as `round`), within int64."""
    if type(value) is int:
        return to_int(value)  # exact: no trip through float
    number = to_float(value)
    return None if number is None else to_int(round(number))


def to_bool(value: Any) -> bool | None:
    """True or False itself; 0, 1 and strings are None."""
    return value if type(value) is bool else None


def to_str(value: Any) -> str | None:
    """A string; a lone surrogate (which cannot be printed or encoded) becomes U+FFFD (our choice)."""
    return _LONE_SURROGATE.sub("\ufffd", value) if type(value) is str else None


def to_tuple(value: Any) -> tuple[Any, ...] | None:
    """A JSON array as a tuple (its items unconverted), else None."""
    return tuple(value) if type(value) is list else None
