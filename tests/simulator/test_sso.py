"""The SSO twin over real HTTP on loopback: both regions, driven like a scraping client would.

A browser here is an aiohttp session with a cookie jar that accepts cookies from an IP address
(aiohttp's default jar refuses them), plus a small stdlib HTML form parser.
"""

from __future__ import annotations

import base64
import hashlib
import os
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from html.parser import HTMLParser
from typing import Any
from urllib.parse import parse_qs, urlencode, urljoin, urlsplit

import aiohttp
import pytest

from teslalink.simulator import World
from teslalink.simulator.sso import SESSION_COOKIE, InvalidToken, LoginPolicy, serve_sso
from teslalink.simulator.sso import jwt as sso_jwt
from teslalink.simulator.sso.login import MSG_PASSCODE_REUSED
from teslalink.simulator.sso.totp import totp

PASSWORD = "correct horse"
NA_EMAIL = "na.owner@example.com"
CN_EMAIL = "cn.owner@example.cn"
MFA_EMAIL = "mfa.owner@example.com"
CALLBACK = "tesla://auth/callback"


# --- a tiny browser -----------------------------------------------------------------------------


@dataclass
class Form:
    action: str
    method: str
    fields: dict[str, str] = field(default_factory=dict)
    attrs: dict[str, str] = field(default_factory=dict)


class _PageParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.forms: list[Form] = []
        self.images: list[str] = []
        self.errors: list[str] = []
        self._in_error = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form":
            self.forms.append(Form(a.get("action", ""), a.get("method", "get").lower(), attrs=a))
        elif tag == "input" and self.forms and "name" in a:
            self.forms[-1].fields[a["name"]] = a.get("value", "")
        elif tag == "img":
            self.images.append(a.get("src", ""))
        elif tag == "p" and a.get("class") == "error":
            self._in_error = True

    def handle_endtag(self, tag: str) -> None:
        if tag == "p":
            self._in_error = False

    def handle_data(self, data: str) -> None:
        if self._in_error:
            self.errors.append(data.strip())


@dataclass
class Page:
    status: int
    url: str
    text: str
    headers: Any
    forms: list[Form]
    images: list[str]
    errors: list[str]

    @property
    def form(self) -> Form:
        assert len(self.forms) == 1, self.text
        return self.forms[0]

    @property
    def location(self) -> str:
        return str(self.headers["Location"])


def new_verifier() -> str:
    return base64.urlsafe_b64encode(os.urandom(32)).rstrip(b"=").decode()


def challenge_of(verifier: str) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()


class Browser:
    """One user agent: its own cookies, its own PKCE verifier and state."""

    def __init__(self, http: aiohttp.ClientSession) -> None:
        self.http = http
        self.verifier = new_verifier()
        self.state = base64.urlsafe_b64encode(os.urandom(12)).decode()

    def authorize_url(self, base: str, login_hint: str | None = None, **overrides: str) -> str:
        params = {
            "client_id": "ownerapi",
            "code_challenge": challenge_of(self.verifier),
            "code_challenge_method": "S256",
            "redirect_uri": CALLBACK,
            "response_type": "code",
            "scope": "openid email offline_access",
            "state": self.state,
        }
        if login_hint is not None:
            params["login_hint"] = login_hint
        params.update(overrides)
        return f"{base}oauth2/v3/authorize?{urlencode(params)}"

    async def get(self, url: str) -> Page:
        async with self.http.get(url, allow_redirects=False) as response:
            return _page(response, await response.text())

    async def submit(self, page: Page, form: Form | None = None, **values: str) -> Page:
        form = form or page.form
        data = {**form.fields, **values}
        async with self.http.post(
            urljoin(page.url, form.action), data=data, allow_redirects=False
        ) as response:
            return _page(response, await response.text())

    async def post(self, url: str, **kwargs: Any) -> Page:
        async with self.http.post(url, allow_redirects=False, **kwargs) as response:
            return _page(response, await response.text())

    async def login(self, base: str, email: str, password: str = PASSWORD) -> Page:
        page = await self.get(self.authorize_url(base, email))
        assert page.status == 200
        return await self.submit(page, identity=email, credential=password)

    async def token(self, base: str, **params: str) -> tuple[int, dict[str, Any]]:
        async with self.http.post(f"{base}oauth2/v3/token", data=params) as response:
            return response.status, await response.json()

    async def redeem(
        self, base: str, location: str, verifier: str | None = None
    ) -> tuple[int, dict[str, Any]]:
        query = parse_qs(urlsplit(location).query)
        return await self.token(
            base,
            grant_type="authorization_code",
            client_id="ownerapi",
            code=query["code"][0],
            code_verifier=verifier or self.verifier,
            redirect_uri=CALLBACK,
        )

    async def captcha_text(self, base: str) -> str:
        async with self.http.get(f"{base}captcha") as response:
            assert response.status == 200
            assert response.content_type == "image/svg+xml"
            svg = await response.text()
        return "".join(re.findall(r"<text[^>]*>([^<]*)</text>", svg))


