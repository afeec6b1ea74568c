"""Serve the SSO twin over real HTTP on loopback: one port per region, like two hosts.

Each region's app must know every region's base URL before it serves (the cross-region
redirect), and an ephemeral port is only known once bound; so the sockets are bound first and
the apps are built and attached afterwards (`AppSurface.bind`, then `start`)::

    async with serve_sso(world) as urls:
        print(urls["na"], urls["cn"])      # http://127.0.0.1:<port>/ each
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Final

from aiohttp import web

from ..accounts import Region
from ..surface import AppSurface, serve_surfaces
from .app import SSO_REGIONS, create_sso_app

if TYPE_CHECKING:
    from aiohttp.typedefs import Middleware

    from ..world import World

__all__ = ["SSO_HOSTS", "serve_sso", "sso_surfaces"]

SSO_HOSTS: Final[dict[Region, str]] = {"na": "auth.tesla.com", "cn": "auth.tesla.cn"}


def sso_surfaces(
    world: World,
    host: str = "127.0.0.1",
    ports: Mapping[Region, int] | None = None,
    regions: Iterable[Region] = SSO_REGIONS,
    middlewares: Iterable[Middleware] = (),
) -> list[AppSurface]:
    """One surface per region ("sso_na", "sso_cn"), each app built knowing every region's URL."""
    chosen = list(regions)
    extra = list(middlewares)
    surfaces: dict[Region, AppSurface] = {}

    def build(region: Region) -> Callable[[], web.Application]:
        def app() -> web.Application:
            urls = {str(other): surface.bind() for other, surface in surfaces.items()}
            made = create_sso_app(world, region=region, base_urls=urls)
            made.middlewares.extend(extra)
            return made

        return app

    for region in chosen:
        surfaces[region] = AppSurface(
            f"sso_{region}", SSO_HOSTS[region], build(region), host=host, port=(ports or {}).get(region, 0)
        )
    return list(surfaces.values())


@contextlib.asynccontextmanager
async def serve_sso(
    world: World,
    host: str = "127.0.0.1",
    ports: Mapping[Region, int] | None = None,
    regions: Iterable[Region] = SSO_REGIONS,
) -> AsyncIterator[dict[Region, str]]:
    """Serve each region's SSO on `host` (ports from `ports`, else ephemeral); yields region -> base URL."""
    chosen = list(regions)
    async with serve_surfaces(sso_surfaces(world, host, ports, chosen)) as urls:
        yield {region: urls[f"sso_{region}"] for region in chosen}
