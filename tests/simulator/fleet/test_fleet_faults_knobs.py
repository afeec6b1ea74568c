"""The Fleet twin's car knobs over `/_twin/fleet/vehicles/{car}/...` and `pairing_lag`: a reboot (new
epochs), a clock skew, the pairing lag of fleet_status, unpairing and deactivating a key, sleep and
connectivity; each checked in the car's answers over signed_command and in the control's truth.
"""

from __future__ import annotations

from typing import Any

import pytest
from tesla_protocol.command import car_server_pb2, signatures_pb2

from teslalink.simulator.fleet import scenario as fleet_scenario
from teslalink.simulator.fleet.demo import demo_private_key
from teslalink.simulator.scenario import ScenarioError
from teslalink.simulator.vehicle.car import Car

from .conftest import Fleet, Reply
from .test_car_protocol import INFOTAINMENT, LOCK, UNLOCK, VCSEC, Mirror, Msg, point, set_amps
from .test_fleet_signed_command import command, handshake, paired_mirror, post

INCORRECT_EPOCH, TIME_EXPIRED, INACTIVE_KEY = 15, 17, 4


async def control(fleet: Fleet, path: str, body: dict[str, Any] | None = None, *, host: str = "na") -> Reply:
    base = fleet.urls.auth if host == "auth" else fleet.urls.api[host]
    return await fleet.request("GET" if body is None else "POST", base + "_twin/fleet/" + path, json=body)


async def knob(
    fleet: Fleet, car: Car, name: str, body: dict[str, Any] | None = None, **kw: Any
) -> dict[str, Any]:
    reply = await control(fleet, f"vehicles/{car.vin}/{name}", {} if body is None else body, **kw)
    assert reply.status == 200, reply.text
    truth: dict[str, Any] = reply.json
    return truth


async def truth_of(fleet: Fleet, car: Car) -> dict[str, Any]:
    reply = await control(fleet, f"vehicles/{car.vin}")
    assert reply.status == 200, reply.text
    truth: dict[str, Any] = reply.json
    return truth


async def refused_command(
    fleet: Fleet, token: str, mirror: Mirror, domain: int, payload: bytes
) -> tuple[int, Msg]:
    """Sign with the session the mirror holds; the car's fault, and the reply (its session info adopted)."""
    request = mirror.sign(domain, payload)
    status, reply = await post(fleet, token, mirror.car, request)
    assert status == 200
    assert isinstance(reply, Msg)
    mirror.verify_session_info(reply, request.uuid, domain)  # the fault's session info is signed
    return int(reply.signedMessageStatus.signed_message_fault), reply


def first_car(fleet: Fleet) -> Car:
    return fleet.world.vehicles_of(fleet.account(1))[0]


async def test_a_reboot_gives_both_domains_a_new_epoch_and_old_sessions_resync(fleet: Fleet) -> None:
    car, user = first_car(fleet), fleet.user_token(fleet.account(1))
    mirror = paired_mirror(fleet, car)
    await handshake(fleet, user, mirror, INFOTAINMENT)
    await handshake(fleet, user, mirror, VCSEC)
    before = await truth_of(fleet, car)

    after = await knob(fleet, car, "reboot")
    assert after["boots"] == before["boots"] + 1
    for name in ("vcsec", "infotainment"):
        assert after["domains"][name]["epoch"] != before["domains"][name]["epoch"]
        assert after["domains"][name]["clock_time"] == 0

    fault, reply = await refused_command(fleet, user, mirror, VCSEC, UNLOCK)
    assert fault == INCORRECT_EPOCH
    assert (
        signatures_pb2.SessionInfo.FromString(reply.session_info).epoch.hex()
        == after["domains"]["vcsec"]["epoch"]
    )
    assert car.closures.locked is True  # refused, not run
    assert await command(fleet, user, mirror, VCSEC, UNLOCK) == b""  # the resynced session works
    assert car.closures.locked is False


