"""Faults a scenario sets on a regional Fleet host: the ways the real service and its cars misbehave.

Unlike the Owner API twin's random faults (..faults: rates drawn per request), these are set by a
scenario, one at a time, and strike the next matching requests deterministically, so a test can
say "the next 3 requests get 429" or "for 90 world seconds" and check what its client did::

    inject_fault(world, "na", "rate_limit", requests=3)                 # a 429 storm
    inject_fault(world, "na", "rate_limit", seconds=120, route="vehicle_data")
    inject_fault(world, "na", "unavailable", requests=1, route="signed_command")  # 503 flake
    inject_fault(world, "eu", "server_error", status=540, requests=2)
    inject_fault(world, "na", "drop", requests=1)                       # no answer at all
    inject_fault(world, "na", "lost_reply", vin=car.vin)                # the car ran it, the reply is lost
    clear_faults(world)

Kinds (research/fleet.md 1.8, 2.10):

* ``rate_limit``: 429 with ``Retry-After``, ``RateLimit-Limit``, ``RateLimit-Remaining`` (0) and
  ``RateLimit-Reset`` (seconds), the headers fleet.md 1.8 lists (TeslaLogger #1304 saw limit 300,
  remaining 0 and a reset in seconds: R). Unverified: the body; our choice is the Owner API's plain
  text ``Retry in N seconds`` (what Tesla's gateway sends there, docs/reference.md 2.2), and
  Retry-After = RateLimit-Reset = the seconds left of a timed storm (else `retry_after`, 60 s).
* ``unavailable``: 503 ``vehicle is not available`` (R, vehicle-command #89: seen on
  signed_command; Go treats it as "not awake"). Our choice: it strikes only routes of a car.
* ``server_error``: 500, 503, 504 or 540 with the bodies of ..faults (`status`, default 500).
* ``drop``: the connection is closed before any answer; the handler never runs.
* ``lost_reply``: only commands (``signed_command``, REST ``command/{name}``): the request goes
  through and the car acts, then the connection is closed (default) or `status` (e.g. 504) is
  answered instead of the car's reply. Our choice: it strikes only a request the car carried
  out (a 200 that is not a handshake and carries no fault), so "lost after executing" is exact.

A fault names its region and, optionally, a `route` (the last fixed word of the path:
``signed_command``, ``command``, ``vehicle_data``, ``wake_up``, ``fleet_status``, ``products``,
``vehicles``, ...) and a car (`vin`). It ends after `requests` strikes or `seconds` of world time,
whichever comes first, or when cleared (neither given). Faults strike in the order set.

Where in the chain (our choice): after the guard, so 401/421/412/403 come first, and a storm hits
an identified client whose 429s are billed to it. Billing: fleet.md 1.9 (D, Tesla's billing page)
says every answer below 500 is billed, so the 429s are billed (as ..accounting counts them); the
5xx are not; a dropped connection got no answer and is not billed (as in the Owner API twin),
even after the car acted. Each strike is also counted here per region and kind (`injected`).

Admin paths (``/_twin/``) and unrouted paths are never faulted.
"""

from __future__ import annotations

import math
import weakref
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from itertools import count
from typing import TYPE_CHECKING, Any, Final, Literal, get_args

import orjson
from aiohttp import web
from aiohttp.typedefs import Middleware

from ..faults import (
    DEFAULT_RETRY_AFTER_S,
    DROPPED,
    SERVER_ERROR_STATUSES,
    FaultAction,
    drop_connection,
    fault_response,
    rate_limited_response,
)
from ..refusal import Refusal
from ..scenario import ScenarioError, find_vehicle
from ..world import MAX_ADVANCE_S
from .regions import FLEET_REGIONS, FleetRegion

if TYPE_CHECKING:
    from ..world import World

