"""A served Fleet API twin (fleet-auth + three regions beside the rest of the cloud) and a bare client."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import aiohttp
import pytest

from teslalink.simulator import World, populate_demo
from teslalink.simulator.accounts import Account
from teslalink.simulator.fleet import DEMO_APP, FleetUrls, fleet_surfaces, populate_fleet_demo, regions
from teslalink.simulator.fleet.state import authority_of
from teslalink.simulator.serve import serve_cloud

ALL_SCOPES = " ".join(regions.ALL_SCOPES)


@dataclass
class Reply:
    status: int
    headers: Any
    text: str

    @property
    def json(self) -> Any:
        return json.loads(self.text)


class Fleet:
    """The running Fleet twin and a client without retries or parsing beyond what a test asks."""

    def __init__(self, world: World, urls: FleetUrls, session: aiohttp.ClientSession) -> None:
        self.world = world
        self.urls = urls
        self.session = session

    def account(self, n: int) -> Account:
        return self.world.account(f"demo{n}@teslalink.test")

    def user_token(
        self, account: Account, scopes: str = ALL_SCOPES, client_id: str = DEMO_APP.client_id
    ) -> str:
        body = authority_of(self.world).issue_user_token(
            account, client_id=client_id, scopes=tuple(scopes.split())
        )
        return str(body["access_token"])

    async def token(self, **form: str) -> Reply:
        return await self.request("POST", self.urls.auth + "oauth2/v3/token", data=form)

    async def partner_token(
        self, region: str = "na", client_id: str = DEMO_APP.client_id, secret: str = DEMO_APP.client_secret
    ) -> str:
        reply = await self.token(
            grant_type="client_credentials",
            client_id=client_id,
            client_secret=secret,
            audience=f"https://fleet-api.prd.{region}.vn.cloud.tesla.{'cn' if region == 'cn' else 'com'}",
        )
        assert reply.status == 200, reply.text
        return str(reply.json["access_token"])

    async def call(self, method: str, region: str, path: str, token: str | None, **kwargs: Any) -> Reply:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return await self.request(method, self.urls.api[region] + path.lstrip("/"), headers=headers, **kwargs)

    async def request(self, method: str, url: str, **kwargs: Any) -> Reply:
        async with self.session.request(method, url, allow_redirects=False, **kwargs) as response:
            return Reply(response.status, response.headers, await response.text())


@pytest.fixture
async def fleet(world: World) -> AsyncIterator[Fleet]:
    """The demo world (demo1 na, demo2 eu, demo3 cn; the demo app registered everywhere), served."""
    populate_demo(world)
    populate_fleet_demo(world)
    async with (
        serve_cloud(world, surfaces=fleet_surfaces(world)) as cloud,
        aiohttp.ClientSession() as session,
    ):
        yield Fleet(world, FleetUrls.of(cloud.extra), session)
