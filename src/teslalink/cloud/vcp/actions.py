"""Every vehicle command teslalink sends, as the protocol message a signed command carries.

`build(name, params)` turns a catalogue name (`cloud/endpoints.json`: `CHARGING_AMPS`, `LOCK`...)
and the REST call's parameters (same names, same units: percent, amps, Celsius, mph, minutes
after midnight, seconds) into a `messages.Command`: its domain (VCSEC for the RKE actions and the
trunks, Infotainment for the rest) and its encoded payload. `Vehicle` checks the arguments before
anything is sent, so nothing is re-checked here; a value that does not fit the message at all is a
ConfigError. One line of data per command, as in the catalogue: adding a command is adding a line.

Which action each command is: Tesla's `pkg/proxy/command.go` (REST name -> SDK call) and
`pkg/vehicle/*.go` (SDK call -> protobuf action) of teslamotors/vehicle-command, read for the
facts; the messages are Tesla's `car_server.proto` and `vcsec.proto` (research/fleet.md 2.7).

Commands with no protocol message stay REST calls (`supports(name)` is False): see `REST_ONLY`.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from typing import Any, Final

from tesla_protocol.command import car_server_pb2 as cs
from tesla_protocol.command import common_pb2, vcsec_pb2

from teslalink.cloud.endpoints import endpoint
from teslalink.cloud.vcp.crypto import Domain
from teslalink.cloud.vcp.messages import Command
from teslalink.errors import ConfigError

__all__ = ["ACTIONS", "REST_ONLY", "build", "supports"]

Params = Mapping[str, Any]
Payload = tuple[Domain, bytes]

REST_ONLY: Final[Mapping[str, str]] = {
    "WAKE_UP": "a REST wake_up on the Fleet API (pkg/proxy/command.go calls the REST wake)",
    "REMOTE_BOOMBOX": "car_server.proto has no boombox action (pkg/proxy/command.go: not implemented)",
    "SEND_TO_VEHICLE": "share/navigation_request needs Tesla's servers (pkg/proxy/command.go: use REST)",
}
"""Catalogue commands that have no protocol message, and why (every name not in ACTIONS is REST)."""


# --- reading the REST parameters (None or absent: the default) -------------------------------------

Field = Callable[[Params], Any]
"""One field of a message, read from the REST parameters."""


def _read(key: str, convert: Callable[[Any], Any], default: Any, what: str) -> Field:
    def read(p: Params) -> Any:
        value = p.get(key)
        if value is None:
            return default
        try:
            return convert(value)
        except (TypeError, ValueError):
            raise ConfigError(f"{key} must be {what}, not {value!r}") from None

    return read


def _boolean(value: Any) -> bool:
    if isinstance(value, bool | int) and value in (0, 1):
        return bool(value)
    if isinstance(value, str) and value.lower() in ("true", "false", "1", "0"):
        return value.lower() in ("true", "1")
    raise ValueError(value)


def integer(key: str, default: int = 0) -> Field:
    return _read(key, int, default, "a whole number")


def number(key: str, default: float = 0.0) -> Field:
    return _read(key, float, default, "a number")


def text(key: str) -> Field:
    return _read(key, str, "", "text")


def flag(key: str) -> Field:
    return _read(key, _boolean, False, "true or false")


def const(value: Any) -> Field:
    return lambda p: value


# --- the two payload kinds ------------------------------------------------------------------------

Builder = Callable[[Params], Payload]
_VOID: Final = common_pb2.Void()


def _vehicle_action(member: str, fields: Mapping[str, Any]) -> Payload:
    """An Infotainment `CarServer.Action{vehicleAction{<member>{fields}}}`.

    Built in one constructor from nested dicts (protobuf builds the inner messages itself): half
    the CPU of constructing each level and copying it into its parent (bench/fleet.py).
    """
    try:
        action = cs.Action(vehicleAction={member: fields})
    except (TypeError, ValueError) as exc:  # protobuf's range checks (an int32 too large...)
        raise ConfigError(f"{member}: a value does not fit the message ({exc})") from None
    return Domain.INFOTAINMENT, bytes(action.SerializeToString())


def car(member: str, **fields: Field) -> Builder:
    """Infotainment's VehicleAction `member`, its fields read from the REST parameters."""
    return lambda p: _vehicle_action(member, {name: read(p) for name, read in fields.items()})


