"""route_command against the served twin: which way each command goes, and what a refusal changes.

The REST way is a real TeslaApi pointed at the twin's Fleet host with a Fleet user token (the
Fleet API takes the Owner API's REST command paths); the signed way is VcpSigner. Each test says
which way went by what the twin's car did and by who sent what.
"""

from __future__ import annotations

import random
import subprocess
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest
from signer_twin import Link, SignerTwin, demo_world, relay_to, served
from yarl import URL

from teslalink.cloud.api import TeslaApi
from teslalink.cloud.config import CloudUrls
from teslalink.cloud.fleet.routing import forget_rest_only, is_rest_only, route_command
from teslalink.cloud.fleet.signer import VcpSigner
from teslalink.cloud.vcp.dispatch import OutcomeUnknown
from teslalink.errors import ApiError, CommandSigningRequired, ConfigError
from teslalink.simulator.fleet import DEMO_APP
from teslalink.simulator.vehicle.car import Car
from teslalink.simulator.vehicle.spec import make_vin, model_spec


@pytest.fixture(autouse=True)
def _fresh_process_memory() -> None:
    forget_rest_only()  # what a 422 taught is per process; each test starts without it


@pytest.fixture
async def twin() -> AsyncIterator[SignerTwin]:
    async with served(demo_world()) as running:
        yield running


def old_model_s(twin: SignerTwin) -> Car:
    """A 2019 Model S: command_signing "off", REST commands work, signed_command answers 422."""
    vin = make_vin(model_spec("S"), 2019, random.Random(3))
    return twin.world.add_vehicle(twin.owner(1), model="S", vin=vin)


class Rest:
    """The REST command through TeslaApi at the link's current host; counts its calls."""

    def __init__(self, twin: SignerTwin, link: Link, car: Car) -> None:
        self.twin, self.link, self.car = twin, link, car
        self.calls = 0

    def __call__(self, name: str, params: dict[str, Any]) -> Callable[[], Awaitable[Any]]:
        async def send() -> Any:
            self.calls += 1
            api = TeslaApi(
                CloudUrls(api=str(self.link.base_url)), self.link.tokens, session=self.twin.http.session
            )
            return await api.api(name, path_vars={"vehicle_id": self.car.id_s}, **params)

        return send


async def route(
    twin: SignerTwin,
    car: Car,
    name: str,
    params: dict[str, Any],
    *,
    signing: str,
    signer: VcpSigner | None,
    link: Link,
    rest: Rest,
) -> Any:
    return await route_command(
        vin=car.vin,
        command_signing=signing,
        name=name,
        params=params,
        signer=signer,
        rest=rest(name, params),
        follow_region=link.follow_region,
        fleet=link,
    )


def signer_for(twin: SignerTwin, *cars: Car) -> VcpSigner:
    return VcpSigner(twin.paired_key(*cars), app_domain=DEMO_APP.domain)


async def test_a_car_with_signing_off_gets_the_rest_command(twin: SignerTwin) -> None:
    car = old_model_s(twin)
    link = twin.link(account=car.account)
    rest = Rest(twin, link, car)
    answer = await route(
        twin,
        car,
        "CHARGE_PORT_DOOR_OPEN",
        {},
        signing="off",
        signer=signer_for(twin, car),
        link=link,
        rest=rest,
    )
    assert answer == {"result": True, "reason": ""}
    assert car.port.door_open is True
    assert (rest.calls, link.billed["commands"]) == (1, 0)  # no signed_command POST


async def test_without_a_signer_or_a_protocol_message_the_command_is_rest(twin: SignerTwin) -> None:
    car = twin.car()  # command_signing "required": its REST commands are refused
    link = twin.link()
    rest = Rest(twin, link, car)
    with pytest.raises(CommandSigningRequired):
        await route(twin, car, "LOCK", {}, signing="required", signer=None, link=link, rest=rest)
    with pytest.raises(CommandSigningRequired):  # no protocol message: REST even with a signer
        await route(
            twin,
            car,
            "REMOTE_BOOMBOX",
            {},
            signing="required",
            signer=signer_for(twin, car),
            link=link,
            rest=rest,
        )
    assert (rest.calls, link.billed["commands"]) == (2, 0)


