"""Serve the streaming twin on loopback: `async with serve_streaming(world) as server: server.url`.

The socket is bound before the app starts so that port 0 (an ephemeral port) is known at once
and the URL can be handed to clients (TeslaPy's STREAMING_BASE_URL is the URL without
"streaming/").
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

from aiohttp import web

from .._sockets import bind_listener
from .app import HUB, STREAMING_PATH, StreamingFaults, StreamingHub, create_streaming_app
from .session import StreamingPolicy

if TYPE_CHECKING:
    from ..world import World

__all__ = ["StreamingServer", "serve_streaming"]


@dataclass(frozen=True, slots=True)
class StreamingServer:
    """A running streaming server: `url` is the websocket ("ws://127.0.0.1:PORT/streaming/")."""

    host: str
    port: int
    app: web.Application

    @property
    def base_url(self) -> str:
        """The server root ("ws://host:port/"), what TeslaPy calls STREAMING_BASE_URL."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"ws://{host}:{self.port}/"

    @property
    def url(self) -> str:
        return self.base_url + STREAMING_PATH.lstrip("/")

    @property
    def hub(self) -> StreamingHub:
        """Open connections and counters (updates_sent, frames_sent, dropped)."""
        return self.app[HUB]


@contextlib.asynccontextmanager
async def serve_streaming(
    world: World,
    *,
    host: str = "127.0.0.1",
    port: int = 0,
    faults: StreamingFaults | None = None,
    policy: StreamingPolicy | None = None,
) -> AsyncIterator[StreamingServer]:
    """Serve `create_streaming_app(world)` on `host:port` (0: ephemeral) until the block ends."""
    app = create_streaming_app(world, faults=faults, policy=policy)
    sock = bind_listener(host, port)
    runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.25)
    try:
        await runner.setup()
        await web.SockSite(runner, sock).start()
        yield StreamingServer(host, sock.getsockname()[1], app)
    finally:
        await runner.cleanup()
        sock.close()
