"""fleet-auth (fleet-auth.prd.vn.cloud.tesla.com) as an aiohttp app: token, authorize, discovery.

Served paths::

    POST oauth2/v3/token          client_credentials, authorization_code, refresh_token (form)
    GET  oauth2/v3/authorize      the login page (email, password, and a passcode with MFA)
    POST oauth2/v3/authorize      the login form: 302 to redirect_uri?code=...&state=...
    GET  oauth2/v3/thirdparty/.well-known/openid-configuration   (and oauth2/v3/.well-known/...)
    GET  oauth2/v3/thirdparty/discovery/keys                     JWKS of the RS256 key
    POST _twin/fleet/domain_key   {domain, pem}: the key https://<domain>/.well-known/... serves
    POST _twin/fleet/pair         {vin, public_key (hex of the point)}: "the owner tapped approve"
    POST _twin/fleet/home_region  {email, region}
    _twin/fleet/faults, pairing_lag, vehicles/{car}/...: the scenario controls of .scenario_app

Choices where fleet.md is silent (ours):

* The login page is one form with every authorize parameter as hidden fields, so a headless
  client can post it like the Owner API's SSO; a wrong password re-shows it with 401. There is
  no captcha and no lockout here (the Owner API's SSO models those).
* Consent: the first login for an app grants the requested scopes; later logins reuse the
  account's consent for that app unless `prompt_missing_scopes=true`, in which case the
  requested scopes are granted (what fleet.md §1.5 reports: Tesla silently reuses the old
  consent otherwise). `require_requested_scopes` is accepted and ignored: the twin's user always
  grants everything asked.
* Authorize errors (unknown client, redirect URI not registered, missing state) are a 400 page,
  never a redirect; the token endpoint answers RFC 6749 JSON errors with `Cache-Control: no-store`.
"""

from __future__ import annotations

import html
from typing import TYPE_CHECKING, Any, Final
from urllib.parse import urlencode

import orjson
from aiohttp import web

from ..owner_api.admin import read_object, refuse_remote
from ..refusal import NO_STORE, Refusal
from ..sso.tokens import GrantError
from ..sso.totp import verify as verify_totp
from .pairing import pair
from .regions import ALL_SCOPES, FLEET_REGIONS, ISSUER, FleetRegion, region_of_base_url
from .scenario_app import add_fleet_controls
from .state import authority_of, fleet_state
from .tokens import scopes_of

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

    from ..accounts import Account
    from ..world import World

__all__ = ["create_fleet_auth_app", "signed_in"]

_NO_STORE: Final = dict(NO_STORE)
_AUTHORIZE_FIELDS: Final[tuple[str, ...]] = (
    "response_type",
    "client_id",
    "redirect_uri",
    "scope",
    "state",
    "nonce",
    "locale",
    "prompt",
    "prompt_missing_scopes",
    "require_requested_scopes",
    "show_keypair_step",
)


def create_fleet_auth_app(world: World, served: Callable[[], dict[FleetRegion, str]]) -> web.Application:
    """fleet-auth of `world`; `served()` gives the twin's own URL of each region (for `audience`)."""
    app = web.Application()
    handlers = _Handlers(world, served)
    app.router.add_post("/oauth2/v3/token", handlers.token)
    app.router.add_get("/oauth2/v3/authorize", handlers.authorize_page)
    app.router.add_post("/oauth2/v3/authorize", handlers.authorize_post)
    for prefix in ("/oauth2/v3/thirdparty", "/oauth2/v3"):
        app.router.add_get(prefix + "/.well-known/openid-configuration", handlers.discovery)
    app.router.add_get("/oauth2/v3/thirdparty/discovery/keys", handlers.jwks)
    app.router.add_post("/_twin/fleet/domain_key", handlers.admin_domain_key)
    app.router.add_post("/_twin/fleet/pair", handlers.admin_pair)
    app.router.add_post("/_twin/fleet/home_region", handlers.admin_home_region)
    add_fleet_controls(app, world, None)  # faults and car knobs, .scenario_app
    return app


