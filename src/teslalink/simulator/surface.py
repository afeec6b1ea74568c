"""What the twin serves, one surface at a time: the `Surface` interface and the one way to serve an app.

A surface is one face a client talks to: an SSO region, the Owner API, the streaming websocket,
a Wall Connector's local API (later: Fleet API hosts, a Fleet auth server, an MQTT broker). Each
starts (and answers the URL clients use), stops, and says what it stands for, so `serve_cloud`
starts any set of them::

    surface = AppSurface("owner_api", "owner-api.teslamotors.com", create_owner_api_app(world))
    async with serve_surfaces([surface]) as urls:
        urls["owner_api"]                          # http://127.0.0.1:<port>/

`serve_app(app, host, port)` is the one place an aiohttp app is put on a socket: every app
surface (SSO, Owner API, streaming, a caller's extra app) goes through it. The Wall Connector
units are the exception on purpose: a low-level handler on a listener that closes and comes back
on the same port when the unit drops off its Wi-Fi (see `wall_connector.server`).
"""

from __future__ import annotations

import abc
import asyncio
import contextlib
import socket
from collections.abc import AsyncIterator, Callable, Iterable
from typing import Final

from aiohttp import web

from ._sockets import bind_listener

__all__ = ["AppSurface", "Surface", "serve_app", "serve_surfaces", "url_host"]

SHUTDOWN_TIMEOUT_S: Final = 0.25
"""How long a stopping server waits for answers in flight: a twin's answers are immediate."""


def url_host(host: str) -> str:
    """`host` as it stands in a URL (an IPv6 address in brackets)."""
    return f"[{host}]" if ":" in host else host


class Surface(abc.ABC):
    """One served face of the twin: `start()` answers its URL, `stop()` ends it."""

    name: str
    """The key of its URL and its port ("sso_na", "owner_api", "streaming", an extra app's name)."""
    description: str
    """What it stands for, for people ("auth.tesla.com", "Wall Connector 1234...")."""

    @abc.abstractmethod
    async def start(self) -> str:
        """Start serving; the URL clients use."""

    @abc.abstractmethod
    async def stop(self) -> None:
        """Stop serving (idempotent)."""

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r}, description={self.description!r})"


@contextlib.asynccontextmanager
async def serve_app(
    app: web.Application, host: str = "127.0.0.1", port: int = 0, *, sock: socket.socket | None = None
) -> AsyncIterator[int]:
    """Serve `app` on `host:port` (0: ephemeral), or on `sock` already bound; yields the port."""
    listener = sock if sock is not None else bind_listener(host, port)
    runner = web.AppRunner(app, access_log=None, shutdown_timeout=SHUTDOWN_TIMEOUT_S)
    try:
        await runner.setup()
        await web.SockSite(runner, listener).start()
        yield listener.getsockname()[1]
    finally:
        await runner.cleanup()
        listener.close()


AppSource = web.Application | Callable[[], web.Application]


class AppSurface(Surface):
    """An aiohttp app on its own port.

    `app` may be a factory, called at `start()`: the SSO regions must know each other's URLs
    before their apps are built, so `bind()` reserves the port (and fixes the URL) first.
    """

    def __init__(
        self,
        name: str,
        description: str,
        app: AppSource,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        scheme: str = "http",
        path: str = "",
    ) -> None:
        self.name = name
        self.description = description
        self.host = host
        self.port = port
        self._source = app
        self._scheme = scheme
        self._path = path.lstrip("/")
        self._sock: socket.socket | None = None
        self._app: web.Application | None = app if isinstance(app, web.Application) else None
        self._stack: contextlib.AsyncExitStack | None = None

    @property
    def base_url(self) -> str:
        """The server root ("http://host:port/"); the port is known once bound."""
        return f"{self._scheme}://{url_host(self.host)}:{self.port}/"

    @property
    def url(self) -> str:
        return self.base_url + self._path

    @property
    def app(self) -> web.Application:
        """The app served (built at `start()` when given as a factory)."""
        if self._app is None:
            raise RuntimeError(f"surface {self.name!r} has not started")
        return self._app

    def bind(self) -> str:
        """Reserve the listening socket (idempotent); the URL, known from here on."""
        if self._sock is None:
            self._sock = bind_listener(self.host, self.port)
            self.port = self._sock.getsockname()[1]
        return self.url

    async def start(self) -> str:
        if self._stack is not None:
            return self.url
        self.bind()
        if self._app is None:
            source = self._source
            self._app = source if isinstance(source, web.Application) else source()
        stack = contextlib.AsyncExitStack()
        await stack.enter_async_context(serve_app(self._app, self.host, self.port, sock=self._sock))
        self._stack = stack
        return self.url

    async def stop(self) -> None:
        stack, self._stack = self._stack, None
        if stack is not None:
            await stack.aclose()  # closes the socket too
        if self._sock is not None:
            self._sock.close()  # bound and never started, or already closed: both fine
            self._sock = None


@contextlib.asynccontextmanager
async def serve_surfaces(surfaces: Iterable[Surface]) -> AsyncIterator[dict[str, str]]:
    """Start every surface in order, stop them all at once when the block ends; yields name -> URL."""
    chosen = list(surfaces)
    urls: dict[str, str] = {}
    try:
        for surface in chosen:
            urls[surface.name] = await surface.start()
        yield urls
    finally:
        await asyncio.gather(*(surface.stop() for surface in chosen))
