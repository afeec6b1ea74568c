"""The HTTP face of one regional Tesla SSO (auth.tesla.com or auth.tesla.cn): parse and format.

Rules live in `login.LoginDesk` (the login state machine) and `tokens.TokenAuthority` (codes and
tokens), both shared through `world.auth`; these handlers only read requests and write answers.

Served paths (relative to the base URL, which ends with "/")::

    GET  oauth2/v3/authorize                 login page (or 302 to the account's region)
    POST oauth2/v3/authorize                 form posts: password, MFA completion, cancel
    GET  oauth2/v3/authorize/mfa/factors     JSON {"data": [factor...]}
    POST oauth2/v3/authorize/mfa/verify      JSON {"data": {"valid": ...}}
    POST oauth2/v3/token                     authorization_code and refresh_token grants
    GET  oauth2/v3/logout                    end the SSO session, revoke the account's tokens
    GET  captcha                             SVG for the current transaction
    GET  oauth2/v3/.well-known/openid-configuration   discovery (OpenID Connect)

Choices where docs/reference.md §2.1 is silent:

* The region redirect (login_hint of the other region's account) is a 302 to the same path and
  query on the other base URL; a password posted on the wrong region's form gets a 303 to the
  other region's authorize page with login_hint set.
* Authorize errors (unknown client, redirect URI, scope, missing PKCE or state) are a plain 400
  page and never a redirect, so an unregistered redirect URI cannot be used to bounce browsers.
* Unknown or expired transactions are 400 pages, a bad `_csrf` or another session's transaction
  403; MFA JSON errors are `{"error": {"code": ..., "message": ...}}` with 400/403.
* Token endpoint errors are RFC 6749 JSON with 400, 401 for `invalid_client` and
  `login_required`; answers carry `Cache-Control: no-store`. Bodies may be JSON or form-encoded
  (TeslaPy 2 sends a form; older clients sent JSON); a client_id may also come as HTTP Basic.
* Logout ends the browser's SSO session (the `tesla-auth.sid` cookie) or, failing that, the one
  named by `id_token_hint` (OpenID Connect RP-initiated logout), and revokes every token of that
  account; it answers a small page, or a 302 to an allowed `post_logout_redirect_uri`.
* The session cookie is `Secure` only when the base URL is https: on plain-http loopback a
  secure cookie would never come back.
"""

from __future__ import annotations

import base64
import binascii
import random
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Final
from urllib.parse import parse_qsl, urlencode, urlsplit

import orjson
from aiohttp import web

from ..accounts import Region
from ..refusal import NO_STORE
from . import pages
from .login import (
    REDIRECT_URIS,
    AuthorizeError,
    AuthorizeRequest,
    Locked,
    LoginDesk,
    LoginError,
    Outcome,
    RedirectTo,
    SendToRegion,
    ShowForm,
    ShowMfa,
    Transaction,
)
from .tokens import GrantError, TokenAuthority

if TYPE_CHECKING:
    from ..world import World

__all__ = ["SESSION_COOKIE", "SSO_REGIONS", "SsoHandlers", "create_sso_app"]

SESSION_COOKIE: Final = "tesla-auth.sid"
SSO_REGIONS: Final[tuple[Region, ...]] = ("na", "cn")
AUTHORIZE_PATH: Final = "/oauth2/v3/authorize"
_NO_STORE: Final = dict(NO_STORE)
_HTML: Final = "text/html"
_FORM: Final = "application/x-www-form-urlencoded"


def create_sso_app(world: World, *, region: Region, base_urls: Mapping[str, str]) -> web.Application:
    """The aiohttp app of the `region` SSO; `base_urls` maps each region to its server's base URL.

    Both regions' apps share `world.auth` (tokens, codes, login state) and the world's accounts.
    """
    if region not in SSO_REGIONS:
        raise ValueError(f"region must be one of {SSO_REGIONS}, got {region!r}")
    urls: dict[Region, str] = {}
    for name, url in base_urls.items():
        if name not in SSO_REGIONS:
            raise ValueError(f"unknown region {name!r} in base_urls")
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValueError(f"base URL for {name!r} must be an absolute http(s) URL")
        urls[name] = url if url.endswith("/") else url + "/"
    if region not in urls:
        raise ValueError(f"base_urls has no entry for this server's region {region!r}")
    handlers = SsoHandlers(world, region, urls)
    app = web.Application()
    app[SSO_HANDLERS] = handlers
    app.router.add_get(AUTHORIZE_PATH, handlers.authorize_page)
    app.router.add_post(AUTHORIZE_PATH, handlers.authorize_post)
    app.router.add_get(AUTHORIZE_PATH + "/mfa/factors", handlers.mfa_factors)
    app.router.add_post(AUTHORIZE_PATH + "/mfa/verify", handlers.mfa_verify)
    app.router.add_post("/oauth2/v3/token", handlers.token)
    app.router.add_get("/oauth2/v3/logout", handlers.logout)
    app.router.add_post("/oauth2/v3/logout", handlers.logout)
    app.router.add_get("/captcha", handlers.captcha)
    app.router.add_get("/oauth2/v3/.well-known/openid-configuration", handlers.discovery)
    return app


