"""Serve simulated Wall Connectors over real HTTP on loopback, one port per unit.

Each unit gets its own listening socket, as each real unit has its own IP address. When a unit
goes offline (a Wi-Fi drop-out) its listening socket is closed at once, so new connections are
refused, and requests on connections that are already open are dropped without an answer. When
it comes back, the same port is bound again.

A listening socket is only ever closed through its asyncio server, never behind the event loop's
back: closing a socket the loop still polls leaves a stale selector entry under its file
descriptor number, the next socket to get that number (the rebound port, a moment later) is then
never polled, and its connections wait in the backlog until the client gives up. So a listener is
recorded before it starts polling, and a drop-out at any moment, even while the listener is
being attached, closes it properly.

    async with serve_wall_connectors(world) as servers:
        for server in servers:
            print(server.unit.serial, server.url)
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import AsyncIterator, Iterable
from types import TracebackType
from typing import Self

from aiohttp import web

from .._sockets import bind_listener
from ..surface import Surface, serve_surfaces, url_host
from ..world import World
from .app import WallConnectorHandler
from .unit import WallConnectorUnit

__all__ = ["WallConnectorServer", "serve_wall_connectors"]


class WallConnectorServer(Surface):
    """One unit's local API on `host:port` (port 0: an ephemeral port, known after `start()`)."""

    def __init__(
        self,
        unit: WallConnectorUnit,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        backlog: int = 128,
        shutdown_timeout_s: float = 0.25,
    ) -> None:
        self.unit = unit
        self.name = f"wall_connector_{unit.serial}"
        self.description = f"Wall Connector {unit.serial} (local API)"
        self.host = host
        self.port = port
        self._backlog = backlog
        self._shutdown_timeout_s = shutdown_timeout_s
        self._handler = WallConnectorHandler(unit)
        self._http: web.Server | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._sock: socket.socket | None = None
        self._listener: asyncio.Server | None = None
        self._attach: asyncio.Task[None] | None = None

    def __repr__(self) -> str:
        return f"WallConnectorServer(serial={self.unit.serial!r}, url={self.url!r}, running={self.running})"

    @property
    def url(self) -> str:
        return f"http://{url_host(self.host)}:{self.port}"

    @property
    def running(self) -> bool:
        return self._http is not None

    @property
    def handler(self) -> WallConnectorHandler:
        return self._handler

    async def start(self) -> str:
        """Bind and start answering (or stay silent, port reserved, while the unit is offline); the URL."""
        if self._http is not None:
            return self.url
        loop = asyncio.get_running_loop()
        sock = bind_listener(self.host, self.port, self._backlog)
        self.port = sock.getsockname()[1]
        http = web.Server(self._handler, handler_cancellation=True, access_log=None)
        if self.unit.offline:
            sock.close()
        else:
            self._sock = sock
            try:
                await self._listen(loop, sock, http)
            except BaseException:
                self._close_listener()
                raise
        self._loop, self._http = loop, http
        self.unit.add_offline_listener(self._on_offline)
        return self.url

    async def stop(self) -> None:
        """Stop listening, close every connection (cancelling stalled answers) and forget the port."""
        http = self._http
        if http is None:
            return
        self.unit.remove_offline_listener(self._on_offline)
        self._close_listener()
        self._http = None
        await http.shutdown(self._shutdown_timeout_s)

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.stop()

    # --- going offline and back --------------------------------------------------------------

    def _on_offline(self, offline: bool) -> None:
        loop = self._loop
        if loop is None:
            return
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is loop:
            self._apply_offline(offline)
        else:
            loop.call_soon_threadsafe(self._apply_offline, offline)

    def _apply_offline(self, offline: bool) -> None:
        http = self._http
        if http is None or self._loop is None:
            return
        if offline:
            self._close_listener()
            for connection in http.connections:  # keep-alive and busy connections die with the Wi-Fi
                connection.force_close()
        elif self._sock is None:
            # Bound synchronously, so the port refuses nothing from here on; connections wait in
            # the backlog until the event loop starts accepting them.
            sock = bind_listener(self.host, self.port, self._backlog)
            self._sock = sock
            self._attach = self._loop.create_task(self._serve(sock, http))

    async def _serve(self, sock: socket.socket, http: web.Server) -> None:
        if self._sock is not sock or self._loop is None:
            return
        await self._listen(self._loop, sock, http)

    async def _listen(self, loop: asyncio.AbstractEventLoop, sock: socket.socket, http: web.Server) -> None:
        """Serve `sock`, recording the listener before the loop polls it (see the module doc).

        `create_server` would register the socket and then yield once before returning: cancelled
        in that yield (a drop-out right after coming back), the listener was never recorded, and
        `_close_listener` could only close the bare socket under the loop's selector.
        """
        listener = await loop.create_server(http, sock=sock, backlog=self._backlog, start_serving=False)
        self._listener = listener
        await listener.start_serving()

    def _close_listener(self) -> None:
        if self._attach is not None and not self._attach.done():
            self._attach.cancel()
        self._attach = None
        if self._listener is not None:
            self._listener.close()  # unregisters the socket from the loop, then closes it
            self._listener = None
        if self._sock is not None:
            self._sock.close()  # already closed by the listener, unless it never got one
            self._sock = None


@contextlib.asynccontextmanager
async def serve_wall_connectors(
    world: World,
    units: Iterable[WallConnectorUnit] | None = None,
    host: str = "127.0.0.1",
    port: int = 0,
) -> AsyncIterator[list[WallConnectorServer]]:
    """Serve units (default: all of the world's) on `host`: unit i on `port + i`, or ephemeral ports."""
    chosen = world.wall_connectors if units is None else list(units)
    servers = [WallConnectorServer(unit, host, 0 if port == 0 else port + i) for i, unit in enumerate(chosen)]
    async with serve_surfaces(servers):
        yield servers
