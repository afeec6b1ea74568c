"""Auth against the twin's SSO and Owner API on loopback: every login flow, refresh, rotation, 401s.

The world clock stands still (speed 0) and moves only when a test advances it; `Auth` gets
`clock=world.now`, so token expiry is the twin's expiry.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urljoin

import aiohttp
import pytest

from teslalink.cloud.auth import Auth, StagedLogin
from teslalink.cloud.config import CloudUrls
from teslalink.cloud.tokens import MemoryTokenStore, TokenStore
from teslalink.errors import (
    AuthError,
    CaptchaRequired,
    ConfigError,
    MfaRequired,
    RateLimited,
    ServiceUnavailable,
    TokenExpired,
)
from teslalink.simulator import World
from teslalink.simulator.accounts import Account
from teslalink.simulator.faults import Faults
from teslalink.simulator.serve import Cloud, serve_cloud
from teslalink.simulator.sso.totp import totp

START = 1_750_000_000.0
PASSWORD = "correct horse battery"
NA = "na.owner@example.com"
MFA = "mfa.owner@example.com"
CN = "cn.owner@example.cn"
LIFETIME = 28_800


@dataclass
class Twin:
    world: World
    cloud: Cloud
    urls: CloudUrls

    def auth(self, email: str = NA, store: TokenStore | None = None, **kw: Any) -> Auth:
        return Auth(email, urls=self.urls, store=store or MemoryTokenStore(), clock=self.world.now, **kw)

    def account(self, email: str) -> Account:
        return self.world.account(email)

    def count_refreshes(self, monkeypatch: pytest.MonkeyPatch) -> list[int]:
        """Count refresh grants the token endpoint serves (both regions share world.auth)."""
        hits = [0]
        original = self.world.auth.refresh

        def counting(*args: Any, **kwargs: Any) -> dict[str, Any]:
            hits[0] += 1
            return original(*args, **kwargs)

        monkeypatch.setattr(self.world.auth, "refresh", counting)
        return hits


@pytest.fixture
async def twin() -> AsyncIterator[Twin]:
    world = World(seed=11, speed=0, start=START)
    for email, kw in ((NA, {}), (MFA, {"mfa": True}), (CN, {"region": "cn"})):
        account = world.add_account(email, PASSWORD, **kw)
        world.add_vehicle(account)
    async with serve_cloud(world, faults=Faults()) as cloud:  # faults: the SSO's too, off until set
        urls = CloudUrls(api=cloud.owner_api, sso=cloud.sso["na"], streaming=cloud.streaming)
        yield Twin(world, cloud, urls)


async def products_status(twin: Twin, token: str) -> int:
    async with (
        aiohttp.ClientSession() as session,
        session.get(twin.urls.api + "api/1/products", headers={"Authorization": f"Bearer {token}"}) as resp,
    ):
        await resp.read()
        return resp.status


def passcodes(account: Account, world: World, wrong_first: int = 0) -> Callable[[], str]:
    """A passcode getter: `wrong_first` wrong codes, then the authenticator's current one."""
    assert account.mfa_secret is not None
    secret = account.mfa_secret
    calls = iter(range(10))

    def get() -> str:
        right = totp(secret, world.now())
        call = next(calls)
        if call < wrong_first:
            return str((int(right) + 1 + call) % 10**6).zfill(6)  # a different typo each time
        return right

    return get


def read_captcha(svg: bytes) -> str:
    """The twin's captcha draws each character as an SVG <text>: a solver can read them."""
    return "".join(re.findall(r"<text[^>]*>([^<]*)</text>", svg.decode()))


# --- headless form login -----------------------------------------------------------------------


async def test_headless_login_plain(twin: Twin) -> None:
    store = MemoryTokenStore()
    async with twin.auth(store=store) as auth:
        token = await auth.login_headless(PASSWORD)
        assert token.sso_url == twin.urls.sso
        assert token.refresh_token
        assert token.id_token
        assert token.expires_in(twin.world.now()) == pytest.approx(LIFETIME)
        assert store.load(NA) == token
        assert await auth.access_token() == token.access_token
        assert await products_status(twin, token.access_token) == 200
        for secret in (PASSWORD, token.access_token, token.refresh_token):
            assert secret not in repr(auth)


async def test_wrong_password_is_auth_error_without_secrets(twin: Twin) -> None:
    async with twin.auth() as auth:
        with pytest.raises(AuthError, match="wrong email or password") as info:
            await auth.login_headless("not the password")
    assert "not the password" not in str(info.value)
    assert type(info.value) is AuthError


