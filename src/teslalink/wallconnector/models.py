"""Typed, read-only views of the Wall Connector's four answers.

Why this shape: firmware versions add, drop and rename fields, and some send `nan` for a reading
they do not have. So every field is optional (a missing or non-numeric value is None, never a
KeyError), the untouched answer stays on `.raw` (unknown new fields included), and names carry
their unit (`grid_voltage_v`) so a reader never has to guess.

The models are frozen msgspec Structs whose fields are renamed from the device's keys. A
well-formed answer converts in C (`msgspec.convert`, about 0.5 µs for the vitals, against 6.5 µs
to build a frozen dataclass of the same 30 fields), which matters when a recorder polls hundreds
of units. An answer with a value of the wrong type takes the tolerant path: each field through a
converter chosen by its declared type (the shared ones of `teslalink._convert`), so one odd value
costs that field, never the reading.
"""

from __future__ import annotations

import base64
import binascii
import enum
from collections.abc import Callable, Mapping
from typing import Annotated, Any, ClassVar, Self, TypeVar, get_args

import msgspec

from .._convert import INT_MAX, INT_MIN, to_bool, to_float, to_int, to_str, to_tuple

__all__ = ["DeviceModel", "EvseState", "Lifetime", "Version", "Vitals", "WifiStatus"]


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


# `Int64` holds msgspec's fast path to the bound the tolerant converters keep (see _convert.py).
Int64 = Annotated[int, msgspec.Meta(ge=INT_MIN, le=INT_MAX)]


_CONVERTERS: dict[Any, Callable[[Any], Any]] = {
    float: to_float,
    int: to_int,
    bool: to_bool,
    str: to_str,
    tuple: to_tuple,
}


_M = TypeVar("_M", bound="DeviceModel")


def _indexed(cls: type[_M]) -> type[_M]:
    """Record each field's device key and tolerant converter (chosen by its declared type)."""
    source = []
    for info in msgspec.structs.fields(cls):
        if info.name != "raw":
            kind = next(t for t in get_args(info.type) or (info.type,) if t is not type(None))
            source.append((info.name, info.encode_name, _CONVERTERS[getattr(kind, "__origin__", kind)]))
    cls._SOURCE = tuple(source)
    cls._KNOWN = frozenset(key for _, key, _ in source)
    return cls


class DeviceModel(msgspec.Struct, frozen=True, gc=False, kw_only=True):
    """Shared behaviour: build from a device answer, keep the answer, list what we did not know."""

    raw: Mapping[str, Any] = msgspec.field(default_factory=dict)

    _SOURCE: ClassVar[tuple[tuple[str, str, Callable[[Any], Any]], ...]]
    _KNOWN: ClassVar[frozenset[str]]
    _DERIVED: ClassVar[tuple[str, ...]] = ()  # properties worth showing beside the fields

    @classmethod
    def from_raw(cls, raw: Mapping[str, Any]) -> Self:
        try:
            model = msgspec.convert(raw, cls)
        except (msgspec.ValidationError, UnicodeEncodeError):
            # UnicodeEncodeError: msgspec meets a lone surrogate while describing a wrong type.
            get = raw.get
            return cls(raw=raw, **{name: convert(get(key)) for name, key, convert in cls._SOURCE})
        return msgspec.structs.replace(model, raw=raw)

    @property
    def unknown_fields(self) -> dict[str, Any]:
        """Fields a newer firmware added that this version of teslalink does not know yet."""
        return {k: v for k, v in self.raw.items() if k not in self._KNOWN}

    def items(self) -> list[tuple[str, Any]]:
        """(name, value) of every field and derived value, in order, without the raw answer."""
        names = [name for name in self.__struct_fields__ if name != "raw"]
        for derived in self._DERIVED:
            names.insert(names.index(derived + "_code") if derived + "_code" in names else 0, derived)
        return [(name, getattr(self, name)) for name in names]


