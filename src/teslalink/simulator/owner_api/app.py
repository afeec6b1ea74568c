"""The Owner API twin as an aiohttp app: routes, and the layers every request goes through.

Layers, outermost first:

1. accounting and errors: unrouted paths become the JSON 404, a `Refusal` raised below (by the
   car, the site, a lookup) its own answer; every answer of a billed route is
   recorded in `world.accounting` by Fleet API category and vehicle (5xx counted as unbilled by
   the accounting itself; 401s are not billed: nobody was identified; dropped requests got no
   answer and are not counted);
2. faults (`..faults`, surface "owner_api"): latency, dropped connections, injected 5xx and 429;
3. auth (Bearer token checked by `world.auth`) and rate limits (`.ratelimit`);
4. the handler (`.vehicles`, `.energy`, `.account`, `.admin`, `.scenario_app`): parse, call the model, format.

Billing (docs/reference.md §3): vehicle reads and energy site reads are "data", vehicle and energy site
commands "command", wake_up "wake". Account-level calls (products, orders, service scheduling,
notification confirmations, the 412 of GET api/1/vehicles) reach no device and are not billed:
our choice, so that the counters show what a client costs per car.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Hashable
from typing import TYPE_CHECKING

from aiohttp import web
from aiohttp.typedefs import Middleware

from ..accounting import BillingCategory
from ..faults import DROPPED, Faults, fault_middleware, rate_limited_response
from ..refusal import NotFound, Refusal
from ..sso.tokens import InvalidToken
from . import account, admin, energy, scenario_app, vehicles
from .bodies import ACCOUNT_LOCKED, error_response, unauthorized
from .context import ACCOUNT, OWNER_API, OwnerApi, RouteInfo
from .ratelimit import RateLimits

if TYPE_CHECKING:
    from ..vehicle.car import Car
    from ..world import World

__all__ = ["ROUTES", "create_owner_api_app"]

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

DATA = RouteInfo(BillingCategory.DATA, vehicle=True)
COMMAND = RouteInfo(BillingCategory.COMMAND, vehicle=True)
WAKE = RouteInfo(BillingCategory.WAKE, vehicle=True)
SITE_DATA = RouteInfo(BillingCategory.DATA)
SITE_COMMAND = RouteInfo(BillingCategory.COMMAND)
ACCOUNT_LEVEL = RouteInfo()
OPEN = RouteInfo(auth=False)
ADMIN = RouteInfo(auth=False, faults=False)

_V = "/api/1/vehicles/{id}"
_E = "/api/1/energy_sites/{site_id}"

ROUTES: list[tuple[str, str, Handler, RouteInfo]] = [
    ("GET", "/status", account.status, OPEN),
    ("GET", "/api/1/products", account.products, ACCOUNT_LEVEL),
    ("GET", "/api/1/vehicles", vehicles.vehicles_list, ACCOUNT_LEVEL),
    ("GET", "/api/1/users/orders", account.user_orders, ACCOUNT_LEVEL),
    ("GET", "/api/1/users/service_scheduling_data", account.service_scheduling, ACCOUNT_LEVEL),
    ("POST", "/api/1/notification_confirmations", account.notification_confirmations, ACCOUNT_LEVEL),
    ("GET", _V, vehicles.summary, DATA),
    ("GET", _V + "/vehicle_data", vehicles.vehicle_data, DATA),
    ("POST", _V + "/wake_up", vehicles.wake_up, WAKE),
    ("POST", _V + "/command/{name}", vehicles.command, COMMAND),
    ("GET", _V + "/mobile_enabled", vehicles.mobile_enabled, DATA),
    ("GET", _V + "/nearby_charging_sites", vehicles.nearby_charging_sites, DATA),
    ("GET", _V + "/service_data", vehicles.service_data, DATA),
    ("GET", _V + "/release_notes", vehicles.release_notes, DATA),
    ("POST", _V + "/charge_history", vehicles.charge_history, DATA),
    *(("GET", f"{_E}/{name}", energy.read_handler(name), SITE_DATA) for name in energy.READS),
    *(("POST", f"{_E}/{name}", energy.command_handler(name), SITE_COMMAND) for name in energy.COMMANDS),
    ("GET", "/_twin/accounting", admin.accounting, ADMIN),
    ("GET", "/_twin/world", admin.world_info, ADMIN),
    ("POST", "/_twin/advance", admin.advance, ADMIN),
    ("GET", "/_twin/faults", admin.faults_get, ADMIN),
    ("POST", "/_twin/faults", admin.faults_set, ADMIN),
    *((method, path, handler, ADMIN) for method, path, handler in scenario_app.ROUTES),
]
"""(method, path, handler, how it is guarded and billed); paths relative to the API's base URL."""


