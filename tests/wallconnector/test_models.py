"""Every real fixture decodes into typed models as its README says."""

from __future__ import annotations

import msgspec
import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from teslalink._json import decode_object
from teslalink.wallconnector import EvseState, Lifetime, Version, Vitals, WifiStatus


def vitals_of(wc_fixture, name):
    return Vitals.from_raw(decode_object(wc_fixture(name)))


def test_eu_idle_vitals(wc_fixture):
    v = vitals_of(wc_fixture, "vitals_eu_idle_fw21.json")
    assert v.vehicle_connected is False
    assert v.contactor_closed is False
    assert v.evse_state is EvseState.NOT_CONNECTED
    assert v.evse_state_code == 1
    assert v.grid_voltage_v == 235.1
    assert v.grid_frequency_hz == 49.878
    assert v.neutral_current_a == 1.0
    assert v.relay_coil_v == 11.9
    assert v.relay_k1_v is None
    assert v.evse_not_ready_reasons is None
    assert v.current_alerts == ()
    assert v.uptime_s == 187883
    assert v.unknown_fields == {}


def test_connected_idle_keeps_last_session_energy_and_alerts(wc_fixture):
    v = vitals_of(wc_fixture, "vitals_eu_connected_idle_alerts.json")
    assert v.vehicle_connected is True
    assert v.session_s == 0
    assert v.session_energy_wh == 22128.301
    assert v.current_alerts == ("alert1", "alert2")


def test_after_reboot_session_energy_is_zero(wc_fixture):
    v = vitals_of(wc_fixture, "vitals_eu_idle_fw21.18.1.json")
    assert v.uptime_s == 190
    assert v.session_energy_wh == 0.0


def test_split_phase_charging(wc_fixture):
    v = vitals_of(wc_fixture, "vitals_na_splitphase_charging_30A.json")
    assert v.evse_state is EvseState.CHARGING
    assert v.evse_state.is_charging
    assert v.phase_voltages_v == (242.6, 242.7, 119.2)
    assert v.phase_currents_a == (11.4, 13.1, 12.7)
    assert v.pilot_low_v == 0.0


def test_newer_firmware_partial_body_is_none_not_keyerror(wc_fixture):
    v = vitals_of(wc_fixture, "vitals_newer_firmware_relay_fields_partial.json")
    assert v.relay_coil_v is None
    assert (v.relay_k1_v, v.relay_k2_v) == (12.0, 0.0)
    assert v.evse_not_ready_reasons == (4, 8)
    assert v.grid_voltage_v is None
    assert v.evse_state is EvseState.UNKNOWN
    assert v.evse_state_code is None


@pytest.mark.parametrize("code", [3, 5, 12, 13, 99, -4])
def test_unknown_evse_codes_keep_the_number(code):
    v = Vitals.from_raw({"evse_state": code})
    assert v.evse_state is EvseState.UNKNOWN
    assert v.evse_state_code == code


def test_wrong_types_become_none_and_unknown_fields_are_kept():
    v = Vitals.from_raw({"grid_v": "230", "session_s": True, "evse_state": "11", "fan_rpm": 1200})
    assert v.grid_voltage_v is None
    assert v.session_s is None
    assert v.evse_state is EvseState.UNKNOWN
    assert v.unknown_fields == {"fan_rpm": 1200}
    assert v.raw["fan_rpm"] == 1200


def test_lifetime_with_nan(wc_fixture):
    life = Lifetime.from_raw(decode_object(wc_fixture("lifetime_nan_several_fields.txt")))
    assert life.contactor_cycles_loaded is None
    assert life.alert_count is None
    assert life.avg_startup_temp_c is None
    assert life.energy_wh == 2566837.0
    assert life.charging_time_s == 758036


def test_lifetime_normal(wc_fixture):
    life = Lifetime.from_raw(decode_object(wc_fixture("lifetime.json")))
    assert life.avg_startup_temp_c == 27.8
    assert life.energy_wh == 386204
    assert life.charge_starts == 175


