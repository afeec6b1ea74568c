"""Bodies as the firmware prints them: field order, field sets, number formatting, layout."""

from __future__ import annotations

import base64

import orjson
import pytest

from teslalink.simulator import Wiring, World
from teslalink.simulator.wall_connector.render import format_number, render_object, strip_final_brace

from .helpers import NEW_FW, OLD_FW, fixture_bytes, is_subsequence, keys_of

# fixture, endpoint, firmware, wiring, exact order (or only a subsequence, for a partial body)
KEY_ORDER_CASES = [
    ("vitals_eu_idle_fw21.json", "vitals", OLD_FW, Wiring.THREE_PHASE, True),
    ("vitals_eu_idle_fw21.18.1.json", "vitals", "21.18.1+g0a1b2c3d4e5f60", Wiring.THREE_PHASE, True),
    ("vitals_eu_connected_idle_alerts.json", "vitals", OLD_FW, Wiring.THREE_PHASE, True),
    ("vitals_na_splitphase_charging_30A.json", "vitals", OLD_FW, Wiring.SPLIT_PHASE, True),
    ("vitals_newer_firmware_relay_fields_partial.json", "vitals", NEW_FW, Wiring.THREE_PHASE, False),
    ("lifetime.json", "lifetime", NEW_FW, Wiring.SPLIT_PHASE, True),
    ("lifetime_fw21.29.1_nan.txt", "lifetime", OLD_FW, Wiring.SPLIT_PHASE, True),
    ("lifetime_nan_several_fields.txt", "lifetime", NEW_FW, Wiring.SPLIT_PHASE, True),
    ("lifetime_missing_final_brace.txt", "lifetime", NEW_FW, Wiring.SPLIT_PHASE, True),
    ("version_fw21.29.1.json", "version", OLD_FW, Wiring.SPLIT_PHASE, True),
    ("wifi_status_base64_ssid.json", "wifi_status", NEW_FW, Wiring.THREE_PHASE, True),
    ("wifi_status_plain_ssid.json", "wifi_status", "21.18.1+g0a1b2c3d4e5f60", Wiring.THREE_PHASE, True),
]


@pytest.mark.parametrize("case", KEY_ORDER_CASES, ids=[c[0] for c in KEY_ORDER_CASES])
def test_key_order_matches_real_units(world: World, case: tuple[str, str, str, Wiring, bool]) -> None:
    fixture, endpoint, firmware, wiring, exact = case
    unit = world.add_wall_connector(wiring=wiring, firmware=firmware)
    if "charging" in fixture:
        unit.plug_in(32.0)
        world.advance(60)
    ours = keys_of(unit.render(endpoint))
    theirs = keys_of(fixture_bytes(fixture))
    if exact:
        assert ours == theirs
    else:
        assert is_subsequence(theirs, ours)
    assert ours == list(getattr(unit, endpoint)().keys())


@pytest.mark.parametrize("endpoint", ["vitals", "lifetime", "version", "wifi_status"])
@pytest.mark.parametrize("firmware", [OLD_FW, NEW_FW, "21.18.1+g0a1b2c3d4e5f60", "25.34.1+ge48cc9be91ebc7"])
def test_bodies_are_json_and_match_the_dicts(world: World, endpoint: str, firmware: str) -> None:
    unit = world.add_wall_connector(firmware=firmware)
    unit.plug_in(32.0)
    world.advance(30)
    body = unit.render(endpoint)
    assert body.endswith(b"}\n")
    # render draws fresh noise, so compare types and keys, and values for the noise-free endpoints
    decoded = orjson.loads(body)
    expected = getattr(unit, endpoint)()
    assert list(decoded) == list(expected)
    if endpoint in ("version", "lifetime"):
        assert decoded == expected


def test_fw21_vitals_compact_and_trimmed(world: World) -> None:
    unit = world.add_wall_connector(wiring=Wiring.THREE_PHASE, firmware=OLD_FW)
    body = unit.render("vitals")
    assert body.count(b"\n") == 1
    assert b" " not in body
    assert body.startswith(b'{"contactor_closed":false,"vehicle_connected":false,"session_s":0,')
    assert b'"session_energy_wh":0,' in body  # whole numbers without decimals
    text = body.decode()
    hz = text.split('"grid_hz":')[1].split(",")[0]
    assert len(hz.split(".")[1]) == 3  # grid_hz always with 3 decimals