def void(*members: str) -> dict[str, Field]:
    """Fields for the oneof members that are `Void` messages (present means chosen)."""
    return dict.fromkeys(members, const(_VOID))


def _vcsec(**member: Any) -> Payload:
    """A VCSEC `UnsignedMessage{<one member>}` (an RKE action 0 is still sent: it is a oneof)."""
    return Domain.VEHICLE_SECURITY, bytes(vcsec_pb2.UnsignedMessage(**member).SerializeToString())


def rke(action: int) -> Builder:
    """A VCSEC RKE action (lock, unlock, remote drive)."""
    return lambda p: _vcsec(RKEAction=action)


def _choice(key: str, choices: Mapping[str, Builder]) -> Builder:
    """The builder the REST parameter `key` names (ConfigError for any other value)."""

    def build(p: Params) -> Payload:
        value = text(key)(p)
        chosen = choices.get(value)
        if chosen is None:
            raise ConfigError(f"{key} must be one of {', '.join(choices)}, not {value!r}")
        return chosen(p)

    return build


_SUN_ROOF: Final = "vehicleControlSunroofOpenCloseAction"
# our choice (unverified): "comfort" is the absolute level 80 %, the position the REST twin gives it;
# Tesla's proxy maps no sun_roof_control, the other states are the action's own members.
_sun_roof = _choice("state", {
    "vent": car(_SUN_ROOF, **void("vent")),
    "close": car(_SUN_ROOF, **void("close")),
    "open": car(_SUN_ROOF, **void("open")),
    "comfort": car(_SUN_ROOF, absolute_level=const(80)),
})  # fmt: skip
# car_server.proto reserves the window action's location: cars that speak the protocol need none.
_window = _choice("command", {
    "vent": car("vehicleControlWindowAction", **void("vent")),
    "close": car("vehicleControlWindowAction", **void("close")),
})  # fmt: skip
# Go's OpenFrunk/OpenTrunk: a MOVE of the front or rear trunk (VCSEC closureMoveRequest).
_MOVE: Final = vcsec_pb2.CLOSURE_MOVE_TYPE_MOVE
_trunk = _choice("which_trunk", {
    "front": lambda p: _vcsec(closureMoveRequest=vcsec_pb2.ClosureMoveRequest(frontTrunk=_MOVE)),
    "rear": lambda p: _vcsec(closureMoveRequest=vcsec_pb2.ClosureMoveRequest(rearTrunk=_MOVE)),
})  # fmt: skip

SEAT_POSITIONS: Final = (
    "CAR_SEAT_FRONT_LEFT",
    "CAR_SEAT_FRONT_RIGHT",
    "CAR_SEAT_REAR_LEFT",
    "CAR_SEAT_REAR_LEFT_BACK",
    "CAR_SEAT_REAR_CENTER",
    "CAR_SEAT_REAR_RIGHT",
)
"""REST `heater` 0-5 in order (Tesla's proxy numbers `seat_position` the same way)."""
HEATER_LEVELS: Final = ("SEAT_HEATER_OFF", "SEAT_HEATER_LOW", "SEAT_HEATER_MED", "SEAT_HEATER_HIGH")
"""REST `level` 0-3."""


