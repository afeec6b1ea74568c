"""The Fleet twin's scenario controls over HTTP, under ``/_twin/fleet/`` on every Fleet host.

Served by fleet-auth and the three regional hosts alike (loopback only, never faulted, never
billed), in the manner of the Owner API twin's .owner_api.scenario_app: a body is a JSON object
(or empty) holding only the fields the endpoint names (a typo is a 400), each handler calls one
function of .faults or .scenario and answers its dict; refusals are `ScenarioError`'s
``{"error": reason}`` with 400, 404 or 409.

    GET  _twin/fleet/faults                          the live faults and the strikes per region.kind
    POST _twin/fleet/faults                          {kind, region, requests, seconds, route, vin,
                                                     status, retry_after, limit}: set one (.faults)
    POST _twin/fleet/faults/clear                    {region} (default: every region)
    POST _twin/fleet/pairing_lag                     {seconds}
    GET  _twin/fleet/vehicles/{car}                  the car's epochs, clocks, keys, boots
    POST _twin/fleet/vehicles/{car}/reboot           new epochs in both domains
    POST _twin/fleet/vehicles/{car}/clock_skew       {seconds}
    POST _twin/fleet/vehicles/{car}/unpair           {public_key}
    POST _twin/fleet/vehicles/{car}/key_active       {public_key, active}
    POST _twin/fleet/vehicles/{car}/sleep|offline|online

`region` of a new fault defaults to the host asked (our choice); on fleet-auth it must be given.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final

from aiohttp import web

from .. import scenario
from ..owner_api.scenario_app import scenario_endpoint
from . import faults
from . import scenario as knobs

if TYPE_CHECKING:
    from ..world import World
    from .regions import FleetRegion

__all__ = ["ROUTES", "add_fleet_controls"]

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@dataclass(frozen=True)
class _Host:
    world: World
    region: FleetRegion | None
    """The regional host's region; None on fleet-auth."""


Action = Callable[[_Host, Mapping[str, str], dict[str, Any]], dict[str, Any]]
_HOST: Final = web.AppKey("teslalink_fleet_controls", _Host)


def _endpoint(*fields: str) -> Callable[[Action], Handler]:
    """A Fleet control: the action gets the host it was asked on."""
    return scenario_endpoint(lambda request: request.app[_HOST], *fields)


def _required(body: dict[str, Any], name: str) -> Any:
    if name not in body:
        raise scenario.ScenarioError(f"missing field {name}")
    return body[name]


# --- the hosts' faults -----------------------------------------------------------------------------

_FAULT_OPTIONS: Final = ("requests", "seconds", "route", "vin", "status", "retry_after", "limit")


@_endpoint()
def faults_get(host: _Host, path: Mapping[str, str], body: dict[str, Any]) -> dict[str, Any]:
    """The live faults in the order they strike, and the strikes so far per region.kind."""
    return faults.faults_truth(host.world)


@_endpoint("kind", "region", *_FAULT_OPTIONS)
def faults_add(host: _Host, path: Mapping[str, str], body: dict[str, Any]) -> dict[str, Any]:
    """Set a fault: {"kind": "rate_limit"|"unavailable"|"server_error"|"drop"|"lost_reply", ...}."""
    region = body.get("region", host.region)
    if region is None:
        raise scenario.ScenarioError("missing field region (fleet-auth serves no region)")
    options = {name: body.get(name) for name in _FAULT_OPTIONS}
    return faults.inject_fault(host.world, region, _required(body, "kind"), **options)


@_endpoint("region")
def faults_clear(host: _Host, path: Mapping[str, str], body: dict[str, Any]) -> dict[str, Any]:
    """Remove the faults of {"region": r}, or of every region."""
    return faults.clear_faults(host.world, body.get("region"))


