"""The tolerant decoder: real firmware faults repaired, anything else a DecodeError with the body."""

from __future__ import annotations

import json
import math

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from teslalink._json import MAX_DEPTH, decode_object, loads
from teslalink.errors import DecodeError


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("lifetime_fw21.29.1_nan.txt", {"avg_startup_temp": None, "energy_wh": 91853}),
        (
            "lifetime_nan_several_fields.txt",
            {
                "contactor_cycles_loaded": None,
                "alert_count": None,
                "avg_startup_temp": None,
                "charge_starts": 450,
            },
        ),
        ("lifetime_missing_final_brace.txt", {"charging_time_s": 758036, "contactor_cycles_loaded": 3}),
    ],
)
def test_broken_fixtures_are_repaired(wc_fixture, name, expected):
    data = decode_object(wc_fixture(name))
    assert len(data) == 10
    for key, value in expected.items():
        assert data[key] == value


def test_unrepairable_fixture_raises_with_raw_body(wc_fixture):
    body = wc_fixture("lifetime_unrepairable_missing_quote.txt")
    with pytest.raises(DecodeError) as info:
        decode_object(body)
    assert info.value.raw == body


@pytest.mark.parametrize(
    "name",
    [
        "lifetime.json",
        "version_fw21.29.1.json",
        "vitals_eu_connected_idle_alerts.json",
        "vitals_eu_idle_fw21.18.1.json",
        "vitals_eu_idle_fw21.json",
        "vitals_na_splitphase_charging_30A.json",
        "vitals_newer_firmware_relay_fields_partial.json",
        "wifi_status_base64_ssid.json",
        "wifi_status_plain_ssid.json",
    ],
)
def test_valid_fixtures_decode_unchanged(wc_fixture, name):
    body = wc_fixture(name)
    assert decode_object(body) == json.loads(body)


@pytest.mark.parametrize(
    "token", ["nan", "NaN", "-nan", "NAN", "inf", "-inf", "+inf", "Infinity", "-Infinity", "infinity"]
)
def test_every_non_finite_spelling_becomes_null(token):
    body = f'{{"a":{token},"b":[1,{token}, {token}],"c": {token} ,"d":"{token}"}}'.encode()
    assert decode_object(body) == {"a": None, "b": [1, None, None], "c": None, "d": token}


def test_trailing_garbage_is_dropped():
    assert decode_object(b'{"a":1}\x00\x00garbage') == {"a": 1}
    assert decode_object(b'{"a":nan}}') == {"a": None}


def test_missing_brace_after_trailing_comma_and_nested_list():
    assert decode_object(b'{"a":[1,2') == {"a": [1, 2]}
    assert decode_object(b'{"a":1,\n') == {"a": 1}


def test_word_inside_a_string_is_not_touched():
    assert decode_object(b'{"ssid":"inf nan","x":nan}') == {"ssid": "inf nan", "x": None}


def test_escaped_quote_in_string_is_respected():
    assert decode_object(b'{"a":"x\\"nan","b":nan') == {"a": 'x"nan', "b": None}


@pytest.mark.parametrize("body", [b"", b"[1,2]", b"42", b"null", b'"str"', b"\xff\xfe", b"{", b"}{"])
def test_non_objects_and_junk_raise_decode_error(body):
    with pytest.raises(DecodeError) as info:
        decode_object(body)
    assert info.value.raw == body


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**63), max_value=2**64 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(), children, max_size=4),
    max_leaves=20,
)


@settings(max_examples=300)
@given(st.dictionaries(st.text(), json_values, max_size=8))
def test_valid_json_objects_decode_unchanged(obj):
    body = json.dumps(obj).encode()
    assert decode_object(body) == obj


@settings(max_examples=500)
@given(st.binary(max_size=300))
def test_any_bytes_give_a_dict_or_decode_error(body):
    try:
        result = decode_object(body)
    except DecodeError as exc:
        raw = exc.raw
        assert raw == body
    else:
        assert isinstance(result, dict)


@settings(max_examples=300)
@given(st.dictionaries(st.text(max_size=5), st.floats(allow_nan=False), min_size=1, max_size=6))
def test_firmware_style_bodies_with_nan_inf_and_missing_brace(obj):
    # Write the body the way the firmware does: bare nan/inf tokens, and maybe no final brace.
    parts = [
        f"{json.dumps(key)}:{'nan' if i % 3 == 0 else ('inf' if math.isinf(v) else json.dumps(v))}"
        for i, (key, v) in enumerate(obj.items())
    ]
    body = ("{" + ",".join(parts)).encode()
    data = decode_object(body)
    assert list(data) == list(obj)
    for i, (key, value) in enumerate(obj.items()):
        if i % 3 == 0 or math.isinf(value):
            assert data[key] is None
        else:
            assert data[key] == value


def test_a_lone_surrogate_escape_becomes_the_replacement_character():
    data = decode_object(b'{"grid_v": "\\ud800", "name": "a\\udfffb\\ud83d\\ude00"}')
    assert data == {"grid_v": "\ufffd", "name": "a\ufffdb\U0001f600"}
    assert orjson.dumps(data)  # printable, encodable


def test_absurd_numbers_on_the_repair_path_are_floats_or_null():
    body = b'{"a": 1' + b"0" * 400 + b', "b": 1e400, "c": 123456789012345678901234567890, "d": nan}'
    data = decode_object(body)
    assert data == {"a": None, "b": None, "c": 1.2345678901234568e29, "d": None}
    assert orjson.dumps(data)


@pytest.mark.parametrize("depth", [MAX_DEPTH + 1, 300, 1000, 2000])
def test_nesting_deeper_than_the_limit_is_a_decode_error(depth):
    body = b'{"a":' + b"[" * (depth - 1) + b"]" * (depth - 1) + b"}"
    with pytest.raises(DecodeError, match=r"nested deeper|depth limit"):
        decode_object(body)
    with pytest.raises(DecodeError, match=r"nested deeper|depth limit"):
        loads(body)
    with pytest.raises(DecodeError, match=r"nested deeper|depth limit"):
        decode_object(body.replace(b"[", b"[nan,", 1))  # the repair path too


def test_nesting_up_to_the_limit_decodes():
    body = b'{"a":' + b"[" * (MAX_DEPTH - 1) + b"]" * (MAX_DEPTH - 1) + b"}"
    assert orjson.dumps(decode_object(body)) == body
    assert orjson.dumps(loads(body)) == body


@settings(max_examples=300)
@given(st.binary(max_size=300))
def test_whatever_decodes_can_be_encoded_again(body):
    try:
        result = decode_object(body)
    except DecodeError:
        return
    assert orjson.dumps(result)
