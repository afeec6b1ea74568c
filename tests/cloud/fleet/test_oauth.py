"""FleetAuth against the served Fleet twin: the authorization-code flow through the callback
server and the pasted URL, the headless form, the token file's "fleet" part, refresh rotation
(stored before use, one refresh for many callers), login_required."""

from __future__ import annotations

import asyncio
import json
import stat
from collections.abc import AsyncIterator
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

from fleet_oauth_twin import DEMO1, DEMO2, DEMO3, HANG_GUARD_S, Twin, query_of, served_twin
from teslalink.cloud.auth import Auth
from teslalink.cloud.config import CloudUrls
from teslalink.cloud.fleet.jwt import read_claims
from teslalink.cloud.fleet.oauth import DEFAULT_SCOPES, FleetAuth, fleet_identity
from teslalink.cloud.fleet.tokens import FleetToken
from teslalink.cloud.provider import TokenProvider
from teslalink.cloud.tokens import MemoryTokenStore, Token, TokenStore
from teslalink.errors import AuthError, ConfigError, LoginRequired, TimeoutError, TokenExpired

EIGHT_HOURS = 28800.0


@pytest.fixture
async def twin(tmp_path: Path) -> AsyncIterator[Twin]:
    async with served_twin(tmp_path) as served:
        yield served


def _stored(twin: Twin, email: str) -> dict[str, object]:
    assert twin.store.path is not None
    entry = json.loads(twin.store.path.read_text())[email]["fleet"]
    assert isinstance(entry, dict)
    return entry


# --- the authorize URL --------------------------------------------------------------------------


def test_the_authorize_url_asks_for_the_scopes_with_state_on_the_auth_host(twin: Twin) -> None:
    url = twin.auth().authorize_url("st-1")
    parts = urlsplit(url)
    assert f"{parts.scheme}://{parts.netloc}/" == twin.urls.auth
    assert parts.path == "/oauth2/v3/authorize"
    query = {k: v[0] for k, v in parse_qs(parts.query).items()}
    assert query["response_type"] == "code"
    assert query["client_id"] == twin.app.client_id
    assert query["redirect_uri"] == twin.app.redirect_uri
    assert query["state"] == "st-1"
    assert query["scope"].split() == list(DEFAULT_SCOPES)
    assert query["prompt_missing_scopes"] == "true"
    assert query["require_requested_scopes"] == "false"
    assert twin.app.client_secret not in url


def test_openid_and_offline_access_are_always_asked(twin: Twin) -> None:
    query = query_of(twin.auth(scopes=("vehicle_cmds",)).authorize_url("s"))
    assert query["scope"].split() == ["openid", "offline_access", "vehicle_cmds"]
    assert (
        query_of(twin.auth().authorize_url("s", prompt_missing_scopes=False))["prompt_missing_scopes"]
        == "false"
    )


# --- the callback server ------------------------------------------------------------------------


async def test_full_flow_through_the_callback_server(twin: Twin) -> None:
    browsers: list[asyncio.Task[tuple[str, str]]] = []

    def on_url(url: str) -> None:  # the user opens the URL: a browser, another task
        browsers.append(asyncio.get_running_loop().create_task(twin.browser(url, DEMO2)))

    async with twin.auth() as auth:
        token = await asyncio.wait_for(auth.login_callback(on_url), HANG_GUARD_S)
    assert auth.identity == DEMO2  # from users/me: the login needed no email
    assert token.region == "eu"
    assert token.scopes == DEFAULT_SCOPES
    assert token.client_id == twin.app.client_id
    assert token.expires_at == pytest.approx(twin.world.now() + EIGHT_HOURS)
    assert len(browsers) == 1
    _, page = await asyncio.wait_for(browsers[0], HANG_GUARD_S)
    assert "Signed in" in page
    entry = _stored(twin, DEMO2)
    assert entry["access_token"] == token.access_token
    assert entry["refresh_token"] == token.refresh_token
    assert entry["region"] == "eu"
    assert entry["scopes"] == list(DEFAULT_SCOPES)
    assert entry["client_id"] == twin.app.client_id
    assert twin.store.path is not None
    assert stat.S_IMODE(twin.store.path.stat().st_mode) == 0o600


async def test_a_callback_with_another_state_is_refused_and_nothing_is_stored(twin: Twin) -> None:
    pages: list[tuple[int, str]] = []

    async def forged(url: str) -> None:
        location, _ = await twin.browser(url, DEMO1, follow=False)
        wrong = location.replace(f"state={query_of(location)['state']}", "state=forged")
        async with twin.session.get(wrong) as reply:
            pages.append((reply.status, await reply.text()))

    def on_url(url: str) -> None:
        asyncio.get_running_loop().create_task(forged(url))

    async with twin.auth() as auth:
        with pytest.raises(AuthError, match=r"state .* does not match"):
            await asyncio.wait_for(auth.login_callback(on_url), HANG_GUARD_S)
    assert pages[0][0] == 400
    assert "does not belong" in pages[0][1]
    assert twin.store.section_identities("fleet") == []


