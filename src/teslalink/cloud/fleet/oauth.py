"""A user's Fleet API login (OAuth 2 authorization code) and keeping its token fresh.

`FleetAuth(app, store, identity)` is the `TokenProvider` the Fleet API clients ask for tokens.
Ways to log in (research/fleet.md 1.5):

* `login_callback(on_url)`: show the authorize URL, and wait for the browser to come back to
  the app's loopback redirect URI (`http://127.0.0.1:PORT/path`): a one-request local server;
* `authorize_url(state)` then `complete(redirect_url, state)`: the user pastes the URL the
  browser ended on (any redirect URI; a web app's own callback passes it the same way);
  `exchange(code)` when the code is already in hand;
* `login_headless(email, password)`: fills the sign-in form like a browser would. The twin
  serves such a form (its `/oauth2/v3/authorize`); Tesla's real page needs a browser.

After the code exchange the account is asked who it is (`GET api/1/users/me` on its region's
host; the region is the token's `ou_code` claim), and the login is stored in the token file
under that email, key "fleet", beside the account's Owner API token (`cloud.fleet.tokens`).

Refresh tokens are single-use (the one used is retired; Tesla keeps the last one used valid for
24 h as a safety net). So:

* the new token is written to the file, atomically, *before* the new access token is handed
  to anyone: a process that dies after that has lost nothing; one killed between Tesla's
  answer and the write still holds the last-used refresh token, which the 24 h grace honours;
* one refresh at a time in the process (`SharedRefresh`, shared with `cloud.auth`), and across
  processes under `TokenStore.locked()`: under the file lock the stored login is re-read, and a
  token another process already refreshed is adopted instead of replaying a retired one;
* 401 `login_required` (the refresh token is past its grace, expired or the password changed)
  is `LoginRequired`: only a new `teslalink fleet login` helps.

Choices no source settles (ours): the authorize page is asked of the Fleet auth host (`hosts.auth`,
fleet-auth.prd.vn.cloud.tesla.com; unverified: older docs and Home Assistant use auth.tesla.com,
which `authorize_base=` selects); every scope is asked by default; `prompt_missing_scopes=true` by
default, so a new login really asks for scopes an earlier consent lacked.

Secrets (password, codes, tokens, the client secret) never reach a log, a repr or an error.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import secrets
import time
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Final
from urllib.parse import urlencode, urljoin, urlsplit

from yarl import URL

from ..._http import Transport, receive_callback
from ..._json import loads
from ...errors import (
    AuthError,
    ConfigError,
    DecodeError,
    LoginRequired,
    RateLimited,
    ServiceUnavailable,
    TeslalinkError,
    TokenExpired,
)
from ...transport import Closing, Response, Timeouts, rate_limit_wait
from .._refresh import SharedRefresh
from ..auth import _parse_page, code_from_redirect  # the Owner API login's page reader, shared
from ..tokens import Token, TokenStore
from .app import FleetApp
from .jwt import read_claims, read_payload
from .tokens import SECTION, FleetToken

if TYPE_CHECKING:
    import aiohttp

__all__ = [
    "AUTHORIZE_PATH",
    "DEFAULT_SCOPES",
    "TOKEN_PATH",
    "FleetAuth",
    "fleet_identity",
    "loopback_redirect",
    "new_state",
    "region_of_code",
]

_log = logging.getLogger(__name__)

AUTHORIZE_PATH: Final = "oauth2/v3/authorize"
TOKEN_PATH: Final = "oauth2/v3/token"
USERS_ME_PATH: Final = "api/1/users/me"
DEFAULT_SCOPES: Final = (
    "openid",
    "offline_access",
    "user_data",
    "vehicle_device_data",
    "vehicle_location",
    "vehicle_cmds",
    "vehicle_charging_cmds",
    "energy_device_data",
    "energy_cmds",
)
"""Every scope of research/fleet.md 1.2 (our choice: so every command and read works; narrow it
with `scopes=`). `openid` and `offline_access` are always asked: without them there is no
refresh token and no id token."""
_ALWAYS: Final = ("openid", "offline_access")
CALLBACK_TIMEOUT_S: Final = 300.0
"""How long `login_callback` waits for the browser (our choice: five minutes to sign in)."""
_REGION_PREFIXES: Final = {"NA": "na", "EU": "eu", "CN": "cn"}
_LOOPBACK_HOSTS: Final = ("127.0.0.1", "localhost", "::1", "[::1]")


def fleet_identity(store: TokenStore, email: str | None = None) -> str:
    """`email`, else the only account of `store` with a Fleet login (`ConfigError` otherwise)."""
    if email and email.strip():
        return email.strip()
    known = sorted(store.section_identities(SECTION))
    if len(known) == 1:
        return known[0]
    if not known:
        raise ConfigError("no account is logged in to the Fleet API: run `teslalink fleet login` first")
    raise ConfigError(
        f"{len(known)} accounts are logged in to the Fleet API ({', '.join(known)}): pass --email"
    )


def new_state() -> str:
    """A fresh OAuth `state`: 128 random bits, URL-safe."""
    return secrets.token_urlsafe(16)


def region_of_code(code: str) -> str | None:
    """The region an authorization code or refresh token is prefixed with (``NA_...``), if any."""
    prefix, sep, _ = code.partition("_")
    return _REGION_PREFIXES.get(prefix.upper()) if sep else None


class FleetAuth(Closing):
    """The Fleet login of one account (`identity`, its email; None until a login tells it).

    `store=None` uses the default token file. `session` is borrowed for token and users/me
    requests and never closed; a form login uses a short-lived session with cookies of its own.
    `clock` gives epoch seconds (a simulated world's `now` against the twin).
    """

    def __init__(
        self,
        app: FleetApp,
        store: TokenStore | None = None,
        identity: str | None = None,
        *,
        scopes: Sequence[str] = DEFAULT_SCOPES,
        session: aiohttp.ClientSession | None = None,
        clock: Callable[[], float] = time.time,
        refresh_margin_s: float = 300.0,
        timeouts: Timeouts | None = None,
        authorize_base: str | None = None,
    ) -> None:
        self.app = app
        self.store = store if store is not None else TokenStore()
        self.identity = identity.strip() if identity and identity.strip() else None
        self.scopes = tuple(dict.fromkeys((*_ALWAYS, *scopes)))
        self.clock = clock
        self.refresh_margin_s = refresh_margin_s
        self.authorize_base = _with_slash(authorize_base or app.hosts.auth)
        self._timeouts = timeouts or Timeouts()
        self._transport = Transport(session, timeouts=self._timeouts)
        self._token: FleetToken | None = None
        self._loaded = False
        self._refreshing: SharedRefresh[FleetToken] = SharedRefresh()
        self.refreshes = 0
        """How many refresh grants this object sent (for tests and diagnostics)."""

    def __repr__(self) -> str:
        shown = "<redacted>" if self._token is not None else "<none>"
        return f"FleetAuth({self.identity!r}, client_id={self.app.client_id!r}, token={shown})"

    async def close(self) -> None:
        """Close the HTTP session if this object opened it."""
        await self._transport.close()

    # --- state ---------------------------------------------------------------------------------

    @property
    def token(self) -> FleetToken | None:
        """The stored login (read from the store on first use), or None before any."""
        if not self._loaded:
            self._token = self._load()
            self._loaded = True
        return self._token

    @property
    def region(self) -> str | None:
        """The account's Fleet region ("na", "eu", "cn"), as its token says; None before a login."""
        token = self.token
        return token.region if token is not None else None

    @property
    def base_url(self) -> str:
        """The Fleet API host of the account's region (NA before a login, as Tesla's Go client does)."""
        return self.app.hosts.base_url(self.region or "na")

    def set_region(self, region: str, base_url: str | None = None) -> None:
        """Remember that the account lives in `region` (a 421 said so), stored with the login.

        The shape of `FleetApi`'s `on_region(region, base_url)` callback; `base_url` is not
        stored (our `hosts` know each region's). A short synchronous read-modify-write of the
        token file under its lock, like `TokenStore.save`.
        """
        self.app.hosts.base_url(region)  # a region we know, or ConfigError
        stored = self._load() or self._token
        if stored is not None and stored.region != region.lower():
            self._adopt(dataclasses.replace(stored, region=region.lower()), save=True)

    def _load(self) -> FleetToken | None:
        if self.identity is None:
            return None
        entry = self.store.load_section(self.identity, SECTION)
        if entry is None:
            return None
        where = str(self.store.path) if self.store.path is not None else "the token cache"
        return FleetToken.from_entry(entry, where=where, identity=self.identity)

    def _adopt(self, token: FleetToken, *, save: bool) -> FleetToken:
        if save:
            assert self.identity is not None
            self.store.save_section(self.identity, SECTION, token.to_entry())
        self._token = token
        self._loaded = True
        return token

    def _logged_in(self) -> FleetToken:
        token = self.token
        if token is None:
            who = self.identity or "this account"
            raise TokenExpired(f"{who}: no Fleet API login is stored; run `teslalink fleet login`")
        if token.client_id != self.app.client_id:
            raise LoginRequired(f"{self.identity}: the stored Fleet login belongs to another app")
        return token

    # --- TokenProvider -------------------------------------------------------------------------

    async def access_token(self) -> str:
        """An access token valid for at least `refresh_margin_s` more (refreshed first if needed)."""
        token = self._logged_in()
        if token.expires_in(self.clock()) > self.refresh_margin_s:
            return token.access_token
        return (await self._refresh_from(token, force=False)).access_token

    async def token_rejected(self, token: str) -> str:
        """The API answered 401 to `token`: refresh once (shared by every caller reporting it)."""
        current = self._logged_in()
        if current.access_token != token:
            return current.access_token  # already replaced: no second refresh
        return (await self._refresh_from(current, force=True)).access_token

    async def refresh(self) -> FleetToken:
        """Refresh now, whatever the expiry (still one refresh with concurrent callers)."""
        return await self._refresh_from(self._logged_in(), force=True)

    async def _refresh_from(self, held: FleetToken, *, force: bool) -> FleetToken:
        def replaced() -> FleetToken | None:  # another task refreshed while we waited
            token = self._token
            return token if token is not None and token.access_token != held.access_token else None

        return await self._refreshing.run(
            held.access_token, replaced, lambda: self._refresh_locked(held, force=force)
        )

    async def _refresh_locked(self, held: FleetToken, *, force: bool) -> FleetToken:
        """Under the file lock: adopt what another process stored, else refresh, store, then hand out."""
        async with self.store.locked():
            stored = self._load()
            if stored is not None and stored.access_token != held.access_token:
                left = stored.expires_in(self.clock())
                if left > self.refresh_margin_s or (force and left > 0):
                    _log.debug("%s: adopting the Fleet token another process stored", self.identity)
                    return self._adopt(stored, save=False)
                held = stored
            new = await self._refresh_grant(held)
            return self._adopt(new, save=True)  # stored before anyone sees the access token

    async def _refresh_grant(self, held: FleetToken) -> FleetToken:
        if not held.refresh_token:
            raise LoginRequired(f"{self.identity}: the Fleet token expired and there is no refresh token")
        self.refreshes += 1
        _log.debug("%s: refreshing the Fleet access token", self.identity)
        resp = await self._token_request(
            {"grant_type": "refresh_token", "client_id": held.client_id, "refresh_token": held.refresh_token}
        )
        body = _json(resp)
        if resp.status == 200 and isinstance(body, dict):
            return self._token_from(body, previous=held)
        error = str(body.get("error", "")) if isinstance(body, dict) else ""
        where = f"{self.identity}: refreshing the Fleet token at {self.app.hosts.auth}"
        if resp.status >= 500:
            raise ServiceUnavailable(resp.status, f"{where}: the auth server failed", error)
        if error == "login_required" or resp.status == 401:
            raise LoginRequired(str(self.identity))
        raise TokenExpired(
            f"{where}: refused (HTTP {resp.status}{', ' + error if error else ''}); "
            "run `teslalink fleet login` again"
        )

    # --- the authorization-code flow -----------------------------------------------------------

    def authorize_url(
        self,
        state: str,
        *,
        prompt_missing_scopes: bool = True,
        require_requested_scopes: bool = False,
        login_hint: str | None = None,
    ) -> str:
        """The URL a person opens to sign in and consent (research/fleet.md 1.5, step 1)."""
        query = {
            "response_type": "code",
            "client_id": self.app.client_id,
            "redirect_uri": self.app.redirect_uri,
            "scope": " ".join(self.scopes),
            "state": state,
            "locale": "en-US",
            "prompt_missing_scopes": _flag(prompt_missing_scopes),
            "require_requested_scopes": _flag(require_requested_scopes),
        }
        if login_hint:
            query["login_hint"] = login_hint
        return f"{self.authorize_base}{AUTHORIZE_PATH}?{urlencode(query)}"

    async def complete(self, redirect_url: str, state: str) -> FleetToken:
        """Finish a login with the URL the browser ended on (its `state` must be `state`)."""
        return await self.exchange(code_from_redirect(redirect_url, state))

    async def login_callback(
        self,
        on_url: Callable[[str], object],
        *,
        state: str | None = None,
        timeout_s: float = CALLBACK_TIMEOUT_S,
    ) -> FleetToken:
        """Serve the loopback redirect URI, hand `on_url` the authorize URL, wait for the browser.

        One request is taken: its state is checked, the browser is shown a short page, the code
        exchanged. `ConfigError` if the redirect URI is not `http://` on a loopback address (then
        use `authorize_url` + `complete`), `TimeoutError` after `timeout_s`.
        """
        host, port, path = loopback_redirect(self.app.redirect_uri)
        state = state or new_state()
        url = self.authorize_url(state)
        query = await receive_callback(
            host, port, path, _callback_page(state), timeout_s=timeout_s, listening=lambda: on_url(url)
        )
        return await self.complete("?" + urlencode(query), state)

    async def exchange(self, code: str) -> FleetToken:
        """Redeem an authorization code: the token, the account it belongs to, stored (step 3)."""
        code = code.strip()
        if not code:
            raise AuthError("the authorization code is empty")
        resp = await self._token_request(
            {
                "grant_type": "authorization_code",
                "client_id": self.app.client_id,
                "client_secret": self.app.client_secret,
                "code": code,
                "audience": self.app.hosts.base_url(region_of_code(code) or "na").rstrip("/"),
                "redirect_uri": self.app.redirect_uri,
            }
        )
        body = _json(resp)
        if resp.status != 200 or not isinstance(body, dict):
            error = str(body.get("error", "")) if isinstance(body, dict) else ""
            raise AuthError(
                f"{self.app.hosts.auth}: the authorization code was refused (HTTP {resp.status}"
                f"{', ' + error if error else ''}); sign in again"
            )
        token = self._token_from(body, region_hint=region_of_code(code))
        identity = await self._who(token)
        async with self._refreshing.lock, self.store.locked():
            self.identity = identity
            return self._adopt(token, save=True)

    # --- the headless form login (the twin's sign-in page) -------------------------------------

    async def login_headless(self, email: str, password: str, *, passcode: str | None = None) -> FleetToken:
        """Sign in by posting the sign-in form (email, password, a passcode with MFA), then exchange."""
        if not email.strip():
            raise AuthError("the account's email is needed to sign in")
        self._same_account(email)
        state = new_state()
        page_url = self.authorize_url(state, login_hint=email.strip())
        async with Transport(timeouts=self._timeouts, cookies=True) as forms:
            resp = await forms.request("GET", URL(page_url, encoded=True), allow_redirects=False)
            page = _parse_page(resp.body) if resp.status == 200 else None
            if page is None or page.action is None:
                raise AuthError(f"{self.authorize_base}: the sign-in page has no form (HTTP {resp.status})")
            form = {**page.inputs, "identity": email.strip(), "credential": password}
            if passcode:
                form["passcode"] = passcode.strip()
            action = URL(urljoin(page_url, page.action), encoded=True)
            resp = await forms.request("POST", action, data=form, allow_redirects=False)
        location = resp.headers.get("Location", "")
        if resp.status in (302, 303) and location.startswith(self.app.redirect_uri):
            return await self.complete(location, state)
        if resp.status == 401:
            raise AuthError(f"{email.strip()}: wrong email, password or passcode")
        message = _parse_page(resp.body).error if resp.status == 400 else ""
        raise AuthError(
            f"{self.authorize_base}: the sign-in form answered HTTP {resp.status}"
            + (f": {message}" if message else "")
        )

    # --- internals -----------------------------------------------------------------------------

    async def _token_request(self, form: Mapping[str, str]) -> Response:
        url = URL(self.app.hosts.auth + TOKEN_PATH)
        resp = await self._transport.request(
            "POST", url, data=dict(form), headers={"Accept": "application/json"}
        )
        if resp.status == 429:
            wait = rate_limit_wait(resp.headers)
            shown = f", retry in {wait:.0f} s" if wait is not None else ""
            raise RateLimited(
                429, f"{url.authority}: rate limited by Tesla's Fleet auth server{shown}", retry_after=wait
            )
        return resp

    def _token_from(
        self, body: Mapping[str, Any], *, previous: FleetToken | None = None, region_hint: str | None = None
    ) -> FleetToken:
        """A token answer as a `FleetToken`: region and scopes from the JWT's claims (see jwt.py)."""
        known = None
        if previous is not None:
            known = Token(
                previous.access_token, previous.refresh_token, previous.id_token, previous.expires_at
            )
        base = Token.from_response(body, now=self.clock(), sso_url=self.app.hosts.auth, previous=known)
        claims = read_claims(base.access_token)
        # without expires_in, the JWT's own exp says more than a default lifetime
        expires_at = base.expires_at if "expires_in" in body else claims.expires_at or base.expires_at
        scope_field = body.get("scope")
        scopes = claims.scopes or (tuple(scope_field.split()) if isinstance(scope_field, str) else ())
        # our choice: a token without ou_code keeps the region we knew (or the code's prefix, or NA)
        region = claims.region or (previous.region if previous else None) or region_hint or "na"
        return FleetToken(
            access_token=base.access_token,
            refresh_token=base.refresh_token,
            expires_at=expires_at,
            region=region,
            scopes=scopes or (previous.scopes if previous else ()),
            client_id=self.app.client_id,
            id_token=base.id_token,
            subject=claims.subject,
        )

    async def _who(self, token: FleetToken) -> str:
        """The email of the account that signed in: users/me, else the id token's, else `identity`.

        Our choice: users/me on the region's host (it needs the `user_data` scope and the app's
        registration there); the id token's `email` claim is the fallback without them.
        """
        email = await self._users_me(token)
        if email is None and token.id_token:
            with contextlib.suppress(AuthError):  # an unreadable id token is no answer
                claimed = read_payload(token.id_token, "the id token").get("email")
                email = claimed if isinstance(claimed, str) and claimed else None
        if email is None:
            if self.identity is None:
                raise AuthError("signed in, but the account's email cannot be read; pass the email")
            return self.identity
        self._same_account(email)
        return self.identity if self.identity is not None else self._stored_spelling(email)

    async def _users_me(self, token: FleetToken) -> str | None:
        """users/me's email, or None: a failed lookup must not lose a login whose code is spent."""
        url = URL(self.app.hosts.base_url(token.region) + USERS_ME_PATH)
        headers = {"Authorization": f"Bearer {token.access_token}", "Accept": "application/json"}
        try:
            resp = await self._transport.request("GET", url, headers=headers)
        except TeslalinkError as exc:
            _log.debug("%s: users/me failed: %s", url.authority, type(exc).__name__)
            return None
        body = _json(resp)
        answer = body.get("response") if isinstance(body, dict) else None
        email = answer.get("email") if isinstance(answer, dict) else None
        if resp.status != 200 or not isinstance(email, str) or not email:
            _log.debug("%s: users/me answered HTTP %s without an email", url.authority, resp.status)
            return None
        return email

    def _same_account(self, email: str) -> None:
        if self.identity is not None and self.identity.casefold() != email.strip().casefold():
            raise AuthError(
                f"signed in as {email.strip()}, but this login is for {self.identity}; sign in again"
            )

    def _stored_spelling(self, email: str) -> str:
        """The token file's key for `email` if the account is there already (any case), else `email`."""
        known = {*self.store.identities(), *self.store.section_identities(SECTION)}
        return next((name for name in known if name.casefold() == email.casefold()), email)


def loopback_redirect(redirect_uri: str) -> tuple[str, int, str]:
    """(host, port, path) to listen on for `redirect_uri`; `ConfigError` if it is not loopback http."""
    parts = urlsplit(redirect_uri)
    host = parts.hostname or ""
    try:
        port = parts.port or 80
    except ValueError:
        port = 0
    if parts.scheme != "http" or host not in _LOOPBACK_HOSTS or not port:
        raise ConfigError(
            f"the redirect URI {redirect_uri} is not http:// on this machine (127.0.0.1 or localhost): "
            "paste the URL the browser ends on instead"
        )
    return ("127.0.0.1" if host == "localhost" else host), port, parts.path or "/"


def _callback_page(state: str) -> Callable[[Mapping[str, str]], tuple[int, str]]:
    """What the browser is shown when it comes back (status, HTML)."""

    def page(query: Mapping[str, str]) -> tuple[int, str]:
        if "error" in query:
            return 400, _html("Sign-in not completed", "Tesla did not sign you in. Go back to the terminal.")
        if query.get("state") != state or "code" not in query:
            return 400, _html(
                "Not this sign-in", "This page does not belong to the sign-in teslalink started."
            )
        return 200, _html("Signed in", "teslalink has your sign-in. You can close this window.")

    return page


def _html(title: str, text: str) -> str:
    head = f"<!doctype html><html><head><title>{title}</title></head>"
    return f"{head}<body><h1>{title}</h1><p>{text}</p></body></html>"


def _flag(value: bool) -> str:
    return "true" if value else "false"


def _with_slash(url: str) -> str:
    return url if url.endswith("/") else url + "/"


def _json(resp: Response) -> Any:
    try:
        return loads(resp.body)
    except DecodeError:
        return None
