"""Typed, read-only views of the Wall Connector's four answers.

Why this shape: firmware versions add, drop and rename fields, and some send `nan` for a reading
they do not have. So every field is optional (a missing or non-numeric value is None, never a
KeyError), the untouched answer stays on `.raw` (unknown new fields included), and names carry
their unit (`grid_voltage_v`) so a reader never has to guess.
"""

from __future__ import annotations

import base64
import binascii
import enum
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Self

__all__ = ["EvseState", "Lifetime", "Version", "Vitals", "WifiStatus"]


class EvseState(enum.Enum):
    """What the charger is doing (`evse_state`). Not documented by Tesla; the meanings owners agree on."""

    BOOTING = 0
    NOT_CONNECTED = 1
    CONNECTED = 2
    READY = 4
    NEGOTIATING = 6
    ERROR = 7  # also a short transient right after plug-in (1 -> 7 -> 9 -> 11)
    CHARGING_FINISHED = 8
    WAITING_FOR_CAR = 9
    CHARGING_REDUCED = 10
    CHARGING = 11
    UNKNOWN = -1

    @classmethod
    def decode(cls, code: object) -> EvseState:
        """Map a raw code to a state; anything unheard-of (3, 5, 12, 13, a string...) is UNKNOWN."""
        if isinstance(code, int) and not isinstance(code, bool):
            return _EVSE_BY_CODE.get(code, cls.UNKNOWN)
        return cls.UNKNOWN

    @property
    def description(self) -> str:
        return _EVSE_WORDS[self]

    @property
    def is_charging(self) -> bool:
        return self in (EvseState.CHARGING, EvseState.CHARGING_REDUCED)


_EVSE_BY_CODE = {state.value: state for state in EvseState if state is not EvseState.UNKNOWN}
_EVSE_WORDS = {
    EvseState.BOOTING: "booting",
    EvseState.NOT_CONNECTED: "not connected",
    EvseState.CONNECTED: "connected",
    EvseState.READY: "ready",
    EvseState.NEGOTIATING: "negotiating",
    EvseState.ERROR: "error",
    EvseState.CHARGING_FINISHED: "charging finished",
    EvseState.WAITING_FOR_CAR: "waiting for car",
    EvseState.CHARGING_REDUCED: "charging (reduced)",
    EvseState.CHARGING: "charging",
    EvseState.UNKNOWN: "unknown",
}


def _num(raw: Mapping[str, Any], key: str) -> float | None:
    """A finite number as float, else None (missing, null from `nan`, a string, a bool)."""
    value = raw.get(key)
    if type(value) is float:
        return value if math.isfinite(value) else None
    if type(value) is int:
        return float(value)
    return None


def _int(raw: Mapping[str, Any], key: str) -> int | None:
    value = raw.get(key)
    if type(value) is int:
        return value
    if type(value) is float and value.is_integer():
        return int(value)
    return None


def _bool(raw: Mapping[str, Any], key: str) -> bool | None:
    value = raw.get(key)
    return value if type(value) is bool else None


def _str(raw: Mapping[str, Any], key: str) -> str | None:
    value = raw.get(key)
    return value if type(value) is str else None


def _list(raw: Mapping[str, Any], key: str) -> tuple[Any, ...] | None:
    value = raw.get(key)
    return tuple(value) if type(value) is list else None


class _RawModel:
    """Shared behaviour: the answer's own keys that this model does not name."""

    __slots__ = ()
    _KNOWN: frozenset[str] = frozenset()
    raw: Mapping[str, Any]

    @property
    def unknown_fields(self) -> dict[str, Any]:
        """Fields a newer firmware added that this version of teslalink does not know yet."""
        return {k: v for k, v in self.raw.items() if k not in self._KNOWN}