def _page(response: aiohttp.ClientResponse, text: str) -> Page:
    parser = _PageParser()
    if response.content_type == "text/html":
        parser.feed(text)
    return Page(
        response.status, str(response.url), text, response.headers, parser.forms, parser.images, parser.errors
    )


def code_of(location: str) -> dict[str, str]:
    assert location.startswith(CALLBACK + "?"), location
    return {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}


# --- fixtures -----------------------------------------------------------------------------------


@pytest.fixture
def accounts(world: World) -> World:
    world.add_account(NA_EMAIL, PASSWORD)
    world.add_account(CN_EMAIL, PASSWORD, region="cn")
    world.add_account(MFA_EMAIL, PASSWORD, mfa=True)
    return world


@pytest.fixture
async def sso(accounts: World) -> AsyncIterator[dict[str, str]]:
    async with serve_sso(accounts) as urls:
        yield dict(urls)


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
        yield Browser(http)


@pytest.fixture
async def other_browser() -> AsyncIterator[Browser]:
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
        yield Browser(http)


# --- the login page -----------------------------------------------------------------------------


async def test_login_page_has_the_real_hidden_inputs_and_a_session_cookie(
    sso: dict[str, str], browser: Browser
) -> None:
    page = await browser.get(browser.authorize_url(sso["na"], NA_EMAIL))
    assert page.status == 200
    assert page.headers["Content-Type"].startswith("text/html")
    form = page.form
    assert form.method == "post"
    assert urljoin(page.url, form.action) == page.url  # posts back to the same authorize URL
    assert set(form.fields) == {
        "_csrf",
        "_phase",
        "_process",
        "transaction_id",
        "cancel",
        "identity",
        "credential",
    }
    assert form.fields["identity"] == NA_EMAIL  # login_hint fills the email
    assert form.fields["cancel"] == ""
    assert "captcha" not in form.fields
    assert page.images == []
    assert SESSION_COOKIE in page.headers.get("Set-Cookie", "")


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ({"client_id": "someoneelse"}, "client_id"),
        ({"redirect_uri": "https://evil.example/cb"}, "redirect_uri"),
        ({"response_type": "token"}, "response_type"),
        ({"code_challenge": ""}, "code_challenge"),
        ({"code_challenge_method": "plain"}, "S256"),
        ({"state": ""}, "state"),
        ({"scope": "openid bogus"}, "scope"),
    ],
)
async def test_bad_authorize_requests_get_a_400_page(
    sso: dict[str, str], browser: Browser, override: dict[str, str], message: str
) -> None:
    page = await browser.get(browser.authorize_url(sso["na"], **override))
    assert page.status == 400
    assert message in page.text
    assert "Location" not in page.headers


# --- PKCE and codes -----------------------------------------------------------------------------