async def test_a_sign_in_tesla_refused_is_told_in_the_browser_and_here(twin: Twin) -> None:
    pages: list[tuple[int, str]] = []

    async def declined(url: str) -> None:  # the user pressed "cancel" on the consent page
        query = {
            "error": "access_denied",
            "error_description": "the user declined",
            "state": query_of(url)["state"],
        }
        async with twin.session.get(twin.app.redirect_uri, params=query) as reply:
            pages.append((reply.status, await reply.text()))

    def on_url(url: str) -> None:
        asyncio.get_running_loop().create_task(declined(url))

    async with twin.auth() as auth:
        with pytest.raises(AuthError, match="the login was not completed: the user declined"):
            await asyncio.wait_for(auth.login_callback(on_url), HANG_GUARD_S)
    assert pages[0][0] == 400
    assert "Sign-in not completed" in pages[0][1]


async def test_no_browser_coming_back_is_a_timeout_and_the_port_is_freed(twin: Twin) -> None:
    async with twin.auth() as auth:
        with pytest.raises(TimeoutError, match="no sign-in came back"):
            await asyncio.wait_for(auth.login_callback(lambda url: None, timeout_s=0.2), HANG_GUARD_S)
        # the port is free again: a second wait can listen on it
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(auth.login_callback(lambda url: None, timeout_s=0.2), HANG_GUARD_S)


async def test_a_redirect_uri_not_on_loopback_cannot_be_waited_on(twin: Twin) -> None:
    import dataclasses

    app = dataclasses.replace(twin.app, redirect_uri="https://app.example.com/callback")
    async with FleetAuth(app, twin.store) as auth:
        with pytest.raises(ConfigError, match="paste the URL"):
            await auth.login_callback(lambda url: None)


# --- the pasted URL and the code ----------------------------------------------------------------


async def test_the_pasted_redirect_url_completes_the_login(twin: Twin) -> None:
    async with twin.auth() as auth:
        url = auth.authorize_url("paste-state")
        location, _ = await twin.browser(url, DEMO1, follow=False)
        token = await auth.complete(location, "paste-state")
    assert auth.identity == DEMO1
    assert token.region == "na"
    assert _stored(twin, DEMO1)["refresh_token"] == token.refresh_token


async def test_a_pasted_url_of_another_login_is_refused(twin: Twin) -> None:
    async with twin.auth() as auth:
        location, _ = await twin.browser(auth.authorize_url("one"), DEMO1, follow=False)
        with pytest.raises(AuthError, match="does not match"):
            await auth.complete(location, "another")
        with pytest.raises(AuthError, match="no authorization code"):
            await auth.complete("http://127.0.0.1/callback?state=one", "one")
    assert twin.store.section_identities("fleet") == []


async def test_a_used_code_is_refused_without_repeating_it(twin: Twin) -> None:
    async with twin.auth() as auth:
        location, _ = await twin.browser(auth.authorize_url("s"), DEMO1, follow=False)
        code = query_of(location)["code"]
        await auth.exchange(code)
        with pytest.raises(AuthError, match="invalid_auth_code") as caught:
            await auth.exchange(code)
    assert code not in str(caught.value)


# --- the headless form ----------------------------------------------------------------------------


async def test_headless_login_beside_the_owner_api_token_which_keeps_working(twin: Twin) -> None:
    owner_urls = CloudUrls(api=twin.cloud.owner_api, sso=twin.cloud.sso["na"], streaming=twin.cloud.streaming)
    async with Auth(DEMO1, urls=owner_urls, store=twin.store, clock=twin.world.now) as owner:
        owner_token = await owner.login_headless(twin.password(DEMO1))
    async with twin.auth() as auth:
        token = await auth.login_headless(DEMO1, twin.password(DEMO1))
    assert auth.identity == DEMO1
    assert token.region == "na"
    assert twin.store.path is not None
    entry = json.loads(twin.store.path.read_text())[DEMO1]
    assert entry["sso"]["access_token"] == owner_token.access_token
    assert entry["fleet"]["access_token"] == token.access_token
    async with Auth(DEMO1, urls=owner_urls, store=TokenStore(twin.store.path), clock=twin.world.now) as again:
        assert await again.access_token() == owner_token.access_token
        refreshed = await again.refresh()  # the Owner API's own refresh leaves the Fleet login alone
    entry = json.loads(twin.store.path.read_text())[DEMO1]
    assert entry["sso"]["access_token"] == refreshed.access_token
    assert entry["fleet"]["access_token"] == token.access_token


