"""The scenario controls over HTTP, under the Owner API's `/_twin/` (loopback only, never faulted).

Each handler parses the path and the JSON body, calls one function of ..scenario (where the rules
and the checks are) and writes its dict as JSON. A body must be a JSON object (or empty) and may
only hold the fields the endpoint names: a typo is a 400, never silently ignored. Refusals come
from `ScenarioError`: 400 bad input, 404 unknown device, 409 not possible now; each with
`{"error": reason}`. `GET /_twin/` lists every admin endpoint with its one-line description.

The table of endpoints is `ROUTES`; the README shows it with a curl example.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import TYPE_CHECKING, Any, Final, TypeVar

from aiohttp import web

from .. import scenario
from .admin import read_object, refuse_remote
from .bodies import json_response
from .context import OWNER_API

if TYPE_CHECKING:
    from ..world import World

__all__ = ["ROUTES", "scenario_endpoint"]

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
Action = Callable[["World", Mapping[str, str], dict[str, Any]], dict[str, Any]]

_MISSING: Final = object()


C = TypeVar("C")


def scenario_endpoint(
    context: Callable[[web.Request], C], *fields: str
) -> Callable[[Callable[[C, Mapping[str, str], dict[str, Any]], dict[str, Any]]], Handler]:
    """Wrap an action (context, path parts, body) -> dict into a loopback-only JSON handler.

    `context` picks what the action works on from the request (the Owner API's world, a Fleet
    host); `fields` are the body's allowed keys. Shared by every twin's `/_twin/` controls.
    """

    def wrap(action: Callable[[C, Mapping[str, str], dict[str, Any]], dict[str, Any]]) -> Handler:
        async def handler(request: web.Request) -> web.StreamResponse:
            if (refused := refuse_remote(request)) is not None:
                return refused
            body = await read_object(request)
            try:
                if body is None:
                    raise scenario.ScenarioError("the body must be a JSON object")
                unknown = sorted(set(body) - set(fields))
                if unknown:
                    expected = ", ".join(fields) if fields else "no fields"
                    raise scenario.ScenarioError(f"unknown field {', '.join(unknown)}; expected {expected}")
                return json_response(action(context(request), request.match_info, body))
            except scenario.ScenarioError as exc:
                return exc.response()

        handler.__doc__ = action.__doc__
        return handler

    return wrap


def _endpoint(*fields: str) -> Callable[[Action], Handler]:
    """An Owner API control: the action gets the world."""
    return scenario_endpoint(lambda request: request.app[OWNER_API].world, *fields)


def _required(body: dict[str, Any], name: str) -> Any:
    value = body.get(name, _MISSING)
    if value is _MISSING:
        raise scenario.ScenarioError(f"missing field {name}")
    return value


# --- the index and the truth ------------------------------------------------------------------------


async def index(request: web.Request) -> web.StreamResponse:
    """Every admin endpoint: method, path, what it does."""
    if (refused := refuse_remote(request)) is not None:
        return refused
    endpoints = []
    for route in request.app.router.routes():
        path = route.resource.canonical if route.resource is not None else ""
        if path.startswith("/_twin/") and route.method != "HEAD":
            doc = (route.handler.__doc__ or "").strip().splitlines()
            endpoints.append({"method": route.method, "path": path, "doc": doc[0] if doc else ""})
    return json_response({"endpoints": endpoints})


@_endpoint()
def truth(world: World, path: Mapping[str, str], body: dict[str, Any]) -> dict[str, Any]:
    """The clock and every device's true state."""
    return scenario.world_truth(world)


@_endpoint()
def vehicle(world: World, path: Mapping[str, str], body: dict[str, Any]) -> dict[str, Any]:
    """A car's true state: state, battery, charging, position, motion, wakes."""
    return scenario.vehicle_truth(world, path["vehicle"])


@_endpoint()
def wall_connector(world: World, path: Mapping[str, str], body: dict[str, Any]) -> dict[str, Any]:
    """A Wall Connector's true state: evse state, current, power, session and lifetime energy."""
    return scenario.unit_truth(world, path["serial"])