__all__ = [
    "FAULT_KINDS",
    "UNAVAILABLE_TEXT",
    "FaultKind",
    "FleetFault",
    "FleetFaults",
    "clear_faults",
    "faults_truth",
    "fleet_fault_middleware",
    "fleet_faults",
    "inject_fault",
    "route_name",
]

FaultKind = Literal["rate_limit", "unavailable", "server_error", "drop", "lost_reply"]
FAULT_KINDS: Final[tuple[FaultKind, ...]] = get_args(FaultKind)
UNAVAILABLE_TEXT: Final = "vehicle is not available"
"""The 503's text (R: vehicle-command #89); the body is the Fleet API's usual envelope (our choice)."""
DEFAULT_RATE_LIMIT: Final = 300
"""RateLimit-Limit by default: the value TeslaLogger #1304 logged (R); no current limit is known."""
COMMAND_ROUTES: Final = frozenset({"signed_command", "command"})
LOST_REPLY_STATUSES: Final = (500, 503, 504, 540)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@dataclass(slots=True)
class FleetFault:
    """One fault set by a scenario: what it does, where it strikes, how long it lasts."""

    id: int
    kind: FaultKind
    region: FleetRegion
    route: str | None = None
    vin: str | None = None
    tags: frozenset[str] = frozenset()
    """The ways a path may name the car (VIN and id): `vin` matched against ``{tag}``."""
    requests_left: int | None = None
    until: float | None = None
    status: int | None = None
    retry_after_s: int | None = None
    limit: int = DEFAULT_RATE_LIMIT
    struck: int = 0

    def over(self, now: float) -> bool:
        """No strikes left, or its world time is up."""
        return (self.requests_left is not None and self.requests_left <= 0) or (
            self.until is not None and now >= self.until
        )

    def matches(self, region: FleetRegion, route: str, tag: str | None) -> bool:
        if region != self.region or (self.route is not None and route != self.route):
            return False
        if self.kind == "unavailable" and tag is None:
            return False  # our choice: "vehicle is not available" only where a car is asked
        if self.kind == "lost_reply" and route not in COMMAND_ROUTES:
            return False
        return self.vin is None or tag in self.tags

    def strike(self) -> None:
        self.struck += 1
        if self.requests_left is not None:
            self.requests_left -= 1

    def retry_after(self, now: float) -> int:
        """A storm's Retry-After (= RateLimit-Reset): as set, else the seconds left, else 60."""
        if self.retry_after_s is not None:
            return self.retry_after_s
        if self.until is not None:
            return max(1, math.ceil(self.until - now))
        return DEFAULT_RETRY_AFTER_S

    def as_json(self, now: float) -> dict[str, Any]:
        return {
            "id": self.id,
            "kind": self.kind,
            "region": self.region,
            "route": self.route,
            "vin": self.vin,
            "requests_left": self.requests_left,
            "seconds_left": None if self.until is None else max(0.0, self.until - now),
            "status": self.status,
            "retry_after": self.retry_after(now) if self.kind == "rate_limit" else None,
            "limit": self.limit if self.kind == "rate_limit" else None,
            "struck": self.struck,
        }


@dataclass(eq=False)
class FleetFaults:
    """The faults set on a world's Fleet hosts, and how often each region and kind struck."""

    faults: list[FleetFault] = field(default_factory=list)
    injected: Counter[str] = field(default_factory=Counter)
    _ids: count[int] = field(default_factory=lambda: count(1), repr=False)

    def next_id(self) -> int:
        return next(self._ids)

    def find(self, region: FleetRegion, route: str, tag: str | None, now: float) -> FleetFault | None:
        """The first live fault for this request (ended ones are dropped on the way)."""
        self.faults = [fault for fault in self.faults if not fault.over(now)]
        return next((f for f in self.faults if f.matches(region, route, tag)), None)

    def strike(self, fault: FleetFault) -> None:
        fault.strike()
        self.injected[f"{fault.region}.{fault.kind}"] += 1