async def test_a_clock_skew_ahead_expires_commands_until_the_client_resyncs(fleet: Fleet) -> None:
    car, user = first_car(fleet), fleet.user_token(fleet.account(1))
    mirror = paired_mirror(fleet, car)
    await handshake(fleet, user, mirror, INFOTAINMENT)
    before = await truth_of(fleet, car)

    after = await knob(fleet, car, "clock_skew", {"seconds": 300}, host="auth")  # any Fleet host serves it
    for name in ("vcsec", "infotainment"):
        assert after["domains"][name]["epoch"] == before["domains"][name]["epoch"]
        assert after["domains"][name]["clock_time"] == before["domains"][name]["clock_time"] + 300

    fault, _ = await refused_command(fleet, user, mirror, INFOTAINMENT, set_amps(7))
    assert fault == TIME_EXPIRED
    reply = car_server_pb2.Response.FromString(await command(fleet, user, mirror, INFOTAINMENT, set_amps(7)))
    assert reply.actionStatus.result == car_server_pb2.OPERATIONSTATUS_OK
    assert car.vehicle_data(["charge_state"])["charge_state"]["charge_current_request"] == 7


async def test_a_clock_cannot_be_skewed_before_its_epoch_or_by_nonsense(fleet: Fleet) -> None:
    car = first_car(fleet)
    clock = (await truth_of(fleet, car))["domains"]["vcsec"]["clock_time"]
    back = await control(fleet, f"vehicles/{car.vin}/clock_skew", {"seconds": -(clock + 10)})
    assert back.status == 409
    assert back.json == {"error": "the car's clock would go back before its epoch started; reboot it instead"}
    assert (await control(fleet, f"vehicles/{car.vin}/clock_skew", {"seconds": "soon"})).status == 400
    assert (await control(fleet, f"vehicles/{car.vin}/clock_skew", {})).json == {
        "error": "missing field seconds"
    }
    assert (await truth_of(fleet, car))["domains"]["vcsec"]["clock_time"] == clock


async def test_fleet_status_lists_a_paired_key_only_after_the_pairing_lag(fleet: Fleet) -> None:
    car, user = first_car(fleet), fleet.user_token(fleet.account(1))
    lag = await control(fleet, "pairing_lag", {"seconds": 30})
    assert lag.json == {"pairing_lag_s": 30.0}
    app_key = demo_private_key(fleet.world)  # the key the demo app registered
    paired = await fleet.request(
        "POST",
        fleet.urls.auth + "_twin/fleet/pair",
        json={"vin": car.vin, "public_key": point(app_key).hex()},
    )
    assert paired.status == 200

    async def status() -> dict[str, Any]:
        reply = await fleet.call("POST", "na", "api/1/vehicles/fleet_status", user, json={"vins": [car.vin]})
        assert reply.status == 200
        body: dict[str, Any] = reply.json["response"]
        return body

    listed = await status()
    assert (listed["key_paired_vins"], listed["unpaired_vins"]) == ([], [car.vin])
    keys_before = listed["vehicle_info"][car.vin]["total_number_of_keys"]
    assert [k["listed"] for k in (await truth_of(fleet, car))["keys"]] == [False]

    app = Mirror(car)
    app.private, app.public = app_key, point(app_key)
    await handshake(fleet, user, app, VCSEC)  # the car itself knows the key at once (our choice)
    assert await command(fleet, user, app, VCSEC, UNLOCK) == b""

    fleet.world.advance(30)
    listed = await status()
    assert (listed["key_paired_vins"], listed["unpaired_vins"]) == ([car.vin], [])
    assert listed["vehicle_info"][car.vin]["total_number_of_keys"] == keys_before + 1