def test_version(wc_fixture):
    version = Version.from_raw(decode_object(wc_fixture("version_fw21.29.1.json")))
    assert version.firmware_version == "21.29.1+g4152353e50f744"
    assert version.part_number == "1529455-02-D"
    assert version.serial_number == "ACB12345678901"
    assert version.git_branch == "HEAD"
    assert version.web_service == "h3-hermes-prd.sn.tesla.services"


def test_wifi_base64_ssid_is_decoded(wc_fixture):
    wifi = WifiStatus.from_raw(decode_object(wc_fixture("wifi_status_base64_ssid.json")))
    assert wifi.ssid == "TestNetwork"
    assert wifi.raw["wifi_ssid"] == "VGVzdE5ldHdvcms="
    assert (wifi.signal_strength_pct, wifi.rssi_dbm, wifi.snr_db) == (44, -68, 18)
    assert wifi.connected is True
    assert wifi.internet is True


def test_wifi_plain_ssid_is_kept(wc_fixture):
    wifi = WifiStatus.from_raw(decode_object(wc_fixture("wifi_status_plain_ssid.json")))
    assert wifi.ssid == "MyPlainNetwork"
    assert wifi.mac == "98:ED:5C:00:00:00"


def test_models_are_read_only(wc_fixture):
    v = vitals_of(wc_fixture, "vitals_eu_idle_fw21.json")
    with pytest.raises(AttributeError):
        v.grid_voltage_v = 1.0  # type: ignore[misc]


json_scalars = st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=5)
json_values = st.recursive(
    json_scalars,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=3), inner, max_size=3),
)
device_keys = st.sampled_from(
    [*sorted(Vitals._KNOWN | Lifetime._KNOWN | Version._KNOWN | WifiStatus._KNOWN), "new_field"]
)


@settings(max_examples=400)
@given(st.dictionaries(device_keys, json_values, max_size=12))
def test_any_answer_builds_every_model_without_raising(raw):
    for model in (Vitals, Lifetime, Version, WifiStatus):
        built = model.from_raw(raw)
        assert built.raw is raw
        for _, value in built.items():
            assert not isinstance(value, list | dict)  # converted or dropped, never passed through raw


@pytest.mark.parametrize(
    ("raw", "name"),
    [
        ({"uptime_s": 1e300}, "uptime_s"),  # a whole float: once a 301-digit int
        ({"uptime_s": 2**63}, "uptime_s"),
        ({"uptime_s": 2**64}, "uptime_s"),
        ({"uptime_s": -(2**63) - 1}, "uptime_s"),
        ({"session_s": 2e19}, "session_s"),
        ({"grid_v": 10**400}, "grid_voltage_v"),
    ],
)
def test_numbers_no_64_bit_field_holds_are_no_reading(raw, name):
    vitals = Vitals.from_raw({"evse_state": 11, **raw})
    assert getattr(vitals, name) is None
    assert vitals.evse_state is EvseState.CHARGING  # one absurd value costs that field only
    assert orjson.dumps(msgspec.structs.asdict(vitals) | {"raw": None})


def test_64_bit_extremes_are_kept():
    vitals = Vitals.from_raw({"uptime_s": 2**63 - 1, "session_s": -(2**63), "grid_v": 2**70})
    assert (vitals.uptime_s, vitals.session_s, vitals.grid_voltage_v) == (2**63 - 1, -(2**63), 2.0**70)
    assert Vitals.from_raw({"uptime_s": 3.0, "grid_v": True}).uptime_s == 3  # the tolerant path


def test_a_lone_surrogate_never_raises_and_is_replaced_where_kept():
    vitals = Vitals.from_raw({"grid_v": "\ud800", "evse_state": 11})
    assert vitals.grid_voltage_v is None  # a string is no voltage
    assert vitals.evse_state is EvseState.CHARGING
    version = Version.from_raw({"firmware_version": "24.\ud800", "serial_number": 5})
    assert version.firmware_version == "24.\ufffd"
    assert version.serial_number is None
    decoded = Vitals.from_raw(decode_object(b'{"grid_v": "\\ud800", "evse_state": 11}'))
    assert decoded.grid_voltage_v is None
    assert orjson.dumps(dict(decoded.raw)) == b'{"grid_v":"\xef\xbf\xbd","evse_state":11}'
