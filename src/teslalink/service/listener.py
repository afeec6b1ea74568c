"""The service's HTTP listener: `/health`, `/status` and `/metrics`, read-only, on loopback by default.

    listener = await start_listener(settings.listen, lambda: (state, clock_ms()))
    listener.url                      # http://127.0.0.1:8765/
    await listener.close()

What each answers (everything from one `snapshot()` of the service's `ServiceState`, taken when
the request comes, so nothing here can fall out of step with the service):

* `GET /health`: `{"health": "ok"|"degraded", "problems": [...]}` with 200, or `"failing"` with
  503, so a supervisor or a load balancer acts on the status code alone (see `state.Health`);
* `GET /status`: `ServiceState.to_json(now_ms)`, what `teslalink status` prints;
* `GET /metrics`: the Prometheus exposition of `service.metrics` (prometheus-client); without that
  package a 501 with one line that names it, and the rest of the service runs on;
* anything else: a JSON 404 (405 for another method) that lists the endpoints.

Why loopback by default: `/status` names the owner's cars, VINs and account emails. There is no
authentication (our choice: as Prometheus exporters do, access is the network's business); a
user who listens beyond loopback chooses who can reach the port. Nothing secret is ever served
(targets are named by scheme and host only). No access log: a scrape every 15 s would fill the
journal with nothing.
"""

from __future__ import annotations

import asyncio
import errno
import ipaddress
import logging
import os
import socket
from collections.abc import Awaitable, Callable
from types import TracebackType
from typing import TYPE_CHECKING, Any, Final, Self

from aiohttp import web

from .._json import dumps
from ..errors import ConfigError
from .state import Health, ServiceState

if TYPE_CHECKING:
    from .settings import ListenSettings

__all__ = ["ENDPOINTS", "METRICS_MISSING", "ListenError", "Listener", "Snapshot", "start_listener"]

_LOG = logging.getLogger(__name__)

Snapshot = Callable[[], tuple[ServiceState, int]]
"""The service's state and its clock's now (epoch ms), read at each request on the loop's thread."""

ENDPOINTS: Final = ("/health", "/status", "/metrics")
METRICS_MISSING: Final = (
    "/metrics needs the prometheus-client package: pip install 'teslalink[serve]' (the rest runs without it)"
)
SHUTDOWN_TIMEOUT_S: Final = 1.0
"""How long a closing listener waits for answers in flight: each is a snapshot, answered at once."""

_Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class ListenError(ConfigError):
    """The listener cannot take the address the config gives (`[listen]` host and port): the port is
    in use, the address is not this machine's, a port below 1024 needs privileges. One line."""