@_endpoint("seconds")
def pairing_lag(host: _Host, path: Mapping[str, str], body: dict[str, Any]) -> dict[str, Any]:
    """Set the delay between pairing a key and fleet_status listing it: {"seconds": S}."""
    return knobs.set_pairing_lag(host.world, _required(body, "seconds"))


# --- the cars ---------------------------------------------------------------------------------------


@_endpoint()
def vehicle(host: _Host, path: Mapping[str, str], body: dict[str, Any]) -> dict[str, Any]:
    """The car's protocol state: boots, each domain's epoch and clock, its keys, reachability."""
    return knobs.security_truth(host.world, path["vehicle"])


@_endpoint()
def reboot(host: _Host, path: Mapping[str, str], body: dict[str, Any]) -> dict[str, Any]:
    """Reboot the car's security: new epochs for both domains, clocks from 0."""
    return knobs.reboot(host.world, path["vehicle"])


@_endpoint("seconds")
def clock_skew(host: _Host, path: Mapping[str, str], body: dict[str, Any]) -> dict[str, Any]:
    """Move the car's domain clocks: {"seconds": N} (ahead > 0, behind < 0), epochs kept."""
    return knobs.skew_clock(host.world, path["vehicle"], _required(body, "seconds"))


@_endpoint("public_key")
def unpair(host: _Host, path: Mapping[str, str], body: dict[str, Any]) -> dict[str, Any]:
    """Remove a key from the car: {"public_key": hex of the point}."""
    return knobs.unpair(host.world, path["vehicle"], _required(body, "public_key"))


@_endpoint("public_key", "active")
def key_active(host: _Host, path: Mapping[str, str], body: dict[str, Any]) -> dict[str, Any]:
    """Deactivate or reactivate a paired key: {"public_key": hex, "active": false}."""
    return knobs.set_key_active(
        host.world, path["vehicle"], _required(body, "public_key"), _required(body, "active")
    )


@_endpoint()
def sleep(host: _Host, path: Mapping[str, str], body: dict[str, Any]) -> dict[str, Any]:
    """Put the car to sleep now (409 while something keeps it awake)."""
    scenario.fall_asleep(host.world, path["vehicle"])
    return knobs.security_truth(host.world, path["vehicle"])


@_endpoint()
def offline(host: _Host, path: Mapping[str, str], body: dict[str, Any]) -> dict[str, Any]:
    """Take the car offline (no connectivity)."""
    scenario.go_offline(host.world, path["vehicle"])
    return knobs.security_truth(host.world, path["vehicle"])


@_endpoint()
def online(host: _Host, path: Mapping[str, str], body: dict[str, Any]) -> dict[str, Any]:
    """Bring the car's connectivity back."""
    scenario.come_online(host.world, path["vehicle"])
    return knobs.security_truth(host.world, path["vehicle"])


_F = "/_twin/fleet"
_V = _F + "/vehicles/{vehicle}"

ROUTES: Final[list[tuple[str, str, Handler]]] = [
    ("GET", _F + "/faults", faults_get),
    ("POST", _F + "/faults", faults_add),
    ("POST", _F + "/faults/clear", faults_clear),
    ("POST", _F + "/pairing_lag", pairing_lag),
    ("GET", _V, vehicle),
    ("POST", _V + "/reboot", reboot),
    ("POST", _V + "/clock_skew", clock_skew),
    ("POST", _V + "/unpair", unpair),
    ("POST", _V + "/key_active", key_active),
    ("POST", _V + "/sleep", sleep),
    ("POST", _V + "/offline", offline),
    ("POST", _V + "/online", online),
]
"""(method, path, handler): the Fleet scenario controls, the same on every Fleet host."""


def add_fleet_controls(app: web.Application, world: World, region: FleetRegion | None) -> None:
    """Serve the controls on `app` (a regional host: `region`; fleet-auth: None)."""
    app[_HOST] = _Host(world, region)
    for method, path, handler in ROUTES:
        app.router.add_route(method, path, handler)