def test_new_fw_vitals_pretty_with_fixed_decimals(world: World) -> None:
    unit = world.add_wall_connector(firmware=NEW_FW)
    body = unit.render("vitals").decode()
    lines = body.splitlines()
    assert lines[0] == "{"
    assert lines[-1] == "}"
    assert all(line.startswith('    "') for line in lines[1:-1])
    assert '    "session_energy_wh":0.000,' in lines
    assert '    "relay_k2_v":0.0,' in lines or '    "relay_k2_v":0.1,' in lines
    assert '    "evse_not_ready_reasons":[4,8]' in lines


def test_charging_pilot_low_prints_zero_never_negative_zero(world: World) -> None:
    unit = world.add_wall_connector(firmware=OLD_FW)
    unit.plug_in(32.0)
    world.advance(30)
    bodies = []
    for _ in range(20):  # 20 sensor samples: reads at one instant would all be the same body
        world.advance(1.0)
        bodies.append(unit.render("vitals"))
    assert any(b'"pilot_low_v":0,' in b for b in bodies)
    assert not any(b":-0," in b or b":-0.0," in b for b in bodies)


def test_lifetime_layout_by_firmware(world: World) -> None:
    old = world.add_wall_connector(firmware=OLD_FW).render("lifetime")
    new = world.add_wall_connector(firmware=NEW_FW).render("lifetime")
    assert old.count(b"\n") == 1
    assert new.startswith(b'{\n    "contactor_cycles":')
    assert new.endswith(b"\n}\n")


def test_version_fields_by_firmware(world: World) -> None:
    na = world.add_wall_connector(firmware=OLD_FW).version()
    assert na == {
        "firmware_version": OLD_FW,
        "git_branch": "HEAD",
        "part_number": "1529455-02-D",
        "serial_number": na["serial_number"],
        "web_service": "h3-hermes-prd.sn.tesla.services",
    }
    old = world.add_wall_connector(wiring=Wiring.THREE_PHASE, firmware="21.8.5+g0123456789abcd").version()
    assert list(old) == ["firmware_version", "part_number", "serial_number"]
    assert old["part_number"] != na["part_number"]


def test_wifi_ssid_encoding_by_firmware(world: World) -> None:
    new = world.add_wall_connector(firmware=NEW_FW).wifi_status()
    old = world.add_wall_connector(firmware="21.8.5+g0123456789abcd").wifi_status()
    assert base64.b64decode(new["wifi_ssid"]).decode().isprintable()
    assert old["wifi_ssid"].isalnum()
    for status in (new, old):
        assert 0 <= status["wifi_signal_strength"] <= 100
        assert -95 <= status["wifi_rssi"] <= -40
        assert status["wifi_snr"] >= 0
        assert status["wifi_connected"] is True
        assert status["internet"] is True
        assert status["wifi_mac"].startswith("98:ED:5C:")
        assert status["wifi_infra_ip"].startswith("192.168.")


def test_render_unknown_endpoint(world: World) -> None:
    with pytest.raises(ValueError, match="unknown endpoint"):
        world.add_wall_connector().render("alerts")


@pytest.mark.parametrize(
    ("value", "decimals", "trim", "text"),
    [
        (1.0, 1, True, "1"),
        (1.0, 1, False, "1.0"),
        (0.0, 3, True, "0"),
        (0.0, 3, False, "0.000"),
        (-0.0, 1, True, "0"),
        (-0.0, 1, False, "0.0"),
        (-0.04, 1, False, "0.0"),
        (-0.05001, 1, False, "-0.1"),
        (49.878, 3, True, "49.878"),
        (50.02, 3, False, "50.020"),
        (22128.301, 3, True, "22128.301"),
        (float("nan"), 1, True, "nan"),
    ],
)
def test_format_number(value: float, decimals: int, trim: bool, text: str) -> None:
    assert format_number(value, decimals, trim=trim) == text


def test_render_object_layouts() -> None:
    values = {"a": True, "b": 3, "c": 1.5, "d": 'x"y', "e": [1, 2], "f": ["s"], "grid_hz": 50.0}
    assert render_object(values, compact=True, trim=True) == (
        b'{"a":true,"b":3,"c":1.5,"d":"x\\"y","e":[1,2],"f":["s"],"grid_hz":50.000}\n'
    )
    assert render_object({"a": 1}, compact=False, trim=False) == b'{\n    "a":1\n}\n'
    assert strip_final_brace(b'{\n    "a":1\n}\n') == b'{\n    "a":1\n\n'