async def test_mfa_with_a_passcode_getter(twin: Twin) -> None:
    async with twin.auth(MFA) as auth:
        token = await auth.login_headless(PASSWORD, passcode=passcodes(twin.account(MFA), twin.world))
        assert await products_status(twin, token.access_token) == 200


async def test_mfa_async_getter_and_factor_chooser(twin: Twin) -> None:
    chosen: list[list[dict[str, Any]]] = []
    getter = passcodes(twin.account(MFA), twin.world)

    async def passcode() -> str:
        return getter()

    def choose(factors: list[dict[str, Any]]) -> dict[str, Any]:
        chosen.append(factors)
        return factors[-1]

    async with twin.auth(MFA) as auth:
        await auth.login_headless(PASSWORD, passcode=passcode, choose_factor=choose)
    assert chosen
    assert chosen[0][0]["factorType"] == "token:software"


async def test_mfa_wrong_passcode_then_right(twin: Twin) -> None:
    getter = passcodes(twin.account(MFA), twin.world, wrong_first=2)
    async with twin.auth(MFA) as auth:
        token = await auth.login_headless(PASSWORD, passcode=getter)
    assert await products_status(twin, token.access_token) == 200


async def test_mfa_always_wrong_gives_up_after_three(twin: Twin) -> None:
    getter = passcodes(twin.account(MFA), twin.world, wrong_first=10)
    async with twin.auth(MFA) as auth:
        with pytest.raises(AuthError, match="3 times"):
            await auth.login_headless(PASSWORD, passcode=getter)


async def test_mfa_without_getter_is_mfa_required(twin: Twin) -> None:
    async with twin.auth(MFA) as auth:
        with pytest.raises(MfaRequired):
            await auth.login_headless(PASSWORD)
        assert auth.token is None


async def test_captcha_after_failures(twin: Twin) -> None:
    async with twin.auth() as auth:
        for _ in range(3):
            with pytest.raises(AuthError, match="wrong email or password"):
                await auth.login_headless("wrong")
        with pytest.raises(CaptchaRequired):
            await auth.login_headless(PASSWORD)
        seen: list[bytes] = []

        def solver(svg: bytes) -> str:
            seen.append(svg)
            return read_captcha(svg)

        token = await auth.login_headless(PASSWORD, solve_captcha=solver)
    assert seen
    assert seen[0].startswith(b"<svg")
    assert await products_status(twin, token.access_token) == 200


async def test_wrong_captcha_is_retried_then_refused(twin: Twin) -> None:
    twin.world.auth.logins.policy = type(twin.world.auth.logins.policy)(always_captcha=True)
    answers = iter(["ZZZZ", "YYYY"])

    def solver(svg: bytes) -> str:
        return next(answers, None) or read_captcha(svg)

    async with twin.auth() as auth:
        await auth.login_headless(PASSWORD, solve_captcha=solver)
        with pytest.raises(AuthError, match="captcha"):
            await auth.login_headless(PASSWORD, solve_captcha=lambda svg: "QQQQ")


async def test_cn_region_redirect_and_refresh_there(twin: Twin, monkeypatch: pytest.MonkeyPatch) -> None:
    hits = twin.count_refreshes(monkeypatch)
    async with twin.auth(CN) as auth:
        token = await auth.login_headless(PASSWORD)
        assert token.sso_url == twin.cloud.sso["cn"] != twin.urls.sso
        assert auth.sso_url == twin.cloud.sso["cn"]
        twin.world.advance(LIFETIME - 100)
        fresh = await auth.access_token()  # within the margin: refreshed at the cn SSO
        assert fresh != token.access_token
        assert hits[0] == 1
        assert auth.token is not None
        assert auth.token.sso_url == twin.cloud.sso["cn"]
        assert await products_status(twin, fresh) == 200


# --- browser and staged flows ------------------------------------------------------------------


async def sign_in_like_a_browser(url: str, email: str, password: str = PASSWORD) -> str:
    """What a person does in the browser; returns the URL the browser ends on (tesla://...)."""
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as session:
        async with session.get(url) as resp:
            page_url, html = str(resp.url), await resp.text()
        action = re.search(r'<form[^>]*action="([^"]*)"', html)
        assert action is not None
        fields = dict(re.findall(r'<input type="hidden" name="([^"]*)" value="([^"]*)"', html))
        fields.update(identity=email, credential=password)
        target = urljoin(page_url, action.group(1).replace("&amp;", "&"))
        async with session.post(target, data=fields, allow_redirects=False) as resp:
            assert resp.status == 302
            return resp.headers["Location"]