@dataclass(frozen=True, slots=True)
class Vitals(_RawModel):
    """/api/1/vitals: the live electrical and thermal state."""

    contactor_closed: bool | None
    vehicle_connected: bool | None
    session_s: int | None
    grid_voltage_v: float | None
    grid_frequency_hz: float | None
    vehicle_current_a: float | None
    phase_a_current_a: float | None
    phase_b_current_a: float | None
    phase_c_current_a: float | None
    neutral_current_a: float | None
    phase_a_voltage_v: float | None
    phase_b_voltage_v: float | None
    phase_c_voltage_v: float | None
    relay_coil_v: float | None  # older firmware
    relay_k1_v: float | None  # newer firmware
    relay_k2_v: float | None  # newer firmware
    pcba_temp_c: float | None
    handle_temp_c: float | None
    mcu_temp_c: float | None
    uptime_s: int | None
    input_thermopile_uv: float | None
    prox_v: float | None
    pilot_high_v: float | None
    pilot_low_v: float | None
    session_energy_wh: float | None
    config_status: int | None
    evse_state: EvseState
    evse_state_code: int | None
    current_alerts: tuple[Any, ...]
    evse_not_ready_reasons: tuple[Any, ...] | None  # newer firmware only
    raw: Mapping[str, Any] = field(repr=False, compare=False)

    _KNOWN = frozenset(
        "contactor_closed vehicle_connected session_s grid_v grid_hz vehicle_current_a currentA_a currentB_a"
        " currentC_a currentN_a voltageA_v voltageB_v voltageC_v relay_coil_v relay_k1_v relay_k2_v"
        " pcba_temp_c handle_temp_c mcu_temp_c uptime_s input_thermopile_uv prox_v pilot_high_v"
        " pilot_low_v session_energy_wh config_status evse_state current_alerts"
        " evse_not_ready_reasons".split()
    )

    @classmethod
    def from_raw(cls, raw: Mapping[str, Any]) -> Self:
        code = _int(raw, "evse_state")
        return cls(
            contactor_closed=_bool(raw, "contactor_closed"),
            vehicle_connected=_bool(raw, "vehicle_connected"),
            session_s=_int(raw, "session_s"),
            grid_voltage_v=_num(raw, "grid_v"),
            grid_frequency_hz=_num(raw, "grid_hz"),
            vehicle_current_a=_num(raw, "vehicle_current_a"),
            phase_a_current_a=_num(raw, "currentA_a"),
            phase_b_current_a=_num(raw, "currentB_a"),
            phase_c_current_a=_num(raw, "currentC_a"),
            neutral_current_a=_num(raw, "currentN_a"),
            phase_a_voltage_v=_num(raw, "voltageA_v"),
            phase_b_voltage_v=_num(raw, "voltageB_v"),
            phase_c_voltage_v=_num(raw, "voltageC_v"),
            relay_coil_v=_num(raw, "relay_coil_v"),
            relay_k1_v=_num(raw, "relay_k1_v"),
            relay_k2_v=_num(raw, "relay_k2_v"),
            pcba_temp_c=_num(raw, "pcba_temp_c"),
            handle_temp_c=_num(raw, "handle_temp_c"),
            mcu_temp_c=_num(raw, "mcu_temp_c"),
            uptime_s=_int(raw, "uptime_s"),
            input_thermopile_uv=_num(raw, "input_thermopile_uv"),
            prox_v=_num(raw, "prox_v"),
            pilot_high_v=_num(raw, "pilot_high_v"),
            pilot_low_v=_num(raw, "pilot_low_v"),
            session_energy_wh=_num(raw, "session_energy_wh"),
            config_status=_int(raw, "config_status"),
            evse_state=EvseState.decode(code),
            evse_state_code=code,
            current_alerts=_list(raw, "current_alerts") or (),
            evse_not_ready_reasons=_list(raw, "evse_not_ready_reasons"),
            raw=raw,
        )

    @property
    def phase_voltages_v(self) -> tuple[float | None, float | None, float | None]:
        return (self.phase_a_voltage_v, self.phase_b_voltage_v, self.phase_c_voltage_v)

    @property
    def phase_currents_a(self) -> tuple[float | None, float | None, float | None]:
        return (self.phase_a_current_a, self.phase_b_current_a, self.phase_c_current_a)