def create_owner_api_app(
    world: World,
    *,
    faults: Faults | None = None,
    rate_limits: RateLimits | None = None,
    require_signed_commands: bool = False,
) -> web.Application:
    """The Owner API of `world` (owner-api.teslamotors.com), plus the twin's `/_twin/` admin endpoints.

    `faults` (surface "owner_api") and `rate_limits` default to none; `require_signed_commands`
    makes every car refuse REST commands with 403, whatever its own `signed_commands_required`.
    The `OwnerApi` object (``app[OWNER_API]``) holds these settings and may change them at runtime.
    """
    api = OwnerApi(
        world, faults=faults, rate_limits=rate_limits, require_signed_commands=require_signed_commands
    )
    app = web.Application(
        middlewares=[
            _accounting_middleware(api),
            fault_middleware(api.faults, "owner_api", exempt=lambda request: _exempt(api, request)),
            _guard_middleware(api),
        ]
    )
    app[OWNER_API] = api
    for method, path, handler, info in ROUTES:
        route = app.router.add_route(method, path, handler)
        resource = route.resource
        assert resource is not None
        api.routes[resource.canonical] = info
    return app


def _exempt(api: OwnerApi, request: web.Request) -> bool:
    info = api.route_info(request)
    return info is None or not info.faults


def _accounting_middleware(api: OwnerApi) -> Middleware:
    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        try:
            response = await handler(request)
        except web.HTTPNotFound:
            return NotFound().response()
        except Refusal as exc:  # what the model (or a lookup) refused renders itself
            response = exc.response()
        info = api.route_info(request)
        if info is None or info.category is None or request.get(DROPPED) or response.status == 401:
            return response
        vehicle = None
        if info.vehicle:
            car = _billed_car(api, request)
            vehicle = None if car is None else car.id
        api.world.accounting.record(info.category, response.status, vehicle=vehicle)
        return response

    return middleware


def _billed_car(api: OwnerApi, request: web.Request) -> Car | None:
    id_text = request.match_info.get("id", "")
    owner = request.get(ACCOUNT)
    if owner is not None:
        return api.car(owner, id_text)
    for car in api.world.vehicles:  # not authenticated yet (an injected fault): the path's car
        if car.id_s == id_text:
            return car
    return None


def _guard_middleware(api: OwnerApi) -> Middleware:
    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        info = api.route_info(request)
        if info is None or not info.auth:
            return await handler(request)
        scheme, _, token = request.headers.get("Authorization", "").strip().partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token:
            return unauthorized(None)
        try:
            request[ACCOUNT] = api.world.auth.verify_access_token(token)
        except InvalidToken as exc:
            return unauthorized(exc.reason)
        if request[ACCOUNT].email.lower() in api.locked:
            return error_response(423, ACCOUNT_LOCKED)
        limits = api.limiter.limits
        if limits.enabled:
            keys: list[tuple[Hashable, int | None]] = [
                (("account", request[ACCOUNT].email.lower()), limits.per_account_per_min)
            ]
            if info.vehicle:
                keys.append((("vehicle", request.match_info["id"]), limits.per_vehicle_per_min))
            retry = api.limiter.admit(keys, api.world.now())
            if retry is not None:
                return rate_limited_response(retry)
        return await handler(request)

    return middleware
