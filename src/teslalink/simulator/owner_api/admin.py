"""The twin's own admin endpoints under `/_twin/`: no auth, loopback clients only, never faulted.

    GET  /_twin/accounting   world.accounting.snapshot() + per car: state, wake_count, wake_reasons,
                             awake_seconds (reading does not touch a car)
    GET  /_twin/world        seed, speed, now
    POST /_twin/advance      {"seconds": S}: move the world clock forward (for speed 0 scenarios),
                             0 <= S <= ten years; 400 with the reason otherwise
    GET  /_twin/faults       the fault spec of every surface
    POST /_twin/faults       {"surface": "owner_api" | null, "spec": "5xx=0.1,..."}: replace it

The scenario controls (plug in, drive, sleep, weather, quirks, the truth of every device) are
under the same prefix, in .scenario_app; `GET /_twin/` lists every admin endpoint.

Not part of Tesla's API: a tool for demos and for tests that run the twin in another process.
Requests from a non-loopback address get 403.
"""

from __future__ import annotations

import ipaddress
from typing import Any

import orjson
from aiohttp import web

from ...errors import ConfigError
from .. import scenario
from .bodies import json_response
from .context import OWNER_API

__all__ = ["accounting", "advance", "faults_get", "faults_set", "read_object", "refuse_remote", "world_info"]


def refuse_remote(request: web.Request) -> web.Response | None:
    """A 403 for a client that is not on loopback, None for one that is."""
    try:
        loopback = ipaddress.ip_address(request.remote or "").is_loopback
    except ValueError:
        loopback = False
    return None if loopback else json_response({"error": "the twin's admin endpoints are loopback only"}, 403)


async def read_object(request: web.Request) -> dict[str, Any] | None:
    """The body as a JSON object ({} when empty), None when it is anything else."""
    raw = await request.read()
    if not raw.strip():
        return {}
    try:
        data = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return None
    return data if isinstance(data, dict) else None


async def accounting(request: web.Request) -> web.StreamResponse:
    """Billable requests by category and per car; wakes and awake time of every car."""
    if (refused := refuse_remote(request)) is not None:
        return refused
    world = request.app[OWNER_API].world
    body: dict[str, Any] = dict(world.accounting.snapshot())
    body["vehicles"] = {
        str(car.id): {
            "vin": car.vin,
            "state": car.state,
            "wake_count": car.wake_count,
            "wake_reasons": car.wake_reasons,
            "awake_seconds": round(car.awake_seconds, 3),
        }
        for car in world.vehicles
    }
    return json_response(body)


async def world_info(request: web.Request) -> web.StreamResponse:
    """The world's seed, speed and clock."""
    if (refused := refuse_remote(request)) is not None:
        return refused
    world = request.app[OWNER_API].world
    return json_response({"seed": world.seed, "speed": world.speed, "now": world.now()})


async def advance(request: web.Request) -> web.StreamResponse:
    """Move the world clock: {"seconds": S}, 0 to ten years."""
    if (refused := refuse_remote(request)) is not None:
        return refused
    body = await read_object(request)
    try:
        return json_response(scenario.advance(request.app[OWNER_API].world, (body or {}).get("seconds")))
    except scenario.ScenarioError as exc:
        return exc.response()


async def faults_get(request: web.Request) -> web.StreamResponse:
    """The fault spec of every surface."""
    if (refused := refuse_remote(request)) is not None:
        return refused
    return json_response(request.app[OWNER_API].faults.as_json())


async def faults_set(request: web.Request) -> web.StreamResponse:
    """Replace a surface's faults: {"surface": name or null, "spec": "5xx=0.1"}."""
    if (refused := refuse_remote(request)) is not None:
        return refused
    body = await read_object(request)
    if body is None:
        return json_response({"error": "expected a JSON object"}, 400)
    surface, spec = body.get("surface"), body.get("spec", "")
    if not (surface is None or isinstance(surface, str)) or not isinstance(spec, str):
        return json_response({"error": "surface must be a string or null, spec a string"}, 400)
    faults = request.app[OWNER_API].faults
    try:
        faults.set(surface, spec)
    except ConfigError as exc:
        return json_response({"error": str(exc)}, 400)
    return json_response(faults.as_json())
