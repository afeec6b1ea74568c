"""`POST /api/1/vehicles/{vin}/signed_command` on a regional Fleet host: the Fleet API's checks
before the car (422, 400, 403 by the action's scope, 408), then the car's own answer inside a 200.

The client is the spec-written mirror of test_car_protocol (not our cloud.vcp package), its
messages carried over HTTP instead of handed to the car.
"""

from __future__ import annotations

import base64
import random

from tesla_protocol.command import car_server_pb2, signatures_pb2

from teslalink.simulator.fleet import pair
from teslalink.simulator.vehicle.car import Car
from teslalink.simulator.vehicle.spec import make_vin, model_spec

from .conftest import Fleet
from .test_car_protocol import ENCRYPT_RESPONSE, INFOTAINMENT, LOCK, UNLOCK, VCSEC, Mirror, Msg, set_amps


async def post(fleet: Fleet, token: str, car: Car, message: Msg) -> tuple[int, Msg | dict[str, object]]:
    encoded = base64.b64encode(message.SerializeToString()).decode()
    reply = await fleet.call(
        "POST", "na", f"api/1/vehicles/{car.vin}/signed_command", token, json={"routable_message": encoded}
    )
    if reply.status != 200:
        return reply.status, reply.json
    return 200, Msg.FromString(base64.b64decode(reply.json["response"]))


async def handshake(fleet: Fleet, token: str, mirror: Mirror, domain: int) -> None:
    request = Msg(uuid=random.randbytes(16))
    request.to_destination.domain = domain  # type: ignore[assignment]
    request.from_destination.routing_address = mirror.address
    request.session_info_request.public_key = mirror.public
    status, reply = await post(fleet, token, mirror.car, request)
    assert status == 200
    assert isinstance(reply, Msg)
    mirror.verify_session_info(reply, request.uuid, domain)


async def command(fleet: Fleet, token: str, mirror: Mirror, domain: int, payload: bytes) -> bytes:
    request = mirror.sign(domain, payload)
    status, reply = await post(fleet, token, mirror.car, request)
    assert status == 200, reply
    assert isinstance(reply, Msg)
    return mirror.open_reply(request, reply, domain)


def paired_mirror(fleet: Fleet, car: Car) -> Mirror:
    mirror = Mirror(car, flags=ENCRYPT_RESPONSE)
    pair(fleet.world, car.vin, mirror.public)  # the owner tapped "approve"
    return mirror


async def test_signed_commands_over_the_fleet_api_change_the_car(fleet: Fleet) -> None:
    account = fleet.account(1)
    car = fleet.world.vehicles_of(account)[0]
    user = fleet.user_token(account)
    mirror = paired_mirror(fleet, car)
    billed_before = sum(fleet.world.accounting.totals.values())
    await handshake(fleet, user, mirror, INFOTAINMENT)
    await handshake(fleet, user, mirror, VCSEC)
    status = car_server_pb2.Response.FromString(
        await command(fleet, user, mirror, INFOTAINMENT, set_amps(14))
    )
    assert status.actionStatus.result == car_server_pb2.OPERATIONSTATUS_OK
    assert car.vehicle_data(["charge_state"])["charge_state"]["charge_current_request"] == 14
    assert await command(fleet, user, mirror, VCSEC, UNLOCK) == b""
    assert car.closures.locked is False
    assert await command(fleet, user, mirror, VCSEC, LOCK) == b""
    assert car.closures.locked is True
    # every POST is billed, the handshakes too (research/fleet.md 1.9)
    assert sum(fleet.world.accounting.totals.values()) - billed_before == 5


async def test_the_fleet_api_checks_scope_body_and_car_before_the_car_sees_it(fleet: Fleet) -> None:
    account = fleet.account(1)
    car = fleet.world.vehicles_of(account)[0]
    charging_only = fleet.user_token(account, "openid vehicle_charging_cmds")
    mirror = paired_mirror(fleet, car)
    await handshake(fleet, charging_only, mirror, INFOTAINMENT)  # a handshake takes either scope
    await handshake(fleet, charging_only, mirror, VCSEC)
    await command(fleet, charging_only, mirror, INFOTAINMENT, set_amps(12))  # a charging action: allowed
    status, body = await post(fleet, charging_only, car, mirror.sign(VCSEC, LOCK))
    assert (status, body["error"]) == (403, "Unauthorized missing scopes")  # type: ignore[index]

    user = fleet.user_token(account)
    garbage = await fleet.call(
        "POST", "na", f"api/1/vehicles/{car.vin}/signed_command", user, json={"routable_message": "%%"}
    )
    assert garbage.status == 400
    status, _ = await post(fleet, user, car, mirror.sign(INFOTAINMENT, set_amps(10), gcm=True))
    assert status == 400  # AES-GCM is for BLE (unverified status, research/fleet.md 7.10)

    car.go_offline()
    status, body = await post(fleet, user, car, mirror.sign(INFOTAINMENT, set_amps(10)))
    assert status == 408
    assert body["error"] == "vehicle unavailable: vehicle is offline or asleep"  # type: ignore[index]
    assert car.state == "offline"


async def test_a_car_that_takes_rest_commands_answers_422(fleet: Fleet) -> None:
    account = fleet.account(1)
    old = fleet.world.add_vehicle(account, model="S", vin=make_vin(model_spec("S"), 2019, random.Random(3)))
    user = fleet.user_token(account)
    status, _ = await post(fleet, user, old, Msg(uuid=random.randbytes(16)))
    assert status == 422


async def test_an_unpaired_key_gets_the_cars_fault_inside_a_200(fleet: Fleet) -> None:
    account = fleet.account(1)
    car = fleet.world.vehicles_of(account)[0]
    stranger = Mirror(car)  # never paired
    request = Msg(uuid=random.randbytes(16))
    request.to_destination.domain = INFOTAINMENT  # type: ignore[assignment]
    request.from_destination.routing_address = stranger.address
    request.session_info_request.public_key = stranger.public
    status, reply = await post(fleet, fleet.user_token(account), car, request)
    assert status == 200  # the car answered; its answer says the key is unknown
    assert isinstance(reply, Msg)
    info = signatures_pb2.SessionInfo.FromString(reply.session_info)
    assert info.status == signatures_pb2.SESSION_INFO_STATUS_KEY_NOT_ON_WHITELIST