async def test_a_car_that_requires_signing_gets_the_signed_command(twin: SignerTwin) -> None:
    car = twin.car()
    link = twin.link()
    rest = Rest(twin, link, car)
    signer = signer_for(twin, car)
    for signing in ("required", "allowed", ""):
        answer = await route(
            twin,
            car,
            "SET_SENTRY_MODE",
            {"on": signing != ""},
            signing=signing,
            signer=signer,
            link=link,
            rest=rest,
        )
        assert answer == {"result": True, "reason": ""}
    assert car.sentry_mode is False
    assert rest.calls == 0
    assert link.billed["commands"] == 4  # one handshake, three commands, counted by the hook


async def test_a_422_goes_rest_and_the_car_is_remembered(twin: SignerTwin) -> None:
    car = old_model_s(twin)  # products said "required" (say, stale): the car answers 422
    link = twin.link(account=car.account)
    rest = Rest(twin, link, car)
    signer = signer_for(twin, car)
    answer = await route(
        twin,
        car,
        "CHARGING_AMPS",
        {"charging_amps": 9},
        signing="required",
        signer=signer,
        link=link,
        rest=rest,
    )
    assert answer == {"result": True, "reason": ""}
    assert car.port.current_request == 9
    assert (rest.calls, link.billed["commands"]) == (1, 1)  # the refused handshake, then REST
    assert is_rest_only(car.vin)
    await route(
        twin,
        car,
        "CHARGING_AMPS",
        {"charging_amps": 10},
        signing="required",
        signer=signer,
        link=link,
        rest=rest,
    )
    assert car.port.current_request == 10
    assert (rest.calls, link.billed["commands"]) == (2, 1)  # REST at once: no signed POST


async def test_out_of_region_follows_once_and_signs_there(twin: SignerTwin) -> None:
    car = twin.car(2)  # demo2 lives in the eu region
    link = twin.link("na", account=car.account)
    rest = Rest(twin, link, car)
    answer = await route(
        twin,
        car,
        "CHANGE_CHARGE_LIMIT",
        {"percent": 85},
        signing="required",
        signer=signer_for(twin, car),
        link=link,
        rest=rest,
    )
    assert answer == {"result": True, "reason": ""}
    assert car.charge_limit_soc == 85
    assert link.switches == ["eu"]
    assert link.base_url == URL(twin.urls.api["eu"])
    assert rest.calls == 0


async def test_a_second_421_is_raised(twin: SignerTwin) -> None:
    car = twin.car(2)
    link = twin.link("na", account=car.account)
    link.hosts["eu"] = twin.urls.api["na"]  # a host map that sends it back to the wrong region
    rest = Rest(twin, link, car)
    with pytest.raises(ApiError) as caught:
        await route(
            twin,
            car,
            "CLIMATE_ON",
            {},
            signing="required",
            signer=signer_for(twin, car),
            link=link,
            rest=rest,
        )
    assert caught.value.status == 421
    assert link.switches == ["eu"]  # followed once, not again
    assert car.climate.on is False
    assert rest.calls == 0


async def test_outcome_unknown_is_raised_never_resent_nor_sent_as_rest(twin: SignerTwin) -> None:
    car = twin.car()
    car.user_present = True  # the media need someone in the car
    signer = signer_for(twin, car)
    async with relay_to(twin) as relay:
        link = twin.link()
        link.base_url = URL(relay.base_url)
        rest = Rest(twin, link, car)
        warm = await route(
            twin, car, "HONK_HORN", {}, signing="required", signer=signer, link=link, rest=rest
        )
        assert warm["result"] is True  # an Infotainment session now exists
        relay.lose_answers = True
        before = relay.forwarded
        with pytest.raises(OutcomeUnknown):
            await route(
                twin, car, "MEDIA_NEXT_TRACK", {}, signing="required", signer=signer, link=link, rest=rest
            )
        assert relay.forwarded - before == 1
    assert car.media.track == 1  # it ran, once
    assert rest.calls == 0


async def test_a_signed_command_needs_the_fleet_link(twin: SignerTwin) -> None:
    car = twin.car()
    with pytest.raises(ConfigError, match="fleet="):
        await route_command(
            vin=car.vin,
            command_signing="required",
            name="LOCK",
            params={},
            signer=signer_for(twin, car),
            rest=Rest(twin, twin.link(), car)("LOCK", {}),
            follow_region=lambda base_url: base_url,
        )


def test_routing_loads_no_part_of_the_fleet_extra() -> None:
    """FleetApi imports routing on its REST path too: it must not pull in cryptography or protobuf."""
    code = (
        "import sys, teslalink.cloud.fleet.routing\n"
        "print(sorted({m.split('.')[0] for m in sys.modules} & {'cryptography', 'tesla_protocol', 'google'}))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"