class _Handlers:
    def __init__(self, world: World, served: Callable[[], dict[FleetRegion, str]]) -> None:
        self.world = world
        self.state = fleet_state(world)
        self.authority = authority_of(world)
        self.served = served

    # --- token endpoint ------------------------------------------------------------------------

    async def token(self, request: web.Request) -> web.StreamResponse:
        try:
            return _json(await self._grant(request))
        except Refusal as exc:
            return exc.response()

    async def _grant(self, request: web.Request) -> dict[str, Any]:
        form = await _form(request)
        grant_type = form.get("grant_type", "")
        if grant_type == "refresh_token":
            return self.authority.refresh(
                _required(form, "refresh_token"),
                client_id=_required(form, "client_id"),
                scope=form.get("scope"),
            )
        client_id, secret = _required(form, "client_id"), _required(form, "client_secret")
        if grant_type == "client_credentials":
            region = self._audience(form)
            return self.authority.partner_token(client_id, secret, region, form.get("scope"))
        if grant_type == "authorization_code":
            if "audience" in form:
                self._audience(form)
            return self.authority.redeem_code(
                _required(form, "code"),
                client_id=client_id,
                client_secret=secret,
                redirect_uri=form.get("redirect_uri"),
            )
        raise GrantError(
            "unsupported_grant_type",
            "grant_type must be client_credentials, authorization_code or refresh_token.",
        )

    def _audience(self, form: dict[str, str]) -> FleetRegion:
        region = region_of_base_url(_required(form, "audience"), self.served())
        if region is None:
            raise GrantError("invalid_request", "audience must be one of the Fleet API base URLs.")
        return region

    # --- authorize -----------------------------------------------------------------------------

    async def authorize_page(self, request: web.Request) -> web.StreamResponse:
        params = {key: request.query[key] for key in _AUTHORIZE_FIELDS if key in request.query}
        problem = self._authorize_problem(params)
        if problem is not None:
            return _page(400, problem)
        return _page(200, "", params)

    async def authorize_post(self, request: web.Request) -> web.StreamResponse:
        try:
            form = await _form(request)
        except Refusal as exc:
            return _page(exc.status, exc.error)
        params = {key: form[key] for key in _AUTHORIZE_FIELDS if key in form}
        problem = self._authorize_problem(params)
        if problem is not None:
            return _page(400, problem)
        account = self._login(form)
        if account is None:
            return _page(401, "Wrong email, password or passcode.", params)
        client_id = params["client_id"]
        requested = scopes_of(params.get("scope"))
        key = (account.email.lower(), client_id)
        previous = self.state.consents.get(key)
        if previous is not None and params.get("prompt_missing_scopes", "").lower() != "true":
            granted = previous
        else:
            granted = requested
            self.state.consents[key] = granted
        code = self.authority.issue_code(
            account, client_id=client_id, redirect_uri=params["redirect_uri"], scopes=granted
        )
        query = urlencode({"locale": "en-US", "code": code, "state": params["state"], "issuer": ISSUER})
        separator = "&" if "?" in params["redirect_uri"] else "?"
        raise web.HTTPFound(params["redirect_uri"] + separator + query, headers=_NO_STORE)

    def _authorize_problem(self, params: dict[str, str]) -> str | None:
        app = self.state.apps.get(params.get("client_id", ""))
        if app is None:
            return "unauthorized_client: unknown client_id"
        if params.get("redirect_uri") not in app.redirect_uris:
            return "invalid_redirect_url: the redirect_uri is not registered for this app"
        if params.get("response_type") != "code":
            return "invalid_request: response_type must be code"
        if not params.get("state"):
            return "invalid_request: state is required"
        if not scopes_of(params.get("scope")):
            return "invalid_request: scope is required"
        return None

    def _login(self, form: dict[str, str]) -> Account | None:
        return signed_in(self.world, form)

    # --- discovery -----------------------------------------------------------------------------

    async def discovery(self, request: web.Request) -> web.StreamResponse:
        base = str(request.url.origin()) + "/oauth2/v3"
        return _json(
            {
                "issuer": ISSUER,
                "authorization_endpoint": base + "/authorize",
                "token_endpoint": base + "/token",
                "jwks_uri": base + "/thirdparty/discovery/keys",
                "response_types_supported": ["code"],
                "grant_types_supported": ["authorization_code", "refresh_token", "client_credentials"],
                "subject_types_supported": ["public"],
                "id_token_signing_alg_values_supported": ["RS256"],
                "scopes_supported": list(ALL_SCOPES),
                "token_endpoint_auth_methods_supported": ["client_secret_post"],
            }
        )

    async def jwks(self, request: web.Request) -> web.StreamResponse:
        return _json(self.authority.jwks())

    # --- the twin's admin ----------------------------------------------------------------------

    async def admin_domain_key(self, request: web.Request) -> web.StreamResponse:
        body = await self._admin_body(request)
        if isinstance(body, web.StreamResponse):
            return body
        domain, pem = body.get("domain"), body.get("pem")
        if not isinstance(domain, str) or not domain or not isinstance(pem, str):
            return _json({"error": "expected {domain, pem}"}, 400)
        self.state.know_domain_key(domain, pem)
        return _json({"domain": domain.lower()})

    async def admin_pair(self, request: web.Request) -> web.StreamResponse:
        body = await self._admin_body(request)
        if isinstance(body, web.StreamResponse):
            return body
        vin, key = body.get("vin"), body.get("public_key")
        try:
            if not isinstance(vin, str) or not isinstance(key, str):
                raise ValueError("expected {vin, public_key}")
            pair(self.world, vin, bytes.fromhex(key))
        except ValueError as exc:
            return _json({"error": str(exc)}, 400)
        return _json({"vin": vin, "paired": True})

    async def admin_home_region(self, request: web.Request) -> web.StreamResponse:
        body = await self._admin_body(request)
        if isinstance(body, web.StreamResponse):
            return body
        try:
            account = self.world.account(str(body.get("email", "")))
            region = body.get("region")
            if region not in FLEET_REGIONS:
                raise ValueError(f"region must be one of {', '.join(FLEET_REGIONS)}")
            self.state.set_home_region(account, region)
        except KeyError:
            return _json({"error": "no such account"}, 404)
        except ValueError as exc:
            return _json({"error": str(exc)}, 400)
        return _json({"email": account.email, "region": region})

    async def _admin_body(self, request: web.Request) -> dict[str, Any] | web.StreamResponse:
        refused = refuse_remote(request)
        if refused is not None:
            return refused
        body = await read_object(request)
        return body if body is not None else _json({"error": "expected a JSON object"}, 400)