@_endpoint()
def energy_site(world: World, path: Mapping[str, str], body: dict[str, Any]) -> dict[str, Any]:
    """An energy site's true power flows, battery, grid and weather."""
    return scenario.site_truth(world, path["site"])


# --- cars ---------------------------------------------------------------------------------------------


@_endpoint("wall_connector")
def plug_in(world: World, path: Mapping[str, str], body: dict[str, Any]) -> dict[str, Any]:
    """Plug the car in: {"wall_connector": serial}, by default its account's first one."""
    return scenario.plug_in(world, path["vehicle"], body.get("wall_connector"))


@_endpoint()
def unplug(world: World, path: Mapping[str, str], body: dict[str, Any]) -> dict[str, Any]:
    """Pull the car's cable."""
    return scenario.unplug(world, path["vehicle"])


@_endpoint("route", "to", "speed_kph")
def drive(world: World, path: Mapping[str, str], body: dict[str, Any]) -> dict[str, Any]:
    """Start a drive: {"route": name} or {"to": [lat, lon]}, optional "speed_kph" (60)."""
    speed = body.get("speed_kph", 60.0)
    return scenario.drive(world, path["vehicle"], route=body.get("route"), to=body.get("to"), speed_kph=speed)


@_endpoint()
def park(world: World, path: Mapping[str, str], body: dict[str, Any]) -> dict[str, Any]:
    """End the drive where the car is."""
    return scenario.park(world, path["vehicle"])


@_endpoint()
def sleep(world: World, path: Mapping[str, str], body: dict[str, Any]) -> dict[str, Any]:
    """Put the car to sleep now (409 while something keeps it awake)."""
    return scenario.fall_asleep(world, path["vehicle"])


@_endpoint("outside_temp_c")
def vehicle_weather(world: World, path: Mapping[str, str], body: dict[str, Any]) -> dict[str, Any]:
    """Set the temperature outside the car: {"outside_temp_c": C or null (the daily curve)}."""
    return scenario.set_outside_temp(world, path["vehicle"], _required(body, "outside_temp_c"))


@_endpoint()
def vehicle_offline(world: World, path: Mapping[str, str], body: dict[str, Any]) -> dict[str, Any]:
    """Take the car offline (no connectivity)."""
    return scenario.go_offline(world, path["vehicle"])


@_endpoint()
def vehicle_online(world: World, path: Mapping[str, str], body: dict[str, Any]) -> dict[str, Any]:
    """Bring the car's connectivity back."""
    return scenario.come_online(world, path["vehicle"])


# --- energy sites ---------------------------------------------------------------------------------------


@_endpoint("cloud_cover", "storm")
def weather(world: World, path: Mapping[str, str], body: dict[str, Any]) -> dict[str, Any]:
    """Set the weather: {"cloud_cover": 0..1 or null, "storm": true/false or null}."""
    if not body:
        raise scenario.ScenarioError("give cloud_cover, storm or both (null: back to the seeded weather)")
    site = path["site"]
    answer = scenario.site_truth(world, site)  # a 404 before anything changes
    if "cloud_cover" in body:
        answer = scenario.set_cloud_cover(world, site, body["cloud_cover"])
    if "storm" in body:
        answer = scenario.set_storm_watch(world, site, body["storm"])
    return answer


@_endpoint("watts")
def house_load(world: World, path: Mapping[str, str], body: dict[str, Any]) -> dict[str, Any]:
    """Set the house load: {"watts": W or null (the household's habits)}."""
    return scenario.set_house_load(world, path["site"], _required(body, "watts"))


@_endpoint("up")
def grid(world: World, path: Mapping[str, str], body: dict[str, Any]) -> dict[str, Any]:
    """The grid goes down or comes back: {"up": true/false}."""
    return scenario.set_grid(world, path["site"], _required(body, "up"))


# --- Wall Connectors --------------------------------------------------------------------------------------


