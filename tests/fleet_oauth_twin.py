"""The Fleet twin served on loopback for the login tests, an app of the test's own, and a browser.

The app is the demo app's twin with a redirect URI on a free loopback port, so tests running at
once never share the callback port (the demo app's is fixed, 8765). It is registered in every
region (users/me answers only for a registered app) for the demo app's domain, whose key the
world knows.
"""

from __future__ import annotations

import contextlib
import re
import socket
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import aiohttp

from teslalink.cloud.fleet.app import FleetApp
from teslalink.cloud.fleet.hosts import FleetHosts
from teslalink.cloud.fleet.oauth import FleetAuth
from teslalink.cloud.tokens import TokenStore
from teslalink.simulator import World, populate_demo
from teslalink.simulator.fleet import DEMO_APP, FleetUrls, fleet_surfaces, populate_fleet_demo
from teslalink.simulator.fleet.registration import register
from teslalink.simulator.fleet.state import PartnerApp, authority_of, fleet_state
from teslalink.simulator.serve import Cloud, serve_cloud

DEMO1 = "demo1@teslalink.test"  # na, password only
DEMO2 = "demo2@teslalink.test"  # eu (the Fleet twin's choice), TOTP
DEMO3 = "demo3@teslalink.test"  # cn
CLIENT_ID = "teslalink-test-app"
CLIENT_SECRET = "test-app-secret-value"
HANG_GUARD_S = 30.0
"""Seconds: a bound on waits that only guards against a hang (each takes milliseconds)."""


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def fleet_world(seed: int = 31) -> World:
    """The demo world with its Fleet side; the clock stands still at the real time (children use it)."""
    world = World(seed=seed, speed=0.0, start=time.time())
    populate_demo(world)
    populate_fleet_demo(world)
    return world


def add_test_app(world: World, port: int) -> PartnerApp:
    state = fleet_state(world)
    app = PartnerApp(
        client_id=CLIENT_ID,
        client_secret=CLIENT_SECRET,
        domain=DEMO_APP.domain,
        redirect_uris=(f"http://127.0.0.1:{port}/callback",),
        name="teslalink tests",
    )
    state.add_app(app)
    for region in ("na", "eu", "cn"):
        register(state, region, app.client_id, app.domain)
    return app


@dataclass
class Twin:
    world: World
    cloud: Cloud
    urls: FleetUrls
    app: FleetApp
    store: TokenStore
    session: aiohttp.ClientSession

    def password(self, email: str) -> str:
        return self.world.account(email).password

    def auth(self, identity: str | None = None, **options: object) -> FleetAuth:
        return FleetAuth(self.app, self.store, identity, clock=self.world.now, **options)  # type: ignore[arg-type]

    def retire_refresh_tokens_at_once(self) -> None:
        """No 24 h grace: a refresh token used once is dead (a forked chain shows at once)."""
        authority_of(self.world).refresh_grace_s = -1.0

    async def refresh_grant(self, refresh_token: str) -> tuple[int, dict[str, object]]:
        form = {"grant_type": "refresh_token", "client_id": CLIENT_ID, "refresh_token": refresh_token}
        async with self.session.post(self.urls.auth + "oauth2/v3/token", data=form) as resp:
            return resp.status, await resp.json()

    async def browser(self, authorize_url: str, email: str, *, follow: bool = True) -> tuple[str, str]:
        """A person in a browser: the sign-in page, the form posted, and (`follow`) the redirect
        followed to the app's callback. Returns (the redirect URL, the callback page's text)."""
        async with self.session.get(authorize_url) as page:
            assert page.status == 200, await page.text()
            html = await page.text()
        hidden = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)">', html))
        form = {**hidden, "identity": email, "credential": self.password(email)}
        account = self.world.account(email)
        if account.mfa_secret is not None:
            from teslalink.simulator.sso.totp import totp

            form["passcode"] = totp(account.mfa_secret, self.world.now())
        async with self.session.post(
            self.urls.auth + "oauth2/v3/authorize", data=form, allow_redirects=False
        ) as reply:
            assert reply.status == 302, await reply.text()
            location = reply.headers["Location"]
        if not follow:
            return location, ""
        async with self.session.get(location) as landed:
            return location, await landed.text()


def query_of(url: str) -> dict[str, str]:
    return {key: values[0] for key, values in parse_qs(urlsplit(url).query).items()}


@contextlib.asynccontextmanager
async def served_twin(tmp_path: Path, seed: int = 31) -> AsyncIterator[Twin]:
    """The Fleet twin served, the test app configured against it, a token file in `tmp_path`."""
    world = fleet_world(seed)
    port = free_port()
    add_test_app(world, port)
    async with (
        serve_cloud(world, surfaces=fleet_surfaces(world)) as cloud,
        aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=HANG_GUARD_S)) as session,
    ):
        urls = FleetUrls.of(cloud.extra)
        app = FleetApp(
            client_id=CLIENT_ID,
            client_secret=CLIENT_SECRET,
            redirect_uri=f"http://127.0.0.1:{port}/callback",
            domain=DEMO_APP.domain,
            hosts=FleetHosts(api=dict(urls.api), auth=urls.auth),
        )
        yield Twin(world, cloud, urls, app, TokenStore(tmp_path / "tokens.json"), session)
