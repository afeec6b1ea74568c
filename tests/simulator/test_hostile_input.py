"""The twin answers abuse with a 4xx and a reason, never a 500 with a traceback in its log."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass

import aiohttp
import pytest

from teslalink.simulator import World
from teslalink.simulator.serve import Cloud, serve_cloud
from teslalink.simulator.world import MAX_ADVANCE_S

from .helpers import START

FORM = {"Content-Type": "application/x-www-form-urlencoded"}
UNDECODABLE = b"transaction_id=\xff\xfe&grant_type=\xc3"
HUGE_ID = "9" * 5_000  # beyond Python's 4,300-digit limit of int()


@dataclass
class Twin:
    world: World
    cloud: Cloud
    http: aiohttp.ClientSession
    bearer: dict[str, str]
    car_id: int


@pytest.fixture
async def twin(caplog: pytest.LogCaptureFixture) -> AsyncIterator[Twin]:
    caplog.set_level(logging.DEBUG)
    world = World(seed=3, speed=0.0, start=START)
    account = world.add_account("hostile@example.com", "pw")
    car = world.add_vehicle(account)
    world.add_wall_connector()
    token = world.auth.issue(account)["access_token"]
    timeout = aiohttp.ClientTimeout(total=30)  # guards a hang only
    async with serve_cloud(world) as cloud, aiohttp.ClientSession(timeout=timeout) as http:
        yield Twin(world, cloud, http, {"Authorization": f"Bearer {token}"}, car.id)
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR or r.exc_info], "a traceback"


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", f"api/1/vehicles/{HUGE_ID}"),
        ("GET", f"api/1/vehicles/{HUGE_ID}/vehicle_data"),
        ("POST", f"api/1/vehicles/{HUGE_ID}/command/honk_horn"),
        ("GET", "api/1/vehicles/%C2%B2"),  # '²': str.isdigit() says yes, int() says no
        ("GET", f"api/1/energy_sites/{HUGE_ID}/live_status"),
    ],
)
async def test_an_absurd_id_is_not_found(twin: Twin, method: str, path: str) -> None:
    async with twin.http.request(method, twin.cloud.owner_api + path, headers=twin.bearer) as response:
        assert response.status == 404
        assert (await response.json())["error"] == "not_found"


@pytest.mark.parametrize(
    ("headers", "body"),
    [
        (FORM, UNDECODABLE),
        ({"Content-Type": "multipart/form-data"}, b"--x\r\n"),  # no boundary
    ],
)
async def test_an_unreadable_command_body_is_a_400(twin: Twin, headers: dict[str, str], body: bytes) -> None:
    url = f"{twin.cloud.owner_api}api/1/vehicles/{twin.car_id}/command/set_charge_limit"
    async with twin.http.post(url, data=body, headers=twin.bearer | headers) as response:
        assert response.status == 400


def _multipart() -> aiohttp.FormData:
    form = aiohttp.FormData()
    form.add_field("grant_type", "refresh_token")
    form.add_field("upload", b"abc", filename="a.txt")
    return form


@pytest.mark.parametrize("path", ["oauth2/v3/authorize", "oauth2/v3/token", "oauth2/v3/authorize/mfa/verify"])
@pytest.mark.parametrize("kind", ["undecodable", "multipart", "multipart without boundary"])
async def test_an_sso_body_that_is_not_a_form_is_a_400(twin: Twin, path: str, kind: str) -> None:
    url = twin.cloud.sso["na"] + path
    if kind == "undecodable":
        request = twin.http.post(url, data=UNDECODABLE, headers=FORM, allow_redirects=False)
    elif kind == "multipart":
        request = twin.http.post(url, data=_multipart(), allow_redirects=False)
    else:
        headers = {"Content-Type": "multipart/form-data"}
        request = twin.http.post(url, data=b"--x\r\n", headers=headers, allow_redirects=False)
    async with request as response:
        assert response.status == 400
        assert "must be" in await response.text()  # the reason, not a missing-field guess


async def test_logout_with_an_undecodable_body_is_no_500(twin: Twin) -> None:
    url = twin.cloud.sso["na"] + "oauth2/v3/logout"
    async with twin.http.post(url, data=UNDECODABLE, headers=FORM, allow_redirects=False) as response:
        assert response.status == 400


@pytest.mark.parametrize(
    ("seconds", "reason"),
    [
        (1e308, "<= 315576000"),
        (MAX_ADVANCE_S + 1, "<= 315576000"),
        (-1, ">= 0"),
        ("60", "finite number"),
        (True, "finite number"),
        (None, "finite number"),
    ],
)
async def test_advance_refuses_what_would_break_the_world(twin: Twin, seconds: object, reason: str) -> None:
    before = twin.world.now()
    async with twin.http.post(twin.cloud.admin + "advance", json={"seconds": seconds}) as response:
        assert response.status == 400
        assert reason in (await response.json())["error"]
    assert twin.world.now() == before
    async with twin.http.post(twin.cloud.admin + "advance", json={"seconds": MAX_ADVANCE_S}) as response:
        assert response.status == 200  # ten years is still fine, and the world still answers
    async with twin.http.get(f"{twin.cloud.wall_connectors[0].url}/api/1/vitals") as response:
        assert response.status == 200
        assert (await response.json())["session_s"] == 0


async def test_login_still_works_after_a_refused_advance(twin: Twin) -> None:
    async with twin.http.post(twin.cloud.admin + "advance", json={"seconds": 1e308}) as response:
        assert response.status == 400
    url = f"{twin.cloud.owner_api}api/1/vehicles/{twin.car_id}"
    async with twin.http.get(url, headers=twin.bearer) as response:
        assert response.status == 200  # the token is still valid: the clock did not jump


@pytest.mark.parametrize("seconds", [1e308, MAX_ADVANCE_S * 2])
def test_world_advance_is_bounded(seconds: float) -> None:
    world = World(seed=0, speed=0.0, start=START)
    with pytest.raises(ValueError, match="ten years"):
        world.advance(seconds)
    assert world.now() == START
