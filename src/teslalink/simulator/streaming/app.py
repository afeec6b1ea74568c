"""The streaming server's aiohttp face: websockets in, the session's messages out, paced in real time.

Served paths::

    GET /streaming/               the streaming websocket (docs/reference.md §2.5): hello, subscribe, updates
    GET /connect/{vehicle_id}     the low-rate location websocket (HTTP Basic email:vehicle_token)

Rules live in `session` (what to send, when a stream ends); this module only reads frames, asks
the session, writes frames and sleeps. Each connection has one pacing task: it sleeps until the
next update may be due (`StreamingPolicy.real_delay`: the world's speed decides, capped at
`max_updates_per_real_s` per connection; with a frozen clock it polls every `poll_real_s`), then
sends whatever the session's `poll()` returns. Sends are serialised per connection by a lock, so
the pacing task and the answers to client messages never interleave frames.

Faults (`faults=`), two kinds, told apart by their methods:

* `teslalink.simulator.faults.Faults` (anything with `decide(surface)`): the "streaming" surface
  is asked once per connection attempt, before the upgrade (latency; `drop` cuts the TCP
  connection without an answer; a 5xx or 429 status refuses the handshake with that status, and
  Retry-After for 429), and once per frame the server sends (latency, then `drop`; a status means
  nothing to a frame on an open socket and is ignored).
* A bare hook, anything with `drop_websocket() -> bool` (and optionally `latency_s() -> float`),
  asked before every frame: True cuts the connection.

A cut is a TCP abort without a close frame, as a mobile network or a load balancer drops a
stream; clients must notice and reconnect.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final, Protocol, runtime_checkable

from aiohttp import WSMsgType, web

from ..sso.tokens import InvalidToken
from . import protocol
from .session import LocationFeed, Session, StreamingPolicy, find_car

if TYPE_CHECKING:
    from ..vehicle.car import Car
    from ..world import World

__all__ = [
    "HUB",
    "LOCATION_PATH",
    "STREAMING_PATH",
    "DropHook",
    "FaultDecision",
    "StreamingFaults",
    "StreamingHub",
    "SurfaceFaults",
    "create_streaming_app",
]

STREAMING_PATH: Final = "/streaming/"
LOCATION_PATH: Final = "/connect/{vehicle_id}"
SURFACE: Final = "streaming"


# --- faults ---------------------------------------------------------------------------------------


class FaultDecision(Protocol):
    """One fault decision (`teslalink.simulator.faults.FaultAction` has this shape)."""

    @property
    def delay_s(self) -> float: ...
    @property
    def drop(self) -> bool: ...
    @property
    def status(self) -> int | None: ...
    @property
    def retry_after_s(self) -> int | None: ...


@runtime_checkable
class SurfaceFaults(Protocol):
    """Per-surface fault injection (`teslalink.simulator.faults.Faults`); we ask for "streaming"."""

    def decide(self, surface: str) -> FaultDecision: ...


@runtime_checkable
class DropHook(Protocol):
    """The minimal hook: asked before each frame the server sends; True cuts the connection."""

    def drop_websocket(self) -> bool: ...


StreamingFaults = SurfaceFaults | DropHook


@dataclass(frozen=True, slots=True)
class _Fate:
    delay_s: float = 0.0
    drop: bool = False
    status: int | None = None
    retry_after_s: int | None = None


_FINE: Final = _Fate()


def _decide(faults: StreamingFaults | None, *, handshake: bool) -> _Fate:
    """What the faults say about one connection attempt or one outgoing frame."""
    if faults is None:
        return _FINE
    if isinstance(faults, SurfaceFaults):
        action = faults.decide(SURFACE)
        status = action.status if handshake else None
        return _Fate(float(action.delay_s), bool(action.drop), status, action.retry_after_s)
    if handshake:
        return _FINE
    latency: Callable[[], float] | None = getattr(faults, "latency_s", None)
    delay = float(latency()) if latency is not None else 0.0
    return _Fate(delay, bool(faults.drop_websocket()))


def _abort(request: web.BaseRequest) -> None:
    """Cut the TCP connection under a request: no answer, no close frame."""
    if request.transport is not None:
        request.transport.abort()
    if request.protocol is not None:
        request.protocol.force_close()


# --- the app --------------------------------------------------------------------------------------


class StreamingHub:
    """Every open streaming connection of one app: counters for benchmarks, and shutdown."""

    def __init__(self, world: World, policy: StreamingPolicy, faults: StreamingFaults | None) -> None:
        self.world = world
        self.policy = policy
        self.faults = faults
        self.connections: set[_Connection] = set()
        self.updates_sent = 0
        self.frames_sent = 0
        self.dropped = 0

    def __repr__(self) -> str:
        return f"StreamingHub(connections={len(self.connections)}, updates_sent={self.updates_sent})"

    @property
    def subscriptions(self) -> int:
        """Open subscriptions over all connections."""
        return sum(len(c.session.subscriptions) for c in self.connections if c.session is not None)

    async def close_all(self, _app: web.Application | None = None) -> None:
        """Close every websocket (going away), so a server shuts down without waiting on clients."""
        await asyncio.gather(*(c.close(code=1001) for c in list(self.connections)), return_exceptions=True)


HUB: Final = web.AppKey("teslalink_streaming_hub", StreamingHub)


def create_streaming_app(
    world: World, *, faults: StreamingFaults | None = None, policy: StreamingPolicy | None = None
) -> web.Application:
    """The streaming server as an aiohttp app: the websocket at /streaming/, locations at /connect/."""
    hub = StreamingHub(world, policy if policy is not None else StreamingPolicy(), faults)
    app = web.Application()
    app[HUB] = hub
    app.router.add_get(STREAMING_PATH, _streaming)
    app.router.add_get(LOCATION_PATH, _location)
    app.on_shutdown.append(hub.close_all)
    return app


class _Feed(Protocol):
    """What a connection paces: a streaming session or a location feed."""

    def handle(self, message: Mapping[str, Any]) -> list[dict[str, Any]]: ...
    def poll(self) -> list[dict[str, Any]]: ...
    def due_in(self) -> float | None: ...
    def done(self) -> bool: ...


class _Connection:
    """One websocket: its frames out (locked, faults applied) and its pacing task."""

    def __init__(self, hub: StreamingHub, request: web.Request, ws: web.WebSocketResponse) -> None:
        self.hub = hub
        self.request = request
        self.ws = ws
        self.session: Session | None = None
        self._lock = asyncio.Lock()

    async def send(self, messages: Iterable[Mapping[str, Any]]) -> bool:
        """Send frames in order; False once the connection is gone (closed or dropped)."""
        async with self._lock:
            for message in messages:
                if self.ws.closed:
                    return False
                fate = _decide(self.hub.faults, handshake=False)
                if fate.delay_s > 0:
                    await asyncio.sleep(fate.delay_s)
                if fate.drop:
                    self.hub.dropped += 1
                    _abort(self.request)
                    return False
                data = protocol.encode(message)
                try:
                    if self.hub.policy.binary_frames:
                        await self.ws.send_bytes(data)
                    else:
                        await self.ws.send_str(data.decode())
                except (ConnectionError, RuntimeError):
                    return False
                self.hub.frames_sent += 1
                if message.get("msg_type") == protocol.MsgType.UPDATE:
                    self.hub.updates_sent += 1
        return True

    async def close(self, code: int = 1000) -> None:
        if not self.ws.closed:
            with contextlib.suppress(ConnectionError, RuntimeError):
                await self.ws.close(code=code)

    async def pace(self, feed: _Feed) -> None:
        """Sleep until something may be due, send it; close when the stream is over."""
        policy, world = self.hub.policy, self.hub.world
        while not self.ws.closed:
            await asyncio.sleep(policy.real_delay(world.speed, feed.due_in()))
            if not await self.send(feed.poll()):
                return
            if feed.done():
                await self.close()
                return

    async def serve(self, feed: _Feed, first: list[dict[str, Any]]) -> None:
        """Send `first`, pace `feed` and answer client messages until either side ends."""
        self.hub.connections.add(self)
        pacer: asyncio.Task[None] | None = None
        try:
            if not await self.send(first):
                return
            if feed.done():
                await self.close()
                return
            pacer = asyncio.create_task(self.pace(feed))
            async for frame in self.ws:
                if frame.type not in (WSMsgType.TEXT, WSMsgType.BINARY):
                    continue
                message = protocol.decode_client_message(frame.data)
                if message is None:
                    continue
                if not await self.send(feed.handle(message)):
                    break
                if feed.done():
                    await self.close()
                    break
        finally:
            if pacer is not None:
                pacer.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await pacer
            self.hub.connections.discard(self)


async def _streaming(request: web.Request) -> web.StreamResponse:
    hub = request.app[HUB]
    refused = await _handshake_fault(hub, request)
    if refused is not None:
        return refused
    ws = web.WebSocketResponse(autoping=True)
    await ws.prepare(request)
    connection = _Connection(hub, request, ws)
    session = connection.session = Session(hub.world, hub.policy)
    await connection.serve(session, [dict(protocol.HELLO)])
    return ws


async def _location(request: web.Request) -> web.StreamResponse:
    hub = request.app[HUB]
    car = _authorised_car(hub.world, request)
    if car is None:
        raise web.HTTPUnauthorized(headers={"WWW-Authenticate": 'Basic realm="streaming"'})
    refused = await _handshake_fault(hub, request)
    if refused is not None:
        return refused
    ws = web.WebSocketResponse(autoping=True)
    await ws.prepare(request)
    feed = LocationFeed(hub.world, car, hub.policy)
    await _Connection(hub, request, ws).serve(feed, feed.poll())
    return ws


async def _handshake_fault(hub: StreamingHub, request: web.Request) -> web.StreamResponse | None:
    """Apply the faults' verdict on a connection attempt: None to go on, else the answer."""
    fate = _decide(hub.faults, handshake=True)
    if fate.delay_s > 0:
        await asyncio.sleep(fate.delay_s)
    if fate.drop:
        hub.dropped += 1
        _abort(request)
        return web.Response()
    if fate.status is None:
        return None
    headers = {"Retry-After": str(fate.retry_after_s or 0)} if fate.status == 429 else {}
    return web.Response(status=fate.status, headers=headers)


def _authorised_car(world: World, request: web.Request) -> Car | None:
    """The car of /connect/{vehicle_id} if the caller may see it: HTTP Basic email:vehicle_token
    (what the seed thread's curl sent), or a Bearer access token of the car's account."""
    car = find_car(world, request.match_info["vehicle_id"])
    if car is None:
        return None
    scheme, _, credentials = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() == "bearer":
        try:
            account = world.auth.verify_access_token(credentials.strip())
        except InvalidToken:
            return None
        return car if account is car.account else None
    if scheme.lower() != "basic":
        return None
    try:
        text = base64.b64decode(credentials.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return None
    email, sep, token = text.partition(":")
    if not sep or email.strip().lower() != car.account.email.lower():
        return None
    return car if token.removesuffix(":") in car.tokens else None
