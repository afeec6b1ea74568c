"""The streaming update parser: typed fields, missing values, clear errors, and its speed (printed)."""

from __future__ import annotations

import contextlib
from datetime import UTC, datetime

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st

from teslalink.cloud.stream_models import DEFAULT_COLUMNS, StreamUpdate, compile_parser, parse_update
from teslalink.errors import DecodeError
from teslalink.simulator.streaming import KNOWN_COLUMNS

DRIVING = "1700000000123,38,12345.6,80,120,91,37.492,-121.944,25,D,250,230,91"
PARKED = "1700000000123,,12345.6,80,120,91,37.492,-121.944,0,,250,230,91"


def test_driving_update_is_typed() -> None:
    update = parse_update(DRIVING, vehicle_id="42")
    assert isinstance(update, StreamUpdate)
    assert update.vehicle_id == "42"
    assert update.timestamp_ms == 1_700_000_000_123
    assert update.timestamp == datetime(2023, 11, 14, 22, 13, 20, 123000, tzinfo=UTC)
    assert update.speed_mph == 38
    assert update.odometer_mi == 12345.6
    assert update.soc == 80
    assert update.elevation_m == 120
    assert update.est_heading == 91
    assert (update.latitude, update.longitude) == (37.492, -121.944)
    assert update.power_kw == 25
    assert update.shift_state == "D"
    assert (update.range_mi, update.est_range_mi, update.heading) == (250, 230, 91)
    assert update.raw == DRIVING
    assert update.columns == DEFAULT_COLUMNS
    assert update.get("est_lat") == 37.492
    assert update.get("nope") is None
    assert update.as_dict()["timestamp"] == 1_700_000_000_123
    assert update.as_dict()["shift_state"] == "D"


def test_empty_fields_are_none() -> None:
    update = parse_update(PARKED)
    assert update.speed_mph is None
    assert update.shift_state is None
    assert update.power_kw == 0


def test_custom_columns_and_extras() -> None:
    columns = ("soc", "native_type", "est_lat", "mystery", "other")
    update = parse_update("5,71,wgs,1.5,7,x", columns)
    assert update.soc == 71
    assert update.latitude == 1.5
    assert update.speed_mph is None  # not subscribed
    assert update.get("native_type") == "wgs"
    assert update.get("mystery") == 7
    assert update.get("other") == "x"


def test_parser_is_cached_and_validates_columns() -> None:
    assert compile_parser(DEFAULT_COLUMNS) is compile_parser(list(DEFAULT_COLUMNS))
    with pytest.raises(ValueError, match="duplicate"):
        compile_parser(("soc", "soc"))
    with pytest.raises(ValueError, match="at least one"):
        compile_parser(())


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("1,2,3", "has 3 fields, expected 13"),
        (DRIVING + ",1", "has 14 fields"),
        ("x" + DRIVING[1:], "timestamp 'x700000000123' is not an integer"),
        (DRIVING.replace(",38,", ",fast,"), "column 'speed': 'fast' is not a finite number"),
        (DRIVING.replace(",38,", ",nan,"), "column 'speed'"),
        (DRIVING.replace(",250,", ",inf,"), "column 'range'"),
    ],
)
def test_malformed_updates_raise_decode_error(value: str, message: str) -> None:
    with pytest.raises(DecodeError, match=message) as caught:
        parse_update(value)
    assert caught.value.raw == value.encode()


def test_non_string_value_is_a_decode_error() -> None:
    with pytest.raises(DecodeError, match="must be a string"):
        parse_update(None)  # type: ignore[arg-type]


_FIELD = st.one_of(
    st.text(alphabet=st.characters(blacklist_characters=","), max_size=12),
    st.integers(-(10**30), 10**30).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.just(""),
)


@given(
    columns=st.lists(st.sampled_from((*KNOWN_COLUMNS, "unknown_a", "unknown_b")), min_size=1, unique=True),
    data=st.data(),
)
def test_any_csv_of_the_right_arity_parses_or_raises_decode_error(
    columns: list[str], data: st.DataObject
) -> None:
    fields = data.draw(st.lists(_FIELD, min_size=len(columns) + 1, max_size=len(columns) + 1))
    value = ",".join(fields)
    error: DecodeError | None
    try:
        update = parse_update(value, columns)
    except DecodeError as exc:
        error = exc
    else:
        error = None
    if error is not None:
        assert str(error).startswith("stream update")
        assert error.raw == value.encode("utf-8", "surrogatepass")
        return
    assert update.raw == value
    assert len(update.values) == len(columns)
    for column, field in zip(columns, fields[1:], strict=True):
        assert (update.get(column) is None) == (field == "")


@given(st.text(max_size=200))
def test_any_text_parses_or_raises_decode_error(value: str) -> None:
    with contextlib.suppress(DecodeError):
        parse_update(value)


def test_a_whole_frame_decodes_like_its_value() -> None:
    """The compiled parser on a whole frame agrees with parse_update (its speed, per update and per
    frame: `python bench/cloud.py`, "stream frames decoded" and "stream updates parsed")."""
    parser = compile_parser(DEFAULT_COLUMNS)
    frame = orjson.dumps({"msg_type": "data:update", "tag": "42", "value": DRIVING})

    def whole_frame() -> StreamUpdate:
        message = orjson.loads(frame)
        return parser(message["value"], message["tag"])

    assert whole_frame().as_dict() == {"timestamp": 1_700_000_000_123, **parse_update(DRIVING).as_dict()}
