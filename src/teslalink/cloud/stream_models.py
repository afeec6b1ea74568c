"""Typed streaming updates, and the parser that turns a `data:update` CSV value into one.

The streaming websocket (docs/reference.md §2.5) sends each update as one CSV string: the timestamp in
epoch milliseconds, then one field per subscribed column, in the subscribed order; an empty
field is a missing value (speed and shift_state of a parked car).

Why a compiled parser: a logger for many cars (and the benchmark: 100,000 updates a second)
parses every update, so the work per update is one `str.split`, one converter call per field
from a table built once per column list, and one `itemgetter` that picks the typed fields. No
`ast.literal_eval`, no dict per update: `StreamUpdate.values` is a tuple aligned with the shared
`columns` tuple, and `as_dict()` builds a dict only when asked.

Anything malformed (wrong number of fields, a number column that is not a number) raises
`DecodeError` naming the column, with the raw value; no other exception leaves `parse_update`.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime
from operator import itemgetter
from typing import Final

import msgspec

from ..errors import DecodeError

__all__ = [
    "DEFAULT_COLUMNS",
    "StreamUpdate",
    "UpdateParser",
    "compile_parser",
    "parse_update",
]

Value = int | float | str | None

DEFAULT_COLUMNS: Final[tuple[str, ...]] = (
    "speed",
    "odometer",
    "soc",
    "elevation",
    "est_heading",
    "est_lat",
    "est_lng",
    "power",
    "shift_state",
    "range",
    "est_range",
    "heading",
)
"""docs/reference.md §2.5's twelve columns, in the order clients subscribe to them."""


class StreamUpdate(msgspec.Struct, frozen=True, gc=False):
    """One `data:update` of one car, typed. None marks a column that was empty or not subscribed.

    `columns` and `values` keep every subscribed column (also those without a typed field, such
    as `native_type`), aligned; `raw` is the CSV value exactly as received.
    """

    vehicle_id: str
    timestamp_ms: int
    speed_mph: float | None
    odometer_mi: float | None
    soc: float | None
    elevation_m: float | None
    est_heading: float | None
    latitude: float | None
    longitude: float | None
    power_kw: float | None
    shift_state: str | None
    range_mi: float | None
    est_range_mi: float | None
    heading: float | None
    columns: tuple[str, ...]
    values: tuple[Value, ...]
    raw: str

    @property
    def timestamp(self) -> datetime:
        """The car's timestamp as an aware UTC datetime."""
        return datetime.fromtimestamp(self.timestamp_ms / 1000.0, UTC)

    def get(self, column: str) -> Value:
        """The parsed value of any subscribed column by its streaming name (None if absent)."""
        try:
            return self.values[self.columns.index(column)]
        except ValueError:
            return None

    def as_dict(self) -> dict[str, Value]:
        """Every subscribed column by its streaming name, plus `timestamp` (ms)."""
        return {"timestamp": self.timestamp_ms, **dict(zip(self.columns, self.values, strict=True))}


# --- converters: "" is None everywhere -------------------------------------------------------------


def _number(field: str) -> float | None:
    if not field:
        return None
    value = float(field)
    if value - value:  # nan or +-inf: nan is truthy, and inf - inf is nan
        raise ValueError("not a finite number")
    return value


def _text(field: str) -> str | None:
    return field or None


def _auto(field: str) -> Value:
    """A column we have no type for: an int, else a float, else the text itself."""
    if not field:
        return None
    try:
        return int(field)
    except ValueError:
        pass
    try:
        value = float(field)
    except ValueError:
        return field
    return value if math.isfinite(value) else field


_Converter = Callable[[str], Value]

_CONVERTERS: Final[Mapping[str, _Converter]] = {
    "speed": _number,
    "odometer": _number,
    "soc": _number,
    "elevation": _number,
    "est_heading": _number,
    "est_lat": _number,
    "est_lng": _number,
    "power": _number,
    "shift_state": _text,
    "range": _number,
    "est_range": _number,
    "heading": _number,
    "est_corrected_lat": _number,
    "est_corrected_lng": _number,
    "native_latitude": _number,
    "native_longitude": _number,
    "native_heading": _number,
    "native_type": _text,
    "native_location_supported": _number,
}
"""Column -> converter for the columns we know; any other column goes through `_auto`."""

