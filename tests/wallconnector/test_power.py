"""Power on every kind of grid, from real readings."""

from __future__ import annotations

import pytest

from teslalink._json import decode_object
from teslalink.errors import ConfigError
from teslalink.wallconnector import ElectricalService, PowerCalculator, Vitals, detect_service


def three_phase_charging(amps=16.0):
    return Vitals.from_raw(
        {
            "contactor_closed": True, "vehicle_connected": True, "grid_v": 231.0, "vehicle_current_a": amps,
            "currentA_a": amps, "currentB_a": amps, "currentC_a": amps,
            "voltageA_v": 230.0, "voltageB_v": 231.0, "voltageC_v": 232.0, "evse_state": 11,
        }
    )  # fmt: skip


def single_phase_charging(amps=32.0):
    return Vitals.from_raw(
        {
            "contactor_closed": True, "grid_v": 230.0, "vehicle_current_a": amps,
            "currentA_a": amps, "currentB_a": 0.1, "currentC_a": 0.2,
            "voltageA_v": 229.0, "voltageB_v": 1.0, "voltageC_v": 0.5, "evse_state": 11,
        }
    )  # fmt: skip


def test_split_phase_fixture_detected_and_not_over_read(wc_fixture):
    vitals = Vitals.from_raw(decode_object(wc_fixture("vitals_na_splitphase_charging_30A.json")))
    assert detect_service(vitals) is ElectricalService.SPLIT_PHASE
    calc = PowerCalculator()
    reading = calc.power(vitals)
    assert reading.service is ElectricalService.SPLIT_PHASE
    assert reading.total_w == pytest.approx(238.5 * 30.8)
    assert reading.phases_w == (reading.total_w,)


def test_three_phase_sums_phases():
    reading = PowerCalculator().power(three_phase_charging(16.0))
    assert reading.service is ElectricalService.THREE_PHASE
    assert reading.phases_w == pytest.approx((230 * 16, 231 * 16, 232 * 16))
    assert reading.total_w == pytest.approx(693 * 16)
    assert reading.total_kw == pytest.approx(11.088)


def test_single_phase():
    reading = PowerCalculator().power(single_phase_charging(32.0))
    assert reading.service is ElectricalService.SINGLE_PHASE
    assert reading.total_w == pytest.approx(230 * 32)


def test_open_contactor_is_zero_watts(wc_fixture):
    vitals = Vitals.from_raw(decode_object(wc_fixture("vitals_eu_connected_idle_alerts.json")))
    assert vitals.vehicle_current_a == 0.5
    reading = PowerCalculator(ElectricalService.THREE_PHASE).power(vitals)
    assert reading.total_w == 0.0
    assert reading.phases_w == (0.0, 0.0, 0.0)


def test_idle_cannot_detect_and_detection_is_remembered(wc_fixture):
    calc = PowerCalculator("auto")
    idle = Vitals.from_raw(decode_object(wc_fixture("vitals_eu_idle_fw21.json")))
    assert calc.power(idle).service is ElectricalService.AUTO
    calc.power(Vitals.from_raw(decode_object(wc_fixture("vitals_na_splitphase_charging_30A.json"))))
    assert calc.service is ElectricalService.SPLIT_PHASE
    assert calc.power(idle).service is ElectricalService.SPLIT_PHASE


def test_explicit_setting_wins_over_detection(wc_fixture):
    vitals = Vitals.from_raw(decode_object(wc_fixture("vitals_na_splitphase_charging_30A.json")))
    calc = PowerCalculator("three-phase")
    reading = calc.power(vitals)
    assert reading.service is ElectricalService.THREE_PHASE
    # What a naive three-phase sum gives on this split-phase unit: the user asked for it.
    assert reading.total_w == pytest.approx(242.6 * 11.4 + 242.7 * 13.1 + 119.2 * 12.7)


def test_bad_service_name_is_a_clear_config_error():
    with pytest.raises(ConfigError, match="split_phase"):
        PowerCalculator("two-phase")
