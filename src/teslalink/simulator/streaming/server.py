"""Serve the streaming twin on loopback: `async with serve_streaming(world) as server: server.url`.

The socket is bound before the app starts so that port 0 (an ephemeral port) is known at once
and the URL can be handed to clients (TeslaPy's STREAMING_BASE_URL is the URL without
"streaming/").
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final

from aiohttp import web

from ..surface import AppSurface, url_host
from .app import HUB, STREAMING_PATH, StreamingFaults, StreamingHub, create_streaming_app
from .session import StreamingPolicy

if TYPE_CHECKING:
    from ..world import World

__all__ = ["STREAMING_HOST", "StreamingServer", "serve_streaming", "streaming_surface"]

STREAMING_HOST: Final = "streaming.vn.teslamotors.com"


@dataclass(frozen=True, slots=True)
class StreamingServer:
    """A running streaming server: `url` is the websocket ("ws://127.0.0.1:PORT/streaming/")."""

    host: str
    port: int
    app: web.Application

    @property
    def base_url(self) -> str:
        """The server root ("ws://host:port/"), what TeslaPy calls STREAMING_BASE_URL."""
        return f"ws://{url_host(self.host)}:{self.port}/"

    @property
    def url(self) -> str:
        return self.base_url + STREAMING_PATH.lstrip("/")

    @property
    def hub(self) -> StreamingHub:
        """Open connections and counters (updates_sent, frames_sent, dropped)."""
        return self.app[HUB]


def streaming_surface(
    world: World,
    *,
    host: str = "127.0.0.1",
    port: int = 0,
    faults: StreamingFaults | None = None,
    policy: StreamingPolicy | None = None,
) -> AppSurface:
    """The streaming websocket as a surface ("streaming"); its URL is the websocket's."""
    app = create_streaming_app(world, faults=faults, policy=policy)
    return AppSurface(
        "streaming", STREAMING_HOST, app, host=host, port=port, scheme="ws", path=STREAMING_PATH
    )


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
    surface = streaming_surface(world, host=host, port=port, faults=faults, policy=policy)
    try:
        await surface.start()
        yield StreamingServer(host, surface.port, surface.app)
    finally:
        await surface.stop()
