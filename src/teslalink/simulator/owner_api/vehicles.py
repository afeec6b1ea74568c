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

`vehicle_data` of a car in service is 405 before anything else, as clients logged it. What the
car refuses (and a car the account does not own: `NotFound`) is a `Refusal` that the app's
outermost layer answers; no handler maps errors to statuses.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from aiohttp import web

from ..refusal import NotFound
from .bodies import FLEET_ONLY, error_response, ok
from .context import ACCOUNT, OWNER_API, read_params

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


def _car(request: web.Request) -> Car:
    """The path's car if the request's account owns it; NotFound (404) otherwise."""
    car = request.app[OWNER_API].car(request[ACCOUNT], request.match_info["id"])
    if car is None:
        raise NotFound
    return car


async def vehicles_list(request: web.Request) -> web.StreamResponse:
    """`GET api/1/vehicles`: gone from the Owner API since 2024 (412)."""
    return error_response(412, FLEET_ONLY)


async def summary(request: web.Request) -> web.StreamResponse:
    return ok(_car(request).summary())


async def vehicle_data(request: web.Request) -> web.StreamResponse:
    car = _car(request)
    raw = request.query.get("endpoints")
    endpoints = None
    if raw is not None:
        endpoints = [e.strip() for e in raw.replace(",", ";").split(";") if e.strip()] or None
    return ok(car.vehicle_data(endpoints))


async def wake_up(request: web.Request) -> web.StreamResponse:
    """Answers at once with the summary (state "asleep" while the car boots for 10-30 s)."""
    car = _car(request)
    car.wake_up()
    return ok(car.summary())


async def command(request: web.Request) -> web.StreamResponse:
    car = _car(request)
    params = await read_params(request)
    require_signed = request.app[OWNER_API].require_signed_commands
    return ok(car.command_response(request.match_info["name"], params, require_signed=require_signed))


async def mobile_enabled(request: web.Request) -> web.StreamResponse:
    """Whether the owner allows mobile access; asks the car (online only)."""
    car = _car(request)
    car.reach(mobile_access=False)
    return ok(car.mobile_enabled())


async def nearby_charging_sites(request: web.Request) -> web.StreamResponse:
    car = _car(request)
    car.reach()
    return ok(car.nearby_charging_sites())


async def service_data(request: web.Request) -> web.StreamResponse:
    return ok(_car(request).service_data())


async def release_notes(request: web.Request) -> web.StreamResponse:
    return ok(_car(request).release_notes())


async def charge_history(request: web.Request) -> web.StreamResponse:
    return ok(_car(request).charge_history())