@_endpoint("spec")
def quirks(world: World, path: Mapping[str, str], body: dict[str, Any]) -> dict[str, Any]:
    """Replace the unit's quirks: {"spec": "nan,drops=0.1"} ("" for none)."""
    return scenario.set_quirks(world, path["serial"], _required(body, "spec"))


@_endpoint()
def unit_offline(world: World, path: Mapping[str, str], body: dict[str, Any]) -> dict[str, Any]:
    """Take the unit off the network (its port refuses)."""
    return scenario.set_unit_online(world, path["serial"], False)


@_endpoint()
def unit_online(world: World, path: Mapping[str, str], body: dict[str, Any]) -> dict[str, Any]:
    """Bring the unit back on the network."""
    return scenario.set_unit_online(world, path["serial"], True)


@_endpoint()
def unit_alerts(world: World, path: Mapping[str, str], body: dict[str, Any]) -> dict[str, Any]:
    """Replace the unit's current alerts: {"alerts": ["..."]} ([] clears them)."""
    return scenario.set_unit_alerts(world, path["serial"], _required(body, "alerts"))


# --- circuits --------------------------------------------------------------------------------------------


@_endpoint("name", "limit_a", "curve", "serials")
def add_circuit(world: World, path: Mapping[str, str], body: dict[str, Any]) -> dict[str, Any]:
    """Put Wall Connectors on a circuit: {"name", "limit_a": A, "curve": "B"|"C" (C), "serials": [...]}."""
    return scenario.add_circuit(
        world,
        _required(body, "name"),
        _required(body, "limit_a"),
        body.get("curve", "C"),
        _required(body, "serials"),
    )


@_endpoint()
def circuit(world: World, path: Mapping[str, str], body: dict[str, Any]) -> dict[str, Any]:
    """A circuit's truth: limit, current per phase, breaker, overload seconds, trips."""
    return scenario.circuit_truth(world, path["circuit"])


@_endpoint("amps")
def circuit_load(world: World, path: Mapping[str, str], body: dict[str, Any]) -> dict[str, Any]:
    """Set the other loads on the circuit: {"amps": A on each phase}."""
    return scenario.set_circuit_load(world, path["circuit"], _required(body, "amps"))


@_endpoint()
def circuit_reset(world: World, path: Mapping[str, str], body: dict[str, Any]) -> dict[str, Any]:
    """Reset the circuit's tripped breaker (409 if it has not tripped)."""
    return scenario.reset_breaker(world, path["circuit"])


_V = "/_twin/vehicles/{vehicle}"
_S = "/_twin/energy_sites/{site}"
_W = "/_twin/wall_connectors/{serial}"
_C = "/_twin/circuits/{circuit}"

ROUTES: list[tuple[str, str, Handler]] = [
    ("GET", "/_twin/", index),
    ("GET", "/_twin/truth", truth),
    ("GET", _V, vehicle),
    ("POST", _V + "/plug_in", plug_in),
    ("POST", _V + "/unplug", unplug),
    ("POST", _V + "/drive", drive),
    ("POST", _V + "/park", park),
    ("POST", _V + "/sleep", sleep),
    ("POST", _V + "/weather", vehicle_weather),
    ("POST", _V + "/offline", vehicle_offline),
    ("POST", _V + "/online", vehicle_online),
    ("GET", _S, energy_site),
    ("POST", _S + "/weather", weather),
    ("POST", _S + "/house_load", house_load),
    ("POST", _S + "/grid", grid),
    ("GET", _W, wall_connector),
    ("POST", _W + "/quirks", quirks),
    ("POST", _W + "/offline", unit_offline),
    ("POST", _W + "/online", unit_online),
    ("POST", _W + "/alerts", unit_alerts),
    ("POST", "/_twin/circuits", add_circuit),
    ("GET", _C, circuit),
    ("POST", _C + "/house_load", circuit_load),
    ("POST", _C + "/reset", circuit_reset),
]
"""(method, path, handler): the scenario endpoints, relative to the Owner API's base URL."""
