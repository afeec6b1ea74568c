"""The application layer of a signed command: decode the payload, check the role, apply it to the car.

An authenticated payload is a `CarServer.Action` (Infotainment) or a `VCSEC.UnsignedMessage`
(Vehicle Security). Each action we know becomes the REST twin's command of the same meaning and
runs through `Car.command_response` (with ``signed=True``), so the rules and the refusal reasons
are the REST twin's, shared, never written twice. Unverified: the signed path's reason strings —
the real car's `result_reason.plain_text` texts are not published (research/fleet.md 2.7 and 9);
we send the REST reasons (``is_charging``, ``not_charging``, ``invalid_value``, ...).

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


def _start_stop(action: car_server_pb2.ChargingStartStopAction) -> str | None:
    return {
        "start": "charge_start",
        "stop": "charge_stop",
        "start_standard": "charge_standard",
        "start_max_range": "charge_max_range",
    }.get(action.WhichOneof("charging_action") or "")


def _infotainment(vehicle: car_server_pb2.VehicleAction, which: str) -> AppAction | None:
    """The CarServer.VehicleAction members this twin implements, as REST commands."""
    d = DOMAIN_INFOTAINMENT
    simple: dict[str, Callable[[], AppAction | None]] = {
        "setChargingAmpsAction": lambda: AppAction(
            d, "set_charging_amps", {"charging_amps": vehicle.setChargingAmpsAction.charging_amps}
        ),
        "chargingSetLimitAction": lambda: AppAction(
            d, "set_charge_limit", {"percent": vehicle.chargingSetLimitAction.percent}
        ),
        "hvacAutoAction": lambda: AppAction(
            d, "auto_conditioning_start" if vehicle.hvacAutoAction.power_on else "auto_conditioning_stop"
        ),
        "chargePortDoorOpen": lambda: AppAction(d, "charge_port_door_open"),
        "chargePortDoorClose": lambda: AppAction(d, "charge_port_door_close"),
        "vehicleControlHonkHornAction": lambda: AppAction(d, "honk_horn"),
        "vehicleControlFlashLightsAction": lambda: AppAction(d, "flash_lights"),
        "vehicleControlSetSentryModeAction": lambda: AppAction(
            d, "set_sentry_mode", {"on": vehicle.vehicleControlSetSentryModeAction.on}
        ),
        "ping": lambda: AppAction(d, PING, ping_id=vehicle.ping.ping_id),
        "getVehicleData": lambda: AppAction(d, VEHICLE_DATA),
    }
    if which == "chargingStartStopAction":
        name = _start_stop(vehicle.chargingStartStopAction)
        return AppAction(d, name) if name is not None else None
    make = simple.get(which)
    return make() if make is not None else None


_RKE: Final[dict[int, str]] = {
    vcsec_pb2.RKE_ACTION_LOCK: "door_lock",
    vcsec_pb2.RKE_ACTION_UNLOCK: "door_unlock",
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
    response = car.command_response(action.name, action.params, signed=True)
    return bool(response["result"]), str(response["reason"])