_FAULTS: weakref.WeakKeyDictionary[World, FleetFaults] = weakref.WeakKeyDictionary()


def fleet_faults(world: World) -> FleetFaults:
    """The world's Fleet faults, none at first."""
    faults = _FAULTS.get(world)
    if faults is None:
        faults = _FAULTS[world] = FleetFaults()
    return faults


# --- the scenario's functions -------------------------------------------------------------------


def inject_fault(
    world: World,
    region: object,
    kind: object,
    *,
    requests: object = None,
    seconds: object = None,
    route: object = None,
    vin: object = None,
    status: object = None,
    retry_after: object = None,
    limit: object = None,
) -> dict[str, Any]:
    """Set a fault on `region`'s host (see the module docstring); the fault as JSON.

    Takes JSON-like values and checks them (`ScenarioError` 400, 404 for an unknown car), as
    ..scenario does, so the HTTP control and a test in-process share the rules.
    """
    if region not in FLEET_REGIONS:
        raise ScenarioError(f"region must be one of {', '.join(FLEET_REGIONS)}")
    if kind not in FAULT_KINDS:
        raise ScenarioError(f"kind must be one of {', '.join(FAULT_KINDS)}")
    _only_for(kind, "rate_limit", retry_after=retry_after, limit=limit)
    _only_for(kind, ("server_error", "lost_reply"), status=status)
    now = world.now()
    fault = FleetFault(
        id=0,
        kind=kind,
        region=region,
        route=_route(route),
        requests_left=None if requests is None else _whole(requests, "requests", 1, 1_000_000),
        until=None if seconds is None else now + _seconds(seconds),
        status=_status(kind, status),
        retry_after_s=None if retry_after is None else _whole(retry_after, "retry_after", 0, 10**9),
        limit=DEFAULT_RATE_LIMIT if limit is None else _whole(limit, "limit", 1, 10**9),
    )
    if vin is not None:
        if not isinstance(vin, str):
            raise ScenarioError("vin must be a string")
        car = find_vehicle(world, vin)
        fault.vin, fault.tags = car.vin, frozenset({car.vin, car.id_s})
    faults = fleet_faults(world)
    fault.id = faults.next_id()
    faults.faults.append(fault)
    return fault.as_json(now)


def clear_faults(world: World, region: object = None) -> dict[str, Any]:
    """Remove the faults of `region` (None: of every region); the faults left and the counts."""
    if region is not None and region not in FLEET_REGIONS:
        raise ScenarioError(f"region must be one of {', '.join(FLEET_REGIONS)} or null")
    faults = fleet_faults(world)
    faults.faults = [f for f in faults.faults if region is not None and f.region != region]
    return faults_truth(world)


def faults_truth(world: World) -> dict[str, Any]:
    """The live faults in the order they strike, and how many strikes each region.kind made."""
    faults, now = fleet_faults(world), world.now()
    live = [fault.as_json(now) for fault in faults.faults if not fault.over(now)]
    return {"faults": live, "injected": dict(sorted(faults.injected.items()))}


def _only_for(kind: str, allowed: str | tuple[str, ...], **given: object) -> None:
    kinds = (allowed,) if isinstance(allowed, str) else allowed
    for name, value in given.items():
        if value is not None and kind not in kinds:
            raise ScenarioError(f"{name} is for {' and '.join(kinds)} faults, not {kind}")


def _whole(value: object, what: str, low: int, high: int) -> int:
    if (
        isinstance(value, bool)
        or not isinstance(value, int | float)
        or not math.isfinite(value)
        or value != int(value)
    ):
        raise ScenarioError(f"{what} must be a whole number")
    if not low <= value <= high:
        raise ScenarioError(f"{what} must be between {low} and {high}")
    return int(value)