async def test_pkce_happy_path(accounts: World, sso: dict[str, str], browser: Browser) -> None:
    base = sso["na"]
    answer = await browser.login(base, NA_EMAIL)
    assert answer.status == 302
    params = code_of(answer.location)
    assert params["state"] == browser.state
    assert params["issuer"] == base + "oauth2/v3"
    status, body = await browser.redeem(base, answer.location)
    assert status == 200, body
    assert list(body) == ["access_token", "refresh_token", "id_token", "expires_in", "state", "token_type"]
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == 28800
    assert body["state"] == browser.state
    assert accounts.auth.verify_access_token(body["access_token"]) is accounts.account(NA_EMAIL)


async def test_token_endpoint_takes_json_too(sso: dict[str, str], browser: Browser) -> None:
    base = sso["na"]
    answer = await browser.login(base, NA_EMAIL)
    body = {
        "grant_type": "authorization_code",
        "client_id": "ownerapi",
        "code": code_of(answer.location)["code"],
        "code_verifier": browser.verifier,
        "redirect_uri": CALLBACK,
    }
    async with browser.http.post(f"{base}oauth2/v3/token", json=body) as response:
        assert response.status == 200
        assert response.headers["Cache-Control"] == "no-store"
        assert "access_token" in await response.json()


async def test_wrong_verifier_is_rejected_and_burns_the_code(sso: dict[str, str], browser: Browser) -> None:
    base = sso["na"]
    answer = await browser.login(base, NA_EMAIL)
    status, body = await browser.redeem(base, answer.location, verifier=new_verifier())
    assert status == 400
    assert body["error"] == "invalid_grant"
    assert "code_verifier" in body["error_description"]
    status, body = await browser.redeem(base, answer.location)  # the right one, too late
    assert (status, body["error"]) == (400, "invalid_grant")


async def test_code_reuse_is_rejected_and_revokes_what_it_issued(
    accounts: World, sso: dict[str, str], browser: Browser
) -> None:
    base = sso["na"]
    answer = await browser.login(base, NA_EMAIL)
    status, first = await browser.redeem(base, answer.location)
    assert status == 200
    status, body = await browser.redeem(base, answer.location)
    assert (status, body["error"]) == (400, "invalid_grant")
    assert "already been used" in body["error_description"]
    with pytest.raises(InvalidToken) as info:
        accounts.auth.verify_access_token(first["access_token"])
    assert info.value.reason == "revoked"


async def test_code_expires_after_two_minutes_of_world_time(
    accounts: World, sso: dict[str, str], browser: Browser
) -> None:
    answer = await browser.login(sso["na"], NA_EMAIL)
    accounts.advance(121)
    status, body = await browser.redeem(sso["na"], answer.location)
    assert (status, body["error"]) == (400, "invalid_grant")


async def test_code_is_bound_to_redirect_uri_and_client(sso: dict[str, str], browser: Browser) -> None:
    base = sso["na"]
    answer = await browser.login(base, NA_EMAIL)
    code = code_of(answer.location)["code"]
    status, body = await browser.token(
        base,
        grant_type="authorization_code",
        client_id="ownerapi",
        code=code,
        code_verifier=browser.verifier,
        redirect_uri="https://auth.tesla.com/void/callback",
    )
    assert (status, body["error"]) == (400, "invalid_grant")
    assert "redirect_uri" in body["error_description"]


async def test_token_endpoint_errors(sso: dict[str, str], browser: Browser) -> None:
    base = sso["na"]
    status, body = await browser.token(base, grant_type="password", client_id="ownerapi")
    assert (status, body["error"]) == (400, "unsupported_grant_type")
    status, body = await browser.token(base, grant_type="refresh_token", refresh_token="NA_x")
    assert (status, body["error"]) == (400, "invalid_request")
    status, body = await browser.token(
        base, grant_type="refresh_token", client_id="nobody", refresh_token="NA_x"
    )
    assert (status, body["error"]) == (401, "invalid_client")
    status, body = await browser.token(
        base, grant_type="refresh_token", client_id="ownerapi", refresh_token="NA_x"
    )
    assert (status, body["error"]) == (400, "invalid_grant")


# --- password failures, captcha, lock -------------------------------------------------------------


