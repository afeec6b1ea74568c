"""tesla-fleet-api 1.5.0 (the dev dependency, unchanged) against the Fleet twin's faults: a 429 storm is
its `RateLimited` with the headers it reads, and the 503 flake its `ServiceUnavailable`.

The peer's exceptions derive from BaseException, not Exception: `pytest.raises` names the exact type.
Every peer call runs under a hang guard.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from pathlib import Path
from typing import TypeVar

import pytest
from tesla_fleet_api import TeslaFleetApi
from tesla_fleet_api.exceptions import RateLimited, ServiceUnavailable

from teslalink.simulator.fleet import pair
from teslalink.simulator.fleet.faults import inject_fault

from .conftest import Fleet

T = TypeVar("T")
HANG_GUARD_S = 10.0


async def bounded(call: Awaitable[T]) -> T:
    async with asyncio.timeout(HANG_GUARD_S):
        return await call


async def peer(fleet: Fleet, key_file: Path) -> TeslaFleetApi:
    """The peer at the na host with a demo1 token, its own key made by the peer."""
    api = TeslaFleetApi(
        fleet.session,
        access_token=fleet.user_token(fleet.account(1)),
        server=fleet.urls.api["na"].rstrip("/"),
    )
    await bounded(api.get_private_key(str(key_file)))
    return api


async def test_the_peer_reads_a_429_storm_as_its_rate_limited_error(fleet: Fleet, tmp_path: Path) -> None:
    car = fleet.world.vehicles_of(fleet.account(1))[0]
    api = await peer(fleet, tmp_path / "key.pem")
    inject_fault(fleet.world, "na", "rate_limit", seconds=90)

    with pytest.raises(RateLimited) as storm:
        await bounded(api.vehicles.createFleet(car.vin).vehicle_data())
    assert storm.value.status == 429
    assert storm.value.data == {"reset": "90", "after": "90"}  # RateLimit-Reset and Retry-After

    pair(fleet.world, car.vin, bytes.fromhex(api.public_uncompressed_point))
    signed = api.vehicles.createSigned(car.vin)
    locked = car.closures.locked
    with pytest.raises(RateLimited):
        await bounded(signed.door_unlock())  # its handshake meets the storm: nothing reaches the car
    assert car.closures.locked is locked

    fleet.world.advance(90)
    assert await bounded(signed.door_unlock()) == {"response": {"result": True, "reason": ""}}
    assert car.closures.locked is False


async def test_the_peer_reads_the_503_flake_as_service_unavailable(fleet: Fleet, tmp_path: Path) -> None:
    car = fleet.world.vehicles_of(fleet.account(1))[0]
    api = await peer(fleet, tmp_path / "key.pem")
    pair(fleet.world, car.vin, bytes.fromhex(api.public_uncompressed_point))
    signed = api.vehicles.createSigned(car.vin)
    inject_fault(fleet.world, "na", "unavailable", requests=1, route="signed_command")

    with pytest.raises(ServiceUnavailable):
        await bounded(signed.door_unlock())
    assert await bounded(signed.door_unlock()) == {"response": {"result": True, "reason": ""}}
