"""The faults a scenario sets on a regional Fleet host, driven over `/_twin/fleet/faults` and checked
on the wire (status, headers, body), in the car, and in the billing counters.

The signed commands come from the spec-written mirror client of test_car_protocol, over HTTP.
"""

from __future__ import annotations

import asyncio
import random
from typing import Any

import aiohttp
import pytest
from tesla_protocol.command import car_server_pb2

from teslalink.simulator.accounting import BillingCategory
from teslalink.simulator.fleet.faults import faults_truth, inject_fault
from teslalink.simulator.scenario import ScenarioError
from teslalink.simulator.vehicle.car import Car
from teslalink.simulator.vehicle.spec import make_vin, model_spec

from .conftest import Fleet, Reply
from .test_car_protocol import INFOTAINMENT, LOCK, UNLOCK, VCSEC, Msg, set_amps
from .test_fleet_signed_command import command, handshake, paired_mirror, post

HANG_GUARD_S = 10.0


async def control(fleet: Fleet, path: str, body: dict[str, Any] | None = None, *, host: str = "na") -> Reply:
    """A `/_twin/fleet/` control on a regional host (or "auth": fleet-auth)."""
    base = fleet.urls.auth if host == "auth" else fleet.urls.api[host]
    method = "GET" if body is None else "POST"
    return await fleet.request(method, base + "_twin/fleet/" + path, json=body)


async def inject(fleet: Fleet, host: str = "na", **body: Any) -> dict[str, Any]:
    reply = await control(fleet, "faults", body, host=host)
    assert reply.status == 200, reply.text
    fault: dict[str, Any] = reply.json
    return fault


async def dropped(fleet: Fleet, region: str, path: str, token: str, body: dict[str, Any]) -> None:
    """A POST whose connection closes unanswered. (A POST: aiohttp sends a GET once more when its
    connection closes, which would strike a fault twice.)"""
    with pytest.raises(aiohttp.ClientConnectionError):
        async with asyncio.timeout(HANG_GUARD_S):
            await fleet.call("POST", region, path, token, json=body)


def first_car(fleet: Fleet, n: int = 1) -> Car:
    return fleet.world.vehicles_of(fleet.account(n))[0]


async def vehicle_data(fleet: Fleet, token: str, car: Car, region: str = "na") -> Reply:
    return await fleet.call("GET", region, f"api/1/vehicles/{car.vin}/vehicle_data", token)


def billed(fleet: Fleet, category: BillingCategory) -> int:
    return fleet.world.accounting.totals[category]


async def test_a_429_storm_of_n_requests_carries_the_rate_limit_headers_and_then_ends(fleet: Fleet) -> None:
    car, user = first_car(fleet), fleet.user_token(fleet.account(1))
    fault = await inject(fleet, kind="rate_limit", requests=2, retry_after=30)
    assert (fault["kind"], fault["region"], fault["requests_left"]) == ("rate_limit", "na", 2)
    data_before = billed(fleet, BillingCategory.DATA)

    for _ in range(2):
        reply = await vehicle_data(fleet, user, car)
        assert reply.status == 429
        assert reply.headers["Retry-After"] == "30"
        assert reply.headers["RateLimit-Limit"] == "300"
        assert reply.headers["RateLimit-Remaining"] == "0"
        assert reply.headers["RateLimit-Reset"] == "30"
        assert reply.text == "Retry in 30 seconds\n"
        assert "x-txid" in reply.headers
    assert (await vehicle_data(fleet, user, car)).status == 200  # the storm is over

    # Tesla bills every answer below 500 (research/fleet.md 1.9): the two 429s and the 200
    assert billed(fleet, BillingCategory.DATA) - data_before == 3
    truth = (await control(fleet, "faults")).json
    assert truth == {"faults": [], "injected": {"na.rate_limit": 2}}