async def test_wrong_password_shows_the_form_again(
    accounts: World, sso: dict[str, str], browser: Browser
) -> None:
    page = await browser.login(sso["na"], NA_EMAIL, "wrong")
    assert page.status == 200
    assert page.errors == ["We could not sign you in. Please check your email address and password."]
    assert page.form.fields["identity"] == NA_EMAIL
    assert "captcha" not in page.form.fields
    assert accounts.auth.logins.failures(NA_EMAIL) == 1
    # An unknown email gets exactly the same answer: the page does not reveal who has an account.
    unknown = await browser.submit(page, identity="nobody@example.com", credential="x")
    assert (unknown.status, unknown.errors) == (200, page.errors)
    # The same transaction can still succeed.
    ok = await browser.submit(unknown, identity=NA_EMAIL, credential=PASSWORD)
    assert ok.status == 302
    assert accounts.auth.logins.failures(NA_EMAIL) == 0


async def test_bad_csrf_and_unknown_transaction(
    sso: dict[str, str], browser: Browser, other_browser: Browser
) -> None:
    page = await browser.get(browser.authorize_url(sso["na"], NA_EMAIL))
    forged = await browser.submit(page, _csrf="forged", identity=NA_EMAIL, credential=PASSWORD)
    assert forged.status == 403
    no_csrf = {k: v for k, v in page.form.fields.items() if k != "_csrf"}
    missing = await browser.post(page.url, data={**no_csrf, "identity": NA_EMAIL, "credential": PASSWORD})
    assert missing.status == 403
    unknown = await browser.submit(page, transaction_id="nope", identity=NA_EMAIL, credential=PASSWORD)
    assert unknown.status == 400
    # Another browser's session cannot use this transaction.
    await other_browser.get(other_browser.authorize_url(sso["na"]))
    stolen = await other_browser.submit(page, identity=NA_EMAIL, credential=PASSWORD)
    assert stolen.status == 403
    ok = await browser.submit(page, identity=NA_EMAIL, credential=PASSWORD)
    assert ok.status == 302


async def test_captcha_after_three_failures(sso: dict[str, str], browser: Browser) -> None:
    base = sso["na"]
    page = await browser.login(base, NA_EMAIL, "wrong1")
    page = await browser.submit(page, identity=NA_EMAIL, credential="wrong2")
    assert "captcha" not in page.form.fields
    page = await browser.submit(page, identity=NA_EMAIL, credential="wrong3")
    assert "captcha" in page.form.fields
    assert page.images == ["/captcha"]
    # The right password without the captcha is not enough (and is not a failure).
    page = await browser.submit(page, identity=NA_EMAIL, credential=PASSWORD)
    assert page.errors == ["Please enter the characters shown in the image."]
    text = await browser.captcha_text(base)
    assert len(text) == 4
    page = await browser.submit(
        page, identity=NA_EMAIL, credential=PASSWORD, captcha="ZZZZ" if text != "ZZZZ" else "YYYY"
    )
    assert page.errors == ["Captcha does not match. Please try again."]
    text = await browser.captcha_text(base)  # one try per image: fetch a new one
    answer = await browser.submit(page, identity=NA_EMAIL, credential=PASSWORD, captcha=text.lower())
    assert answer.status == 302, answer.text


async def test_a_new_login_page_for_a_failing_identity_shows_the_captcha(
    accounts: World, sso: dict[str, str], browser: Browser
) -> None:
    page = await browser.login(sso["na"], NA_EMAIL, "wrong")
    for _ in range(2):
        page = await browser.submit(page, identity=NA_EMAIL, credential="wrong")
    fresh = await browser.get(browser.authorize_url(sso["na"], NA_EMAIL))
    assert "captcha" in fresh.form.fields
    accounts.auth.logins.policy = LoginPolicy(always_captcha=True)
    other = await browser.get(browser.authorize_url(sso["na"]))
    assert "captcha" in other.form.fields


