"""The streaming websocket's messages: what goes over the wire, as pure functions (no I/O, no state).

The shapes are docs/reference.md §2.5 and the fixture `streaming_messages.jsonl`::

    {"msg_type":"control:hello","connection_timeout":0}
    {"msg_type":"data:update","tag":"<vehicle_id>","value":"<ts_ms>,<col1>,<col2>,..."}
    {"msg_type":"data:error","tag":"<vehicle_id>","value":"disconnected","error_type":"vehicle_disconnected"}
    {"msg_type":"vehicle_data:location","latitude":45.377188,"longitude":-73.60919}

Facts that shape the details, from clients written against the real server:

* The error for a token the server cannot validate is the exact value "Can't validate token. "
  (trailing space included): teslajsonpy compares the value for equality.
* Apps subscribed to more columns than the twelve of docs/reference.md §2.5: est_corrected_lat/lng and
  native_latitude/longitude/heading/type/location_supported (the Android app, teslajsonpy). The
  car twin streams the twelve; the others are derived here from the same sample (no map
  correction in the twin, native = estimated, native_type "wgs" and native_location_supported 1
  as in vehicle_data's drive_state). A column nobody knows is an empty field, so the CSV always
  has one field per requested column and a client's zip() stays aligned.
* Numbers are written the way a JSON encoder writes them, integers without a decimal point
  (TeslaPy reads each field with ast.literal_eval, TeslaMate with Integer/Float parsers), floats
  in their shortest round-trip form: the car rounds them to the precision Tesla showed
  (odometer 0.1 mi, coordinates 1e-6 degrees).
"""

from __future__ import annotations

import base64
import binascii
import enum
import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Final

import orjson

from ..vehicle.render import STREAM_COLUMNS

__all__ = [
    "DERIVED_COLUMNS",
    "DISCONNECTED",
    "HELLO",
    "KNOWN_COLUMNS",
    "TOKEN_ERROR",
    "VEHICLE_OFFLINE",
    "ErrorType",
    "MsgType",
    "column_values",
    "decode_client_message",
    "decode_legacy_token",
    "encode",
    "error_message",
    "format_value",
    "location_message",
    "parse_columns",
    "update_message",
]


class MsgType(enum.StrEnum):
    """Every msg_type the server sends or understands."""

    HELLO = "control:hello"
    SUBSCRIBE_OAUTH = "data:subscribe_oauth"
    SUBSCRIBE = "data:subscribe"  # the older form: token = base64(email:vehicle_token)
    UNSUBSCRIBE = "data:unsubscribe"
    UPDATE = "data:update"
    ERROR = "data:error"
    LOCATION = "vehicle_data:location"


class ErrorType(enum.StrEnum):
    VEHICLE_DISCONNECTED = "vehicle_disconnected"  # asleep, or stopped streaming (idle ~10 s)
    VEHICLE_ERROR = "vehicle_error"  # the car has no connectivity
    CLIENT_ERROR = "client_error"  # the token (or what it may see) does not check out


HELLO: Final[Mapping[str, Any]] = {"msg_type": MsgType.HELLO.value, "connection_timeout": 0}
TOKEN_ERROR: Final = "Can't validate token. "
DISCONNECTED: Final = "disconnected"
VEHICLE_OFFLINE: Final = "Vehicle is offline"

_Sample = Mapping[str, Any]

DERIVED_COLUMNS: Final[Mapping[str, Callable[[_Sample], Any]]] = {
    "est_corrected_lat": lambda s: s.get("est_lat"),
    "est_corrected_lng": lambda s: s.get("est_lng"),
    "native_latitude": lambda s: s.get("est_lat"),
    "native_longitude": lambda s: s.get("est_lng"),
    "native_heading": lambda s: s.get("heading"),
    "native_type": lambda s: "wgs",
    "native_location_supported": lambda s: 1,
}
"""Columns apps asked for that the car's sample does not carry, computed from it."""

KNOWN_COLUMNS: Final = (
    *STREAM_COLUMNS,
    *DERIVED_COLUMNS,
)


def parse_columns(value: object) -> tuple[str, ...]:
    """The requested columns, in order: "a,b,c" (or a JSON list of names, which the Android app's
    `[...].toString()` turns into the same text). Anything else asks for no columns."""
    if isinstance(value, str):
        names: Sequence[object] = value.split(",")
    elif isinstance(value, list):
        names = value
    else:
        return ()
    return tuple(name.strip() for name in names if isinstance(name, str) and name.strip())


def column_values(sample: _Sample, columns: Sequence[str]) -> list[Any]:
    """The sample's values for `columns` (None where missing or unknown)."""
    out: list[Any] = []
    for column in columns:
        if column in sample and column != "timestamp":
            out.append(sample[column])
        else:
            derive = DERIVED_COLUMNS.get(column)
            out.append(derive(sample) if derive is not None else None)
    return out


def format_value(value: object) -> str:
    """One CSV field: empty for a missing value, integers bare, floats in shortest form."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            return ""
        if value.is_integer():
            return str(int(value))
        text = repr(value)
        if "e" in text:  # 1e-05: fixed notation, as a JSON encoder for coordinates would
            text = f"{value:.9f}".rstrip("0").rstrip(".")
        return text
    return str(value).replace(",", " ")  # a comma would shift every later column


def update_message(tag: str, timestamp_ms: int, fields: Sequence[str]) -> dict[str, Any]:
    """A data:update: the timestamp first, then the already formatted fields."""
    value = ",".join((str(timestamp_ms), *fields))
    return {"msg_type": MsgType.UPDATE.value, "tag": tag, "value": value}


def error_message(tag: str, value: str, error_type: ErrorType) -> dict[str, Any]:
    return {"msg_type": MsgType.ERROR.value, "tag": tag, "value": value, "error_type": error_type.value}


def location_message(latitude: float, longitude: float) -> dict[str, Any]:
    return {"msg_type": MsgType.LOCATION.value, "latitude": latitude, "longitude": longitude}


def encode(message: Mapping[str, Any]) -> bytes:
    return orjson.dumps(message)


def decode_client_message(data: str | bytes) -> dict[str, Any] | None:
    """A client's JSON object, or None for anything else (the server ignores what it cannot read)."""
    try:
        message = orjson.loads(data)
    except orjson.JSONDecodeError:
        return None
    return message if isinstance(message, dict) else None


def decode_legacy_token(token: object) -> tuple[str, str] | None:
    """(email, vehicle_token) from the older subscribe's token, base64("email:vehicle_token").

    The Android app built it as base64("email:token:") with a trailing colon; both are accepted.
    """
    if not isinstance(token, str) or len(token) > 4096:
        return None
    try:
        text = base64.b64decode(token.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return None
    email, sep, vehicle_token = text.removesuffix(":").rpartition(":")
    if not sep or not email or not vehicle_token:
        return None
    return email, vehicle_token
