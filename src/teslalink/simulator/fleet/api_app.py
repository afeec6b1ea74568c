"""One regional Fleet API host (fleet-api.prd.{na,eu,cn}...) as an aiohttp app.

Layers, outermost first:

1. answers and billing: a `Refusal` raised below renders itself (a car's 408 with the Fleet
   API's own text, fleet.md §1.7); every answer of a billed route is counted in
   `world.accounting` by category and car (5xx unbilled by the accounting; 401 not billed:
   nobody was identified; a dropped connection got no answer and is not billed); every answer
   carries an `x-txid`;
2. the guard: a Bearer token of fleet-auth (401 without a body otherwise, as seen); a partner
   token for partner routes, a user token for the others (403, our wording); for user tokens the
   region (421 when the account lives elsewhere), the app's registration in this region (412),
   then the route's scopes (403 ``Unauthorized missing scopes``, the missing ones in
   ``error_description``);
3. the faults a scenario set on this host (.faults: 429 storms, 503 flakes, 5xx, drops, replies
   lost after the car acted);
4. the handler: look up, call the car / site model, format with the Owner API twin's bodies.

The scenario controls (`/_twin/fleet/...`, .scenario_app) are served beside the API, unguarded,
unfaulted and unbilled.

Billing (fleet.md §1.9): vehicle_data "data", commands "command", wake_up "wake", energy reads
"data" and energy commands "command". Lists, `vehicles/{tag}`, `fleet_status`, users and
partner endpoints reach no device and are not billed (our choice; fleet.md §9 lists it open).

Scopes (our reading of the endpoint docs): vehicle reads and wake_up `vehicle_device_data`;
location also `vehicle_location`; commands `vehicle_cmds`, charging commands `vehicle_cmds` or
`vehicle_charging_cmds`; energy `energy_device_data` / `energy_cmds`; products, vehicles lists
and users/region need only a user token (our choice), users/me `user_data`.
"""

from __future__ import annotations

import base64
import binascii
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final, Literal

from aiohttp import web
from aiohttp.typedefs import Middleware

from ..accounting import BillingCategory
from ..faults import DROPPED
from ..owner_api import energy
from ..owner_api.bodies import json_response, ok
from ..owner_api.context import ACCOUNT, OWNER_API, OwnerApi, read_params
from ..refusal import NotFound, Refusal
from ..vehicle.errors import VehicleUnavailable
from ..vehicle.spec import year_code
from .faults import fleet_fault_middleware
from .regions import FLEET_BASE_URLS, FleetRegion
from .registration import NotRegistered, register
from .scenario import listed_keys
from .scenario_app import add_fleet_controls
from .state import FleetState, authority_of, fleet_state
from .tokens import FleetToken, InvalidFleetToken

if TYPE_CHECKING:
    from ..vehicle.car import Car
    from ..world import World

__all__ = [
    "FLEET_HOST",
    "FLEET_UNAVAILABLE",
    "ROUTES",
    "SIGNING_DOCS",
    "FleetHost",
    "command_signing",
    "create_fleet_api_app",
]

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
FLEET_UNAVAILABLE: Final = "vehicle unavailable: vehicle is offline or asleep"
MISSING_SCOPES: Final = "Unauthorized missing scopes"
OUT_OF_REGION_DOCS: Final = "https://developer.tesla.com/docs/fleet-api#regional-requirements"
SIGNING_DOCS: Final = "https://developer.tesla.com/docs/fleet-api/announcements"
PAGE_SIZE: Final = 100
BASE_KEYS: Final = 2
"""Keys every car has besides the paired ones (our choice: the owner's phone key and a key card)."""
CHARGING_COMMANDS: Final = frozenset(
    {
        "charge_start",
        "charge_stop",
        "charge_max_range",
        "charge_standard",
        "set_charge_limit",
        "set_charging_amps",
        "charge_port_door_open",
        "charge_port_door_close",
        "set_scheduled_charging",
        "add_charge_schedule",
        "remove_charge_schedule",
    }
)


