"""Compat: tesla-fleet-api 1.5.0 (Teslemetry), used unchanged, against the twin's Fleet API on loopback.

The peer is not modified, wrapped or patched. It is used through its public API: `TeslaFleetApi` with
`server=` (the twin's na regional host, plain http on 127.0.0.1) and a twin-minted user access token
passed directly (its OAuth token URLs are hard-coded to Tesla's hosts, so its login is not exercised,
research/fleet.md 3.2), its own `get_private_key(path)` making the P-256 key file in tmp_path, and
`vehicles.createSigned(vin)` for the Vehicle Command Protocol over `signed_command`.

Pairing is what the owner does in the Tesla app; here `pair(world, vin, point)` puts the peer's public
point on the car's whitelist. Every peer call runs under an `asyncio.timeout`, so a twin that never
answers fails the test instead of hanging it. The peer's exceptions derive from BaseException, not
Exception: `pytest.raises` takes the exact type.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator, Awaitable
from pathlib import Path
from typing import TypeVar

import aiohttp
import pytest
from tesla_fleet_api import TeslaFleetApi
from tesla_fleet_api.exceptions import (
    Forbidden,
    InvalidRegion,
    InvalidResource,
    NotOnWhitelistFault,
    TeslaFleetMessageFaultTimeExpired,
    VehicleOffline,
)

from teslalink.simulator import World, populate_demo
from teslalink.simulator.accounts import Account
from teslalink.simulator.fleet import DEMO_APP, FleetUrls, fleet_surfaces, pair, populate_fleet_demo
from teslalink.simulator.fleet.car_security import security_of
from teslalink.simulator.fleet.state import authority_of
from teslalink.simulator.serve import serve_cloud
from teslalink.simulator.vehicle.car import Car
from teslalink.simulator.vehicle.spec import make_vin, model_spec

T = TypeVar("T")

START = 1_700_000_000.0
SCOPES = (
    "openid",
    "offline_access",
    "user_data",
    "vehicle_device_data",
    "vehicle_cmds",
    "vehicle_charging_cmds",
)
CALL_BUDGET_S = 10.0  # a hang guard only: each call is one or two loopback round trips


async def bounded(call: Awaitable[T]) -> T:
    """One peer call, failed with TimeoutError rather than left hanging."""
    async with asyncio.timeout(CALL_BUDGET_S):
        return await call


class Twin:
    """The served Fleet twin (demo world) and what a test needs to point the peer at it."""

    def __init__(self, world: World, urls: FleetUrls, session: aiohttp.ClientSession) -> None:
        self.world = world
        self.urls = urls
        self.session = session
        self.account = world.account("demo1@teslalink.test")  # na

    @property
    def car(self) -> Car:
        """demo1's first car: a Fleet-era car that takes signed commands, charging on its Wall Connector."""
        return self.world.vehicles_of(self.account)[0]

    def user_token(self, account: Account | None = None) -> str:
        body = authority_of(self.world).issue_user_token(
            account or self.account, client_id=DEMO_APP.client_id, scopes=SCOPES
        )
        return str(body["access_token"])

    async def peer(self, key_file: Path, account: Account | None = None) -> TeslaFleetApi:
        """The peer's client at the na host, with its own key (made by the peer in `key_file`)."""
        api = TeslaFleetApi(
            self.session, access_token=self.user_token(account), server=self.urls.api["na"].rstrip("/")
        )
        await bounded(api.get_private_key(str(key_file)))
        return api


@pytest.fixture
async def twin() -> AsyncIterator[Twin]:
    world = World(seed=11, speed=0.0, start=START)  # the clock stands still: nothing expires mid-test
    populate_demo(world)
    populate_fleet_demo(world)
    async with (
        serve_cloud(world, surfaces=fleet_surfaces(world)) as cloud,
        aiohttp.ClientSession() as session,
    ):
        yield Twin(world, FleetUrls.of(cloud.extra), session)


def peer_point(api: TeslaFleetApi) -> bytes:
    """The peer's public key as the uncompressed point it signs with (its own property, hex)."""
    return bytes.fromhex(api.public_uncompressed_point)


async def test_a_paired_peer_handshakes_and_its_signed_commands_change_the_car(
    twin: Twin, tmp_path: Path
) -> None:
    api = await twin.peer(tmp_path / "private_key.pem")
    car = twin.car
    pair(twin.world, car.vin, peer_point(api))
    vehicle = api.vehicles.createSigned(car.vin)

    await bounded(vehicle.handshakeInfotainment())
    await bounded(vehicle.handshakeVehicleSecurity())

    ok = {"response": {"result": True, "reason": ""}}
    assert await bounded(vehicle.set_charging_amps(13)) == ok
    assert car.vehicle_data(["charge_state"])["charge_state"]["charge_current_request"] == 13

    assert car.port.is_charging  # the demo car charges on its Wall Connector
    assert await bounded(vehicle.charge_stop()) == ok
    assert not car.port.is_charging
    assert await bounded(vehicle.charge_start()) == ok
    assert car.port.is_charging

    assert await bounded(vehicle.door_unlock()) == ok
    assert car.closures.locked is False
    assert await bounded(vehicle.door_lock()) == ok
    assert car.closures.locked is True