_TYPED: Final[tuple[str, ...]] = DEFAULT_COLUMNS
"""The columns behind StreamUpdate's typed fields, in the Struct's field order."""


class UpdateParser:
    """A parser compiled for one column list: `parser(value, vehicle_id) -> StreamUpdate`."""

    __slots__ = ("_arity", "_converters", "_pick", "columns")

    def __init__(self, columns: Iterable[str] = DEFAULT_COLUMNS) -> None:
        self.columns: tuple[str, ...] = tuple(columns)
        if not self.columns:
            raise ValueError("at least one streaming column is needed")
        if len(set(self.columns)) != len(self.columns):
            raise ValueError(f"duplicate streaming columns in {','.join(self.columns)!r}")
        self._converters: tuple[_Converter, ...] = tuple(_CONVERTERS.get(c, _auto) for c in self.columns)
        self._arity = len(self.columns) + 1
        # A typed field whose column was not subscribed points at the None appended after the values.
        missing = len(self.columns)
        indices = [self.columns.index(c) if c in self.columns else missing for c in _TYPED]
        self._pick = itemgetter(*indices)

    def __repr__(self) -> str:
        return f"UpdateParser(columns={self.columns!r})"

    def __call__(self, value: str, vehicle_id: str = "") -> StreamUpdate:
        """Parse one update's CSV value; `DecodeError` (with the raw value) when malformed."""
        if not isinstance(value, str):
            raise DecodeError(f"stream update value must be a string, got {type(value).__name__}", b"")
        fields = value.split(",")
        if len(fields) != self._arity:
            raise DecodeError(
                f"stream update has {len(fields)} fields, expected {self._arity} "
                f"(timestamp + {len(self.columns)} columns)",
                _raw(value),
            )
        try:
            timestamp = int(fields[0])
            values = [convert(field) for convert, field in zip(self._converters, fields[1:], strict=True)]
        except (ValueError, OverflowError):
            raise self._explain(fields, value) from None
        values.append(None)
        typed = self._pick(values)
        del values[-1]
        return StreamUpdate(vehicle_id, timestamp, *typed, self.columns, tuple(values), value)  # type: ignore[call-arg]

    def _explain(self, fields: list[str], value: str) -> DecodeError:
        """The DecodeError for the first field that does not convert (the slow path)."""
        try:
            int(fields[0])
        except (ValueError, OverflowError):
            return DecodeError(f"stream update timestamp {_short(fields[0])} is not an integer", _raw(value))
        for column, convert, field in zip(self.columns, self._converters, fields[1:], strict=True):
            try:
                convert(field)
            except (ValueError, OverflowError):
                return DecodeError(
                    f"stream update column {column!r}: {_short(field)} is not a finite number", _raw(value)
                )
        return DecodeError("stream update could not be parsed", _raw(value))  # pragma: no cover


def _raw(value: str) -> bytes:
    return value.encode("utf-8", "surrogatepass")


def _short(field: str) -> str:
    return repr(field if len(field) <= 40 else field[:40] + "...")


_PARSERS: dict[tuple[str, ...], UpdateParser] = {}


def compile_parser(columns: Iterable[str] = DEFAULT_COLUMNS) -> UpdateParser:
    """The parser for a column list (cached: the same list always gives the same parser)."""
    key = tuple(columns)
    parser = _PARSERS.get(key)
    if parser is None:
        parser = UpdateParser(key)
        if len(_PARSERS) < 64:
            _PARSERS[key] = parser
    return parser


def parse_update(value: str, columns: Iterable[str] = DEFAULT_COLUMNS, vehicle_id: str = "") -> StreamUpdate:
    """Parse one `data:update` CSV value for `columns`; see `UpdateParser`."""
    return compile_parser(columns)(value, vehicle_id)
