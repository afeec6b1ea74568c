"""Our client's signing stack (teslalink.cloud.vcp) against the twin's car (teslalink.simulator.fleet).

The two sides were written apart on purpose, each checked against Tesla's vectors; here they talk
to each other, the car's answer handed straight back (the Fleet API's `signed_command` is one such
transport), and the simulated car changes as the commands say.
"""

from __future__ import annotations

import pytest

from teslalink.cloud.vcp.actions import build
from teslalink.cloud.vcp.crypto import Domain
from teslalink.cloud.vcp.dispatch import Sign, Transport, send_command
from teslalink.cloud.vcp.faults import KeyNotPaired
from teslalink.cloud.vcp.keys import PartnerKey
from teslalink.cloud.vcp.session import DomainSession
from teslalink.simulator import World
from teslalink.simulator.fleet import security_of
from teslalink.simulator.vehicle.car import Car

START = 1_760_000_000.0


@pytest.fixture
def car() -> Car:
    world = World(seed=21, speed=0.0, start=START)
    account = world.add_account("owner@example.com", "pw")
    return world.add_vehicle(account, signed_commands_required=True, charge_limit_soc=80)


def to_the_car(car: Car, sent: list[bytes]) -> Transport:
    async def transport(sign: Sign) -> bytes:
        message = sign()
        sent.append(message)
        return security_of(car).handle(message)

    return transport


def session(car: Car, key: PartnerKey, domain: Domain) -> DomainSession:
    return DomainSession(car.vin, domain, key, clock=car.world.now, app_domain="teslalink.example")


async def test_our_client_sets_the_amps_locks_and_resyncs_after_a_reboot(car: Car) -> None:
    key = PartnerKey.generate()
    security_of(car).pair(key.public_bytes())
    sent: list[bytes] = []
    transport = to_the_car(car, sent)
    infotainment, vcsec = session(car, key, Domain.INFOTAINMENT), session(car, key, Domain.VEHICLE_SECURITY)

    result = await send_command(infotainment, build("CHARGING_AMPS", {"charging_amps": 13}), transport)
    assert result.ok, result.reason
    assert car.vehicle_data(["charge_state"])["charge_state"]["charge_current_request"] == 13
    assert len(sent) == 2  # the handshake, then the command

    assert (await send_command(vcsec, build("UNLOCK"), transport)).ok
    assert car.closures.locked is False
    assert (await send_command(vcsec, build("LOCK"), transport)).ok
    assert car.closures.locked is True

    security_of(car).reboot()  # new epochs: our session is stale, the car's fault resyncs it
    before = len(sent)
    assert (await send_command(infotainment, build("CHANGE_CHARGE_LIMIT", {"percent": 90}), transport)).ok
    assert car.vehicle_data(["charge_state"])["charge_state"]["charge_limit_soc"] == 90
    assert len(sent) - before == 2  # refused with fresh session info, then signed again: no handshake


async def test_a_refusal_reads_the_twins_reason(car: Car) -> None:
    key = PartnerKey.generate()
    security_of(car).pair(key.public_bytes())
    infotainment = session(car, key, Domain.INFOTAINMENT)
    result = await send_command(infotainment, build("STOP_CHARGE"), to_the_car(car, []))
    assert not result.ok
    assert result.reason == "not_charging"  # the REST twin's reason (unverified on the signed path)


async def test_an_unpaired_key_is_told_to_pair(car: Car) -> None:
    stranger = PartnerKey.generate()
    with pytest.raises(KeyNotPaired) as caught:
        await send_command(
            session(car, stranger, Domain.INFOTAINMENT),
            build("CHARGING_AMPS", {"charging_amps": 10}),
            to_the_car(car, []),
        )
    assert f"tesla.com/_ak/teslalink.example?vin={car.vin}" in str(caught.value)
