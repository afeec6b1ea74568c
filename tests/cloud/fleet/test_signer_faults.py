"""The faults of issue 10 section 5, through VcpSigner, each against the served twin.

Each says what the user gets (a typed error with its one line) and what the car did: nothing, or
the command exactly once. Every POST's status is heard (`on_status`), so a test can tell a resync
(two POSTs) from a new handshake, and a lost reply from a resent command.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from signer_twin import SignerTwin, demo_world, relay_to, served

from teslalink.cloud.fleet.signer import NotPaired, VcpSigner
from teslalink.cloud.vcp.crypto import Domain
from teslalink.cloud.vcp.dispatch import OutcomeUnknown
from teslalink.cloud.vcp.keys import PartnerKey
from teslalink.cloud.vcp.session import SessionCache
from teslalink.errors import VehicleUnavailable
from teslalink.simulator.fleet import DEMO_APP, pair, security_of
from teslalink.simulator.fleet.demo import demo_private_key
from teslalink.simulator.vehicle.car import Car


@pytest.fixture
async def twin() -> AsyncIterator[SignerTwin]:
    async with served(demo_world()) as running:
        yield running


def signer_for(twin: SignerTwin, car: Car, cache: Path | None = None) -> VcpSigner:
    key = twin.paired_key(car)
    return VcpSigner(key, SessionCache(cache) if cache else None, app_domain=DEMO_APP.domain)


def rear_trunk(car: Car) -> int:
    """The liftgate toggles: a command run twice would leave it where it was."""
    return car.closures.open["rt"]


async def test_an_unpaired_key_gets_the_pairing_link_and_the_car_is_untouched(twin: SignerTwin) -> None:
    car = twin.car()
    signer = VcpSigner(PartnerKey.generate(), app_domain=DEMO_APP.domain)
    with pytest.raises(NotPaired, match=rf"open https://tesla\.com/_ak/{DEMO_APP.domain}\?vin={car.vin}"):
        await twin.send(signer, car, "UNLOCK")
    assert car.closures.locked is True


async def test_a_key_that_is_not_the_registered_one_is_not_paired(twin: SignerTwin, tmp_path: Path) -> None:
    """The owner approved the app's registered key; our key file holds another one."""
    car = twin.car()
    registered = PartnerKey(demo_private_key(twin.world))
    pair(twin.world, car.vin, registered.public_bytes())
    PartnerKey.generate().save(tmp_path / "key.pem")
    foreign = VcpSigner.from_files(
        tmp_path / "key.pem", tmp_path / "sessions.json", app_domain=DEMO_APP.domain
    )
    with pytest.raises(NotPaired) as caught:
        await twin.send(foreign, car, "ACTUATE_TRUNK", {"which_trunk": "rear"})
    assert caught.value.link == f"https://tesla.com/_ak/{DEMO_APP.domain}?vin={car.vin}"
    assert rear_trunk(car) == 0
    the_app = VcpSigner(registered, app_domain=DEMO_APP.domain)  # the registered key does work
    assert (await twin.send(the_app, car, "ACTUATE_TRUNK", {"which_trunk": "rear"}))["result"] is True
    assert rear_trunk(car) == 1


async def test_a_car_asleep_is_408_and_is_not_woken(twin: SignerTwin) -> None:
    car = twin.car(1, "S")
    signer = signer_for(twin, car)
    car.fall_asleep()
    wakes = car.wake_count
    statuses: list[int] = []
    with pytest.raises(VehicleUnavailable) as caught:
        await twin.send(signer, car, "HONK_HORN", statuses=statuses)
    assert caught.value.status == 408
    assert statuses == [408]  # the handshake's POST, refused before the car; nothing else sent
    assert (car.is_online, car.wake_count) == (False, wakes)


