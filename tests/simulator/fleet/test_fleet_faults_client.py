"""Our own signing stack (`cloud.vcp`: FleetTransport + send_command) against the twin's faults, to show
the knobs give the client the cases of issue 10 §5: a 429 storm is a typed `RateLimited` with its wait
and nothing reaches the car; a reply lost after the car acted is `OutcomeUnknown`, sent once only.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest

from teslalink import errors
from teslalink._http import Transport as HttpTransport
from teslalink.cloud.provider import StaticToken
from teslalink.cloud.vcp.actions import build
from teslalink.cloud.vcp.crypto import Domain
from teslalink.cloud.vcp.dispatch import OutcomeUnknown, send_command
from teslalink.cloud.vcp.fleet_transport import FleetTransport
from teslalink.cloud.vcp.keys import PartnerKey
from teslalink.cloud.vcp.session import DomainSession
from teslalink.simulator import World, populate_demo
from teslalink.simulator.fleet import DEMO_APP, FleetUrls, fleet_surfaces, pair, populate_fleet_demo
from teslalink.simulator.fleet.faults import faults_truth, inject_fault
from teslalink.simulator.fleet.serve import fleet_user_token
from teslalink.simulator.serve import serve_cloud
from teslalink.simulator.vehicle.car import Car

from ..helpers import START


@dataclass
class Signed:
    world: World
    car: Car
    transport: FleetTransport

    def session(self, key: PartnerKey, domain: Domain) -> DomainSession:
        return DomainSession(self.car.vin, domain, key, clock=self.world.now, app_domain=DEMO_APP.domain)


@pytest.fixture
async def signed() -> AsyncIterator[Signed]:
    world = World(seed=5, speed=0.0, start=START)
    populate_demo(world)
    populate_fleet_demo(world)
    account = world.account("demo1@teslalink.test")
    car = world.vehicles_of(account)[0]
    async with serve_cloud(world, surfaces=fleet_surfaces(world)) as cloud, HttpTransport() as http:
        urls = FleetUrls.of(cloud.extra)
        token = StaticToken(fleet_user_token(world, account))
        yield Signed(world, car, FleetTransport(http, urls.api["na"], car.vin, token))


def paired(signed: Signed) -> PartnerKey:
    key = PartnerKey.generate()
    pair(signed.world, signed.car.vin, key.public_bytes())
    return key


async def test_a_429_storm_is_rate_limited_with_its_wait_and_reaches_no_car(signed: Signed) -> None:
    vcsec = signed.session(paired(signed), Domain.VEHICLE_SECURITY)
    inject_fault(signed.world, "na", "rate_limit", seconds=45, route="signed_command")
    locked = signed.car.closures.locked

    with pytest.raises(errors.RateLimited) as limited:
        await send_command(vcsec, build("UNLOCK"), signed.transport)
    assert not isinstance(limited.value, OutcomeUnknown)
    assert limited.value.retry_after == 45.0
    assert signed.car.closures.locked is locked
    assert faults_truth(signed.world)["injected"] == {"na.rate_limit": 1}  # no retry hammered it

    signed.world.advance(45)
    assert (await send_command(vcsec, build("UNLOCK"), signed.transport)).ok
    assert signed.car.closures.locked is False


async def test_a_reply_lost_after_the_car_acted_is_outcome_unknown_and_not_sent_again(signed: Signed) -> None:
    infotainment = signed.session(paired(signed), Domain.INFOTAINMENT)
    assert (
        await send_command(infotainment, build("CHARGING_AMPS", {"charging_amps": 11}), signed.transport)
    ).ok
    inject_fault(signed.world, "na", "lost_reply", status=504)  # until cleared: every reply lost

    with pytest.raises(OutcomeUnknown, match="may have run"):
        await send_command(infotainment, build("CHARGING_AMPS", {"charging_amps": 7}), signed.transport)
    assert signed.car.port.current_request == 7  # the car did act on it
    assert faults_truth(signed.world)["faults"][0]["struck"] == 1  # sent once, never again