class SsoHandlers:
    """The request handlers of one regional SSO server."""

    def __init__(self, world: World, region: Region, base_urls: dict[Region, str]) -> None:
        self.world = world
        self.region: Region = region
        self.base_urls = base_urls
        self.base_url = base_urls[region]
        self.issuer = self.base_url + "oauth2/v3"
        self._secure_cookie = self.base_url.startswith("https:")

    def __repr__(self) -> str:
        return f"SsoHandlers(region={self.region!r}, base_url={self.base_url!r})"

    @property
    def auth(self) -> TokenAuthority:
        return self.world.auth

    @property
    def desk(self) -> LoginDesk:
        return self.world.auth.logins

    # --- authorize -----------------------------------------------------------------------------

    async def authorize_page(self, request: web.Request) -> web.StreamResponse:
        params = _single_values(request.query)
        if params is None:
            return _error_page(400, "Bad Request", "A parameter was given more than once.")
        try:
            req = AuthorizeRequest.parse(params, clients=self.auth.clients)
        except AuthorizeError as exc:
            return _error_page(400, "Bad Request", str(exc))
        if req.login_hint is not None:
            other = self._other_region_of(req.login_hint)
            if other is not None:
                location = f"{self.base_urls[other]}{AUTHORIZE_PATH[1:]}?{request.rel_url.raw_query_string}"
                return web.Response(status=302, headers={"Location": location})
        session_id = request.cookies.get(SESSION_COOKIE)
        tx = self.desk.start(
            req,
            region=self.region,
            issuer=self.issuer,
            query=request.rel_url.raw_query_string,
            peers=self._peers(),
            session_id=session_id,
        )
        response = self._login_form(tx, ShowForm(None, tx.captcha_required))
        if tx.session_id != session_id:
            self._set_session_cookie(response, tx.session_id)
        return response

    async def authorize_post(self, request: web.Request) -> web.StreamResponse:
        form = await _read_form(request)
        if form is None:
            return _error_page(400, "Bad Request", "The body must be a form, each field once.")
        transaction_id = form.get("transaction_id")
        if not transaction_id:
            return _error_page(400, "Bad Request", "The transaction_id field is missing.")
        try:
            tx = self.desk.transaction(
                transaction_id, region=self.region, session_id=request.cookies.get(SESSION_COOKIE)
            )
            outcome = self.desk.submit(tx, form)
        except LoginError as exc:
            return _error_page(exc.status, "Sign-in Error", exc.message)
        return self._answer(tx, outcome)

    def _answer(self, tx: Transaction, outcome: Outcome) -> web.StreamResponse:
        if isinstance(outcome, RedirectTo):
            return web.Response(status=302, headers={"Location": outcome.url})
        if isinstance(outcome, SendToRegion):
            query = [(k, v) for k, v in parse_qsl(tx.query, keep_blank_values=True) if k != "login_hint"]
            query.append(("login_hint", outcome.login_hint))
            location = f"{self.base_urls[outcome.region]}{AUTHORIZE_PATH[1:]}?{urlencode(query)}"
            return web.Response(status=303, headers={"Location": location})
        if isinstance(outcome, ShowMfa):
            factor = self.desk.factors(tx)[0].as_json()
            html = pages.mfa_page(
                action=self._action(tx),
                transaction_id=tx.id,
                csrf=tx.csrf,
                factor=factor,
                error=outcome.error,
            )
            return web.Response(text=html, content_type=_HTML, headers=_NO_STORE)
        if isinstance(outcome, Locked):
            return self._login_form(tx, ShowForm(outcome.message, tx.captcha_required))
        return self._login_form(tx, outcome)

    def _login_form(self, tx: Transaction, show: ShowForm) -> web.Response:
        html = pages.login_page(
            action=self._action(tx),
            transaction_id=tx.id,
            csrf=tx.csrf,
            identity=tx.identity,
            captcha=show.captcha,
            error=show.error,
        )
        return web.Response(text=html, content_type=_HTML, headers=_NO_STORE)

    @staticmethod
    def _action(tx: Transaction) -> str:
        return f"{AUTHORIZE_PATH}?{tx.query}"

    # --- MFA (JSON) ----------------------------------------------------------------------------

    async def mfa_factors(self, request: web.Request) -> web.StreamResponse:
        transaction_id = request.query.get("transaction_id", "")
        try:
            tx = self.desk.transaction(
                transaction_id, region=self.region, session_id=request.cookies.get(SESSION_COOKIE)
            )
            factors = self.desk.factors(tx)
        except LoginError as exc:
            return exc.response()
        return web.json_response({"data": [f.as_json() for f in factors]}, dumps=_dumps, headers=_NO_STORE)

    async def mfa_verify(self, request: web.Request) -> web.StreamResponse:
        body = await _read_params(request)
        if body is None:
            invalid = LoginError(400, "INVALID_REQUEST", "The body must be a JSON object or a form.")
            return invalid.response()
        try:
            tx = self.desk.transaction(
                body.get("transaction_id", ""),
                region=self.region,
                session_id=request.cookies.get(SESSION_COOKIE),
            )
            factor_id = body.get("factor_id", "")
            valid = self.desk.verify_passcode(tx, factor_id, body.get("passcode", ""))
        except LoginError as exc:
            return exc.response()
        now = self.world.now()
        data = {
            "id": str(_uuid_from(self.auth.random_bytes(16))),
            "challengeId": str(_uuid_from(self.auth.random_bytes(16))),
            "factorId": factor_id,
            "approved": valid,
            "flagged": False,
            "valid": valid,
            "createdAt": _iso(now),
            "updatedAt": _iso(now),
        }
        return web.json_response({"data": data}, dumps=_dumps, headers=_NO_STORE)

    # --- captcha -------------------------------------------------------------------------------

    async def captcha(self, request: web.Request) -> web.StreamResponse:
        tx = self.desk.captcha_transaction(
            session_id=request.cookies.get(SESSION_COOKIE), transaction_id=request.query.get("transaction_id")
        )
        text = self.desk.new_captcha(tx)
        svg = pages.captcha_svg(text, random.Random(text))
        return web.Response(text=svg, content_type="image/svg+xml", headers=_NO_STORE)

    # --- token ---------------------------------------------------------------------------------

    async def token(self, request: web.Request) -> web.StreamResponse:
        params = await _read_params(request)
        if params is None:
            return GrantError("invalid_request", "The body must be a JSON object or a form.").response()
        client_id = params.get("client_id") or _basic_client_id(request)
        grant_type = params.get("grant_type")
        try:
            if not grant_type:
                raise GrantError("invalid_request", "The grant_type parameter is missing.")
            if not client_id:
                raise GrantError("invalid_request", "The client_id parameter is missing.")
            if grant_type == "authorization_code":
                code = params.get("code")
                if not code:
                    raise GrantError("invalid_request", "The code parameter is missing.")
                body = self.auth.redeem_code(
                    code,
                    client_id=client_id,
                    redirect_uri=params.get("redirect_uri"),
                    code_verifier=params.get("code_verifier"),
                    region=self.region,
                    issuer=self.issuer,
                )
            elif grant_type == "refresh_token":
                refresh_token = params.get("refresh_token")
                if not refresh_token:
                    raise GrantError("invalid_request", "The refresh_token parameter is missing.")
                body = self.auth.refresh(
                    refresh_token,
                    client_id=client_id,
                    scope=params.get("scope"),
                    region=self.region,
                    issuer=self.issuer,
                )
            else:
                raise GrantError("unsupported_grant_type", "The grant type is not supported by this server.")
        except GrantError as exc:
            return exc.response()
        return web.json_response(body, dumps=_dumps, headers=_NO_STORE)

    # --- logout --------------------------------------------------------------------------------

    async def logout(self, request: web.Request) -> web.StreamResponse:
        params = dict(request.query)
        if request.method == "POST":
            params.update(await _read_params(request) or {})
        if params.get("client_id") not in self.auth.clients:
            return _error_page(400, "Bad Request", "The client_id is missing or not known to this server.")
        account = self.desk.logout(request.cookies.get(SESSION_COOKIE))
        hint = params.get("id_token_hint")
        if account is None and hint:
            account = self.auth.account_from_id_token(hint)
        if account is not None:
            self.auth.revoke_all(account)
        target = params.get("post_logout_redirect_uri")
        response: web.Response
        if target in REDIRECT_URIS:
            state = params.get("state")
            location = target + (f"?{urlencode({'state': state})}" if state else "")
            response = web.Response(status=302, headers={"Location": location})
        else:
            response = web.Response(text=pages.logout_page(), content_type=_HTML, headers=_NO_STORE)
        response.del_cookie(SESSION_COOKIE, path="/")
        return response

    # --- discovery -----------------------------------------------------------------------------

    async def discovery(self, request: web.Request) -> web.StreamResponse:
        base = self.base_url
        doc = {
            "issuer": self.issuer,
            "authorization_endpoint": f"{base}oauth2/v3/authorize",
            "token_endpoint": f"{base}oauth2/v3/token",
            "end_session_endpoint": f"{base}oauth2/v3/logout",
            "response_types_supported": ["code"],
            "grant_types_supported": ["authorization_code", "refresh_token"],
            "code_challenge_methods_supported": ["S256"],
            "scopes_supported": ["openid", "email", "offline_access"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["HS256"],
            "token_endpoint_auth_methods_supported": ["none"],
        }
        return web.json_response(doc, dumps=_dumps)

    # --- helpers -------------------------------------------------------------------------------

    def _other_region_of(self, email: str) -> Region | None:
        try:
            account = self.world.account(email)
        except KeyError:
            return None
        if account.region != self.region and account.region in self.base_urls:
            return account.region
        return None

    def _peers(self) -> frozenset[Region]:
        return frozenset(r for r in self.base_urls if r != self.region)

    def _set_session_cookie(self, response: web.Response, session_id: str) -> None:
        response.set_cookie(
            SESSION_COOKIE, session_id, path="/", httponly=True, samesite="Lax", secure=self._secure_cookie
        )


SSO_HANDLERS: Final = web.AppKey("teslalink_sso_handlers", SsoHandlers)


def _dumps(obj: Any) -> str:
    return orjson.dumps(obj).decode()


def _iso(t: float) -> str:
    return datetime.fromtimestamp(t, UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")


def _uuid_from(raw: bytes) -> str:
    return str(uuid.UUID(bytes=raw, version=4))


def _single_values(values: Mapping[str, Any]) -> dict[str, str] | None:
    """A multidict as a plain dict of strings; None if a key repeats (OAuth forbids it)."""
    out: dict[str, str] = {}
    for key, value in values.items():
        if key in out:
            return None
        if isinstance(value, str):
            out[key] = value
    return out


async def _read_params(request: web.Request) -> dict[str, str] | None:
    """A JSON object or form body as strings (numbers and booleans in JSON are accepted as text)."""
    if request.content_type == "application/json":
        try:
            data = orjson.loads(await request.read())
        except orjson.JSONDecodeError:
            return None
        if not isinstance(data, dict):
            return None
        out: dict[str, str] = {}
        for key, value in data.items():
            if isinstance(value, str):
                out[key] = value
            elif isinstance(value, bool | int | float):
                out[key] = str(value).lower() if isinstance(value, bool) else str(value)
            elif value is not None:
                return None
        return out
    return await _read_form(request)


async def _read_form(request: web.Request) -> dict[str, str] | None:
    """A urlencoded form body as strings ({} if there is no body); None if it is anything else.

    Our choice (no source shows Tesla's answer): a multipart body, a body that does not decode
    as UTF-8, or a field given twice is a 400, never a 500. Tesla's own pages post urlencoded
    forms, and OAuth (RFC 6749 section 4.1.3) asks for nothing else.
    """
    if not (await request.read()).strip():
        return {}
    if request.content_type != _FORM:
        return None
    try:
        form = await request.post()
    except ValueError:  # UnicodeDecodeError: bytes that are not UTF-8
        return None
    return _single_values(form)


def _basic_client_id(request: web.Request) -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "basic" or not value:
        return None
    try:
        decoded = base64.b64decode(value.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return None
    return decoded.partition(":")[0] or None


def _error_page(status: int, title: str, message: str) -> web.Response:
    return web.Response(
        status=status, text=pages.error_page(status, title, message), content_type=_HTML, headers=_NO_STORE
    )