async def test_a_reboot_between_commands_resyncs_once_and_runs_the_command_once(twin: SignerTwin) -> None:
    car = twin.car()
    signer = signer_for(twin, car)
    assert (await twin.send(signer, car, "ACTUATE_TRUNK", {"which_trunk": "front"}))["result"] is True
    old_epoch = signer.sessions.session(car.vin, Domain.VEHICLE_SECURITY).state
    security_of(car).reboot()  # new epochs in both domains

    statuses: list[int] = []
    assert (await twin.send(signer, car, "ACTUATE_TRUNK", {"which_trunk": "rear"}, statuses=statuses))[
        "result"
    ]
    assert statuses == [200, 200]  # refused with fresh session info (INCORRECT_EPOCH), signed again
    assert rear_trunk(car) == 1  # once
    session = signer.sessions.session(car.vin, Domain.VEHICLE_SECURITY).state
    assert old_epoch is not None
    assert session is not None
    assert session.epoch == security_of(car).domains[2].epoch != old_epoch.epoch


@pytest.mark.parametrize(("skew_s", "posts"), [(300.0, 2), (-300.0, 1)], ids=["car-ahead", "car-behind"])
async def test_clock_skew_of_minutes_costs_at_most_one_resync(
    twin: SignerTwin, skew_s: float, posts: int
) -> None:
    """The car's clock moves `skew_s` against ours after the handshake. Ahead: our expiry is in
    its past (TIME_EXPIRED with session info), one resync. Behind: the expiry is later than ours
    meant, which the car accepts for an in-order counter."""
    car = twin.car()
    signer = signer_for(twin, car)
    assert (await twin.send(signer, car, "ACTUATE_TRUNK", {"which_trunk": "front"}))["result"] is True
    for domain in security_of(car).domains.values():
        domain.epoch_start -= skew_s  # the car's clock offset
    statuses: list[int] = []
    assert (await twin.send(signer, car, "ACTUATE_TRUNK", {"which_trunk": "rear"}, statuses=statuses))[
        "result"
    ]
    assert len(statuses) == posts
    assert rear_trunk(car) == 1


async def test_a_reply_lost_after_the_car_acted_is_outcome_unknown_and_never_resent(twin: SignerTwin) -> None:
    car = twin.car()
    signer = signer_for(twin, car)
    async with relay_to(twin) as relay:
        tokens = twin.token(car.account)
        args = (twin.http, relay.base_url, car.vin, tokens)
        assert (await signer.send(*args, "ACTUATE_TRUNK", {"which_trunk": "front"}))["result"] is True
        relay.lose_answers = True
        before, billed = relay.forwarded, twin.billed_commands()
        statuses: list[int] = []
        with pytest.raises(OutcomeUnknown, match="may have run it"):
            await signer.send(*args, "ACTUATE_TRUNK", {"which_trunk": "rear"}, on_status=statuses.append)
        assert relay.forwarded - before == 1  # sent once, never again
        assert twin.billed_commands() - billed == 1
        assert statuses == []  # no answer came back
    assert rear_trunk(car) == 1  # the car did act, once
    # the session is still good: the next command signs at once
    again: list[int] = []
    assert (await twin.send(signer, car, "LOCK", statuses=again))["result"] is True
    assert again == [200]


async def test_a_corrupted_session_cache_is_ignored_with_a_warning(
    twin: SignerTwin, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    car = twin.car()
    cache = tmp_path / "sessions.json"
    cache.write_bytes(b'\x00{"format": 1, "sessions": {tor')
    signer = signer_for(twin, car, cache)
    statuses: list[int] = []
    with caplog.at_level(logging.WARNING, logger="teslalink.cloud.vcp.session"):
        assert (await twin.send(signer, car, "CHARGING_AMPS", {"charging_amps": 9}, statuses=statuses))[
            "result"
        ]
    assert statuses == [200, 200]  # a fresh handshake, then the command
    warnings = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    assert warnings
    assert all("not a teslalink session cache" in w for w in warnings)
    assert car.port.current_request == 9
    assert SessionCache(cache).load(car.vin, Domain.INFOTAINMENT, signer.key.public_bytes()) is not None