def signed_in(world: World, form: Mapping[str, str]) -> Account | None:
    """The account a sign-in form names, if its password (and passcode, with MFA) are right.

    The twin's Tesla sign-in, shared by the authorize page and tesla.com's pairing page.
    """
    try:
        account = world.account(form.get("identity", ""))
    except KeyError:
        return None
    if form.get("credential", "") != account.password:
        return None
    secret, passcode = account.mfa_secret, form.get("passcode", "")
    if secret is not None and verify_totp(secret, passcode, world.now()) is None:
        return None
    return account


async def _form(request: web.Request) -> dict[str, str]:
    """The urlencoded form of a POST; anything else is 400 invalid_request."""
    if request.content_type != "application/x-www-form-urlencoded":
        raise GrantError("invalid_request", "The body must be application/x-www-form-urlencoded.")
    try:
        form = await request.post()
    except ValueError:
        raise GrantError("invalid_request", "The form is not readable.") from None
    return {key: value for key, value in form.items() if isinstance(value, str)}


def _required(form: dict[str, str], name: str) -> str:
    value = form.get(name, "")
    if not value:
        raise GrantError("invalid_request", f"{name} is required.")
    return value


def _json(body: Any, status: int = 200) -> web.Response:
    return web.Response(
        status=status,
        body=orjson.dumps(body),
        content_type="application/json",
        charset="utf-8",
        headers=_NO_STORE,
    )


def _page(status: int, message: str, params: dict[str, str] | None = None) -> web.Response:
    """The login page (with the authorize parameters as hidden fields), or an error page."""
    parts = ["<!doctype html><html><head><title>Tesla - Sign In</title></head><body><h1>Sign In</h1>"]
    if message:
        parts.append(f'<p class="error">{html.escape(message)}</p>')
    if params is not None:
        parts.append('<form method="post" action="/oauth2/v3/authorize">')
        parts += [
            f'<input type="hidden" name="{html.escape(k)}" value="{html.escape(v)}">'
            for k, v in params.items()
        ]
        parts.append(
            '<input type="email" name="identity"><input type="password" name="credential">'
            '<input type="text" name="passcode" autocomplete="one-time-code">'
            f"<p>Scopes asked: {html.escape(params.get('scope', ''))}</p>"
            '<button type="submit">Sign In</button></form>'
        )
    parts.append("</body></html>")
    return web.Response(status=status, text="".join(parts), content_type="text/html", headers=_NO_STORE)