@dataclass(frozen=True, slots=True)
class FleetRoute:
    """How a route is guarded and billed: token kind, scopes (any one of), category."""

    kind: Literal["user", "partner"] = "user"
    scopes: frozenset[str] = frozenset()
    category: BillingCategory | None = None
    vehicle: bool = False
    command: bool = False
    """A REST command: its scopes depend on the command's name (`command_scopes`)."""


@dataclass(eq=False)
class FleetHost:
    """What one regional host's handlers share."""

    world: World
    state: FleetState
    region: FleetRegion

    def car(self, token: FleetToken, tag: str) -> Car:
        """The account's car whose VIN or id is `tag`; NotFound otherwise."""
        for car in self.world.vehicles:
            if car.account is token.account and tag in (car.vin, car.id_s):
                return car
        raise NotFound


FLEET_HOST: Final = web.AppKey("teslalink_fleet_host", FleetHost)
TOKEN: Final = web.RequestKey("teslalink_fleet_token", FleetToken)


def _model_year(vin: str) -> int | None:
    for year in range(2010, 2040):
        if year_code(year) == vin[9:10]:
            return year
    return None


def command_signing(car: Car) -> Literal["off", "allowed", "required"]:
    """`command_signing` of the products entry: "off" only on pre-2021 Model S/X (fleet.md §2.11).

    Our choice: every other car is "required" (the 2024 state of Tesla's fleet); a car whose
    `signed_commands_required` is set is "required" whatever its model year.
    """
    year = _model_year(car.vin)
    if (
        car.spec.letter in ("S", "X")
        and year is not None
        and year < 2021
        and not car.signed_commands_required
    ):
        return "off"
    return "required"


def command_scopes(name: str) -> frozenset[str]:
    """The scopes (any one of) a REST command needs: charging commands also take vehicle_charging_cmds."""
    if name in CHARGING_COMMANDS:
        return frozenset({"vehicle_cmds", "vehicle_charging_cmds"})
    return frozenset({"vehicle_cmds"})


def fleet_summary(car: Car) -> dict[str, Any]:
    """The Owner API twin's vehicle object plus the Fleet API's `command_signing` and cached_data."""
    # our choice: cached_data (a base64 protobuf on Tesla's side, dropped by clients) is empty
    return {**car.summary(), "cached_data": "", "command_signing": command_signing(car)}


# --- handlers -----------------------------------------------------------------------------------


def _host(request: web.Request) -> FleetHost:
    return request.app[FLEET_HOST]


async def users_region(request: web.Request) -> web.StreamResponse:
    region = _host(request).region
    return ok({"region": region, "fleet_api_base_url": FLEET_BASE_URLS[region]})


async def users_me(request: web.Request) -> web.StreamResponse:
    account = request[TOKEN].account
    assert account is not None
    return ok({"email": account.email, "full_name": account.full_name, "profile_image_url": None})


async def products(request: web.Request) -> web.StreamResponse:
    host, account = _host(request), request[TOKEN].account
    assert account is not None
    listing = [fleet_summary(car) for car in host.world.vehicles_of(account)]
    listing += [site.product() for site in host.world.sites_of(account)]
    return ok(listing, count=len(listing))


