"""A 429 from a Fleet host: the host cools down (Retry-After, else RateLimit-Reset), nothing is
sent to it meanwhile, the signed path included, and other hosts are not held back.

The storm is a middleware put into the twin's own regional app after its guard, where the
twin's fault layer (simulator/fleet/faults.py, another branch) puts its 429 storm, so the 429s
are identified and billed like the twin's. Once that layer is merged, `inject_fault(world, "na",
"rate_limit", ...)` can replace it.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

import pytest
from aiohttp import web
from aiohttp.typedefs import Middleware
from fleet_api_twin import (  # noqa: F401 - fixtures
    FleetTwin,
    demo_fleet_world_fixture,
    first_car,
    fleet_surfaces_of_fixture,
    fleet_twin_fixture,
)

from teslalink import errors
from teslalink.cloud.api import DEFAULT_COOLDOWN_S
from teslalink.simulator.surface import AppSurface, Surface
from teslalink.transport import MAX_RETRY_AFTER_S

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@dataclass
class Storm:
    """The next `strikes` requests to the na host's API routes answer 429 with `headers`."""

    strikes: int = 0
    headers: dict[str, str] = field(default_factory=dict)
    struck: int = 0

    def middleware(self) -> Middleware:
        @web.middleware
        async def storm(request: web.Request, handler: Handler) -> web.StreamResponse:
            if self.strikes <= 0 or not request.path.startswith("/api/"):
                return await handler(request)
            self.strikes -= 1
            self.struck += 1
            return web.Response(status=429, text="Retry later", headers=self.headers)

        return storm


@pytest.fixture
def storm(fleet_surfaces_of: list[Surface]) -> Storm:
    (na,) = [s for s in fleet_surfaces_of if s.name == "fleet_na"]
    assert isinstance(na, AppSurface)
    app = na._source  # the regional app itself, before it is served
    assert isinstance(app, web.Application)
    made = Storm()
    app.middlewares.insert(2, made.middleware())  # after the answer/billing layer and the guard
    return made


def fake_clock() -> tuple[list[float], Callable[[], float]]:
    now = [1000.0]
    return now, lambda: now[0]


async def test_rate_limit_reset_starts_a_cooldown_that_sends_nothing(
    storm: Storm, fleet_twin: FleetTwin
) -> None:
    now, clock = fake_clock()
    api = fleet_twin.api(1, region="na", clock=clock)
    vehicle = await api.vehicle(first_car(fleet_twin).vin)
    storm.strikes, storm.headers = (
        1,
        {"RateLimit-Limit": "300", "RateLimit-Remaining": "0", "RateLimit-Reset": "30"},
    )
    with pytest.raises(errors.RateLimited) as raised:
        await vehicle.vehicle_data(["charge_state"])
    assert raised.value.retry_after == 30.0
    assert api.cooldown_remaining() == 30.0
    billed = fleet_twin.billed()
    assert billed == {"data": 1}  # the 429 is billed (status below 500)
    for _ in range(3):
        with pytest.raises(errors.RateLimited, match="not sent"):
            await vehicle.vehicle_data(["charge_state"])
    with pytest.raises(errors.RateLimited, match="not sent"):
        await api.products()  # the whole host, free calls too
    assert (storm.struck, fleet_twin.billed()) == (1, billed)  # nothing reached the twin
    now[0] += 30.5
    assert (await vehicle.vehicle_data(["charge_state"])).battery_level is not None


async def test_retry_after_wins_over_rate_limit_reset(storm: Storm, fleet_twin: FleetTwin) -> None:
    now, clock = fake_clock()
    api = fleet_twin.api(1, region="na", clock=clock)
    storm.strikes, storm.headers = 1, {"Retry-After": "5", "RateLimit-Reset": "45983"}
    with pytest.raises(errors.RateLimited) as raised:
        await api.products()
    assert raised.value.retry_after == 5.0
    assert api.cooldown_remaining() == 5.0
    now[0] += 6
    assert await api.products()


async def test_the_cooldown_holds_the_signed_path_and_only_its_host(
    storm: Storm, fleet_twin: FleetTwin
) -> None:
    _, clock = fake_clock()
    car = first_car(fleet_twin)
    api = fleet_twin.api(
        1, region="na", clock=clock, signer=object()
    )  # any signer: the seam is checked first
    vehicle = await api.vehicle(car.vin)
    storm.strikes, storm.headers = 1, {"Retry-After": "60"}
    with pytest.raises(errors.RateLimited):
        await vehicle.vehicle_data(["charge_state"])
    with pytest.raises(errors.RateLimited, match="not sent"):
        await vehicle.set_charging_amps(10)
    assert storm.struck == 1
    eu = fleet_twin.api(2, region="eu", clock=clock)
    eu.cool_down(api.cooldown_remaining(), api.base_url.authority)  # na's cooldown, as Cooldowns hands it on
    assert await eu.products()  # keyed by host: eu's calls are not held back
    assert set(api.cooldowns()) == {api.base_url.authority}


@pytest.mark.parametrize("reset", ["inf", "nan", "soon"])
async def test_a_rate_limit_reset_that_is_no_number_of_seconds_gives_the_default_cooldown(
    reset: str, storm: Storm, fleet_twin: FleetTwin
) -> None:
    _, clock = fake_clock()
    api = fleet_twin.api(1, region="na", clock=clock)
    storm.strikes, storm.headers = 1, {"RateLimit-Reset": reset}
    with pytest.raises(errors.RateLimited) as raised:
        await api.products()
    assert raised.value.retry_after is None
    assert api.cooldown_remaining() == DEFAULT_COOLDOWN_S


async def test_a_rate_limit_reset_far_ahead_cools_the_host_for_a_day_at_most(
    storm: Storm, fleet_twin: FleetTwin
) -> None:
    _, clock = fake_clock()
    api = fleet_twin.api(1, region="na", clock=clock)
    storm.strikes, storm.headers = 1, {"RateLimit-Reset": "1e12"}
    with pytest.raises(errors.RateLimited) as raised:
        await api.products()
    assert raised.value.retry_after == MAX_RETRY_AFTER_S
    assert api.cooldown_remaining() == MAX_RETRY_AFTER_S