async def test_logging_out_of_the_owner_api_keeps_the_fleet_login(twin: Twin) -> None:
    owner_urls = CloudUrls(api=twin.cloud.owner_api, sso=twin.cloud.sso["na"], streaming=twin.cloud.streaming)
    async with Auth(DEMO1, urls=owner_urls, store=twin.store, clock=twin.world.now) as owner:
        await owner.login_headless(twin.password(DEMO1))
    fleet = await _logged_in(twin)
    async with Auth(DEMO1, urls=owner_urls, store=twin.store, clock=twin.world.now) as owner:
        assert await owner.logout() is True
        assert owner.token is None
        assert await owner.logout() is False  # logged out already: the Fleet login is not "it"
    assert twin.store.identities() == []
    assert twin.store.path is not None
    assert json.loads(twin.store.path.read_text()) == {DEMO1: {"fleet": fleet.to_entry()}}
    assert await twin.auth(DEMO1).access_token() == fleet.access_token


async def test_headless_login_with_mfa_and_several_accounts_in_one_file(twin: Twin) -> None:
    from teslalink.simulator.sso.totp import totp

    async with twin.auth() as one:
        await one.login_headless(DEMO1, twin.password(DEMO1))
    secret = twin.world.account(DEMO2).mfa_secret
    assert secret is not None
    async with twin.auth() as two:
        await two.login_headless(DEMO2, twin.password(DEMO2), passcode=totp(secret, twin.world.now()))
    async with twin.auth() as three:
        await three.login_headless(DEMO3, twin.password(DEMO3))
    assert sorted(twin.store.section_identities("fleet")) == [DEMO1, DEMO2, DEMO3]
    regions = {who: twin.auth(who).region for who in (DEMO1, DEMO2, DEMO3)}
    assert regions == {DEMO1: "na", DEMO2: "eu", DEMO3: "cn"}
    for who in (DEMO1, DEMO2, DEMO3):
        assert read_claims(await twin.auth(who).access_token()).region == regions[who]


async def test_a_wrong_password_is_one_line_without_the_password(twin: Twin) -> None:
    async with twin.auth() as auth:
        with pytest.raises(AuthError, match="wrong email, password or passcode") as caught:
            await auth.login_headless(DEMO1, "not-the-password-123")
    assert "not-the-password-123" not in str(caught.value)
    assert twin.store.section_identities("fleet") == []


async def test_without_user_data_the_email_comes_from_the_id_token(twin: Twin) -> None:
    async with twin.auth(scopes=("vehicle_device_data",)) as auth:
        token = await auth.login_headless(DEMO1, twin.password(DEMO1))
    assert auth.identity == DEMO1
    assert token.scopes == ("openid", "offline_access", "vehicle_device_data")


async def test_signing_in_as_another_account_than_named_is_refused(twin: Twin) -> None:
    async with twin.auth(DEMO1) as auth:
        location, _ = await twin.browser(auth.authorize_url("s"), DEMO3, follow=False)
        with pytest.raises(AuthError, match=f"signed in as {DEMO3}, but this login is for {DEMO1}"):
            await auth.complete(location, "s")
    assert twin.store.section_identities("fleet") == []


async def test_the_stored_spelling_of_the_email_is_kept(twin: Twin) -> None:
    twin.store.save("Demo1@TeslaLink.test", Token(access_token="owner-api-token", expires_at=1e10))
    async with twin.auth() as auth:
        await auth.login_headless(DEMO1, twin.password(DEMO1))
    assert auth.identity == "Demo1@TeslaLink.test"


# --- refresh --------------------------------------------------------------------------------------


async def _logged_in(twin: Twin, email: str = DEMO1) -> FleetToken:
    async with twin.auth() as auth:
        return await auth.login_headless(email, twin.password(email))


async def test_refresh_rotates_stores_first_and_retires_the_old_refresh_token(twin: Twin) -> None:
    twin.retire_refresh_tokens_at_once()
    first = await _logged_in(twin)
    twin.world.advance(EIGHT_HOURS - 60)  # within the refresh margin
    async with twin.auth(DEMO1) as auth:
        access = await auth.access_token()
        assert auth.refreshes == 1
        # what the caller got is already in the file, with the new refresh token
        entry = _stored(twin, DEMO1)
        assert entry["access_token"] == access
        assert entry["refresh_token"] != first.refresh_token
        assert await auth.access_token() == access  # fresh now: no second refresh
    assert first.refresh_token is not None
    status, body = await twin.refresh_grant(first.refresh_token)
    assert (status, body["error"]) == (401, "login_required")
    status, _ = await twin.refresh_grant(str(entry["refresh_token"]))
    assert status == 200


