"""Logging in to Tesla's SSO (OAuth 2 code flow with PKCE) and keeping the token fresh.

`Auth` is the `TokenProvider` the API and streaming clients ask for tokens. Ways to log in:

* `login_headless(password, passcode=..., choose_factor=..., solve_captcha=...)`: drives the SSO's
  HTML form like a browser would (what the twin serves; real Tesla puts a reCAPTCHA in front of
  it since 2021, so for real accounts use one of the next two);
* `login_browser(get_redirect_url)`: open (or print) the authorization URL, a person signs in,
  and pastes back the URL the browser ended on;
* `start_login()` then, maybe in another process after a restart, `complete(url, staged)`: the
  staged flow for web apps; `StagedLogin` is a small JSON-able state;
* `login_with_refresh_token(refresh_token)`: start from a refresh token obtained elsewhere.

Refresh: `access_token()` refreshes when the token is within `refresh_margin_s` of expiring,
`token_rejected(token)` (the API got a 401) refreshes once. An `asyncio.Lock` makes concurrent
callers share one refresh, its failure included: every caller that was waiting while a refresh
failed gets that same error, instead of each sending a grant of its own to a failing SSO. And
`TokenStore.locked()` makes processes sharing one token file do the same: under the file lock
the stored token is re-read, and if another process already replaced the one we hold we adopt
its token instead of refreshing with a (possibly rotated-out) refresh token, which Tesla treats
as replay and answers by logging the user out.

The SSO has its cooldown too: after a 429 nothing is sent to that SSO host (no refresh, no login
step) until its Retry-After has passed, and the error says "rate limited by Tesla's login
server, retry in N s", not "log in again": the login is fine, only the server is busy.

Secrets (password, passcodes, codes, tokens, the PKCE verifier) never reach a log, a repr or an
exception message.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import inspect
import logging
import math
import secrets
import time
import webbrowser
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from html.parser import HTMLParser
from typing import TYPE_CHECKING, Any, Final, TypeAlias
from urllib.parse import parse_qs, urlencode, urljoin, urlsplit

from yarl import URL

from .._daemon import in_daemon_thread
from .._http import Transport
from .._json import loads
from ..errors import (
    AuthError,
    CaptchaRequired,
    DecodeError,
    MfaRequired,
    RateLimited,
    ServiceUnavailable,
    TokenExpired,
)
from ..transport import Closing, Response, Timeouts, rate_limit_wait
from ._refresh import SharedRefresh
from .config import CloudUrls
from .tokens import Token, TokenStore, redact

if TYPE_CHECKING:
    import aiohttp  # a caller's own session; opened on first use otherwise (see teslalink._http)

__all__ = [
    "CLIENT_ID",
    "DEFAULT_REDIRECT_URI",
    "SCOPE",
    "Auth",
    "StagedLogin",
    "pkce_pair",
]

_log = logging.getLogger(__name__)

CLIENT_ID: Final = "ownerapi"
SCOPE: Final = "openid email offline_access"
DEFAULT_REDIRECT_URI: Final = "tesla://auth/callback"
AUTHORIZE_PATH: Final = "oauth2/v3/authorize"
TOKEN_PATH: Final = "oauth2/v3/token"
LOGOUT_PATH: Final = "oauth2/v3/logout"
MFA_ATTEMPTS: Final = 3
CAPTCHA_ATTEMPTS: Final = 3
_MAX_REGION_HOPS: Final = 2
DEFAULT_SSO_COOLDOWN_S: Final = 60.0
"""How long to leave the SSO alone after a 429 without Retry-After (the API's default too)."""
PASSCODE_REUSED: Final = "PASSCODE_ALREADY_USED"
"""The MFA error code for a passcode already used in its 30-s step (the twin's word: our choice)."""

PasscodeGetter: TypeAlias = Callable[[], str | Awaitable[str]]
FactorChooser: TypeAlias = Callable[[list[dict[str, Any]]], dict[str, Any] | Awaitable[dict[str, Any]]]
CaptchaSolver: TypeAlias = Callable[[bytes], str | Awaitable[str]]
RedirectGetter: TypeAlias = Callable[[str], str | Awaitable[str]]


async def _call(fn: Callable[..., Any], *args: Any) -> Any:
    """Call a user callback that may be sync or async."""
    result = fn(*args)
    if inspect.isawaitable(result):
        result = await result
    return result


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def pkce_pair() -> tuple[str, str]:
    """(verifier, S256 challenge): 32 random bytes base64url, and base64url(sha256(verifier))."""
    verifier = _b64url(secrets.token_bytes(32))
    return verifier, _b64url(hashlib.sha256(verifier.encode("ascii")).digest())


def _base_of(url: str) -> str:
    """The SSO base URL (scheme://host[:port]/) a URL is on."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}/"


@dataclass(frozen=True, slots=True)
class StagedLogin:
    """A started browser login: what `complete()` needs, JSON-able so it can outlive the process."""

    identity: str
    sso_url: str
    state: str
    code_verifier: str = field(repr=False)
    redirect_uri: str = DEFAULT_REDIRECT_URI
    url: str = field(default="", repr=False)

    def to_dict(self) -> dict[str, str]:
        """Keep it server-side (it holds the PKCE verifier), e.g. in the web app's session store."""
        return {
            "identity": self.identity,
            "sso_url": self.sso_url,
            "state": self.state,
            "code_verifier": self.code_verifier,
            "redirect_uri": self.redirect_uri,
            "url": self.url,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> StagedLogin:
        try:
            values = {name: data[name] for name in ("identity", "sso_url", "state", "code_verifier")}
        except KeyError as exc:
            raise AuthError(f"the staged login lacks {exc.args[0]!r}") from None
        values["redirect_uri"] = data.get("redirect_uri", DEFAULT_REDIRECT_URI)
        values["url"] = data.get("url", "")
        if not all(isinstance(v, str) for v in values.values()):
            raise AuthError("the staged login has a field that is not a string")
        return cls(**values)


# --- the SSO's HTML ------------------------------------------------------------------------------


class _Page(HTMLParser):
    """What a client needs of a login or MFA page: the form, its inputs, the error, the captcha."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.action: str | None = None
        self.inputs: dict[str, str] = {}
        self.input_names: set[str] = set()
        self.mfa = False
        self.captcha_src: str | None = None
        self.errors: list[str] = []
        self._in_form = False
        self._in_error = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form" and self.action is None:
            self.action = a.get("action", "")
            self._in_form = True
            self.mfa = self.mfa or "data-factors" in a
        elif tag == "input" and self._in_form and a.get("name"):
            name = a["name"]
            self.input_names.add(name)
            if a.get("type", "text").lower() == "hidden":
                self.inputs[name] = a.get("value", "")
        elif tag == "img" and "captcha" in a.get("src", ""):
            self.captcha_src = a["src"]
        elif tag in ("p", "div", "span") and "error" in a.get("class", "").split():
            self._in_error = True
            self.errors.append("")

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self._in_form = False
        elif tag in ("p", "div", "span"):
            self._in_error = False

    def handle_data(self, data: str) -> None:
        if self._in_error and self.errors:
            self.errors[-1] += data

    @property
    def error(self) -> str:
        return " ".join(e.strip() for e in self.errors if e.strip())

    @property
    def is_mfa(self) -> bool:
        return self.mfa or self.inputs.get("_phase") == "mfa" or "passcode" in self.input_names

    @property
    def wants_captcha(self) -> bool:
        return "captcha" in self.input_names


def _parse_page(body: bytes) -> _Page:
    page = _Page()
    page.feed(body.decode("utf-8", "replace"))
    page.close()
    return page


def rate_limited_message(where: str, seconds: float) -> str:
    """What a user reads after an SSO 429: wait, with how long, never "log in again"."""
    return f"{where}: rate limited by Tesla's login server, retry in {math.ceil(seconds)} s"


def code_from_redirect(redirect_url: str, state: str | None) -> str:
    """The authorization code in the URL the browser ended on (or its query), checked against `state`.

    `state=None`: not checked, for a URL the user brings from a sign-in this process did not start.
    """
    query = urlsplit(redirect_url.strip()).query if "?" in redirect_url else redirect_url.strip()
    params = {k: v[0] for k, v in parse_qs(query).items()}
    if "error" in params:
        detail = params.get("error_description") or params["error"]
        raise AuthError(f"the login was not completed: {detail}")
    if "code" not in params:
        raise AuthError("the redirect URL carries no authorization code")
    if state is not None and params.get("state") != state:
        raise AuthError("the state in the redirect URL does not match this login; start again")
    return params["code"]


def _json(resp: Response) -> Any:
    try:
        return loads(resp.body)
    except DecodeError:
        return None


class Auth(Closing):
    """Tokens of one identity (an email): login flows, refresh, persistence in a `TokenStore`.

    `store=None` uses the default token file (`TokenStore()`). `session` is borrowed for token
    requests and never closed; each form login uses a short-lived session of its own with a
    cookie jar (the SSO binds the login to its session cookie). `clock` gives epoch seconds
    (pass a simulated world's `now` to test against the twin).
    """

    def __init__(
        self,
        identity: str,
        *,
        urls: CloudUrls | None = None,
        store: TokenStore | None = None,
        session: aiohttp.ClientSession | None = None,
        clock: Callable[[], float] = time.time,
        refresh_margin_s: float = 300.0,
        timeouts: Timeouts | None = None,
        client_id: str = CLIENT_ID,
        redirect_uri: str = DEFAULT_REDIRECT_URI,
    ) -> None:
        if not identity or not identity.strip():
            raise AuthError("an identity (the account's email) is required")
        self.identity = identity.strip()
        self.urls = urls or CloudUrls.from_env()
        self.store = store if store is not None else TokenStore()
        self.clock = clock
        self.refresh_margin_s = refresh_margin_s
        self.client_id = client_id
        self.redirect_uri = redirect_uri
        self._timeouts = timeouts or Timeouts()
        self._transport = Transport(session, timeouts=self._timeouts)
        self._token: Token | None = None
        self._loaded = False
        self._refreshing: SharedRefresh[Token] = SharedRefresh()
        self._refresh_lock = self._refreshing.lock
        self._sso_cooldown_until: dict[str, float] = {}  # SSO host -> self.clock() time
        self._pending: StagedLogin | None = None
        self.refreshes = 0
        """How many refresh grants this object sent (for tests and diagnostics)."""

    def __repr__(self) -> str:
        shown = redact(self._token.access_token if self._token else None)
        return f"Auth({self.identity!r}, sso={self.sso_url!r}, token={shown})"

    async def close(self) -> None:
        """Close the HTTP session if this object opened it."""
        await self._transport.close()

    # --- state ---------------------------------------------------------------------------------

    @property
    def token(self) -> Token | None:
        """The current token (loaded from the store on first use), or None before any login."""
        if not self._loaded:
            self._token = self.store.load(self.identity)
            self._loaded = True
        return self._token

    @property
    def sso_url(self) -> str:
        """The SSO base URL of the account's region (after a region redirect, the other one)."""
        token = self._token
        return token.sso_url if token is not None else self.urls.sso

    def _adopt(self, token: Token, *, save: bool) -> Token:
        if save:
            self.store.save(self.identity, token)
        self._token = token
        self._loaded = True
        return token

    # --- the SSO's cooldown --------------------------------------------------------------------

    def cooldowns(self) -> dict[str, float]:
        """Seconds left per SSO host (host:port) that answered 429 and must not be asked yet."""
        now = self.clock()
        return {host: until - now for host, until in self._sso_cooldown_until.items() if until > now}

    def cool_down(self, seconds: float, host: str | None = None) -> None:
        """Send nothing to `host` (default: this account's SSO) for `seconds`, e.g. another process's 429."""
        key = host or URL(self.sso_url).authority
        until = self.clock() + seconds
        self._sso_cooldown_until[key] = max(self._sso_cooldown_until.get(key, 0.0), until)

    async def _sso_request(self, transport: Transport, method: str, url: URL, **kwargs: Any) -> Response:
        """Every request to an SSO: refused at once during its cooldown, and a 429 starts one."""
        host = url.authority
        left = self._sso_cooldown_until.get(host, 0.0) - self.clock()
        if left > 0:
            raise RateLimited(429, rate_limited_message(f"{host}: not sent", left), retry_after=left)
        resp = await transport.request(method, url, **kwargs)
        if resp.status == 429:
            wait = rate_limit_wait(resp.headers)
            self.cool_down(DEFAULT_SSO_COOLDOWN_S if wait is None else wait, host)
            _log.warning("%s: the SSO rate limited us; staying away", host)
            shown = DEFAULT_SSO_COOLDOWN_S if wait is None else wait
            raise RateLimited(429, rate_limited_message(host, shown), retry_after=wait)
        return resp

    # --- TokenProvider -------------------------------------------------------------------------

    async def access_token(self) -> str:
        """A token valid for at least `refresh_margin_s` more (refreshed first if needed)."""
        token = self.token
        if token is None:
            raise TokenExpired(f"{self.identity}: not logged in (no stored token); log in first")
        if token.expires_in(self.clock()) > self.refresh_margin_s:
            return token.access_token
        return (await self._refresh_from(token, force=False)).access_token

    async def token_rejected(self, token: str) -> str:
        """The API answered 401 to `token`: refresh once (shared by every caller reporting it)."""
        current = self.token
        if current is None:
            raise TokenExpired(f"{self.identity}: not logged in (no stored token); log in first")
        if current.access_token != token:
            return current.access_token  # already replaced: no second refresh
        return (await self._refresh_from(current, force=True)).access_token

    async def refresh(self) -> Token:
        """Refresh now, whatever the expiry (still shared with concurrent refreshes)."""
        current = self.token
        if current is None:
            raise TokenExpired(f"{self.identity}: not logged in (no stored token); log in first")
        return await self._refresh_from(current, force=True)

    async def _refresh_from(self, held: Token, *, force: bool) -> Token:
        """One refresh at a time; a failure is the answer of every caller that waited for it."""

        def replaced() -> Token | None:  # another task refreshed while we waited
            token = self._token
            return token if token is not None and token.access_token != held.access_token else None

        return await self._refreshing.run(
            held.access_token, replaced, lambda: self._refresh_locked(held, force=force)
        )

    async def _refresh_locked(self, held: Token, *, force: bool) -> Token:
        """Under the task lock: the file lock, adopt what another process stored, else a grant."""
        async with self.store.locked():
            stored = self.store.load(self.identity)
            if stored is not None and stored.access_token != held.access_token:
                # Another process refreshed (or logged in) since we loaded: its token is newer,
                # and ours may hold a refresh token that was rotated out.
                left = stored.expires_in(self.clock())
                if left > self.refresh_margin_s or (force and left > 0):
                    _log.debug("%s: adopting the token another process stored", self.identity)
                    return self._adopt(stored, save=False)
                held = stored
            new = await self._refresh_grant(held)
            return self._adopt(new, save=True)

    async def _refresh_grant(self, held: Token) -> Token:
        if not held.refresh_token:
            raise TokenExpired(
                f"{self.identity}: the token expired and there is no refresh token; log in again"
            )
        self.refreshes += 1
        _log.debug("%s: refreshing the access token at %s", self.identity, held.sso_url)
        resp = await self._sso_request(
            self._transport,
            "POST",
            URL(held.sso_url + TOKEN_PATH),
            data={
                "grant_type": "refresh_token",
                "client_id": self.client_id,
                "refresh_token": held.refresh_token,
                "scope": SCOPE,
            },
            headers={"Accept": "application/json"},
        )
        body = _json(resp)
        if resp.status != 200 or not isinstance(body, dict):
            error = body.get("error", "") if isinstance(body, dict) else ""
            where = f"{self.identity}: refreshing the token at {held.sso_url}"
            # A failing SSO says nothing about the token: keep it, and let the caller retry (a 429
            # was raised by `_sso_request`, with its cooldown started).
            if resp.status >= 500:
                raise ServiceUnavailable(resp.status, f"{where}: the SSO failed", str(error))
            raise TokenExpired(
                f"{self.identity}: the SSO at {held.sso_url} refused to refresh the token "
                f"(HTTP {resp.status}{', ' + str(error) if error else ''}); log in again"
            )
        return Token.from_response(body, now=self.clock(), sso_url=held.sso_url, previous=held)

    # --- starting from a refresh token ---------------------------------------------------------

    async def login_with_refresh_token(self, refresh_token: str, *, sso_url: str | None = None) -> Token:
        """Start from a refresh token obtained elsewhere (`sso_url`: its region's SSO, default ours)."""
        base = sso_url or self.urls.sso
        base = base if base.endswith("/") else base + "/"
        seed = Token(access_token="", refresh_token=refresh_token, expires_at=0.0, sso_url=base)
        async with self._refresh_lock, self.store.locked():
            return self._adopt(await self._refresh_grant(seed), save=True)

    # --- browser and staged flows --------------------------------------------------------------

    async def start_login(self, *, probe_region: bool = True) -> StagedLogin:
        """Begin a browser login; `.url` is for the user, the whole object for `complete()`.

        With `probe_region`, the authorize URL is fetched once (login_hint set) to learn whether
        the account lives on the other region's SSO, as the code must be redeemed there.
        """
        verifier, challenge = pkce_pair()
        state = _b64url(secrets.token_bytes(16))
        sso = self.urls.sso
        if probe_region:
            sso = await self._probe_region(sso, challenge)
        staged = StagedLogin(
            identity=self.identity,
            sso_url=sso,
            state=state,
            code_verifier=verifier,
            redirect_uri=self.redirect_uri,
            url=self._authorize_url(sso, challenge, state),
        )
        self._pending = staged
        return staged

    async def authorization_url(self, *, probe_region: bool = True) -> str:
        """The URL to open in a browser; then `complete(the URL the browser ended on)`."""
        return (await self.start_login(probe_region=probe_region)).url

    async def complete(self, redirect_url: str, staged: StagedLogin | None = None) -> Token:
        """Finish a browser login with the redirect URL (`staged`: from `start_login`, maybe restored)."""
        staged = staged or self._pending
        if staged is None:
            raise AuthError("no login was started: call start_login() or authorization_url() first")
        code = code_from_redirect(redirect_url, staged.state)
        token = await self._exchange(code, staged.sso_url, staged.code_verifier, staged.redirect_uri)
        self._pending = None
        return token

    async def login_browser(
        self, get_redirect_url: RedirectGetter | None = None, *, open_browser: bool = True
    ) -> Token:
        """Open (or print) the login URL; `get_redirect_url(url)` returns what the browser ended on.

        Without a getter the URL is printed and the redirect URL read from standard input.
        """
        url = await self.authorization_url()
        if get_redirect_url is None:
            opened = open_browser and await asyncio.to_thread(webbrowser.open, url)
            if not opened:
                print(f"Open this URL to sign in:\n{url}")
            answer = await in_daemon_thread(input, "Paste the URL the browser ended on: ")
        else:
            answer = await _call(get_redirect_url, url)
        return await self.complete(str(answer).strip())

    def _authorize_url(self, sso: str, challenge: str, state: str) -> str:
        query = {
            "client_id": self.client_id,
            "response_type": "code",
            "scope": SCOPE,
            "redirect_uri": self.redirect_uri,
            "state": state,
            "code_challenge": challenge,
            "code_challenge_method": "S256",
            "login_hint": self.identity,
        }
        return f"{sso}{AUTHORIZE_PATH}?{urlencode(query)}"

    async def _probe_region(self, sso: str, challenge: str) -> str:
        probe = self._authorize_url(sso, challenge, _b64url(secrets.token_bytes(16)))
        resp = await self._sso_request(
            self._transport, "GET", URL(probe, encoded=True), allow_redirects=False
        )
        location = resp.headers.get("Location")
        if resp.status in (301, 302, 303, 307, 308) and location:
            other = _base_of(urljoin(probe, location))
            if other != sso:
                _log.debug("%s: the account lives on %s", self.identity, other)
                return other
        return sso

    async def _exchange(self, code: str, sso: str, verifier: str, redirect_uri: str) -> Token:
        resp = await self._sso_request(
            self._transport,
            "POST",
            URL(sso + TOKEN_PATH),
            data={
                "grant_type": "authorization_code",
                "client_id": self.client_id,
                "code": code,
                "code_verifier": verifier,
                "redirect_uri": redirect_uri,
            },
            headers={"Accept": "application/json"},
        )
        body = _json(resp)
        if resp.status != 200 or not isinstance(body, dict):
            error = body.get("error", "") if isinstance(body, dict) else ""
            raise AuthError(
                f"{sso}: the authorization code was refused (HTTP {resp.status}"
                f"{', ' + str(error) if error else ''}); log in again"
            )
        token = Token.from_response(body, now=self.clock(), sso_url=sso)
        async with self._refresh_lock, self.store.locked():
            return self._adopt(token, save=True)

    # --- the headless form login ---------------------------------------------------------------

    async def login_headless(
        self,
        password: str,
        *,
        passcode: PasscodeGetter | None = None,
        choose_factor: FactorChooser | None = None,
        solve_captcha: CaptchaSolver | None = None,
    ) -> Token:
        """Sign in by filling the SSO's form: password, then captcha and passcode when asked.

        `passcode()` returns the current TOTP code (asked again, up to 3 times, if refused; the
        code just refused, returned again, ends the login: sending it again would only count
        one more failure towards the account's lock);
        `choose_factor(factors)` picks among the account's factors (default: the first);
        `solve_captcha(svg_bytes)` returns the characters of the image. Missing callbacks give
        `MfaRequired` / `CaptchaRequired` when the SSO asks for them.
        """
        verifier, challenge = pkce_pair()
        state = _b64url(secrets.token_bytes(16))
        # A session of its own, with cookies (see the class docstring), closed when the form is done.
        async with Transport(timeouts=self._timeouts, cookies=True) as forms:
            flow = _FormLogin(self, forms, state, challenge)
            code, sso = await flow.run(password, passcode, choose_factor, solve_captcha)
        return await self._exchange(code, sso, verifier, self.redirect_uri)

    # --- logout --------------------------------------------------------------------------------

    async def logout(self, *, revoke: bool = True) -> bool:
        """Forget the token here and in the store; with `revoke`, end it at the SSO too (best effort).

        Returns whether there was a token to forget.
        """
        async with self._refresh_lock, self.store.locked():
            token = self.store.load(self.identity) or self._token
            if revoke and token is not None:
                query = {"client_id": self.client_id}
                if token.id_token:
                    query["id_token_hint"] = token.id_token
                try:
                    await self._sso_request(
                        self._transport,
                        "GET",
                        URL(f"{token.sso_url}{LOGOUT_PATH}?{urlencode(query)}", encoded=True),
                    )
                except Exception as exc:  # logging out locally must still work
                    _log.debug("%s: revoking at the SSO failed: %s", self.identity, type(exc).__name__)
            existed = self.store.delete(self.identity)  # an entry without a token is forgotten too
            self._token = None
            self._loaded = True
            return existed or token is not None


class _FormLogin:
    """One run of the SSO form: GET the page, POST the password (captcha), MFA, the final 302."""

    def __init__(self, auth: Auth, transport: Transport, state: str, challenge: str) -> None:
        self.auth = auth
        self.http = transport
        self.state = state
        self.challenge = challenge
        self.sso = auth.urls.sso

    async def run(
        self,
        password: str,
        passcode: PasscodeGetter | None,
        choose_factor: FactorChooser | None,
        solve_captcha: CaptchaSolver | None,
    ) -> tuple[str, str]:
        page_url, page = await self._login_page()
        captcha_tries = 0
        hops = 0
        while True:
            form = dict(page.inputs)
            form["identity"] = self.auth.identity
            form["credential"] = password
            if page.wants_captcha:
                if solve_captcha is None:
                    raise CaptchaRequired(f"{self.sso}: the SSO asks for a captcha and no solver was given")
                captcha_tries += 1
                svg = await self._captcha(page_url, page)
                form["captcha"] = str(await _call(solve_captcha, svg)).strip()
            resp = await self._post(page_url, page, form)
            location = self._location(page_url, resp)
            if location is not None:
                if location.startswith(self.auth.redirect_uri):
                    return code_from_redirect(location, self.state), self.sso
                hops += 1  # the account lives in the other region: its form, same password
                if hops > _MAX_REGION_HOPS or resp.status not in (302, 303):
                    raise AuthError(f"{self.sso}: unexpected redirect during login")
                self.sso = _base_of(location)
                page_url, page = await self._get_page(location)
                continue
            if resp.status != 200:
                raise AuthError(f"{self.sso}: the login form answered HTTP {resp.status}")
            new = _parse_page(resp.body)
            if new.is_mfa:
                return await self._mfa(page_url, new, passcode, choose_factor), self.sso
            message = new.error
            if "lock" in message.lower():
                raise AuthError(f"{self.sso}: {message}")
            if "captcha" not in message.lower():
                raise AuthError("wrong email or password")
            if solve_captcha is None:
                raise CaptchaRequired(f"{self.sso}: the SSO asks for a captcha and no solver was given")
            if captcha_tries >= CAPTCHA_ATTEMPTS:
                raise AuthError(f"{self.sso}: the captcha was not accepted {captcha_tries} times")
            if new.action is None or not new.wants_captcha:
                raise AuthError(f"{self.sso}: the SSO asks for a captcha but shows no captcha field")
            page = new

    # --- steps ---------------------------------------------------------------------------------

    async def _send(self, method: str, url: URL, **kwargs: Any) -> Response:
        return await self.auth._sso_request(self.http, method, url, **kwargs)

    async def _login_page(self) -> tuple[str, _Page]:
        url = self.auth._authorize_url(self.sso, self.challenge, self.state)
        for _ in range(_MAX_REGION_HOPS + 1):
            resp = await self._send("GET", URL(url, encoded=True), allow_redirects=False)
            location = self._location(url, resp)
            if location is None:
                break
            url = location
            self.sso = _base_of(url)
            _log.debug("%s: the account lives on %s", self.auth.identity, self.sso)
        return await self._check_page(url, resp)

    async def _get_page(self, url: str) -> tuple[str, _Page]:
        resp = await self._send("GET", URL(url, encoded=True), allow_redirects=False)
        return await self._check_page(url, resp)

    async def _check_page(self, url: str, resp: Response) -> tuple[str, _Page]:
        if resp.status != 200:
            raise AuthError(f"{self.sso}: the login page answered HTTP {resp.status}")
        page = _parse_page(resp.body)
        if page.action is None or "transaction_id" not in page.inputs:
            raise AuthError(f"{self.sso}: the login page has no sign-in form")
        return url, page

    @staticmethod
    def _location(base: str, resp: Response) -> str | None:
        location = resp.headers.get("Location")
        if resp.status in (301, 302, 303, 307, 308) and location:
            return urljoin(base, location)
        return None

    async def _post(self, page_url: str, page: _Page, form: Mapping[str, str]) -> Response:
        action = urljoin(page_url, page.action or "")
        return await self._send("POST", URL(action, encoded=True), data=dict(form), allow_redirects=False)

    async def _captcha(self, page_url: str, page: _Page) -> bytes:
        src = urljoin(page_url, page.captcha_src or "/captcha")
        resp = await self._send("GET", URL(src, encoded=True))
        if resp.status != 200:
            raise AuthError(f"{self.sso}: the captcha image answered HTTP {resp.status}")
        return resp.body

    def _passcode_error(self, status: int, body: Any) -> AuthError:
        error = body.get("error") if isinstance(body, dict) else None
        code = error.get("code", "") if isinstance(error, dict) else ""
        if code == PASSCODE_REUSED:
            return AuthError(
                f"{self.auth.identity}: this passcode was already used; wait for the next one from "
                "your authenticator app (a new one every 30 s) and sign in with it"
            )
        message = error.get("message", "") if isinstance(error, dict) else ""
        return AuthError(f"{self.sso}: the passcode check failed (HTTP {status}) {message}".strip())

    async def _mfa(
        self,
        page_url: str,
        page: _Page,
        passcode: PasscodeGetter | None,
        choose_factor: FactorChooser | None,
    ) -> str:
        if passcode is None:
            raise MfaRequired(
                f"{self.auth.identity}: the account asks for a passcode and no getter was given"
            )
        transaction_id = page.inputs.get("transaction_id", "")
        resp = await self._send(
            "GET", URL(f"{self.sso}{AUTHORIZE_PATH}/mfa/factors").with_query(transaction_id=transaction_id)
        )
        body = _json(resp)
        factors = body.get("data") if isinstance(body, dict) else None
        if resp.status != 200 or not isinstance(factors, list) or not factors:
            raise AuthError(f"{self.sso}: could not list the account's second factors (HTTP {resp.status})")
        factor = factors[0] if choose_factor is None else await _call(choose_factor, factors)
        factor_id = str(factor.get("id", "")) if isinstance(factor, dict) else ""
        refused: str | None = None
        for _ in range(MFA_ATTEMPTS):
            code = str(await _call(passcode)).strip()
            if code == refused:  # the same code again: refused again, and one more failure counted
                raise AuthError(f"{self.auth.identity}: the passcode was refused")
            resp = await self._send(
                "POST",
                URL(f"{self.sso}{AUTHORIZE_PATH}/mfa/verify"),
                json_body={"transaction_id": transaction_id, "factor_id": factor_id, "passcode": code},
            )
            body = _json(resp)
            data = body.get("data") if isinstance(body, dict) else None
            if resp.status == 200 and isinstance(data, dict) and data.get("valid") is True:
                break
            if resp.status != 200:
                raise self._passcode_error(resp.status, body)
            refused = code
        else:
            raise AuthError(f"{self.auth.identity}: the passcode was refused {MFA_ATTEMPTS} times")
        form = {"transaction_id": transaction_id}
        if "_csrf" in page.inputs:
            form["_csrf"] = page.inputs["_csrf"]
        resp = await self._post(page_url, page, form)
        location = self._location(page_url, resp)
        if location is None or not location.startswith(self.auth.redirect_uri):
            raise AuthError(f"{self.sso}: no authorization code after the passcode (HTTP {resp.status})")
        return code_from_redirect(location, self.state)
