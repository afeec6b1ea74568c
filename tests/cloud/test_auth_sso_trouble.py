"""Auth when the SSO fails or rate-limits, and the passcode rules, against the twin on loopback.

One refresh in flight, and its failure shared with every caller that waited for it; an SSO 429
starts a cooldown during which nothing is sent to that SSO; a passcode is sent once; a passcode
reused within its step gets its own answer. Requests reaching the SSO are counted at the twin's
fault layer (every SSO request passes it), so "nothing sent" is what the server saw.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest
from test_auth import MFA, NA, PASSWORD, Twin

from teslalink.cloud.api import TeslaApi
from teslalink.cloud.config import CloudUrls
from teslalink.errors import AuthError, RateLimited, ServiceUnavailable, TokenExpired
from teslalink.simulator import World
from teslalink.simulator.faults import FaultAction, Faults
from teslalink.simulator.serve import serve_cloud
from teslalink.simulator.sso.totp import totp

START = 1_750_000_000.0


@pytest.fixture
async def twin() -> AsyncIterator[Twin]:
    world = World(seed=13, speed=0, start=START)
    for email, kw in ((NA, {}), (MFA, {"mfa": True})):
        world.add_vehicle(world.add_account(email, PASSWORD, **kw))
    async with serve_cloud(world, faults=Faults()) as cloud:
        urls = CloudUrls(api=cloud.owner_api, sso=cloud.sso["na"], streaming=cloud.streaming)
        yield Twin(world, cloud, urls)


def count_sso_requests(twin: Twin, monkeypatch: pytest.MonkeyPatch, fail_at: int | None = None) -> list[int]:
    """Count the requests reaching the SSO; with `fail_at`, the request of that number gets a 429."""
    faults = twin.cloud.faults
    original = faults.decide
    seen = [0]

    def counting(surface: str) -> Any:
        if surface != "sso":
            return original(surface)
        seen[0] += 1
        if seen[0] == fail_at:
            return FaultAction(status=429, retry_after_s=45)
        return original(surface)

    monkeypatch.setattr(faults, "decide", counting)
    return seen


# --- H3: one refresh, its failure shared --------------------------------------------------------


@pytest.mark.parametrize(
    ("spec", "error"), [("5xx=1", ServiceUnavailable), ("429=1,retry_after=60", RateLimited)]
)
async def test_fifty_rejections_while_the_sso_fails_send_one_grant(
    twin: Twin, monkeypatch: pytest.MonkeyPatch, spec: str, error: type[Exception]
) -> None:
    async with twin.auth() as auth:
        token = (await auth.login_headless(PASSWORD)).access_token
        sent = count_sso_requests(twin, monkeypatch)
        twin.cloud.faults.set("sso", spec)
        results = await asyncio.gather(
            *(auth.token_rejected(token) for _ in range(50)), return_exceptions=True
        )
        assert sent[0] == 1
        assert auth.refreshes == 1
        assert all(isinstance(r, error) for r in results)
        assert not any(isinstance(r, TokenExpired) for r in results)  # nobody is told to log in again
        if error is RateLimited:
            assert {r.retry_after for r in results if isinstance(r, RateLimited)} == {60}
            assert "rate limited by Tesla's login server, retry in 60 s" in str(results[0])
            twin.world.advance(59)
            with pytest.raises(RateLimited, match=r"retry in 1 s"):  # still cooling down: not sent
                await auth.token_rejected(token)
            assert sent[0] == 1
            twin.world.advance(1)
        twin.cloud.faults.clear()
        renewed = await auth.token_rejected(token)  # a later report: a new refresh, which works
        assert renewed != token
        assert sent[0] == 2


async def test_fifty_rejections_with_a_healthy_sso_still_send_one_grant(
    twin: Twin, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with twin.auth() as auth:
        token = (await auth.login_headless(PASSWORD)).access_token
        sent = count_sso_requests(twin, monkeypatch)
        results = await asyncio.gather(*(auth.token_rejected(token) for _ in range(50)))
        assert len(set(results)) == 1
        assert results[0] != token
        assert sent[0] == 1


# --- M4: the SSO's 429 ----------------------------------------------------------------------------


async def test_a_429_on_the_code_exchange_says_wait_not_log_in_again(
    twin: Twin, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A login without MFA is three SSO requests: the page, the password, the code exchange.
    sent = count_sso_requests(twin, monkeypatch, fail_at=3)
    async with twin.auth() as auth:
        with pytest.raises(RateLimited) as info:
            await auth.login_headless(PASSWORD)
        message = str(info.value)
        assert "rate limited by Tesla's login server, retry in 45 s" in message
        assert "log in again" not in message
        assert info.value.retry_after == 45
        assert sent[0] == 3
        with pytest.raises(
            RateLimited, match=r"not sent: rate limited by Tesla's login server, retry in 45 s"
        ):
            await auth.login_headless(PASSWORD)  # the cooldown: not even the login page is asked for
        assert sent[0] == 3
        assert auth.cooldowns() == {auth.urls.sso.split("//")[1].rstrip("/"): 45}
        twin.world.advance(45)
        await auth.login_headless(PASSWORD)
    assert sent[0] == 6


# --- the passcode ---------------------------------------------------------------------------------


async def test_a_getter_repeating_a_refused_passcode_sends_it_once(twin: Twin) -> None:
    secret = twin.account(MFA).mfa_secret
    assert secret is not None
    wrong = str((int(totp(secret, twin.world.now())) + 1) % 10**6).zfill(6)
    async with twin.auth(MFA) as auth:
        with pytest.raises(AuthError, match="the passcode was refused"):
            await auth.login_headless(PASSWORD, passcode=lambda: wrong)
    assert twin.world.auth.logins.failures(MFA) == 1


async def test_a_reused_passcode_is_told_apart_and_is_no_failure(twin: Twin) -> None:
    secret = twin.account(MFA).mfa_secret
    assert secret is not None
    code = totp(secret, twin.world.now())
    async with twin.auth(MFA) as auth:
        await auth.login_headless(PASSWORD, passcode=lambda: code)
        with pytest.raises(AuthError, match="already used; wait for the next one") as info:
            await auth.login_headless(PASSWORD, passcode=lambda: code)
        assert code not in str(info.value)
        assert twin.world.auth.logins.failures(MFA) == 0
        twin.world.advance(30)
        await auth.login_headless(PASSWORD, passcode=lambda: totp(secret, twin.world.now()))


async def test_wrong_passcodes_count_towards_the_lock_not_the_captcha(twin: Twin) -> None:
    """docs/cloud.md: three wrong *passwords* bring the captcha; the twin's rule is the same."""
    secret = twin.account(MFA).mfa_secret
    assert secret is not None
    async with twin.auth(MFA) as auth:
        for typo in range(1, 4):
            wrong = str((int(totp(secret, twin.world.now())) + typo) % 10**6).zfill(6)
            with pytest.raises(AuthError, match="passcode"):
                await auth.login_headless(PASSWORD, passcode=lambda code=wrong: code)
        assert twin.world.auth.logins.failures(MFA) == 3
        # No captcha is asked for (no solver given): the right passcode signs in.
        await auth.login_headless(PASSWORD, passcode=lambda: totp(secret, twin.world.now()))


@pytest.mark.parametrize("spec", ["5xx=1", "429=1,retry_after=60"])
async def test_fifty_reads_rejected_with_401_while_the_sso_fails_send_one_grant(
    twin: Twin, monkeypatch: pytest.MonkeyPatch, spec: str
) -> None:
    """The whole path: 50 concurrent Owner API reads, each rejected with 401, each asking for a refresh."""
    async with twin.auth() as auth, TeslaApi(twin.urls, auth) as api:
        await auth.login_headless(PASSWORD)
        twin.world.auth.revoke_all(twin.account(NA))  # every read now gets a 401
        sent = count_sso_requests(twin, monkeypatch)
        twin.cloud.faults.set("sso", spec)
        results = await asyncio.gather(*(api.products() for _ in range(50)), return_exceptions=True)
        assert sent[0] == 1
        assert all(isinstance(r, RateLimited | ServiceUnavailable) for r in results)
