"""The streaming messages as pure functions: CSV fields, columns, the legacy token."""

from __future__ import annotations

import base64

import pytest

from teslalink.simulator.streaming import protocol


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (None, ""),
        (0, "0"),
        (-12, "-12"),
        (True, "1"),
        (12.0, "12"),  # integral floats as integers
        (-0.0, "0"),
        (29751.8, "29751.8"),
        (37.492509, "37.492509"),
        (-121.9447, "-121.9447"),
        (0.00001, "0.00001"),  # never exponent notation
        (float("nan"), ""),
        ("D", "D"),
        ("a,b", "a b"),  # a comma would shift every later column
    ],
)
def test_format_value(value: object, text: str) -> None:
    assert protocol.format_value(value) == text


def test_columns_from_text_or_list_and_values_in_that_order() -> None:
    assert protocol.parse_columns("speed, soc,,odometer") == ("speed", "soc", "odometer")
    assert protocol.parse_columns(["speed", 3, "soc"]) == ("speed", "soc")
    assert protocol.parse_columns(None) == ()
    sample = {"timestamp": 1, "speed": None, "soc": 80, "est_lat": 1.5, "est_lng": 2.5, "heading": 90}
    columns = ("soc", "timestamp", "native_longitude", "native_heading", "speed", "nope")
    assert protocol.column_values(sample, columns) == [80, None, 2.5, 90, None, None]


def test_update_and_error_shapes() -> None:
    assert protocol.update_message("9", 1000, ["", "5"]) == {
        "msg_type": "data:update",
        "tag": "9",
        "value": "1000,,5",
    }
    assert protocol.encode(protocol.error_message("9", "x", protocol.ErrorType.VEHICLE_ERROR)) == (
        b'{"msg_type":"data:error","tag":"9","value":"x","error_type":"vehicle_error"}'
    )


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("owner@example.com:abc123", ("owner@example.com", "abc123")),
        ("owner@example.com:abc123:", ("owner@example.com", "abc123")),  # the Android app's form
        ("owner@example.com", None),
        (":abc", None),
        ("owner@example.com:", None),
    ],
)
def test_legacy_token(raw: str, expected: tuple[str, str] | None) -> None:
    assert protocol.decode_legacy_token(base64.b64encode(raw.encode()).decode()) == expected


def test_legacy_token_garbage() -> None:
    assert protocol.decode_legacy_token("%%%") is None
    assert protocol.decode_legacy_token(42) is None
    assert protocol.decode_legacy_token(base64.b64encode(b"\xff\xfe:x").decode()) is None


def test_client_messages_are_json_objects_or_nothing() -> None:
    assert protocol.decode_client_message(b'{"msg_type":"x"}') == {"msg_type": "x"}
    assert protocol.decode_client_message("[1]") is None
    assert protocol.decode_client_message("nope") is None