class Listener:
    """A running listener: `url`, `host`, `port`; `close()` (or `async with`) stops it."""

    def __init__(self, runner: web.AppRunner, sock: socket.socket, host: str) -> None:
        self._runner = runner
        self._sock = sock
        self.host = host
        self.port: int = sock.getsockname()[1]

    @property
    def url(self) -> str:
        """The root every endpoint hangs off: http://HOST:PORT/ (an IPv6 address in brackets)."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}/"

    def __repr__(self) -> str:
        return f"Listener({self.url!r})"

    async def close(self) -> None:
        """Stop answering (idempotent); requests in flight get `SHUTDOWN_TIMEOUT_S` to finish."""
        await self._runner.cleanup()
        self._sock.close()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()


async def start_listener(settings: ListenSettings, snapshot: Snapshot) -> Listener:
    """Serve the endpoints on `settings.host:settings.port` (port 0: a free one, see `.port`).

    `settings.enabled` is the runner's to heed: called, this listens. Raises `ListenError` when
    the address cannot be taken.
    """
    sock = await _bind(settings.host, settings.port)
    app = create_app(snapshot, loopback_names_only=_is_loopback(settings.host))
    runner = web.AppRunner(app, access_log=None, shutdown_timeout=SHUTDOWN_TIMEOUT_S)
    try:
        await runner.setup()
        await web.SockSite(runner, sock).start()
    except BaseException:
        await runner.cleanup()
        sock.close()
        raise
    listener = Listener(runner, sock, settings.host)
    _LOG.info("listening on %s (health, status, metrics)", listener.url)
    return listener


def create_app(snapshot: Snapshot, *, loopback_names_only: bool = False) -> web.Application:
    """The aiohttp app of the endpoints (`start_listener` serves it; a test may too).

    `loopback_names_only` (a listener on loopback): a request whose Host is not a loopback
    address or `localhost` is answered 421 before any handler. A web page the owner visits could
    otherwise point its own name at 127.0.0.1 (DNS rebinding) and read `/status`: the VINs, the
    account emails. A listener the owner opened wider takes any Host (the docs say what that
    exposes)."""
    middlewares = [_errors_as_json, _loopback_host] if loopback_names_only else [_errors_as_json]
    app = web.Application(middlewares=middlewares)
    metrics = _metrics_handler(snapshot)

    async def health(request: web.Request) -> web.Response:
        state, _ = snapshot()
        current = state.health
        body = {"health": current.value, "problems": state.problems()}
        return _json(body, status=503 if current is Health.FAILING else 200)

    async def status(request: web.Request) -> web.Response:
        state, now_ms = snapshot()
        return _json(state.to_json(now_ms))

    app.router.add_get("/health", health)
    app.router.add_get("/status", status)
    app.router.add_get("/metrics", metrics)
    return app


def _metrics_handler(snapshot: Snapshot) -> _Handler:
    """The /metrics handler: the exposition, or a 501 that names the missing package."""
    try:
        from . import metrics  # noqa: PLC0415 - prometheus-client may be missing; the rest runs on
    except ImportError:
        _LOG.warning("%s", METRICS_MISSING)

        async def missing(request: web.Request) -> web.Response:
            return web.Response(status=501, text=METRICS_MISSING + "\n", headers=_NO_STORE)

        return missing

    registry = metrics.registry_for(snapshot)

    async def exposition(request: web.Request) -> web.Response:
        body, content_type = metrics.render(registry, request.headers.get("Accept", ""))
        headers = {**_NO_STORE, "Content-Type": content_type}
        return web.Response(body=body, headers=headers)

    return exposition


_NO_STORE: Final = {"Cache-Control": "no-store"}


def _json(data: Any, *, status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
    return web.Response(
        body=dumps(data),
        status=status,
        content_type="application/json",
        headers={**_NO_STORE, **(headers or {})},
    )


@web.middleware
async def _loopback_host(request: web.Request, handler: _Handler) -> web.StreamResponse:
    name = (request.url.host or "").strip("[]").lower()
    if name != "localhost" and not _is_loopback(name):
        return _json(
            {"error": "this listener answers loopback names only (127.0.0.1, ::1, localhost)"}, status=421
        )
    return await handler(request)


def _is_loopback(host: str) -> bool:
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


@web.middleware
async def _errors_as_json(request: web.Request, handler: _Handler) -> web.StreamResponse:
    """A wrong path or method answers JSON that lists the endpoints; a failing handler one line."""
    try:
        return await handler(request)
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        allow = {"Allow": exc.headers["Allow"]} if "Allow" in exc.headers else {}
        words = "no such endpoint" if exc.status == 404 else (exc.reason or "refused").lower()
        return _json({"error": words, "endpoints": list(ENDPOINTS)}, status=exc.status, headers=allow)
    except Exception as exc:  # a bug: reported, the listener goes on
        _LOG.error("listener: %s failed: %s: %s", request.path, type(exc).__name__, exc)
        return _json({"error": "the service could not answer this request; see its log"}, status=500)


# --- the socket ----------------------------------------------------------------------------------

_WHY: Final = {
    errno.EADDRINUSE: "the port is in use (another `teslalink serve`? choose another [listen] port)",
    errno.EACCES: "permission denied (a port below 1024 needs privileges; choose another [listen] port)",
    errno.EADDRNOTAVAIL: "the address is not one of this machine's ([listen] host)",
}


async def _bind(host: str, port: int) -> socket.socket:
    """A non-blocking listening socket on host:port, or a `ListenError` in one line.

    Why bind ourselves: the port is known before the site starts (port 0 picks a free one), and
    a port in use is told as such instead of as aiohttp's traceback.
    """
    where = f"{host}:{port}"
    if isinstance(port, bool) or not isinstance(port, int) or not 0 <= port <= 65535:
        raise ListenError(f"cannot listen on {where}: the port must be 0..65535")
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(
            host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )
    except (OSError, UnicodeError) as exc:
        raise ListenError(
            f"cannot listen on {where}: {host!r} is not an address of this machine ({exc})"
        ) from None
    family, kind, proto, _, address = infos[0]
    sock = socket.socket(family, kind, proto)
    try:
        if os.name == "posix":  # restart at once after a stop (TIME_WAIT); a listening port still refuses
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
        sock.listen(128)
        sock.setblocking(False)
    except OSError as exc:
        sock.close()
        why = _WHY.get(exc.errno or 0, exc.strerror or str(exc))
        raise ListenError(f"cannot listen on {where}: {why}") from None
    except BaseException:
        sock.close()
        raise
    return sock