def _seat_heater(p: Params) -> list[Any]:
    """One seat per action, as Tesla's proxy and our client send it."""
    heater, level = integer("heater")(p), integer("level")(p)
    if not (0 <= heater < len(SEAT_POSITIONS) and 0 <= level < len(HEATER_LEVELS)):
        raise ConfigError(f"no seat heater {heater} at level {level}")
    seat = {SEAT_POSITIONS[heater]: _VOID, HEATER_LEVELS[level]: _VOID}
    return [cs.HvacSeatHeaterActions.HvacSeatHeaterAction(**seat)]


def _policy(kind: type[Any], enabled: str, weekdays_only: str) -> Field:
    """Go's getPolicy: weekdays only, all week, or off (absent). Our choice: a policy needs
    `enabled` (Go turns a bare weekdays_only on too), and None is off: a signed message cannot say
    "leave it as it is", as a REST call's missing parameter does."""

    def read(p: Params) -> Any:
        if not flag(enabled)(p):
            return None
        return kind(weekdays=_VOID) if flag(weekdays_only)(p) else kind(all_week=_VOID)

    return read


def _location(p: Params) -> Any:
    return common_pb2.LatLong(latitude=number("lat")(p), longitude=number("lon")(p))


_PRECONDITIONING: Final = _policy(
    common_pb2.PreconditioningTimes, "preconditioning_enabled", "preconditioning_weekdays_only"
)
_OFF_PEAK: Final = _policy(
    common_pb2.OffPeakChargingTimes, "off_peak_charging_enabled", "off_peak_charging_weekdays_only"
)
_VOLUME: Final = "mediaUpdateVolume"


# --- the table: catalogue name -> the payload of its signed command ------------------------------