async def test_lock_after_ten_failures_and_unlock_after_the_lock_time(
    accounts: World, sso: dict[str, str], browser: Browser
) -> None:
    base = sso["na"]
    desk = accounts.auth.logins
    page = await browser.get(browser.authorize_url(base, NA_EMAIL))
    for attempt in range(1, 11):
        values = {"identity": NA_EMAIL, "credential": f"wrong{attempt}"}
        if "captcha" in page.form.fields:
            values["captcha"] = await browser.captcha_text(base)
        page = await browser.submit(page, **values)
        assert page.status == 200
        assert desk.failures(NA_EMAIL) == attempt
    assert "locked" in page.errors[0]
    assert "30 minutes" in page.errors[0]
    assert desk.locked_until(NA_EMAIL) == accounts.now() + 1800
    # Locked: even the right password (and captcha) is refused.
    page = await browser.submit(
        page, identity=NA_EMAIL, credential=PASSWORD, captcha=await browser.captcha_text(base)
    )
    assert "locked" in page.errors[0]
    accounts.advance(1799)
    page = await browser.submit(
        page, identity=NA_EMAIL, credential=PASSWORD, captcha=await browser.captcha_text(base)
    )
    assert "1 minute" in page.errors[0]
    accounts.advance(1)
    assert desk.locked_until(NA_EMAIL) is None
    fresh = Browser(browser.http)
    answer = await fresh.login(base, NA_EMAIL)  # the count restarted: no captcha due
    assert answer.status == 302


async def test_lock_thresholds_are_configurable(
    accounts: World, sso: dict[str, str], browser: Browser
) -> None:
    accounts.auth.logins.policy = LoginPolicy(
        captcha_after_failures=99, lock_after_failures=2, lock_duration_s=60
    )
    page = await browser.login(sso["na"], NA_EMAIL, "wrong")
    page = await browser.submit(page, identity=NA_EMAIL, credential="wrong")
    assert "1 minute" in page.errors[0]
    accounts.advance(60)
    assert (await browser.submit(page, identity=NA_EMAIL, credential=PASSWORD)).status == 302


# --- MFA ----------------------------------------------------------------------------------------


async def _mfa_page(browser: Browser, base: str) -> tuple[Page, str]:
    page = await browser.login(base, MFA_EMAIL)
    assert page.status == 200
    assert "/oauth2/v3/authorize/mfa/verify" in page.text  # how scripted clients recognised it
    return page, page.form.fields["transaction_id"]


async def test_mfa_with_a_real_totp(accounts: World, sso: dict[str, str], browser: Browser) -> None:
    base = sso["na"]
    account = accounts.account(MFA_EMAIL)
    assert account.mfa_secret is not None
    page, transaction_id = await _mfa_page(browser, base)
    async with browser.http.get(
        f"{base}oauth2/v3/authorize/mfa/factors", params={"transaction_id": transaction_id}
    ) as response:
        assert response.status == 200
        factors = (await response.json())["data"]
    assert [(f["factorType"], f["name"]) for f in factors] == [("token:software", "Authenticator")]
    factor_id = factors[0]["id"]
    verify_url = f"{base}oauth2/v3/authorize/mfa/verify"

    # Completing before verifying only shows the MFA page again.
    early = await browser.post(page.url, data={"transaction_id": transaction_id})
    assert early.status == 200
    assert "passcode" in early.form.fields

    good = totp(account.mfa_secret, accounts.now())
    wrong = f"{(int(good) + 1) % 1_000_000:06d}"
    async with browser.http.post(
        verify_url, json={"transaction_id": transaction_id, "factor_id": factor_id, "passcode": wrong}
    ) as response:
        assert response.status == 200
        assert (await response.json())["data"]["valid"] is False
    assert accounts.auth.logins.failures(MFA_EMAIL) == 1
    async with browser.http.post(
        verify_url, json={"transaction_id": transaction_id, "factor_id": factor_id, "passcode": good}
    ) as response:
        data = (await response.json())["data"]
        assert data["valid"] is True
        assert good not in str(data)
    answer = await browser.post(page.url, data={"transaction_id": transaction_id})
    assert answer.status == 302
    status, body = await browser.redeem(base, answer.location)
    assert status == 200
    _, claims = sso_jwt.peek(body["access_token"])
    assert claims["amr"] == ["pwd", "mfa", "otp"]
    assert accounts.auth.logins.failures(MFA_EMAIL) == 0