async def test_a_refused_action_comes_back_as_the_peers_result_false(twin: Twin, tmp_path: Path) -> None:
    api = await twin.peer(tmp_path / "private_key.pem")
    car = twin.car
    pair(twin.world, car.vin, peer_point(api))
    vehicle = api.vehicles.createSigned(car.vin)
    await bounded(vehicle.charge_stop())  # the lazy handshake happens inside the first command
    reply = await bounded(vehicle.charge_stop())
    assert reply == {"response": {"result": False, "reason": "not_charging"}}
    assert not car.port.is_charging


async def test_an_unpaired_peer_key_gets_its_not_on_whitelist_fault(twin: Twin, tmp_path: Path) -> None:
    api = await twin.peer(tmp_path / "stranger.pem")
    car = twin.car
    vehicle = api.vehicles.createSigned(car.vin)
    locked_before = car.closures.locked
    with pytest.raises(NotOnWhitelistFault):
        await bounded(vehicle.handshakeVehicleSecurity())
    with pytest.raises(NotOnWhitelistFault):
        await bounded(vehicle.door_unlock())  # its lazy handshake meets the same answer
    assert car.closures.locked is locked_before


async def test_a_car_that_rebooted_resyncs_the_peer_through_its_signed_fault(
    twin: Twin, tmp_path: Path
) -> None:
    """A new epoch: the car answers fault 15 with fresh signed session info, and the peer's own retry
    (re-sign with the updated session) gets the command through, once."""
    api = await twin.peer(tmp_path / "private_key.pem")
    car = twin.car
    pair(twin.world, car.vin, peer_point(api))
    vehicle = api.vehicles.createSigned(car.vin)
    assert await bounded(vehicle.door_unlock()) == {"response": {"result": True, "reason": ""}}
    security_of(car).reboot()
    billed_before = sum(twin.world.accounting.totals.values())
    assert await bounded(vehicle.door_lock()) == {"response": {"result": True, "reason": ""}}
    assert car.closures.locked is True
    assert sum(twin.world.accounting.totals.values()) - billed_before == 2  # the fault, then the retry


async def test_the_fleet_apis_refusals_reach_the_peer_as_its_own_exceptions(
    twin: Twin, tmp_path: Path
) -> None:
    api = await twin.peer(tmp_path / "private_key.pem")
    car = twin.car
    pair(twin.world, car.vin, peer_point(api))

    with pytest.raises(Forbidden):  # a REST command to a car that needs signed commands
        await bounded(api.vehicles.createFleet(car.vin).door_unlock())
    assert car.closures.locked is True

    old = twin.world.add_vehicle(
        twin.account, model="S", vin=make_vin(model_spec("S"), 2019, random.Random(3))
    )
    with pytest.raises(InvalidResource):  # 422: this car takes REST commands, not signed ones
        await bounded(api.vehicles.createSigned(old.vin).door_unlock())

    car.go_offline()
    with pytest.raises(VehicleOffline):  # 408, and no wake on the peer's behalf
        await bounded(api.vehicles.createSigned(car.vin).door_unlock())
    assert car.state == "offline"

    eu_account = twin.world.account("demo2@teslalink.test")
    eu_car = twin.world.vehicles_of(eu_account)[0]
    eu = await twin.peer(tmp_path / "eu.pem", eu_account)
    with pytest.raises(InvalidRegion):  # 421: an eu account at the na host
        await bounded(eu.vehicles.createFleet(eu_car.vin).vehicle())


async def test_a_car_clock_that_ran_ahead_expires_the_peers_command_and_resyncs_it(
    twin: Twin, tmp_path: Path
) -> None:
    """The peer dates commands by the car's clock as of its last session info (+10 s). When the car's
    clock moved on (here a minute, the world's), the car refuses with fault 17 and signs fresh session
    info; the peer raises its own fault type (it does not retry that one) and its next command is good."""
    api = await twin.peer(tmp_path / "private_key.pem")
    car = twin.car
    pair(twin.world, car.vin, peer_point(api))
    vehicle = api.vehicles.createSigned(car.vin)
    await bounded(vehicle.handshakeVehicleSecurity())
    twin.world.advance(60.0)
    with pytest.raises(TeslaFleetMessageFaultTimeExpired):
        await bounded(vehicle.door_unlock())
    assert car.closures.locked is True
    assert await bounded(vehicle.door_unlock()) == {"response": {"result": True, "reason": ""}}
    assert car.closures.locked is False