# fmt: off
ACTIONS: Final[Mapping[str, Builder]] = {
    "UNLOCK": rke(vcsec_pb2.RKE_ACTION_UNLOCK),
    "LOCK": rke(vcsec_pb2.RKE_ACTION_LOCK),
    "REMOTE_START": rke(vcsec_pb2.RKE_ACTION_REMOTE_DRIVE),  # no password: the signature is the credential
    "ACTUATE_TRUNK": _trunk,
    "HONK_HORN": car("vehicleControlHonkHornAction"),
    "FLASH_LIGHTS": car("vehicleControlFlashLightsAction"),
    "CHANGE_SUNROOF_STATE": _sun_roof,
    "WINDOW_CONTROL": _window,
    "TRIGGER_HOMELINK": car("vehicleControlTriggerHomelinkAction", location=_location),
    "SET_SENTRY_MODE": car("vehicleControlSetSentryModeAction", on=flag("on")),
    "SET_VALET_MODE": car("vehicleControlSetValetModeAction", on=flag("on"), password=text("password")),
    "RESET_VALET_PIN": car("vehicleControlResetValetPinAction"),
    "SPEED_LIMIT_ACTIVATE": car("drivingSpeedLimitAction", activate=const(True), pin=text("pin")),
    "SPEED_LIMIT_DEACTIVATE": car("drivingSpeedLimitAction", activate=const(False), pin=text("pin")),
    "SPEED_LIMIT_SET_LIMIT": car("drivingSetSpeedLimitAction", limit_mph=number("limit_mph")),
    "SPEED_LIMIT_CLEAR_PIN": car("drivingClearSpeedLimitPinAction", pin=text("pin")),
    "CLIMATE_ON": car("hvacAutoAction", power_on=const(True)),
    "CLIMATE_OFF": car("hvacAutoAction", power_on=const(False)),
    "MAX_DEFROST": car("hvacSetPreconditioningMaxAction", on=flag("on")),
    "CHANGE_CLIMATE_TEMPERATURE_SETTING": car("hvacTemperatureAdjustmentAction",
        driver_temp_celsius=number("driver_temp"),
        passenger_temp_celsius=lambda p: number("passenger_temp", number("driver_temp")(p))(p)),
    "SET_CLIMATE_KEEPER_MODE": car("hvacClimateKeeperAction",
        ClimateKeeperAction=integer("climate_keeper_mode")),
    "SET_CABIN_OVERHEAT_PROTECTION": car("setCabinOverheatProtectionAction",
        on=flag("on"), fan_only=flag("fan_only")),
    "HVAC_BIOWEAPON_MODE": car("hvacBioweaponModeAction", on=flag("on")),
    "REMOTE_SEAT_HEATER_REQUEST": car("hvacSeatHeaterActions", hvacSeatHeaterAction=_seat_heater),
    "REMOTE_STEERING_WHEEL_HEATER_REQUEST": car("hvacSteeringWheelHeaterAction", power_on=flag("on")),
    "CHANGE_CHARGE_LIMIT": car("chargingSetLimitAction", percent=integer("percent")),
    "CHANGE_CHARGE_MAX": car("chargingStartStopAction", **void("start_max_range")),
    "CHANGE_CHARGE_STANDARD": car("chargingStartStopAction", **void("start_standard")),
    "CHARGING_AMPS": car("setChargingAmpsAction", charging_amps=integer("charging_amps")),
    "START_CHARGE": car("chargingStartStopAction", **void("start")),
    "STOP_CHARGE": car("chargingStartStopAction", **void("stop")),
    "CHARGE_PORT_DOOR_OPEN": car("chargePortDoorOpen"),
    "CHARGE_PORT_DOOR_CLOSE": car("chargePortDoorClose"),
    "SCHEDULED_CHARGING": car("scheduledChargingAction",
        enabled=flag("enable"), charging_time=integer("time")),
    "SCHEDULED_DEPARTURE": car("scheduledDepartureAction", enabled=flag("enable"),
        departure_time=integer("departure_time"), preconditioning_times=_PRECONDITIONING,
        off_peak_charging_times=_OFF_PEAK, off_peak_hours_end_time=integer("end_off_peak_time")),
    "SCHEDULE_SOFTWARE_UPDATE": car("vehicleControlScheduleSoftwareUpdateAction",
        offset_sec=integer("offset_sec")),
    "CANCEL_SOFTWARE_UPDATE": car("vehicleControlCancelSoftwareUpdateAction"),
    "MEDIA_TOGGLE_PLAYBACK": car("mediaPlayAction"),
    "MEDIA_NEXT_TRACK": car("mediaNextTrack"),
    "MEDIA_PREVIOUS_TRACK": car("mediaPreviousTrack"),
    "MEDIA_NEXT_FAVORITE": car("mediaNextFavorite"),
    "MEDIA_PREVIOUS_FAVORITE": car("mediaPreviousFavorite"),
    "MEDIA_VOLUME_UP": car(_VOLUME, volume_delta=const(1)),  # one step, as Go's VolumeUp
    "MEDIA_VOLUME_DOWN": car(_VOLUME, volume_delta=const(-1)),
    "ADJUST_VOLUME": car(_VOLUME, volume_absolute_float=number("volume")),
    "SET_VEHICLE_NAME": car("setVehicleNameAction", vehicleName=text("vehicle_name")),
}
# fmt: on


def supports(name: str) -> bool:
    """Can the command `name` (a catalogue name, any case) travel as a signed command?"""
    return name.upper() in ACTIONS


def build(name: str, params: Params | None = None) -> Command:
    """The signed-command payload for catalogue command `name` with the REST call's `params`.

    The Command is named after the REST command (`set_charging_amps`), as the car's errors are.
    ConfigError for a command that has no protocol message (it is a REST call) or a parameter
    the message cannot hold.
    """
    key = name.upper()
    make = ACTIONS.get(key)
    if make is None:
        why = REST_ONLY.get(key, "no protocol message is known for it")
        raise ConfigError(f"{name} cannot be sent as a signed command: {why}")
    domain, payload = make(params or {})
    return Command(_rest_name(key), domain, payload)


@functools.cache
def _rest_name(key: str) -> str:
    """The REST command's name (`set_charging_amps`) of catalogue name `key`, looked up once."""
    return endpoint(key).path.rsplit("/", 1)[-1]