async def vehicles_list(request: web.Request) -> web.StreamResponse:
    host, account = _host(request), request[TOKEN].account
    assert account is not None
    cars = host.world.vehicles_of(account)
    page, per_page = _positive(request, "page", 1), _positive(request, "per_page", PAGE_SIZE)
    pages = max(1, -(-len(cars) // per_page))
    chosen = cars[(page - 1) * per_page : page * per_page]
    pagination = {
        "previous": page - 1 if page > 1 else None,
        "next": page + 1 if page < pages else None,
        "current": page,
        "per_page": per_page,
        "count": len(cars),
        "pages": pages,
    }
    return ok([fleet_summary(car) for car in chosen], pagination=pagination, count=len(cars))


async def vehicle(request: web.Request) -> web.StreamResponse:
    return ok(fleet_summary(_host(request).car(request[TOKEN], request.match_info["tag"])))


async def vehicle_data(request: web.Request) -> web.StreamResponse:
    token = request[TOKEN]
    car = _host(request).car(token, request.match_info["tag"])
    raw = request.query.get("endpoints")
    endpoints = [e.strip() for e in raw.split(";") if e.strip()] if raw is not None else None
    if endpoints is not None and "location_data" in endpoints and "vehicle_location" not in token.scopes:
        raise _MissingScopes(["vehicle_location"])
    body = car.vehicle_data(endpoints or None)
    return ok({**body, "command_signing": command_signing(car)})


async def wake_up(request: web.Request) -> web.StreamResponse:
    car = _host(request).car(request[TOKEN], request.match_info["tag"])
    car.wake_up()
    return ok(fleet_summary(car))


async def command(request: web.Request) -> web.StreamResponse:
    """A REST command: 403 (the Vehicle Command Protocol text) unless `command_signing` is off."""
    car = _host(request).car(request[TOKEN], request.match_info["tag"])
    params = await read_params(request)
    name = request.match_info["name"]
    required = command_signing(car) != "off"
    return ok(car.command_response(name, params, require_signed=required))


class _NoSignedCommands(Refusal):
    """422 for `signed_command` on a car that takes REST commands (pre-2021 S/X): use REST."""

    status = 422
    # Our choice of words: research/fleet.md 2.10 knows the status, not the body's text.
    default_error = "vehicle does not support signed commands; send the REST command instead"


class _BadRoutableMessage(Refusal):
    status = 400
    default_error = "routable_message must be a base64 RoutableMessage"  # our wording


class _AesGcmRefused(Refusal):
    # Unverified (research/fleet.md 7.10): the Fleet API refuses AES-GCM-signed commands, with a
    # status and body no source shows; our choice: 400.
    status = 400
    default_error = "AES-GCM signed commands are for BLE; sign with HMAC over the Fleet API"


async def signed_command(request: web.Request) -> web.StreamResponse:
    """`{"routable_message": b64}` -> the car's answer, `{"response": b64}` (research/fleet.md 2.10).

    200 means the car answered, not that the command succeeded. Before the car: 422 on a car
    that takes REST commands, 400 on a body that is not a RoutableMessage or signs with AES-GCM,
    403 when the token lacks the scope the (plaintext) action needs, 408 when the car is asleep
    or offline (never woken). The car's own faults come back inside the 200.
    """
    from .car_security import inspect_request, security_of  # noqa: PLC0415 - the fleet extra

    host, token = _host(request), request[TOKEN]
    car = host.car(token, request.match_info["tag"])
    if command_signing(car) == "off":
        raise _NoSignedCommands()
    body = await read_params(request)
    encoded = body.get("routable_message")
    try:
        if not isinstance(encoded, str):
            raise ValueError(encoded)
        message = base64.b64decode(encoded, validate=True)
    except (ValueError, binascii.Error):
        raise _BadRoutableMessage() from None
    view = inspect_request(message)
    if view is None:
        raise _BadRoutableMessage()
    if view.aes_gcm:
        raise _AesGcmRefused()
    if not view.accepted_scopes & token.scopes:
        raise _MissingScopes(sorted(view.accepted_scopes))
    security = security_of(car)
    if not security.reachable():
        raise VehicleUnavailable(FLEET_UNAVAILABLE)
    return ok(base64.b64encode(security.handle(message)).decode("ascii"))


async def fleet_status(request: web.Request) -> web.StreamResponse:
    host, token = _host(request), request[TOKEN]
    body = await read_params(request)
    vins = body.get("vins")
    if not isinstance(vins, list) or not all(isinstance(v, str) for v in vins):
        raise Refusal("invalid_field", 400, detail="vins must be a list of VINs")
    registration = host.state.registration(host.region, token.client_id)
    own_key = None if registration is None else registration.public_key
    assert token.account is not None
    cars = {car.vin: car for car in host.world.vehicles_of(token.account)}
    paired: list[str] = []
    unpaired: list[str] = []
    info: dict[str, Any] = {}
    for vin in dict.fromkeys(vins):
        car = cars.get(vin)
        if car is None:
            continue  # our choice: a VIN the account does not own is left out
        keys = listed_keys(host.world, vin)  # the pairing lag, .scenario
        (paired if own_key in keys else unpaired).append(vin)
        entry: dict[str, Any] = {
            "firmware_version": car.car_version.split()[0],
            "vehicle_command_protocol_required": command_signing(car) == "required",
            "fleet_telemetry_version": "1.0.0",
            "total_number_of_keys": BASE_KEYS + len(keys),
        }
        if len(vins) == 1:
            entry["discounted_device_data"] = False
        info[vin] = entry
    return ok({"key_paired_vins": paired, "unpaired_vins": unpaired, "vehicle_info": info})


async def partner_register(request: web.Request) -> web.StreamResponse:
    host, token = _host(request), request[TOKEN]
    body = await read_params(request)
    registration = register(host.state, host.region, token.client_id, body.get("domain"))
    app = host.state.apps[token.client_id]
    return ok(
        {
            "client_id": registration.client_id,
            "name": app.name,
            "domain": registration.domain,
            "public_key": registration.public_key.hex(),
        }
    )


async def partner_public_key(request: web.Request) -> web.StreamResponse:
    host = _host(request)
    domain = request.query.get("domain", "").strip().lower()
    for registration in host.state.registrations[host.region].values():
        if registration.domain == domain:
            return ok({"public_key": registration.public_key.hex()})
    raise NotFound


def _energy(handler: Handler) -> Handler:
    """An Owner API energy handler, fed the account the way its own guard would."""

    async def wrapped(request: web.Request) -> web.StreamResponse:
        account = request[TOKEN].account
        assert account is not None
        request[ACCOUNT] = account
        return await handler(request)

    return wrapped


def _positive(request: web.Request, name: str, default: int) -> int:
    text = request.query.get(name, "")
    if not text:
        return default
    if not (text.isascii() and text.isdigit() and 0 < int(text) <= 10_000):
        raise Refusal("invalid_field", 400, detail=f"{name} must be a positive integer")
    return int(text)


class _MissingScopes(Refusal):
    status = 403
    default_error = MISSING_SCOPES

    def __init__(self, missing: list[str]) -> None:
        super().__init__()
        self.missing = missing

    def body(self) -> dict[str, Any]:
        return {"response": None, "error": self.error, "error_description": " ".join(self.missing)}


class _OutOfRegion(Refusal):
    status = 421

    def __init__(self, home: FleetRegion) -> None:
        super().__init__(
            f"user out of region, use base URL: {FLEET_BASE_URLS[home]}, see {OUT_OF_REGION_DOCS}"
        )
        self.headers = {"Alt-Svc": f"h2={FLEET_BASE_URLS[home]}"}


# --- the route table ----------------------------------------------------------------------------

_DEVICE = frozenset({"vehicle_device_data"})
_V = "/api/1/vehicles/{tag}"
_E = "/api/1/energy_sites/{site_id}"
USER = FleetRoute()
PARTNER = FleetRoute(kind="partner")

ROUTES: list[tuple[str, str, Handler, FleetRoute]] = [
    ("GET", "/api/1/users/region", users_region, USER),
    ("GET", "/api/1/users/me", users_me, FleetRoute(scopes=frozenset({"user_data"}))),
    ("GET", "/api/1/products", products, USER),
    ("GET", "/api/1/vehicles", vehicles_list, USER),
    ("POST", "/api/1/vehicles/fleet_status", fleet_status, FleetRoute(scopes=_DEVICE)),
    ("GET", _V, vehicle, USER),
    (
        "GET",
        _V + "/vehicle_data",
        vehicle_data,
        FleetRoute(scopes=_DEVICE, category=BillingCategory.DATA, vehicle=True),
    ),
    (
        "POST",
        _V + "/wake_up",
        wake_up,
        FleetRoute(scopes=_DEVICE, category=BillingCategory.WAKE, vehicle=True),
    ),
    (
        "POST",
        _V + "/command/{name}",
        command,
        FleetRoute(category=BillingCategory.COMMAND, vehicle=True, command=True),
    ),
    # Handshakes are billed as commands too (research/fleet.md 1.9); the scope depends on the
    # action inside, so the handler checks it.
    (
        "POST",
        _V + "/signed_command",
        signed_command,
        FleetRoute(category=BillingCategory.COMMAND, vehicle=True),
    ),
    *(
        (
            "GET",
            f"{_E}/{name}",
            _energy(energy.read_handler(name)),
            FleetRoute(scopes=frozenset({"energy_device_data"}), category=BillingCategory.DATA),
        )
        for name in energy.READS
    ),
    *(
        (
            "POST",
            f"{_E}/{name}",
            _energy(energy.command_handler(name)),
            FleetRoute(scopes=frozenset({"energy_cmds"}), category=BillingCategory.COMMAND),
        )
        for name in energy.COMMANDS
    ),
    ("POST", "/api/1/partner_accounts", partner_register, PARTNER),
    ("GET", "/api/1/partner_accounts/public_key", partner_public_key, PARTNER),
]
"""(method, path, handler, guard and billing); the commands' scopes depend on the command name."""

ROUTE_INFO: Final = web.AppKey("teslalink_fleet_routes", dict)


def create_fleet_api_app(world: World, region: FleetRegion) -> web.Application:
    """The Fleet API host of `region` for `world`."""
    host = FleetHost(world, fleet_state(world), region)
    app = web.Application(
        middlewares=[
            _answer_middleware(host),
            _guard_middleware(host),
            fleet_fault_middleware(world, region),
        ]
    )
    app[FLEET_HOST] = host
    add_fleet_controls(app, world, region)
    app[OWNER_API] = OwnerApi(world)  # the energy handlers' lookups
    routes: dict[str, FleetRoute] = {}
    for method, path, handler, info in ROUTES:
        resource = app.router.add_route(method, path, handler).resource
        assert resource is not None
        routes[f"{method} {resource.canonical}"] = info
    app[ROUTE_INFO] = routes
    return app


def _route(request: web.Request) -> FleetRoute | None:
    resource = request.match_info.route.resource
    if resource is None:
        return None
    info: FleetRoute | None = request.app[ROUTE_INFO].get(f"{request.method} {resource.canonical}")
    return info


def _answer_middleware(host: FleetHost) -> Middleware:
    rng = random.Random(f"teslalink:fleet:txid:{host.world.seed}:{host.region}")

    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        try:
            response = await handler(request)
        except web.HTTPNotFound:
            response = NotFound().response()
        except VehicleUnavailable:
            response = VehicleUnavailable(FLEET_UNAVAILABLE).response()
        except Refusal as exc:
            response = exc.response()
        response.headers["x-txid"] = f"{rng.getrandbits(128):032x}"
        info = _route(request)
        billed = not request.get(DROPPED) and response.status != 401 and TOKEN in request
        if info is not None and info.category is not None and billed:
            vehicle = None
            if info.vehicle:
                try:
                    vehicle = host.car(request[TOKEN], request.match_info["tag"]).id
                except NotFound:
                    vehicle = None
            host.world.accounting.record(info.category, response.status, vehicle=vehicle)
        return response

    return middleware


def _guard_middleware(host: FleetHost) -> Middleware:
    authority = authority_of(host.world)

    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        info = _route(request)
        if info is None:
            return await handler(request)
        scheme, _, token_text = request.headers.get("Authorization", "").strip().partition(" ")
        if scheme.lower() != "bearer" or not token_text.strip():
            return web.Response(status=401)
        try:
            token = authority.verify(token_text.strip())
        except InvalidFleetToken:
            return web.Response(status=401)
        request[TOKEN] = token
        if token.kind != info.kind:
            return json_response(
                {
                    "response": None,
                    "error": f"this endpoint needs a {info.kind} token",
                    "error_description": "",
                },
                403,
            )
        if token.kind == "user":
            _check_user(host, token, request, info)
        return await handler(request)

    return middleware


def _check_user(host: FleetHost, token: FleetToken, request: web.Request, info: FleetRoute) -> None:
    """421 (another region's account), 412 (app not registered here), 403 (missing scopes)."""
    assert token.account is not None
    home = host.state.home_region(token.account)
    if home != host.region:
        raise _OutOfRegion(home)
    if host.state.registration(host.region, token.client_id) is None:
        raise NotRegistered(token.client_id, host.region)
    needed = command_scopes(request.match_info["name"]) if info.command else info.scopes
    if needed and not needed & token.scopes:
        raise _MissingScopes(sorted(needed))