@_indexed
class Vitals(
    DeviceModel,
    frozen=True,
    gc=False,
    rename={
        "grid_voltage_v": "grid_v", "grid_frequency_hz": "grid_hz",
        "phase_a_current_a": "currentA_a", "phase_b_current_a": "currentB_a",
        "phase_c_current_a": "currentC_a", "neutral_current_a": "currentN_a",
        "phase_a_voltage_v": "voltageA_v", "phase_b_voltage_v": "voltageB_v",
        "phase_c_voltage_v": "voltageC_v", "evse_state_code": "evse_state",
    },
):  # fmt: skip
    """/api/1/vitals: the live electrical and thermal state."""

    _DERIVED = ("evse_state",)

    contactor_closed: bool | None = None
    vehicle_connected: bool | None = None
    session_s: Int64 | None = None
    grid_voltage_v: float | None = None
    grid_frequency_hz: float | None = None
    vehicle_current_a: float | None = None
    phase_a_current_a: float | None = None
    phase_b_current_a: float | None = None
    phase_c_current_a: float | None = None
    neutral_current_a: float | None = None
    phase_a_voltage_v: float | None = None
    phase_b_voltage_v: float | None = None
    phase_c_voltage_v: float | None = None
    relay_coil_v: float | None = None  # older firmware
    relay_k1_v: float | None = None  # newer firmware
    relay_k2_v: float | None = None  # newer firmware
    pcba_temp_c: float | None = None
    handle_temp_c: float | None = None
    mcu_temp_c: float | None = None
    uptime_s: Int64 | None = None
    input_thermopile_uv: float | None = None
    prox_v: float | None = None
    pilot_high_v: float | None = None
    pilot_low_v: float | None = None
    session_energy_wh: float | None = None
    config_status: Int64 | None = None
    evse_state_code: Int64 | None = None
    current_alerts: tuple[Any, ...] | None = None
    evse_not_ready_reasons: tuple[Any, ...] | None = None  # newer firmware only

    @property
    def evse_state(self) -> EvseState:
        """The state in words; UNKNOWN (with `evse_state_code` kept) for codes nobody has decoded."""
        return EvseState.decode(self.evse_state_code)

    @property
    def phase_voltages_v(self) -> tuple[float | None, float | None, float | None]:
        return (self.phase_a_voltage_v, self.phase_b_voltage_v, self.phase_c_voltage_v)

    @property
    def phase_currents_a(self) -> tuple[float | None, float | None, float | None]:
        return (self.phase_a_current_a, self.phase_b_current_a, self.phase_c_current_a)


@_indexed
class Lifetime(DeviceModel, frozen=True, gc=False, rename={"avg_startup_temp_c": "avg_startup_temp"}):
    """/api/1/lifetime: counters since the unit was made. `energy_wh` is known to jump (see energy.py)."""

    contactor_cycles: Int64 | None = None
    contactor_cycles_loaded: Int64 | None = None
    alert_count: Int64 | None = None
    thermal_foldbacks: Int64 | None = None
    avg_startup_temp_c: float | None = None
    charge_starts: Int64 | None = None
    energy_wh: float | None = None
    connector_cycles: Int64 | None = None
    uptime_s: Int64 | None = None
    charging_time_s: Int64 | None = None


@_indexed
class Version(DeviceModel, frozen=True, gc=False):
    """/api/1/version: firmware and identity. `serial_number` is the stable id of a unit."""

    firmware_version: str | None = None
    part_number: str | None = None
    serial_number: str | None = None
    git_branch: str | None = None  # newer firmware
    web_service: str | None = None  # newer firmware


@_indexed
class WifiStatus(
    DeviceModel,
    frozen=True,
    gc=False,
    rename={
        "ssid_sent": "wifi_ssid", "signal_strength_pct": "wifi_signal_strength", "rssi_dbm": "wifi_rssi",
        "snr_db": "wifi_snr", "connected": "wifi_connected", "infra_ip": "wifi_infra_ip", "mac": "wifi_mac",
    },
):  # fmt: skip
    """/api/1/wifi_status."""

    _DERIVED = ("ssid",)

    ssid_sent: str | None = None  # as the unit sent it: base64 on current firmware, plain on some
    signal_strength_pct: Int64 | None = None
    rssi_dbm: Int64 | None = None
    snr_db: Int64 | None = None
    connected: bool | None = None
    infra_ip: str | None = None
    internet: bool | None = None
    mac: str | None = None

    @property
    def ssid(self) -> str | None:
        """The network name, decoded when the unit sent it base64."""
        return decode_ssid(self.ssid_sent)


def decode_ssid(value: str | None) -> str | None:
    """Decode a base64 SSID; keep the text as it is when it is not base64 of printable UTF-8."""
    if not value or len(value) % 4:
        return value
    try:
        text = base64.b64decode(value, validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return value
    return text if text and text.isprintable() else value