async def test_a_timed_storm_counts_down_in_world_time_and_spares_other_regions(fleet: Fleet) -> None:
    car = first_car(fleet)
    user = fleet.user_token(fleet.account(1))
    await inject(fleet, kind="rate_limit", seconds=120, limit=60, route="vehicle_data")

    reply = await vehicle_data(fleet, user, car)
    assert (reply.status, reply.headers["Retry-After"], reply.headers["RateLimit-Limit"]) == (
        429,
        "120",
        "60",
    )
    fleet.world.advance(50)
    reply = await vehicle_data(fleet, user, car)
    assert (reply.headers["Retry-After"], reply.headers["RateLimit-Reset"]) == ("70", "70")
    assert (await fleet.call("GET", "na", f"api/1/vehicles/{car.vin}", user)).status == 200  # another route

    eu_car, eu_user = first_car(fleet, 2), fleet.user_token(fleet.account(2))
    assert (await vehicle_data(fleet, eu_user, eu_car, "eu")).status == 200  # another host

    fleet.world.advance(70)
    assert (await vehicle_data(fleet, user, car)).status == 200
    assert (await control(fleet, "faults")).json["faults"] == []


async def test_a_503_flake_strikes_signed_command_only_and_is_not_billed(fleet: Fleet) -> None:
    car, user = first_car(fleet), fleet.user_token(fleet.account(1))
    mirror = paired_mirror(fleet, car)
    await inject(fleet, kind="unavailable", requests=1, route="signed_command", vin=car.vin)
    assert (await vehicle_data(fleet, user, car)).status == 200  # not the flaking route
    commands_before, unbilled_before = billed(fleet, BillingCategory.COMMAND), fleet.world.accounting.unbilled

    status, body = await post(fleet, user, car, Msg(uuid=b"\x01" * 16))
    assert (status, body) == (
        503,
        {"response": None, "error": "vehicle is not available", "error_description": ""},
    )
    assert billed(fleet, BillingCategory.COMMAND) == commands_before
    assert fleet.world.accounting.unbilled == unbilled_before + 1

    await handshake(fleet, user, mirror, VCSEC)  # the flake is over
    assert await command(fleet, user, mirror, VCSEC, UNLOCK) == b""
    assert car.closures.locked is False


async def test_unavailable_never_strikes_a_route_without_a_car(fleet: Fleet) -> None:
    user = fleet.user_token(fleet.account(1))
    await inject(fleet, kind="unavailable", requests=1)
    assert (await fleet.call("GET", "na", "api/1/products", user)).status == 200
    assert (await vehicle_data(fleet, user, first_car(fleet))).status == 503


@pytest.mark.parametrize("status", [500, 503, 504, 540])
async def test_server_errors_answer_the_status_asked_unbilled(fleet: Fleet, status: int) -> None:
    car, user = first_car(fleet), fleet.user_token(fleet.account(1))
    await inject(fleet, kind="server_error", status=status, requests=1)
    data_before, unbilled_before = billed(fleet, BillingCategory.DATA), fleet.world.accounting.unbilled
    reply = await vehicle_data(fleet, user, car)
    assert reply.status == status
    assert reply.json["response"] is None
    assert reply.json["error"]
    assert (billed(fleet, BillingCategory.DATA), fleet.world.accounting.unbilled) == (
        data_before,
        unbilled_before + 1,
    )


async def test_a_dropped_connection_answers_nothing_and_the_car_is_not_woken(fleet: Fleet) -> None:
    account = fleet.account(1)
    car = fleet.world.add_vehicle(account, model="3")
    car.fall_asleep()
    user = fleet.user_token(account)
    await inject(fleet, kind="drop", requests=1, route="wake_up")
    wakes_before, billed_before = car.wake_count, billed(fleet, BillingCategory.WAKE)

    await dropped(fleet, "na", f"api/1/vehicles/{car.vin}/wake_up", user, {})
    fleet.world.advance(60)  # a car woken would be online by now (10-30 s)
    assert (car.wake_count, car.state) == (wakes_before, "asleep")
    assert billed(fleet, BillingCategory.WAKE) == billed_before  # no answer, no bill

    reply = await fleet.call("POST", "na", f"api/1/vehicles/{car.vin}/wake_up", user)
    assert reply.status == 200
    fleet.world.advance(60)
    assert (car.wake_count, car.state) == (wakes_before + 1, "online")


