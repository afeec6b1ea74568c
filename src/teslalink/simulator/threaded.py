"""The twin on its own event-loop thread, for blocking tests and scripts (like moto's ThreadedMotoServer).

Blocking code (TeslaPy, `teslalink.sync`, a CLI command that calls `asyncio.run`) cannot share
an event loop with the twin it talks to, so `ThreadedTwin` serves the whole cloud (or only the
Wall Connectors) on a thread of its own::

    from teslalink.simulator import ThreadedTwin

    with ThreadedTwin() as twin:                 # a demo world: demo1..3@teslalink.test, frozen clock
        twin.urls                                # CloudUrls(api=..., sso=..., streaming=...)
        twin.accounts[0].email, twin.accounts[0].password
        twin.admin                               # http://127.0.0.1:p/_twin/ (scenario endpoints)
        twin.call(twin.world.advance, 600)       # runs on the twin's thread
        ...                                      # any client, pointed at twin.urls

The world belongs to the twin's thread while it runs: change or read it through `call` (which
runs a function there, between two requests, and returns its result or raises its exception) or
through the admin endpoints, never directly from another thread. `start()` and `stop()` are
idempotent; `stop()` closes every port and joins the thread. A twin that failed to start (a port
in use) raises from `start()` and leaves nothing running.

Our choice: without a world, a `ThreadedTwin` builds `World(seed=0, speed=0.0)` with
`populate_demo`'s three accounts: a frozen clock, so a test decides when time passes.
"""

from __future__ import annotations

import asyncio
import contextlib
import queue
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from types import TracebackType
from typing import TYPE_CHECKING, Any, Self, TypeVar

from .demo import DemoAccount, populate_demo
from .serve import Cloud, serve_cloud
from .wall_connector.server import WallConnectorServer, serve_wall_connectors
from .world import World

if TYPE_CHECKING:
    from aiohttp import web

    from ..cloud.config import CloudUrls
    from .faults import Faults
    from .owner_api import RateLimits
    from .surface import Surface

__all__ = ["ThreadedTwin"]

T = TypeVar("T")

_Started = tuple[asyncio.Event, Cloud | None, list[WallConnectorServer]]