async def test_browser_flow(twin: Twin) -> None:
    async with twin.auth() as auth:

        async def person(url: str) -> str:
            return await sign_in_like_a_browser(url, NA)

        token = await auth.login_browser(person)
        assert await products_status(twin, token.access_token) == 200


async def test_browser_flow_cn_probes_the_region(twin: Twin) -> None:
    async with twin.auth(CN) as auth:
        url = await auth.authorization_url()
        assert url.startswith(twin.cloud.sso["cn"])
        token = await auth.complete(await sign_in_like_a_browser(url, CN))
        assert token.sso_url == twin.cloud.sso["cn"]


async def test_staged_flow_survives_a_restart(twin: Twin) -> None:
    store = MemoryTokenStore()
    async with twin.auth(store=store) as first:
        staged = await first.start_login()
        saved = json.dumps(staged.to_dict())
    assert staged.code_verifier not in repr(staged)
    redirect = await sign_in_like_a_browser(staged.url, NA)
    async with twin.auth(store=store) as second:  # a new process would build a new Auth
        token = await second.complete(redirect, StagedLogin.from_dict(json.loads(saved)))
    assert store.load(NA) == token
    assert await products_status(twin, token.access_token) == 200


async def test_wrong_state_is_rejected(twin: Twin) -> None:
    async with twin.auth() as auth:
        url = await auth.authorization_url()
        redirect = await sign_in_like_a_browser(url, NA)
        forged = re.sub(r"state=[^&]*", "state=forged", redirect)
        with pytest.raises(AuthError, match="state"):
            await auth.complete(forged)
        with pytest.raises(AuthError, match="cancelled"):
            await auth.complete(
                "tesla://auth/callback?error=access_denied&error_description=The+user+cancelled+the+login."
            )
        assert auth.token is None


# --- refresh -----------------------------------------------------------------------------------


async def test_refresh_before_expiry(twin: Twin, monkeypatch: pytest.MonkeyPatch) -> None:
    hits = twin.count_refreshes(monkeypatch)
    async with twin.auth() as auth:
        token = await auth.login_headless(PASSWORD)
        twin.world.advance(LIFETIME - 600)  # outside the 300 s margin: no refresh yet
        assert await auth.access_token() == token.access_token
        twin.world.advance(400)
        fresh = await auth.access_token()
        assert fresh != token.access_token
        assert hits[0] == 1
        assert await auth.access_token() == fresh
        assert await products_status(twin, fresh) == 200


async def test_token_expiry_in_the_middle_of_a_run(twin: Twin, monkeypatch: pytest.MonkeyPatch) -> None:
    hits = twin.count_refreshes(monkeypatch)
    async with twin.auth() as auth:
        await auth.login_headless(PASSWORD)
        token = await auth.access_token()
        assert await products_status(twin, token) == 200
        twin.world.advance(LIFETIME + 1)  # expires while a client holds it
        assert await products_status(twin, token) == 401
        retry = await auth.token_rejected(token)
        assert await products_status(twin, retry) == 200
        assert hits[0] == 1


async def test_fifty_concurrent_rejections_make_one_refresh(
    twin: Twin, monkeypatch: pytest.MonkeyPatch
) -> None:
    hits = twin.count_refreshes(monkeypatch)
    async with twin.auth() as auth:
        token = (await auth.login_headless(PASSWORD)).access_token
        results = await asyncio.gather(*(auth.token_rejected(token) for _ in range(50)))
        assert len(set(results)) == 1
        assert results[0] != token
        assert hits[0] == 1
        assert await auth.token_rejected(token) == results[0]  # a late report of the old token
        assert hits[0] == 1
        assert auth.refreshes == 1


@pytest.mark.parametrize("rotate", [True, False])
async def test_rotation_on_and_off(twin: Twin, rotate: bool) -> None:
    twin.world.auth.rotate_refresh_tokens = rotate
    async with twin.auth() as auth:
        first = await auth.login_headless(PASSWORD)
        second = await auth.refresh()
        third = await auth.refresh()
    assert len({first.access_token, second.access_token, third.access_token}) == 3
    if rotate:
        assert len({first.refresh_token, second.refresh_token, third.refresh_token}) == 3
    else:
        assert first.refresh_token == second.refresh_token == third.refresh_token
    assert await products_status(twin, third.access_token) == 200