async def test_mfa_passcode_is_single_use_and_the_html_form_works(
    accounts: World, sso: dict[str, str], browser: Browser, other_browser: Browser
) -> None:
    base = sso["na"]
    secret = accounts.account(MFA_EMAIL).mfa_secret
    assert secret is not None
    code = totp(secret, accounts.now())
    page, _ = await _mfa_page(browser, base)
    answer = await browser.submit(page, passcode=code)  # the page's own form, no JSON
    assert answer.status == 302
    # Another login in the same 30 s step cannot reuse the code (RFC 6238 section 5.2).
    page, _ = await _mfa_page(other_browser, base)
    again = await other_browser.submit(page, passcode=code)
    assert again.status == 200
    assert again.errors == [MSG_PASSCODE_REUSED]  # told apart from a wrong one
    accounts.advance(30)
    answer = await other_browser.submit(again, passcode=totp(secret, accounts.now()))
    assert answer.status == 302


async def test_mfa_endpoints_reject_a_transaction_before_the_password(
    sso: dict[str, str], browser: Browser
) -> None:
    page = await browser.get(browser.authorize_url(sso["na"], MFA_EMAIL))
    async with browser.http.get(
        f"{sso['na']}oauth2/v3/authorize/mfa/factors",
        params={"transaction_id": page.form.fields["transaction_id"]},
    ) as response:
        assert response.status == 400
        assert (await response.json())["error"]["code"] == "INVALID_PHASE"


# --- cancel -------------------------------------------------------------------------------------


async def test_cancel(sso: dict[str, str], browser: Browser) -> None:
    page, transaction_id = await _mfa_page(browser, sso["na"])
    answer = await browser.post(page.url, data={"transaction_id": transaction_id, "cancel": "1"})
    assert answer.status == 302
    params = code_of(answer.location)
    assert params["error"] == "access_denied"
    assert params["state"] == browser.state
    assert "code" not in params
    after = await browser.post(page.url, data={"transaction_id": transaction_id})
    assert after.status == 400


# --- regions ------------------------------------------------------------------------------------


async def test_region_redirect_for_a_cn_account(
    accounts: World, sso: dict[str, str], browser: Browser
) -> None:
    na, cn = sso["na"], sso["cn"]
    url = browser.authorize_url(na, CN_EMAIL)
    redirect = await browser.get(url)
    assert redirect.status == 302
    # Same path and query on the other host (aiohttp's client normalises the quoting it sends).
    target, original = urlsplit(redirect.location), urlsplit(url)
    assert redirect.location.startswith(cn + "oauth2/v3/authorize?")
    assert parse_qs(target.query) == parse_qs(original.query)
    page = await browser.get(redirect.location)
    assert page.status == 200
    answer = await browser.submit(page, identity=CN_EMAIL, credential=PASSWORD)
    assert answer.status == 302
    assert code_of(answer.location)["issuer"] == cn + "oauth2/v3"
    status, body = await browser.redeem(na, answer.location)  # a cn code means nothing at na
    assert (status, body["error"]) == (400, "invalid_grant")

    other = Browser(browser.http)
    answer = await other.login(cn, CN_EMAIL)
    status, body = await other.redeem(cn, answer.location)
    assert status == 200
    _, claims = sso_jwt.peek(body["access_token"])
    assert claims["iss"] == cn + "oauth2/v3"
    assert claims["ou_code"] == "CN"
    assert body["refresh_token"].startswith("CN_")
    assert accounts.auth.verify_access_token(body["access_token"]) is accounts.account(CN_EMAIL)
    status, refused = await other.token(
        na, grant_type="refresh_token", client_id="ownerapi", refresh_token=body["refresh_token"]
    )
    assert (status, refused["error"]) == (400, "invalid_grant")  # cn tokens are unknown at na
    # A na account at the na server is not redirected; the cn server sends it to na.
    assert (await browser.get(browser.authorize_url(na, NA_EMAIL))).status == 200
    back = await browser.get(browser.authorize_url(cn, NA_EMAIL))
    assert back.location.startswith(na)


