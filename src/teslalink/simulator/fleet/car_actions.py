"""The application layer of a signed command: decode the payload, check the role, apply it to the car.

An authenticated payload is a `CarServer.Action` (Infotainment) or a `VCSEC.UnsignedMessage`
(Vehicle Security). Each action we know becomes the REST twin's command of the same meaning and
runs through `Car.command_response` (with ``signed=True``), so the rules and the refusal reasons
are the REST twin's, shared, never written twice. Unverified: the signed path's reason strings —
the real car's `result_reason.plain_text` texts are not published (research/fleet.md 2.7 and 9);
we send the REST reasons (``is_charging``, ``not_charging``, ``invalid_value``, ...).

`_VEHICLE_ACTIONS` is the table of Infotainment actions (one decoder per `VehicleAction` member of
Tesla's car_server.proto), `_RKE` and `_closure` the VCSEC ones: every command our client signs
(teslalink.cloud.vcp.actions) is there, each the inverse of the client's builder.

The answer is the encoded `CarServer.Response{actionStatus{result, result_reason.plain_text}}`
or, from VCSEC, an empty `FromVCSECMessage` on success and `nominalError` on failure. A payload
that does not decode is fault 10 (DECODING); an action this twin does not implement is fault 9
(INVALID_COMMAND); an action the key's role may not send is fault 7 (INSUFFICIENT_PRIVILEGES).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Final

from google.protobuf.message import DecodeError, Message
from tesla_protocol.command import car_server_pb2, errors_pb2, keys_pb2, vcsec_pb2

if TYPE_CHECKING:
    from ..vehicle.car import Car

__all__ = [
    "FAULT_DECODING",
    "FAULT_INSUFFICIENT_PRIVILEGES",
    "FAULT_INVALID_COMMAND",
    "AppAction",
    "decode_action",
    "encode_message",
    "role_allows",
    "run_action",
]

FAULT_INSUFFICIENT_PRIVILEGES: Final = 7
FAULT_INVALID_COMMAND: Final = 9
FAULT_DECODING: Final = 10

DOMAIN_VCSEC: Final = 2
DOMAIN_INFOTAINMENT: Final = 3

PING: Final = "ping"
VEHICLE_DATA: Final = "vehicle_data"
WAKE: Final = "wake"

CHARGING_COMMANDS: Final = frozenset(
    {
        "set_charging_amps",
        "set_charge_limit",
        "charge_start",
        "charge_stop",
        "charge_standard",
        "charge_max_range",
    }
)
_READ_ONLY: Final = frozenset({PING, VEHICLE_DATA})

_FULL_ROLES: Final = frozenset({keys_pb2.ROLE_OWNER, keys_pb2.ROLE_DRIVER, keys_pb2.ROLE_FM})


def encode_message(message: Message) -> bytes:
    """The wire bytes of a protobuf message (typed: google.protobuf has no stubs here)."""
    return bytes(message.SerializeToString())


def role_allows(role: int, name: str) -> bool:
    """May a key of `role` send action `name`?

    Our choice (research/fleet.md 2.7, vehicle-command #217; the car's full table is not public):
    owner, driver and fleet-manager keys send everything; a charging-manager key charging actions
    and the reads, but not wake or the charge port; a vehicle-monitor key only the reads; other
    roles nothing.
    """
    if role in _FULL_ROLES:
        return True
    if role == keys_pb2.ROLE_CHARGING_MANAGER:
        return name in CHARGING_COMMANDS or name in _READ_ONLY
    if role == keys_pb2.ROLE_VEHICLE_MONITOR:
        return name in _READ_ONLY
    return False


@dataclass(frozen=True, slots=True)
class AppAction:
    """One decoded action: the REST command it means (or ping / vehicle_data / wake) and its parameters."""

    domain: int
    name: str
    params: Mapping[str, Any] = field(default_factory=dict)
    ping_id: int = 0


Decoder = Callable[[Any], "tuple[str, dict[str, Any]] | None"]
"""A VehicleAction member's message -> the REST command of the same meaning and its parameters."""

_START_STOP: Final = {
    "start": "charge_start",
    "stop": "charge_stop",
    "start_standard": "charge_standard",
    "start_max_range": "charge_max_range",
}
# REST `heater` 0-5 and `level` 0-3 (our client numbers them as Tesla's proxy does); any other
# seat or level is -1, which the REST command refuses as invalid_value.
_SEATS: Final = (
    "CAR_SEAT_FRONT_LEFT",
    "CAR_SEAT_FRONT_RIGHT",
    "CAR_SEAT_REAR_LEFT",
    "CAR_SEAT_REAR_LEFT_BACK",
    "CAR_SEAT_REAR_CENTER",
    "CAR_SEAT_REAR_RIGHT",
)
_HEATER_LEVELS: Final = ("SEAT_HEATER_OFF", "SEAT_HEATER_LOW", "SEAT_HEATER_MED", "SEAT_HEATER_HIGH")
# Our choice: the absolute sun roof levels the REST states stand for (the twin's own positions).
_SUN_ROOF_LEVELS: Final = {0: "close", 15: "vent", 80: "comfort", 100: "open"}


def _index(names: tuple[str, ...], chosen: str | None) -> int:
    return names.index(chosen) if chosen in names else -1


def _float32(value: float) -> float:
    """A float32 on the wire: 21.7 arrives as 21.700000762939453; the car's steps are far coarser."""
    return round(float(value), 2)


def _simple(name: str, **fields: str) -> Decoder:
    """The REST command `name`, each parameter copied from the message's field of the given name."""
    return lambda m: (name, {param: getattr(m, field) for param, field in fields.items()})


def _seat_heater(m: car_server_pb2.HvacSeatHeaterActions) -> tuple[str, dict[str, Any]] | None:
    """One seat per action (our choice: as our client and Tesla's proxy send it; more is fault 9)."""
    if len(m.hvacSeatHeaterAction) != 1:
        return None
    seat = m.hvacSeatHeaterAction[0]
    heater = _index(_SEATS, seat.WhichOneof("seat_position"))
    level = _index(_HEATER_LEVELS, seat.WhichOneof("seat_heater_level"))
    return "remote_seat_heater_request", {"heater": heater, "level": level}


def _sun_roof(m: car_server_pb2.VehicleControlSunroofOpenCloseAction) -> tuple[str, dict[str, Any]] | None:
    action = m.WhichOneof("action")
    if action is not None:
        return "sun_roof_control", {"state": action}
    if m.WhichOneof("sunroof_level") == "absolute_level":
        return "sun_roof_control", {"state": _SUN_ROOF_LEVELS.get(m.absolute_level, "")}
    return None  # a delta level: not implemented (fault 9)


def _policy(times: Any) -> tuple[bool, bool]:
    """(enabled, weekdays only) of PreconditioningTimes / OffPeakChargingTimes (absent: off)."""
    which = times.WhichOneof("times")
    return which is not None, which == "weekdays"


def _departure(m: car_server_pb2.ScheduledDepartureAction) -> tuple[str, dict[str, Any]]:
    preconditioning = _policy(m.preconditioning_times)
    off_peak = _policy(m.off_peak_charging_times)
    return "set_scheduled_departure", {
        "enable": m.enabled,
        "departure_time": m.departure_time,
        "preconditioning_enabled": preconditioning[0],
        "preconditioning_weekdays_only": preconditioning[1],
        "off_peak_charging_enabled": off_peak[0],
        "off_peak_charging_weekdays_only": off_peak[1],
        "end_off_peak_time": m.off_peak_hours_end_time,
    }


def _volume(m: car_server_pb2.MediaUpdateVolume) -> tuple[str, dict[str, Any]] | None:
    """An absolute volume, or one step up or down (our choice: a delta's sign; Go sends +-1)."""
    which = m.WhichOneof("media_volume")
    if which == "volume_absolute_float":
        return "adjust_volume", {"volume": _float32(m.volume_absolute_float)}
    if which == "volume_delta" and m.volume_delta:
        return ("media_volume_up" if m.volume_delta > 0 else "media_volume_down"), {}
    return None


def _speed_limit(m: car_server_pb2.DrivingSpeedLimitAction) -> tuple[str, dict[str, Any]]:
    return ("speed_limit_activate" if m.activate else "speed_limit_deactivate"), {"pin": m.pin}


# The CarServer.VehicleAction members this twin implements (Tesla's car_server.proto), each as the
# REST command of the same meaning; the reads (ping, getVehicleData) are answered apart.
_VEHICLE_ACTIONS: Final[dict[str, Decoder]] = {
    "setChargingAmpsAction": _simple("set_charging_amps", charging_amps="charging_amps"),
    "chargingSetLimitAction": _simple("set_charge_limit", percent="percent"),
    "chargingStartStopAction": lambda m: (
        (_START_STOP[m.WhichOneof("charging_action")], {})
        if m.WhichOneof("charging_action") in _START_STOP
        else None
    ),
    "chargePortDoorOpen": _simple("charge_port_door_open"),
    "chargePortDoorClose": _simple("charge_port_door_close"),
    "scheduledChargingAction": _simple("set_scheduled_charging", enable="enabled", time="charging_time"),
    "scheduledDepartureAction": _departure,
    "hvacAutoAction": lambda m: ("auto_conditioning_start" if m.power_on else "auto_conditioning_stop", {}),
    "hvacSetPreconditioningMaxAction": _simple("set_preconditioning_max", on="on"),
    "hvacTemperatureAdjustmentAction": lambda m: (
        "set_temps",
        {
            "driver_temp": _float32(m.driver_temp_celsius),
            "passenger_temp": _float32(m.passenger_temp_celsius),
        },
    ),
    "hvacClimateKeeperAction": _simple("set_climate_keeper_mode", climate_keeper_mode="ClimateKeeperAction"),
    "setCabinOverheatProtectionAction": _simple(
        "set_cabin_overheat_protection", on="on", fan_only="fan_only"
    ),
    "hvacBioweaponModeAction": _simple("set_bioweapon_mode", on="on"),
    "hvacSeatHeaterActions": _seat_heater,
    "hvacSteeringWheelHeaterAction": _simple("remote_steering_wheel_heater_request", on="power_on"),
    "vehicleControlHonkHornAction": _simple("honk_horn"),
    "vehicleControlFlashLightsAction": _simple("flash_lights"),
    "vehicleControlSunroofOpenCloseAction": _sun_roof,
    "vehicleControlWindowAction": lambda m: (
        ("window_control", {"command": m.WhichOneof("action")})
        if m.WhichOneof("action") in ("vent", "close")
        else None
    ),
    "vehicleControlTriggerHomelinkAction": lambda m: (
        "trigger_homelink",
        {"lat": m.location.latitude, "lon": m.location.longitude},
    ),
    "vehicleControlSetSentryModeAction": _simple("set_sentry_mode", on="on"),
    "vehicleControlSetValetModeAction": lambda m: (
        "set_valet_mode",
        {"on": m.on, "password": m.password or None},
    ),
    "vehicleControlResetValetPinAction": _simple("reset_valet_pin"),
    "drivingSpeedLimitAction": _speed_limit,
    "drivingSetSpeedLimitAction": _simple("speed_limit_set_limit", limit_mph="limit_mph"),
    "drivingClearSpeedLimitPinAction": _simple("speed_limit_clear_pin", pin="pin"),
    "vehicleControlScheduleSoftwareUpdateAction": _simple(
        "schedule_software_update", offset_sec="offset_sec"
    ),
    "vehicleControlCancelSoftwareUpdateAction": _simple("cancel_software_update"),
    "mediaPlayAction": _simple("media_toggle_playback"),
    "mediaNextTrack": _simple("media_next_track"),
    "mediaPreviousTrack": _simple("media_prev_track"),
    "mediaNextFavorite": _simple("media_next_fav"),
    "mediaPreviousFavorite": _simple("media_prev_fav"),
    "mediaUpdateVolume": _volume,
    "setVehicleNameAction": _simple("set_vehicle_name", vehicle_name="vehicleName"),
}


def _infotainment(vehicle: car_server_pb2.VehicleAction, which: str) -> AppAction | None:
    """The CarServer.VehicleAction members this twin implements, as REST commands."""
    d = DOMAIN_INFOTAINMENT
    if which == "ping":
        return AppAction(d, PING, ping_id=vehicle.ping.ping_id)
    if which == "getVehicleData":
        return AppAction(d, VEHICLE_DATA)
    decode = _VEHICLE_ACTIONS.get(which)
    decoded = decode(getattr(vehicle, which)) if decode is not None else None
    return AppAction(d, decoded[0], decoded[1]) if decoded is not None else None


_RKE: Final[dict[int, str]] = {
    vcsec_pb2.RKE_ACTION_LOCK: "door_lock",
    vcsec_pb2.RKE_ACTION_UNLOCK: "door_unlock",
    vcsec_pb2.RKE_ACTION_REMOTE_DRIVE: "remote_start_drive",
    vcsec_pb2.RKE_ACTION_WAKE_VEHICLE: WAKE,
}


_MOVE, _OPEN, _CLOSE = (
    vcsec_pb2.CLOSURE_MOVE_TYPE_MOVE,
    vcsec_pb2.CLOSURE_MOVE_TYPE_OPEN,
    vcsec_pb2.CLOSURE_MOVE_TYPE_CLOSE,
)


def _closure(move: vcsec_pb2.ClosureMoveRequest) -> AppAction | None:
    """The trunks and the charge port, as the REST commands do them.

    Our choice: the frunk opens (it cannot close remotely), the liftgate moves (REST's toggle),
    the port door opens or closes; any other closure or move type is not implemented (fault 9).
    """
    d = DOMAIN_VCSEC
    if move.frontTrunk in (_MOVE, _OPEN):
        return AppAction(d, "actuate_trunk", {"which_trunk": "front"})
    if move.rearTrunk == _MOVE:
        return AppAction(d, "actuate_trunk", {"which_trunk": "rear"})
    if move.chargePort in (_MOVE, _OPEN):
        return AppAction(d, "charge_port_door_open")
    if move.chargePort == _CLOSE:
        return AppAction(d, "charge_port_door_close")
    return None


def _vcsec(message: vcsec_pb2.UnsignedMessage) -> AppAction | None:
    which = message.WhichOneof("sub_message")
    if which == "RKEAction":
        name = _RKE.get(message.RKEAction)
        return AppAction(DOMAIN_VCSEC, name) if name is not None else None
    if which == "closureMoveRequest":
        return _closure(message.closureMoveRequest)
    return None


def decode_action(domain: int, payload: bytes) -> AppAction | int:
    """The action in an authenticated plaintext, or the fault: 10 undecodable, 9 not implemented."""
    try:
        if domain == DOMAIN_VCSEC:
            decoded_vcsec = _vcsec(vcsec_pb2.UnsignedMessage.FromString(payload))
            return decoded_vcsec if decoded_vcsec is not None else FAULT_INVALID_COMMAND
        action = car_server_pb2.Action.FromString(payload)
    except DecodeError:
        return FAULT_DECODING
    which = (
        action.vehicleAction.WhichOneof("vehicle_action_msg") if action.HasField("vehicleAction") else None
    )
    decoded = _infotainment(action.vehicleAction, which) if which is not None else None
    return decoded if decoded is not None else FAULT_INVALID_COMMAND


def run_action(car: Car, action: AppAction) -> bytes:
    """Apply `action` to the car and encode the domain's answer.

    Calls that reach the car refuse as the REST twin's do (`Car._reach`): a `Refusal` (in service,
    asleep, offline) propagates to the HTTP layer, which answers it; mobile access is checked by
    the caller first (fault 21).
    """
    if action.domain == DOMAIN_VCSEC:
        return _run_vcsec(car, action)
    if action.name == PING:
        car.reach()
        response = car_server_pb2.Response(
            actionStatus=car_server_pb2.ActionStatus(result=car_server_pb2.OPERATIONSTATUS_OK)
        )
        response.ping.ping_id = action.ping_id
        return encode_message(response)
    if action.name == VEHICLE_DATA:
        # Our choice: an empty VehicleData (the twin's data is the REST vehicle_data's JSON).
        car.reach()
        response = car_server_pb2.Response(
            actionStatus=car_server_pb2.ActionStatus(result=car_server_pb2.OPERATIONSTATUS_OK)
        )
        response.vehicleData.SetInParent()
        return encode_message(response)
    ok, reason = _command(car, action)
    status = car_server_pb2.ActionStatus(result=car_server_pb2.OPERATIONSTATUS_OK)
    if not ok:
        status.result = car_server_pb2.OPERATIONSTATUS_ERROR
        status.result_reason.plain_text = reason  # unverified: the signed path's reason strings
    return encode_message(car_server_pb2.Response(actionStatus=status))


def _run_vcsec(car: Car, action: AppAction) -> bytes:
    if action.name == WAKE:
        # Our choice: over the Fleet API the car is online when VCSEC answers (the HTTP layer
        # answers 408 otherwise), so wake only keeps it awake.
        car.wake_up()
        return encode_message(vcsec_pb2.FromVCSECMessage())
    ok, _reason = _command(car, action)
    if ok:
        return encode_message(vcsec_pb2.FromVCSECMessage())
    # Our choice: VCSEC's nominalError has only an enum; every REST reason becomes UNKNOWN.
    error = errors_pb2.NominalError(genericError=errors_pb2.GENERICERROR_UNKNOWN)
    return encode_message(vcsec_pb2.FromVCSECMessage(nominalError=error))


def _command(car: Car, action: AppAction) -> tuple[bool, str]:
    params = dict(action.params)
    if action.name == "window_control":
        # car_server.proto reserves the window action's location: a car that speaks the protocol
        # needs none, so the REST twin's proximity check is given the car's own position.
        params["lat"], params["lon"] = car.location
    response = car.command_response(action.name, params, signed=True)
    return bool(response["result"]), str(response["reason"])