async def test_a_lost_reply_drops_the_connection_after_the_car_acted(fleet: Fleet) -> None:
    car, user = first_car(fleet), fleet.user_token(fleet.account(1))
    mirror = paired_mirror(fleet, car)
    await inject(fleet, kind="lost_reply", vin=car.vin, requests=1)
    await handshake(fleet, user, mirror, INFOTAINMENT)  # a handshake is not a command: untouched
    commands_before = billed(fleet, BillingCategory.COMMAND)

    with pytest.raises(aiohttp.ClientConnectionError):
        async with asyncio.timeout(HANG_GUARD_S):
            await post(fleet, user, car, mirror.sign(INFOTAINMENT, set_amps(9)))
    assert car.vehicle_data(["charge_state"])["charge_state"]["charge_current_request"] == 9  # it ran
    assert billed(fleet, BillingCategory.COMMAND) == commands_before  # our choice: no answer, no bill
    assert (await control(fleet, "faults")).json == {"faults": [], "injected": {"na.lost_reply": 1}}

    reply = car_server_pb2.Response.FromString(await command(fleet, user, mirror, INFOTAINMENT, set_amps(11)))
    assert reply.actionStatus.result == car_server_pb2.OPERATIONSTATUS_OK


async def test_a_lost_reply_can_be_a_504_and_spares_what_the_car_refused(fleet: Fleet) -> None:
    car, user = first_car(fleet), fleet.user_token(fleet.account(1))
    mirror = paired_mirror(fleet, car)
    await inject(fleet, kind="lost_reply", status=504, requests=1, route="signed_command")
    await handshake(fleet, user, mirror, VCSEC)
    assert car.closures.locked is True

    too_long = mirror.sign(VCSEC, UNLOCK, counter=0, lifetime=60)  # TIME_TO_LIVE_TOO_LONG: not run
    status, reply = await post(fleet, user, car, too_long)
    assert status == 200
    assert isinstance(reply, Msg)
    assert reply.signedMessageStatus.signed_message_fault == 20
    assert car.closures.locked is True
    assert (await control(fleet, "faults")).json["faults"][0]["struck"] == 0

    unbilled_before = fleet.world.accounting.unbilled
    status, body = await post(fleet, user, car, mirror.sign(VCSEC, UNLOCK))
    assert status == 504
    assert body["response"] is None  # type: ignore[index]
    assert car.closures.locked is False  # the car unlocked; the client only saw a 504
    assert fleet.world.accounting.unbilled == unbilled_before + 1
    assert await command(fleet, user, mirror, VCSEC, LOCK) == b""


async def test_rest_commands_lose_their_reply_too(fleet: Fleet) -> None:
    account = fleet.account(1)
    old = fleet.world.add_vehicle(account, model="S", vin=make_vin(model_spec("S"), 2017, random.Random(5)))
    user = fleet.user_token(account)
    await inject(fleet, kind="lost_reply", status=504, vin=old.vin)
    assert old.closures.locked is True
    reply = await fleet.call("POST", "na", f"api/1/vehicles/{old.vin}/command/door_unlock", user, json={})
    assert reply.status == 504
    assert old.closures.locked is False