async def test_password_typed_on_the_wrong_region_form_is_sent_to_the_right_region(
    sso: dict[str, str], browser: Browser
) -> None:
    page = await browser.get(browser.authorize_url(sso["na"]))
    answer = await browser.submit(page, identity=CN_EMAIL, credential=PASSWORD)
    assert answer.status == 303
    target = urlsplit(answer.location)
    assert answer.location.startswith(sso["cn"] + "oauth2/v3/authorize?")
    assert parse_qs(target.query)["login_hint"] == [CN_EMAIL]
    assert parse_qs(target.query)["state"] == [browser.state]


# --- refresh ------------------------------------------------------------------------------------


async def _tokens(browser: Browser, base: str) -> dict[str, Any]:
    answer = await browser.login(base, NA_EMAIL)
    status, body = await browser.redeem(base, answer.location)
    assert status == 200
    return body


async def _refresh(browser: Browser, base: str, refresh_token: str) -> tuple[int, dict[str, Any]]:
    return await browser.token(
        base,
        grant_type="refresh_token",
        client_id="ownerapi",
        refresh_token=refresh_token,
        scope="openid email offline_access",
    )


async def test_refresh_with_rotation(accounts: World, sso: dict[str, str], browser: Browser) -> None:
    base = sso["na"]
    first = await _tokens(browser, base)
    accounts.advance(3600)
    status, second = await _refresh(browser, base, first["refresh_token"])
    assert status == 200
    assert second["refresh_token"] != first["refresh_token"]
    assert second["access_token"] != first["access_token"]
    assert accounts.auth.verify_access_token(second["access_token"]) is accounts.account(NA_EMAIL)
    # A retry of the old token within the grace period (a lost answer) gets the current one.
    accounts.advance(10)
    status, retry = await _refresh(browser, base, first["refresh_token"])
    assert status == 200
    assert retry["refresh_token"] == second["refresh_token"]
    # The new token rotates normally.
    status, third = await _refresh(browser, base, second["refresh_token"])
    assert status == 200
    # After the grace period the old token is a replay: 401 and the whole grant is revoked.
    accounts.advance(31)
    status, body = await _refresh(browser, base, first["refresh_token"])
    assert (status, body) == (401, {"error": "login_required", "error_description": "Login required"})
    with pytest.raises(InvalidToken, match="revoked"):
        accounts.auth.verify_access_token(third["access_token"])
    status, body = await _refresh(browser, base, third["refresh_token"])
    assert status == 401


async def test_refresh_without_rotation(accounts: World, sso: dict[str, str], browser: Browser) -> None:
    base = sso["na"]
    accounts.auth.rotate_refresh_tokens = False
    first = await _tokens(browser, base)
    for _ in range(3):
        accounts.advance(28800)
        status, body = await _refresh(browser, base, first["refresh_token"])
        assert status == 200
        assert "refresh_token" not in body  # keep the old one
        assert accounts.auth.verify_access_token(body["access_token"]) is accounts.account(NA_EMAIL)


async def test_refresh_scope_cannot_grow_and_refresh_tokens_expire(
    accounts: World, sso: dict[str, str], browser: Browser
) -> None:
    base = sso["na"]
    first = await _tokens(browser, base)
    status, body = await browser.token(
        base,
        grant_type="refresh_token",
        client_id="ownerapi",
        refresh_token=first["refresh_token"],
        scope="openid vehicle_cmds",
    )
    assert (status, body["error"]) == (400, "invalid_scope")
    accounts.advance(90 * 86400)
    status, body = await _refresh(browser, base, first["refresh_token"])
    assert (status, body["error"]) == (400, "invalid_grant")


# --- expiry, logout, the JWT ----------------------------------------------------------------------