async def test_refresh_failure_is_token_expired(twin: Twin) -> None:
    async with twin.auth() as auth:
        token = await auth.login_headless(PASSWORD)
        twin.world.auth.revoke_all(twin.account(NA))
        with pytest.raises(TokenExpired, match="log in again") as info:
            await auth.token_rejected(token.access_token)
    assert token.refresh_token is not None
    assert token.refresh_token not in str(info.value)


@pytest.mark.parametrize(
    ("spec", "error"), [("5xx=1", ServiceUnavailable), ("429=1,retry_after=30", RateLimited)]
)
async def test_a_failing_or_busy_sso_keeps_the_token_for_a_later_refresh(
    twin: Twin, spec: str, error: type[Exception]
) -> None:
    store = MemoryTokenStore()
    async with twin.auth(store=store) as auth:
        token = await auth.login_headless(PASSWORD)
        twin.cloud.faults.set("sso", spec)
        with pytest.raises(error) as info:
            await auth.refresh()
        assert not isinstance(info.value, TokenExpired)
        if isinstance(info.value, RateLimited):
            assert info.value.retry_after == 30
        assert store.load(NA) == token  # nothing lost: the same tokens wait for the SSO to recover
        twin.cloud.faults.clear()
        if isinstance(info.value, RateLimited):
            twin.world.advance(30)  # the SSO's cooldown: nothing is sent before Retry-After
        renewed = await auth.refresh()
    assert renewed.access_token != token.access_token
    assert await products_status(twin, renewed.access_token) == 200


async def test_not_logged_in(twin: Twin) -> None:
    async with twin.auth() as auth:
        with pytest.raises(TokenExpired, match="not logged in"):
            await auth.access_token()


async def test_login_with_refresh_token_and_logout(twin: Twin) -> None:
    async with twin.auth() as first:
        token = await first.login_headless(PASSWORD)
    store = MemoryTokenStore()
    async with twin.auth(store=store) as auth:
        assert token.refresh_token is not None
        started = await auth.login_with_refresh_token(token.refresh_token)
        assert started.refresh_token
        assert await products_status(twin, started.access_token) == 200
        await auth.logout()
        assert store.load(NA) is None
        assert auth.token is None
    assert await products_status(twin, started.access_token) == 401  # revoked at the SSO


async def test_a_teslapy_cache_works_as_is(twin: Twin, tmp_path: Any) -> None:
    async with twin.auth() as first:
        token = await first.login_headless(PASSWORD)
    path = tmp_path / "cache.json"
    sso = {
        "access_token": token.access_token,
        "refresh_token": token.refresh_token,
        "id_token": token.id_token,
        "expires_in": 28800,
        "expires_at": token.expires_at,
        "token_type": "Bearer",
    }
    path.write_text(json.dumps({NA: {"url": token.sso_url, "sso": sso}}))
    async with twin.auth(store=TokenStore(path)) as auth:
        assert await auth.access_token() == token.access_token
        fresh = await auth.refresh()
    assert json.loads(path.read_text())[NA]["sso"]["access_token"] == fresh.access_token


async def test_corrupt_token_file_is_config_error_and_left_alone(twin: Twin, tmp_path: Any) -> None:
    path = tmp_path / "tokens.json"
    path.write_bytes(b'{"na.owner@example.com": {"url": ')
    async with twin.auth(store=TokenStore(path)) as auth:
        with pytest.raises(ConfigError, match="not valid JSON"):
            await auth.access_token()
        with pytest.raises(ConfigError, match=r"tokens\.json"):
            await auth.login_headless(PASSWORD)
    assert path.read_bytes() == b'{"na.owner@example.com": {"url": '


async def test_provider_seam_borrowed_session_and_no_secret_in_logs(
    twin: Twin, caplog: pytest.LogCaptureFixture
) -> None:
    from teslalink.cloud.provider import TokenProvider

    caplog.set_level(logging.DEBUG)
    async with aiohttp.ClientSession() as session:
        auth = twin.auth(CN, session=session)
        assert isinstance(auth, TokenProvider)
        async with auth:
            token = await auth.login_headless(PASSWORD)
            fresh = await auth.refresh()
            await auth.logout()
        assert not session.closed  # borrowed: never closed by Auth
    logged = caplog.text + repr(auth)
    secrets = (PASSWORD, token.access_token, token.refresh_token, fresh.access_token, fresh.refresh_token)
    for secret in secrets:
        assert secret is not None
        assert secret not in logged
