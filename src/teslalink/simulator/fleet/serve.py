"""The Fleet API's surfaces for `serve_cloud(world, surfaces=...)`: fleet-auth and three regions.

    surfaces = fleet_surfaces(world)
    async with serve_cloud(world, surfaces=surfaces) as cloud:
        urls = FleetUrls.of(cloud.extra)
        urls.api["eu"], urls.auth                 # http://127.0.0.1:<port>/ each

Surface names: "fleet_auth", "fleet_na", "fleet_eu", "fleet_cn". fleet-auth must know the
regions' loopback URLs (it takes them as `audience`), so the regional sockets are bound first.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final

from ..surface import AppSurface
from .api_app import create_fleet_api_app
from .auth_app import create_fleet_auth_app
from .regions import AUTH_HOST, FLEET_BASE_URLS, FLEET_REGIONS, FleetRegion
from .state import fleet_state

if TYPE_CHECKING:
    from ..world import World

__all__ = ["AUTH_SURFACE", "FleetUrls", "fleet_listing", "fleet_surfaces"]

AUTH_SURFACE: Final = "fleet_auth"


def _surface_name(region: FleetRegion) -> str:
    return f"fleet_{region}"


def fleet_surfaces(
    world: World, host: str = "127.0.0.1", ports: Mapping[str, int] | None = None
) -> list[AppSurface]:
    """fleet-auth and the three regional hosts; `ports` by surface name (missing or 0: ephemeral)."""
    chosen = dict(ports or {})
    regions = {
        region: AppSurface(
            _surface_name(region),
            FLEET_BASE_URLS[region].removeprefix("https://"),
            create_fleet_api_app(world, region),
            host=host,
            port=chosen.get(_surface_name(region), 0),
        )
        for region in FLEET_REGIONS
    }

    def served() -> dict[FleetRegion, str]:
        return {region: surface.bind() for region, surface in regions.items()}

    auth = AppSurface(
        AUTH_SURFACE,
        AUTH_HOST,
        lambda: create_fleet_auth_app(world, served),
        host=host,
        port=chosen.get(AUTH_SURFACE, 0),
    )
    return [auth, *regions.values()]


@dataclass(frozen=True)
class FleetUrls:
    """The served Fleet URLs: fleet-auth's root and each region's base URL."""

    auth: str
    api: dict[FleetRegion, str]

    @classmethod
    def of(cls, urls: Mapping[str, str]) -> FleetUrls:
        """From `Cloud.extra` (or `serve_surfaces`' name -> URL)."""
        return cls(urls[AUTH_SURFACE], {region: urls[_surface_name(region)] for region in FLEET_REGIONS})


def fleet_listing(world: World, urls: FleetUrls) -> dict[str, Any]:
    """The `fleet` entry of `teslalink sim all --json`: api, auth and the partner apps (with secrets)."""
    return {
        "api": dict(urls.api),
        "auth": urls.auth,
        "token_url": urls.auth + "oauth2/v3/token",
        "authorize_url": urls.auth + "oauth2/v3/authorize",
        "apps": [
            {
                "client_id": app.client_id,
                "client_secret": app.client_secret,
                "domain": app.domain,
                "redirect_uri": app.redirect_uris[0],
            }
            for app in fleet_state(world).apps.values()
        ],
    }