class ThreadedTwin:
    """A world served on loopback from its own thread until `stop()` (or the `with` block's end).

    `world`: the world to serve (default: a demo world, see the module docstring); `accounts`:
    what `populate_demo` made for it, when the caller used it (`twin.accounts`). With
    `wall_connectors_only` only the Wall Connectors are served (`twin.wall_connectors`), and the
    cloud properties raise. The other options are those of `serve_cloud`. `timeout_s` bounds
    starting, stopping and every `call`.
    """

    def __init__(
        self,
        world: World | None = None,
        *,
        accounts: Sequence[DemoAccount] | None = None,
        wall_connectors_only: bool = False,
        host: str = "127.0.0.1",
        ports: Mapping[str, int] | None = None,
        faults: Faults | None = None,
        rate_limits: RateLimits | None = None,
        require_signed_commands: bool = False,
        extra_apps: Mapping[str, web.Application] | None = None,
        surfaces: Iterable[Surface] = (),
        timeout_s: float = 30.0,
    ) -> None:
        if world is None:
            world = World(seed=0, speed=0.0)
            if accounts is None and not wall_connectors_only:
                accounts = populate_demo(world)
        self.world = world
        self.accounts: list[DemoAccount] = list(accounts or [])
        self.timeout_s = timeout_s
        self._wall_connectors_only = wall_connectors_only
        self._serve_options: dict[str, Any] = {
            "host": host,
            "ports": ports,
            "faults": faults,
            "rate_limits": rate_limits,
            "require_signed_commands": require_signed_commands,
            "extra_apps": extra_apps,
            "surfaces": list(surfaces),
        }
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop_event: asyncio.Event | None = None
        self._failure: BaseException | None = None
        self._cloud: Cloud | None = None
        self._servers: list[WallConnectorServer] = []

    def __repr__(self) -> str:
        where = (
            self._cloud.owner_api if self._cloud is not None else f"{len(self._servers)} wall connector(s)"
        )
        return f"ThreadedTwin({self.world!r}, running={self.running}, {where})"

    # --- what is served ---------------------------------------------------------------------------

    @property
    def running(self) -> bool:
        return self._thread is not None

    @property
    def cloud(self) -> Cloud:
        """The running cloud: every URL, the faults, the Owner API's settings."""
        if self._cloud is None:
            what = "serves Wall Connectors only" if self._wall_connectors_only else "is not running"
            raise RuntimeError(f"this ThreadedTwin {what}")
        return self._cloud

    @property
    def urls(self) -> CloudUrls:
        """The base URLs to give a teslalink client (`TeslaApi(..., urls=twin.urls)`)."""
        from ..cloud.config import CloudUrls  # noqa: PLC0415 - the client is not the twin's import

        cloud = self.cloud
        return CloudUrls(api=cloud.owner_api, sso=cloud.sso["na"], streaming=cloud.streaming)

    @property
    def admin(self) -> str:
        """Base URL of the admin and scenario endpoints (`GET` it for the list)."""
        return self.cloud.admin

    @property
    def wall_connectors(self) -> list[WallConnectorServer]:
        """One server per Wall Connector (its own port), in the world's order."""
        if not self.running:
            raise RuntimeError("this ThreadedTwin is not running")
        return list(self._servers)

    @property
    def wall_connector_urls(self) -> list[str]:
        return [server.url for server in self.wall_connectors]

    # --- running ------------------------------------------------------------------------------------

    def start(self) -> Self:
        """Serve on a new thread; returns once every port listens (a no-op while running)."""
        with self._lock:
            if self._thread is not None:
                return self
            started: queue.Queue[_Started | BaseException] = queue.Queue()
            loop = asyncio.new_event_loop()
            thread = threading.Thread(
                target=self._run, args=(loop, started), name="teslalink-twin", daemon=True
            )
            thread.start()
            try:
                outcome = started.get(timeout=self.timeout_s)
            except queue.Empty:
                outcome = TimeoutError(f"the twin did not start within {self.timeout_s:g} s")
            if isinstance(outcome, BaseException):
                self._end_thread(thread, loop, None)
                raise outcome
            self._stop_event, self._cloud, self._servers = outcome
            self._thread, self._loop, self._failure = thread, loop, None
            return self

    def stop(self) -> None:
        """Close every port and join the thread (a no-op when not running); raises what the thread raised."""
        with self._lock:
            thread, loop, stop_event = self._thread, self._loop, self._stop_event
            if thread is None or loop is None:
                return
            self._thread = self._loop = self._stop_event = self._cloud = None
            self._servers = []
            self._end_thread(thread, loop, stop_event)
            failure, self._failure = self._failure, None
        if failure is not None:
            raise failure

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    def call(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Run `fn(*args, **kwargs)` on the twin's thread and return its result (or raise its error)."""
        loop, thread = self._loop, self._thread
        if loop is None or thread is None:
            raise RuntimeError("this ThreadedTwin is not running")
        if threading.current_thread() is thread:
            return fn(*args, **kwargs)

        async def run() -> T:
            return fn(*args, **kwargs)

        future = asyncio.run_coroutine_threadsafe(run(), loop)
        try:
            return future.result(self.timeout_s)
        except TimeoutError:
            future.cancel()
            raise TimeoutError(f"the twin did not answer within {self.timeout_s:g} s") from None

    @contextlib.contextmanager
    def advancing(self, step_s: float, every_real_s: float) -> Iterator[None]:
        """Move world time by `step_s` every `every_real_s` real seconds while the block runs.

        What blocking code that waits on the twin (a wake-up, a drive) needs at world speed 0.
        """
        done = threading.Event()

        def tick() -> None:
            while not done.is_set():
                self.call(self.world.advance, step_s)
                done.wait(every_real_s)  # not a sleep: the block's end stops it at once

        ticker = threading.Thread(target=tick, name="teslalink-twin-clock", daemon=True)
        ticker.start()
        try:
            yield
        finally:
            done.set()
            ticker.join(self.timeout_s)

    # --- the thread ----------------------------------------------------------------------------------

    def _run(self, loop: asyncio.AbstractEventLoop, started: queue.Queue[_Started | BaseException]) -> None:
        asyncio.set_event_loop(loop)
        announced = threading.Event()
        try:
            loop.run_until_complete(self._serve(started, announced))
        except BaseException as exc:  # before the start: start() raises it; after: stop() does
            if announced.is_set():
                self._failure = exc
            else:
                started.put(exc)
        finally:
            loop.run_until_complete(loop.shutdown_asyncgens())

    async def _serve(
        self, started: queue.Queue[_Started | BaseException], announced: threading.Event
    ) -> None:
        stop_event = asyncio.Event()
        if self._wall_connectors_only:
            host = self._serve_options["host"]
            port = (self._serve_options["ports"] or {}).get("wall_connectors", 0)
            async with serve_wall_connectors(self.world, host=host, port=port) as servers:
                announced.set()
                started.put((stop_event, None, servers))
                await stop_event.wait()
        else:
            async with serve_cloud(self.world, **self._serve_options) as cloud:
                announced.set()
                started.put((stop_event, cloud, list(cloud.wall_connectors)))
                await stop_event.wait()

    def _end_thread(
        self, thread: threading.Thread, loop: asyncio.AbstractEventLoop, stop_event: asyncio.Event | None
    ) -> None:
        if stop_event is not None and not loop.is_closed():
            loop.call_soon_threadsafe(stop_event.set)
        thread.join(self.timeout_s)
        if thread.is_alive():
            raise RuntimeError(f"the twin's thread did not stop within {self.timeout_s:g} s")
        loop.close()