def _seconds(value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ScenarioError("seconds must be a finite number")
    if not 0 < value <= MAX_ADVANCE_S:
        raise ScenarioError("seconds must be > 0 and at most ten years")
    return float(value)


def _status(kind: str, status: object) -> int | None:
    if kind == "server_error" and status is None:
        return 500
    if status is None:
        return None
    allowed = SERVER_ERROR_STATUSES if kind == "server_error" else LOST_REPLY_STATUSES
    if isinstance(status, bool) or status not in allowed:
        raise ScenarioError(f"status must be one of {', '.join(map(str, allowed))}")
    return int(status)


def _route(route: object) -> str | None:
    if route is None:
        return None
    from .api_app import ROUTES  # noqa: PLC0415 - api_app imports this module

    known = sorted({name for _, path, _, _ in ROUTES if (name := route_name(path)) is not None})
    if route not in known:
        raise ScenarioError(f"route must be one of {', '.join(known)}")
    return str(route)


# --- HTTP ---------------------------------------------------------------------------------------


def route_name(path: str) -> str | None:
    """A Fleet API route's short name, the last fixed word of its path (None: not an API path).

    ``/api/1/vehicles/{tag}/command/{name}`` is "command", ``/api/1/vehicles/{tag}`` "vehicles".
    """
    if not path.startswith("/api/"):
        return None
    fixed = [part for part in path.split("/") if part and not part.startswith("{")]
    return fixed[-1]


def fleet_fault_middleware(world: World, region: FleetRegion) -> Middleware:
    """Apply the world's faults for `region` to every API request (inside the guard, see above)."""
    faults = fleet_faults(world)

    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        resource = request.match_info.route.resource
        route = None if resource is None else route_name(resource.canonical)
        if route is None:
            return await handler(request)
        fault = faults.find(region, route, request.match_info.get("tag"), world.now())
        if fault is None:
            return await handler(request)
        if fault.kind == "lost_reply":
            return await _lose_reply(request, handler, faults, fault, route)
        faults.strike(fault)
        if fault.kind == "drop":
            request[DROPPED] = True
            return drop_connection(request)
        return _answer(fault, world.now())

    return middleware


def _answer(fault: FleetFault, now: float) -> web.Response:
    """The answer of a rate_limit, unavailable or server_error fault."""
    if fault.kind == "rate_limit":
        seconds = fault.retry_after(now)
        response = rate_limited_response(seconds)
        response.headers["RateLimit-Limit"] = str(fault.limit)
        response.headers["RateLimit-Remaining"] = "0"
        response.headers["RateLimit-Reset"] = str(seconds)
        return response
    if fault.kind == "unavailable":
        return Refusal(UNAVAILABLE_TEXT, 503).response()
    answer = fault_response(FaultAction(status=fault.status or 500))
    assert answer is not None
    return answer


async def _lose_reply(
    request: web.Request, handler: Handler, faults: FleetFaults, fault: FleetFault, route: str
) -> web.StreamResponse:
    """Let the command through; if the car carried it out, lose the reply (drop or a 5xx)."""
    response = await handler(request)
    if not isinstance(response, web.Response) or not _carried_out(route, response):
        return response
    faults.strike(fault)
    if fault.status is None:
        request[DROPPED] = True
        return drop_connection(request)
    answer = fault_response(FaultAction(status=fault.status))
    assert answer is not None
    return answer


def _carried_out(route: str, response: web.Response) -> bool:
    """A 200 of a REST command; for signed_command a reply of the car to a command, without a fault."""
    if response.status != 200:
        return False
    if route == "command":
        return True
    import base64  # noqa: PLC0415

    from tesla_protocol.command import universal_message_pb2  # noqa: PLC0415 - the fleet extra

    body = response.body
    assert isinstance(body, bytes)
    reply = universal_message_pb2.RoutableMessage.FromString(base64.b64decode(orjson.loads(body)["response"]))
    executed: bool = (
        reply.WhichOneof("payload") == "protobuf_message_as_bytes"
        and reply.signedMessageStatus.signed_message_fault == 0
    )
    return executed
