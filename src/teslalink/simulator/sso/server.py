"""Serve the SSO twin over real HTTP on loopback: one port per region, like two hosts.

Each region's app must know every region's base URL before it serves (the cross-region
redirect), and an ephemeral port is only known once bound; so the sockets are bound first and
the apps are built and attached afterwards::

    async with serve_sso(world) as urls:
        print(urls["na"], urls["cn"])      # http://127.0.0.1:<port>/ each
"""

from __future__ import annotations

import contextlib
import socket
from collections.abc import AsyncIterator, Iterable, Mapping
from typing import TYPE_CHECKING

from aiohttp import web

from .._sockets import bind_listener
from ..accounts import Region
from .app import SSO_REGIONS, create_sso_app

if TYPE_CHECKING:
    from ..world import World

__all__ = ["serve_sso"]


@contextlib.asynccontextmanager
async def serve_sso(
    world: World,
    host: str = "127.0.0.1",
    ports: Mapping[Region, int] | None = None,
    regions: Iterable[Region] = SSO_REGIONS,
) -> AsyncIterator[dict[Region, str]]:
    """Serve each region's SSO on `host` (ports from `ports`, else ephemeral); yields region -> base URL."""
    chosen = list(regions)
    sockets: dict[Region, socket.socket] = {}
    runners: list[web.AppRunner] = []
    try:
        for region in chosen:
            sockets[region] = bind_listener(host, (ports or {}).get(region, 0))
        shown = f"[{host}]" if ":" in host else host
        urls: dict[Region, str] = {
            region: f"http://{shown}:{sock.getsockname()[1]}/" for region, sock in sockets.items()
        }
        named = {str(region): url for region, url in urls.items()}
        for region in chosen:
            app = create_sso_app(world, region=region, base_urls=named)
            runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.25)
            await runner.setup()
            runners.append(runner)
            await web.SockSite(runner, sockets[region]).start()
        yield urls
    finally:
        for runner in runners:
            await runner.cleanup()
        for sock in sockets.values():
            sock.close()
