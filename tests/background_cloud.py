"""The whole simulated cloud on its own event-loop thread, for tests of blocking code.

CLI commands run `asyncio.run` and the blocking facade has its own loop thread, so the twin they
talk to cannot live on the test's loop. `call` runs a function on the twin's thread: the world is
not shared across threads.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Callable, Iterator
from typing import Any

from teslalink.cloud import CloudUrls
from teslalink.simulator import World
from teslalink.simulator.demo import DemoAccount
from teslalink.simulator.serve import Cloud, serve_cloud


class BackgroundCloud:
    def __init__(self, world: World, accounts: list[DemoAccount] | None = None) -> None:
        self.world = world
        self.accounts = accounts or []  # what populate_demo made, when the test used it
        self.cloud: Cloud | None = None
        self._loop = asyncio.new_event_loop()
        self._stop: asyncio.Event | None = None
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._loop.run_until_complete, args=(self._main(),))

    async def _main(self) -> None:
        self._stop = asyncio.Event()
        async with serve_cloud(self.world) as cloud:
            self.cloud = cloud
            self._ready.set()
            await self._stop.wait()

    @property
    def urls(self) -> CloudUrls:
        assert self.cloud is not None
        return CloudUrls(api=self.cloud.owner_api, sso=self.cloud.sso["na"], streaming=self.cloud.streaming)

    def call(self, fn: Callable[[], Any]) -> Any:
        """Run `fn` on the twin's loop thread and return its result."""

        async def wrapped() -> Any:
            return fn()

        return asyncio.run_coroutine_threadsafe(wrapped(), self._loop).result(10)

    @contextlib.contextmanager
    def advancing(self, step_s: float, every_real_s: float) -> Iterator[None]:
        """Move world time by `step_s` every `every_real_s` real seconds while the block runs
        (what blocking code waiting on the twin, e.g. a wake, needs at world speed 0)."""
        stop = threading.Event()

        def tick() -> None:
            while not stop.is_set():
                self.call(lambda: self.world.advance(step_s))
                stop.wait(every_real_s)  # not a sleep: the block's end stops it at once

        ticker = threading.Thread(target=tick, daemon=True)
        ticker.start()
        try:
            yield
        finally:
            stop.set()
            ticker.join(30)  # a hang guard: one call to the twin at most

    def __enter__(self) -> BackgroundCloud:
        self._thread.start()
        assert self._ready.wait(10)
        return self

    def __exit__(self, *exc: object) -> None:
        assert self._stop is not None
        self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(10)
        self._loop.close()
