"""Vehicle endpoints: `api/1/vehicles/{id}/...`. Parse, call the car, format; the car decides.

Which endpoints reach the car (and so need it online and keep it awake) is the cloud's routing,
kept here in one place:

* summary (`GET vehicles/{id}`) never touches the car: it shows the state the cloud knows;
* `vehicle_data` and commands are the car's own (`Car.vehicle_data`, `Car.command_response`);
* `mobile_enabled` and `nearby_charging_sites` go to the car too (TeslaPy documents both as
  failing when the car is in service or not online), so they answer 405/408 like vehicle_data
  and keep an online car awake;
* `service_data`, `release_notes` and `charge_history` are answered by the cloud from what it
  knows (our choice; no source says they need the car), asleep or not, without waking it.

`vehicle_data` of a car in service is 405 before anything else, as clients logged it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from aiohttp import web

from ..vehicle.commands import COMMANDS
from ..vehicle.errors import (
    CarError,
    CommandSigningRequired,
    MobileAccessDisabled,
    UnknownCommand,
    VehicleInService,
    VehicleUnavailable,
)
from .bodies import (
    BAD_BODY,
    FLEET_ONLY,
    IN_SERVICE,
    MOBILE_ACCESS_DISABLED,
    NOT_FOUND,
    VEHICLE_UNAVAILABLE,
    error_response,
    ok,
    signing_required,
)
from .context import ACCOUNT, OWNER_API, BadBody, read_params

if TYPE_CHECKING:
    from ..vehicle.car import Car

__all__ = [
    "charge_history",
    "command",
    "mobile_enabled",
    "nearby_charging_sites",
    "release_notes",
    "service_data",
    "summary",
    "vehicle_data",
    "vehicles_list",
    "wake_up",
]


def _car(request: web.Request) -> Car | None:
    return request.app[OWNER_API].car(request[ACCOUNT], request.match_info["id"])


def car_error(exc: CarError, car: Car) -> web.Response:
    """The status and body for what the car refused."""
    if isinstance(exc, VehicleUnavailable):
        return error_response(408, VEHICLE_UNAVAILABLE)
    if isinstance(exc, VehicleInService):
        return error_response(405, IN_SERVICE)
    if isinstance(exc, MobileAccessDisabled):
        return error_response(405, MOBILE_ACCESS_DISABLED)
    if isinstance(exc, CommandSigningRequired):
        return signing_required(car.account.region)
    if isinstance(exc, UnknownCommand):
        return error_response(404, NOT_FOUND)
    return error_response(exc.status, str(exc))


def _reach(car: Car, *, check_mobile: bool = True) -> web.Response | None:
    """Refuse like the car's own endpoints do (405 service/mobile access, 408 not online), else touch."""
    if car.in_service:
        return error_response(405, IN_SERVICE)
    if check_mobile and not car.account.mobile_access:
        return error_response(405, MOBILE_ACCESS_DISABLED)
    if not car.touch():
        return error_response(408, VEHICLE_UNAVAILABLE)
    return None


async def vehicles_list(request: web.Request) -> web.StreamResponse:
    """`GET api/1/vehicles`: gone from the Owner API since 2024 (412)."""
    return error_response(412, FLEET_ONLY)


async def summary(request: web.Request) -> web.StreamResponse:
    car = _car(request)
    if car is None:
        return error_response(404, NOT_FOUND)
    return ok(car.summary())


async def vehicle_data(request: web.Request) -> web.StreamResponse:
    car = _car(request)
    if car is None:
        return error_response(404, NOT_FOUND)
    if car.in_service:
        return error_response(405, IN_SERVICE)
    raw = request.query.get("endpoints")
    endpoints = None
    if raw is not None:
        endpoints = [e.strip() for e in raw.replace(",", ";").split(";") if e.strip()] or None
    try:
        return ok(car.vehicle_data(endpoints))
    except CarError as exc:
        return car_error(exc, car)


async def wake_up(request: web.Request) -> web.StreamResponse:
    """Answers at once with the summary (state "asleep" while the car boots for 10-30 s)."""
    car = _car(request)
    if car is None:
        return error_response(404, NOT_FOUND)
    car.wake_up()
    return ok(car.summary())


async def command(request: web.Request) -> web.StreamResponse:
    car = _car(request)
    if car is None:
        return error_response(404, NOT_FOUND)
    name = request.match_info["name"]
    try:
        params = await read_params(request)
    except BadBody:
        return error_response(400, BAD_BODY)
    if request.app[OWNER_API].require_signed_commands:
        # The world-level mode refuses in the car's own order: unknown, in service, then signing.
        if name not in COMMANDS:
            return error_response(404, NOT_FOUND)
        if car.in_service:
            return error_response(405, IN_SERVICE)
        return signing_required(car.account.region)
    try:
        return ok(car.command_response(name, params))
    except CarError as exc:
        return car_error(exc, car)


async def mobile_enabled(request: web.Request) -> web.StreamResponse:
    """Whether the owner allows mobile access; asks the car (online only)."""
    car = _car(request)
    if car is None:
        return error_response(404, NOT_FOUND)
    refused = _reach(car, check_mobile=False)
    return refused if refused is not None else ok(car.mobile_enabled())


async def nearby_charging_sites(request: web.Request) -> web.StreamResponse:
    car = _car(request)
    if car is None:
        return error_response(404, NOT_FOUND)
    refused = _reach(car)
    return refused if refused is not None else ok(car.nearby_charging_sites())


async def service_data(request: web.Request) -> web.StreamResponse:
    car = _car(request)
    return error_response(404, NOT_FOUND) if car is None else ok(car.service_data())


async def release_notes(request: web.Request) -> web.StreamResponse:
    car = _car(request)
    return error_response(404, NOT_FOUND) if car is None else ok(car.release_notes())


async def charge_history(request: web.Request) -> web.StreamResponse:
    car = _car(request)
    return error_response(404, NOT_FOUND) if car is None else ok(car.charge_history())