async def test_an_unpaired_key_is_no_longer_on_the_whitelist(fleet: Fleet) -> None:
    car, user = first_car(fleet), fleet.user_token(fleet.account(1))
    mirror = paired_mirror(fleet, car)
    await handshake(fleet, user, mirror, VCSEC)
    after = await knob(fleet, car, "unpair", {"public_key": mirror.public.hex()})
    assert after["keys"] == []

    request = Msg(uuid=b"\x02" * 16)
    request.to_destination.domain = VCSEC  # type: ignore[assignment]
    request.from_destination.routing_address = mirror.address
    request.session_info_request.public_key = mirror.public
    status, reply = await post(fleet, user, car, request)
    assert status == 200
    assert isinstance(reply, Msg)
    info = signatures_pb2.SessionInfo.FromString(reply.session_info)
    assert info.status == signatures_pb2.SESSION_INFO_STATUS_KEY_NOT_ON_WHITELIST

    again = await control(fleet, f"vehicles/{car.vin}/unpair", {"public_key": mirror.public.hex()})
    assert (again.status, again.json) == (409, {"error": "that key is not paired with this car"})
    bad = await control(fleet, f"vehicles/{car.vin}/unpair", {"public_key": "04zz"})
    assert bad.status == 400


async def test_a_deactivated_key_meets_inactive_key_until_it_is_reactivated(fleet: Fleet) -> None:
    car, user = first_car(fleet), fleet.user_token(fleet.account(1))
    mirror = paired_mirror(fleet, car)
    await handshake(fleet, user, mirror, VCSEC)
    off = await knob(fleet, car, "key_active", {"public_key": mirror.public.hex(), "active": False})
    assert [k["active"] for k in off["keys"]] == [False]

    status, reply = await post(fleet, user, car, mirror.sign(VCSEC, UNLOCK))
    assert status == 200
    assert isinstance(reply, Msg)
    assert reply.signedMessageStatus.signed_message_fault == INACTIVE_KEY
    assert car.closures.locked is True

    await knob(fleet, car, "key_active", {"public_key": mirror.public.hex(), "active": True})
    assert await command(fleet, user, mirror, VCSEC, UNLOCK) == b""
    assert await command(fleet, user, mirror, VCSEC, LOCK) == b""


async def test_sleep_and_connectivity_on_the_fleet_host_reach_the_signed_path(fleet: Fleet) -> None:
    account = fleet.account(1)
    car = fleet.world.add_vehicle(account, model="3")
    user = fleet.user_token(account)
    mirror = paired_mirror(fleet, car)

    offline = await knob(fleet, car, "offline")
    assert (offline["state"], offline["reachable"]) == ("offline", False)
    status, body = await post(fleet, user, car, Msg(uuid=b"\x03" * 16))
    assert (status, body) == (
        408,
        {
            "response": None,
            "error": "vehicle unavailable: vehicle is offline or asleep",
            "error_description": "",
        },
    )

    online = await knob(fleet, car, "online")
    assert online["reachable"] is True
    await handshake(fleet, user, mirror, VCSEC)

    asleep = await knob(fleet, car, "sleep")
    assert (asleep["state"], asleep["reachable"]) == ("asleep", False)
    status, _ = await post(fleet, user, car, mirror.sign(VCSEC, UNLOCK))
    assert status == 408
    assert car.state == "asleep"  # never woken by the refusal


async def test_a_charging_car_cannot_be_put_to_sleep_and_unknown_cars_are_404(fleet: Fleet) -> None:
    car = first_car(fleet)  # charging on its Wall Connector
    assert car.port.is_charging
    assert (await control(fleet, f"vehicles/{car.vin}/sleep", {})).status == 409
    unknown = await control(fleet, "vehicles/5YJ3E1EA0PF000000/reboot", {})
    assert (unknown.status, unknown.json) == (404, {"error": "no vehicle '5YJ3E1EA0PF000000' in this world"})


async def test_the_knobs_are_the_same_functions_in_process(fleet: Fleet) -> None:
    car = first_car(fleet)
    before = fleet_scenario.security_truth(fleet.world, car.id)
    assert fleet_scenario.reboot(fleet.world, car.vin)["boots"] == before["boots"] + 1
    fleet.world.advance(5)
    assert fleet_scenario.skew_clock(fleet.world, car.vin, -3)["domains"]["vcsec"]["clock_time"] == 2
    assert fleet_scenario.set_pairing_lag(fleet.world, 12) == {"pairing_lag_s": 12.0}
    assert fleet_scenario.pairing_lag(fleet.world) == 12.0
    with pytest.raises(ScenarioError, match="seconds must be between 0 and 604800"):
        fleet_scenario.set_pairing_lag(fleet.world, -1)