async def test_a_refresh_that_cannot_be_stored_hands_out_no_token(twin: Twin, tmp_path: Path) -> None:
    first = await _logged_in(twin)

    class Unwritable(TokenStore):
        def save_section(self, identity: str, name: str, section: object) -> None:  # type: ignore[override]
            raise ConfigError(f"{self.path}: cannot write the token file (disk full)")

    async with FleetAuth(twin.app, Unwritable(twin.store.path), DEMO1, clock=twin.world.now) as auth:
        with pytest.raises(ConfigError, match="disk full"):
            await auth.refresh()
        assert auth.token == first  # the new access token was never handed out, nor kept


async def test_many_callers_share_one_refresh(twin: Twin) -> None:
    first = await _logged_in(twin)
    async with twin.auth(DEMO1) as auth:
        answers = await asyncio.wait_for(
            asyncio.gather(*(auth.token_rejected(first.access_token) for _ in range(8))), HANG_GUARD_S
        )
        assert auth.refreshes == 1
    assert len(set(answers)) == 1
    assert answers[0] != first.access_token


async def test_a_retired_refresh_token_is_login_required(twin: Twin) -> None:
    first = await _logged_in(twin)
    async with twin.auth(DEMO1) as auth:
        await auth.refresh()
    assert twin.store.path is not None
    backup = json.loads(twin.store.path.read_text())
    backup[DEMO1]["fleet"] = FleetToken.to_entry(first)  # an old copy of the file comes back
    twin.store.path.write_text(json.dumps(backup))
    twin.world.advance(25 * 3600)  # past the 24 h grace of the last-used refresh token
    async with twin.auth(DEMO1) as auth:
        with pytest.raises(LoginRequired, match="teslalink fleet login") as caught:
            await auth.access_token()
    assert first.refresh_token is not None
    assert first.refresh_token not in str(caught.value)


async def test_within_the_grace_the_last_used_refresh_token_still_works(twin: Twin) -> None:
    """What saves a process killed between Tesla's answer and the file write (module docstring)."""
    first = await _logged_in(twin)
    async with twin.auth(DEMO1) as auth:
        await auth.refresh()
    assert twin.store.path is not None
    backup = json.loads(twin.store.path.read_text())
    backup[DEMO1]["fleet"] = FleetToken.to_entry(first)
    twin.store.path.write_text(json.dumps(backup))
    async with twin.auth(DEMO1) as auth:
        renewed = await auth.refresh()
    assert renewed.access_token != first.access_token


async def test_no_login_and_another_apps_login(twin: Twin) -> None:
    with pytest.raises(TokenExpired, match="teslalink fleet login"):
        await twin.auth(DEMO1).access_token()
    with pytest.raises(TokenExpired, match="no Fleet API login"):
        await twin.auth(None).access_token()
    await _logged_in(twin)
    import dataclasses

    other = dataclasses.replace(twin.app, client_id="another-app")
    with pytest.raises(LoginRequired, match="belongs to another app"):
        await FleetAuth(other, twin.store, DEMO1).access_token()


async def test_set_region_is_remembered_in_the_file(twin: Twin) -> None:
    await _logged_in(twin)
    async with twin.auth(DEMO1) as auth:
        auth.set_region("eu", twin.urls.api["eu"])  # FleetApi's on_region(region, base_url)
        assert auth.base_url == twin.urls.api["eu"]
    assert _stored(twin, DEMO1)["region"] == "eu"
    with pytest.raises(ConfigError, match="unknown Fleet API region"):
        twin.auth(DEMO1).set_region("mars")


async def test_the_only_fleet_account_is_the_default_identity(twin: Twin) -> None:
    with pytest.raises(ConfigError, match="run `teslalink fleet login` first"):
        fleet_identity(twin.store)
    await _logged_in(twin, DEMO1)
    assert fleet_identity(twin.store) == DEMO1
    await _logged_in(twin, DEMO3)
    with pytest.raises(ConfigError, match="2 accounts are logged in to the Fleet API"):
        fleet_identity(twin.store)
    assert fleet_identity(twin.store, DEMO3) == DEMO3


async def test_a_memory_store_holds_fleet_logins_too(twin: Twin) -> None:
    store = MemoryTokenStore()
    async with FleetAuth(twin.app, store, clock=twin.world.now) as auth:
        token = await auth.login_headless(DEMO1, twin.password(DEMO1))
        assert (await auth.refresh()).access_token != token.access_token
    assert store.cache[DEMO1]["fleet"]["client_id"] == twin.app.client_id


def test_it_is_a_token_provider(twin: Twin) -> None:
    assert isinstance(twin.auth(DEMO1), TokenProvider)


def test_reprs_hold_no_secret(twin: Twin) -> None:
    token = FleetToken(
        "eyJ.secret-access.sig", "NA_secret-refresh", 1.0, "na", ("openid",), "c", "eyJ.id.sig"
    )
    for secret in ("secret-access", "secret-refresh", "eyJ.id.sig"):
        assert secret not in repr(token)
    assert twin.app.client_secret not in repr(twin.auth())