@dataclass(frozen=True, slots=True)
class Lifetime(_RawModel):
    """/api/1/lifetime: counters since the unit was made. `energy_wh` is known to jump (see energy.py)."""

    contactor_cycles: int | None
    contactor_cycles_loaded: int | None
    alert_count: int | None
    thermal_foldbacks: int | None
    avg_startup_temp_c: float | None
    charge_starts: int | None
    energy_wh: float | None
    connector_cycles: int | None
    uptime_s: int | None
    charging_time_s: int | None
    raw: Mapping[str, Any] = field(repr=False, compare=False)

    _KNOWN = frozenset(
        "contactor_cycles contactor_cycles_loaded alert_count thermal_foldbacks avg_startup_temp"
        " charge_starts energy_wh connector_cycles uptime_s charging_time_s".split()
    )

    @classmethod
    def from_raw(cls, raw: Mapping[str, Any]) -> Self:
        return cls(
            contactor_cycles=_int(raw, "contactor_cycles"),
            contactor_cycles_loaded=_int(raw, "contactor_cycles_loaded"),
            alert_count=_int(raw, "alert_count"),
            thermal_foldbacks=_int(raw, "thermal_foldbacks"),
            avg_startup_temp_c=_num(raw, "avg_startup_temp"),
            charge_starts=_int(raw, "charge_starts"),
            energy_wh=_num(raw, "energy_wh"),
            connector_cycles=_int(raw, "connector_cycles"),
            uptime_s=_int(raw, "uptime_s"),
            charging_time_s=_int(raw, "charging_time_s"),
            raw=raw,
        )


@dataclass(frozen=True, slots=True)
class Version(_RawModel):
    """/api/1/version: firmware and identity. `serial_number` is the stable id of a unit."""

    firmware_version: str | None
    part_number: str | None
    serial_number: str | None
    git_branch: str | None  # newer firmware
    web_service: str | None  # newer firmware
    raw: Mapping[str, Any] = field(repr=False, compare=False)

    _KNOWN = frozenset("firmware_version part_number serial_number git_branch web_service".split())

    @classmethod
    def from_raw(cls, raw: Mapping[str, Any]) -> Self:
        return cls(
            firmware_version=_str(raw, "firmware_version"),
            part_number=_str(raw, "part_number"),
            serial_number=_str(raw, "serial_number"),
            git_branch=_str(raw, "git_branch"),
            web_service=_str(raw, "web_service"),
            raw=raw,
        )


@dataclass(frozen=True, slots=True)
class WifiStatus(_RawModel):
    """/api/1/wifi_status. `ssid` is decoded: current firmware sends it base64, some send it plain."""

    ssid: str | None
    signal_strength_pct: int | None
    rssi_dbm: int | None
    snr_db: int | None
    connected: bool | None
    infra_ip: str | None
    internet: bool | None
    mac: str | None
    raw: Mapping[str, Any] = field(repr=False, compare=False)

    _KNOWN = frozenset(
        "wifi_ssid wifi_signal_strength wifi_rssi wifi_snr wifi_connected wifi_infra_ip internet"
        " wifi_mac".split()
    )

    @classmethod
    def from_raw(cls, raw: Mapping[str, Any]) -> Self:
        return cls(
            ssid=decode_ssid(_str(raw, "wifi_ssid")),
            signal_strength_pct=_int(raw, "wifi_signal_strength"),
            rssi_dbm=_int(raw, "wifi_rssi"),
            snr_db=_int(raw, "wifi_snr"),
            connected=_bool(raw, "wifi_connected"),
            infra_ip=_str(raw, "wifi_infra_ip"),
            internet=_bool(raw, "internet"),
            mac=_str(raw, "wifi_mac"),
            raw=raw,
        )


def decode_ssid(value: str | None) -> str | None:
    """Decode a base64 SSID; keep the text as it is when it is not base64 of printable UTF-8."""
    if not value or len(value) % 4:
        return value
    try:
        text = base64.b64decode(value, validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return value
    return text if text and text.isprintable() else value