async def test_faults_set_on_fleet_auth_name_their_region_and_admin_paths_are_never_faulted(
    fleet: Fleet,
) -> None:
    missing = await control(fleet, "faults", {"kind": "drop"}, host="auth")
    assert (missing.status, missing.json) == (
        400,
        {"error": "missing field region (fleet-auth serves no region)"},
    )
    await inject(fleet, "auth", kind="drop", region="eu")

    truth = await control(fleet, "faults", host="eu")  # the controls answer through a drop-everything
    assert [f["region"] for f in truth.json["faults"]] == ["eu"]
    eu_car, eu_user = first_car(fleet, 2), fleet.user_token(fleet.account(2))
    for _ in range(2):  # until cleared: neither requests nor seconds
        await dropped(fleet, "eu", "api/1/vehicles/fleet_status", eu_user, {"vins": [eu_car.vin]})

    cleared = await control(fleet, "faults/clear", {})
    assert cleared.json == {"faults": [], "injected": {"eu.drop": 2}}
    assert (await vehicle_data(fleet, eu_user, eu_car, "eu")).status == 200


async def test_a_fault_strikes_after_the_guard(fleet: Fleet) -> None:
    """401 and 421 come first: a storm hits an identified client in its own region."""
    car, user = first_car(fleet), fleet.user_token(fleet.account(1))
    await inject(fleet, "eu", kind="rate_limit", requests=5)
    assert (await fleet.call("GET", "eu", f"api/1/vehicles/{car.vin}/vehicle_data", None)).status == 401
    assert (await fleet.call("GET", "eu", f"api/1/vehicles/{car.vin}/vehicle_data", user)).status == 421
    assert (await control(fleet, "faults", host="eu")).json["faults"][0]["requests_left"] == 5


@pytest.mark.parametrize(
    ("body", "status", "error"),
    [
        (
            {"kind": "flood"},
            400,
            "kind must be one of rate_limit, unavailable, server_error, drop, lost_reply",
        ),
        ({"kind": "drop", "region": "mars"}, 400, "region must be one of na, eu, cn"),
        ({"kind": "drop", "requests": 0}, 400, "requests must be between 1 and 1000000"),
        ({"kind": "drop", "requests": 1.5}, 400, "requests must be a whole number"),
        ({"kind": "drop", "seconds": -1}, 400, "seconds must be > 0 and at most ten years"),
        ({"kind": "drop", "retry_after": 5}, 400, "retry_after is for rate_limit faults, not drop"),
        (
            {"kind": "rate_limit", "status": 500},
            400,
            "status is for server_error and lost_reply faults, not rate_limit",
        ),
        ({"kind": "server_error", "status": 418}, 400, "status must be one of 500, 503, 504, 540"),
        ({"kind": "drop", "vin": "5YJ3E1EA0PF000000"}, 404, "no vehicle '5YJ3E1EA0PF000000' in this world"),
        (
            {"kind": "drop", "retry": 5},
            400,
            "unknown field retry; expected kind, region, requests, seconds, "
            "route, vin, status, retry_after, limit",
        ),
    ],
)
async def test_a_fault_that_makes_no_sense_is_refused_with_its_reason(
    fleet: Fleet, body: dict[str, Any], status: int, error: str
) -> None:
    reply = await control(fleet, "faults", body)
    assert (reply.status, reply.json) == (status, {"error": error})
    assert (await control(fleet, "faults")).json["faults"] == []


async def test_a_route_typo_is_refused_with_the_known_routes(fleet: Fleet) -> None:
    reply = await control(fleet, "faults", {"kind": "drop", "route": "signed_commands"})
    assert reply.status == 400
    assert "signed_command" in reply.json["error"]
    assert "vehicle_data" in reply.json["error"]


@pytest.mark.parametrize("requests", [float("inf"), float("nan"), True, "3"])
async def test_in_process_a_count_that_is_no_whole_number_is_refused(fleet: Fleet, requests: object) -> None:
    with pytest.raises(ScenarioError, match="requests must be a whole number"):
        inject_fault(fleet.world, "na", "drop", requests=requests)
    assert faults_truth(fleet.world)["faults"] == []