async def test_token_expiry(accounts: World, sso: dict[str, str], browser: Browser) -> None:
    body = await _tokens(browser, sso["na"])
    auth = accounts.auth
    _, claims = sso_jwt.peek(body["access_token"])
    accounts.advance(claims["exp"] - accounts.now() - 1)
    assert auth.verify_access_token(body["access_token"]) is accounts.account(NA_EMAIL)
    accounts.advance(1)
    with pytest.raises(InvalidToken) as info:
        auth.verify_access_token(body["access_token"])
    assert info.value.reason == "expired"


async def test_logout_by_session_cookie_revokes(
    accounts: World, sso: dict[str, str], browser: Browser
) -> None:
    base = sso["na"]
    body = await _tokens(browser, base)
    page = await browser.get(f"{base}oauth2/v3/logout?client_id=ownerapi")
    assert page.status == 200
    assert "Signed Out" in page.text
    assert f'{SESSION_COOKIE}=""' in page.headers["Set-Cookie"] or "Max-Age=0" in page.headers["Set-Cookie"]
    with pytest.raises(InvalidToken) as info:
        accounts.auth.verify_access_token(body["access_token"])
    assert info.value.reason == "revoked"
    status, refreshed = await _refresh(browser, base, body["refresh_token"])
    assert (status, refreshed["error"]) == (401, "login_required")
    assert (await browser.get(f"{base}oauth2/v3/logout")).status == 400  # client_id is required


async def test_logout_by_id_token_hint_and_redirect(
    accounts: World, sso: dict[str, str], browser: Browser, other_browser: Browser
) -> None:
    base = sso["na"]
    body = await _tokens(browser, base)
    query = urlencode(
        {
            "client_id": "ownerapi",
            "id_token_hint": body["id_token"],
            "post_logout_redirect_uri": CALLBACK,
            "state": "s",
        }
    )
    answer = await other_browser.get(f"{base}oauth2/v3/logout?{query}")  # no cookie of that login
    assert answer.status == 302
    assert answer.location == f"{CALLBACK}?state=s"
    with pytest.raises(InvalidToken, match="revoked"):
        accounts.auth.verify_access_token(body["access_token"])


async def test_jwt_structure(accounts: World, sso: dict[str, str], browser: Browser) -> None:
    base = sso["na"]
    body = await _tokens(browser, base)
    account = accounts.account(NA_EMAIL)
    header, claims = sso_jwt.peek(body["access_token"])
    assert header["alg"] == "HS256"
    assert header["typ"] == "JWT"
    assert header["kid"]
    assert claims["iss"] == base + "oauth2/v3"
    assert claims["aud"] == ["https://owner-api.teslamotors.com/", base + "oauth2/v3/userinfo"]
    assert claims["azp"] == "ownerapi"
    assert claims["scp"] == ["openid", "email", "offline_access"]
    assert claims["amr"] == ["pwd"]
    assert claims["exp"] - claims["iat"] == 28800
    assert claims["iat"] == int(accounts.now())
    assert claims["auth_time"] == claims["iat"]
    assert re.fullmatch(r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}", claims["sub"])
    _, id_claims = sso_jwt.peek(body["id_token"])
    assert id_claims["email"] == account.email
    assert id_claims["aud"] == "ownerapi"
    assert id_claims["sub"] == claims["sub"]
    # Tampering with the payload breaks the signature.
    h, _, s = body["access_token"].split(".")
    forged = sso_jwt.b64url_encode(
        sso_jwt.b64url_decode(body["access_token"].split(".")[1]).replace(b"pwd", b"xxx")
    )
    with pytest.raises(InvalidToken, match="invalid"):
        accounts.auth.verify_access_token(f"{h}.{forged}.{s}")


async def test_discovery_and_methods(sso: dict[str, str], browser: Browser) -> None:
    async with browser.http.get(f"{sso['cn']}oauth2/v3/.well-known/openid-configuration") as response:
        doc = await response.json()
    assert doc["issuer"] == sso["cn"] + "oauth2/v3"
    assert doc["code_challenge_methods_supported"] == ["S256"]
    async with browser.http.get(f"{sso['na']}oauth2/v3/token") as response:
        assert response.status == 405
