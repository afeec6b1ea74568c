"""The Fleet API's surfaces for `serve_cloud(world, surfaces=...)`: fleet-auth and three regions.

    surfaces = fleet_surfaces(world)
    async with serve_cloud(world, surfaces=surfaces) as cloud:
        urls = FleetUrls.of(cloud.extra)
        urls.api["eu"], urls.auth                 # http://127.0.0.1:<port>/ each

Surface names: "fleet_auth", "fleet_na", "fleet_eu", "fleet_cn", and "tesla_web" (tesla.com's
`/_ak/<domain>` page, where an owner approves an app's key: `ak_page`). fleet-auth must know the
regions' loopback URLs (it takes them as `audience`), so the regional sockets are bound first.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final

from ..surface import AppSurface
from .ak_page import AK_PATH, TESLA_WEB_HOST, create_tesla_web_app
from .api_app import create_fleet_api_app
from .auth_app import create_fleet_auth_app
from .demo import DEMO_APP
from .regions import ALL_SCOPES, AUTH_HOST, FLEET_BASE_URLS, FLEET_REGIONS, FleetRegion
from .state import authority_of, fleet_state

if TYPE_CHECKING:
    from ..accounts import Account
    from ..world import World

__all__ = [
    "AUTH_SURFACE",
    "FLEET_PORTS_OFFSET",
    "WEB_SURFACE",
    "FleetUrls",
    "fleet_listing",
    "fleet_ports",
    "fleet_ready",
    "fleet_surfaces",
    "fleet_user_token",
]

AUTH_SURFACE: Final = "fleet_auth"
WEB_SURFACE: Final = "tesla_web"
FLEET_PORTS_OFFSET: Final = 4
"""`teslalink sim all --port P`: fleet-auth on P+4, na P+5, eu P+6, cn P+7, tesla_web P+8 (the extra
apps' range, below the Wall Connectors' P+10)."""


def fleet_ready() -> bool:
    """Whether the `fleet` extra (cryptography) is installed: the Fleet twin needs it to sign."""
    return importlib.util.find_spec("cryptography") is not None


def fleet_ports(base: int) -> dict[str, int]:
    """The fixed ports from `base` (0: ephemeral)."""
    if base == 0:
        return {}
    names = [AUTH_SURFACE, *(_surface_name(region) for region in FLEET_REGIONS), WEB_SURFACE]
    return {name: base + FLEET_PORTS_OFFSET + i for i, name in enumerate(names)}


def fleet_user_token(world: World, account: Account, client_id: str = DEMO_APP.client_id) -> str:
    """A Fleet user access token of `account` for the demo app with every scope (no login dance)."""
    return str(
        authority_of(world).issue_user_token(account, client_id=client_id, scopes=ALL_SCOPES)["access_token"]
    )


def _surface_name(region: FleetRegion) -> str:
    return f"fleet_{region}"


def fleet_surfaces(
    world: World, host: str = "127.0.0.1", ports: Mapping[str, int] | None = None
) -> list[AppSurface]:
    """fleet-auth, the three regional hosts and tesla_web; `ports` by surface name (missing or 0:
    ephemeral)."""
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
    web = AppSurface(
        WEB_SURFACE,
        TESLA_WEB_HOST,
        lambda: create_tesla_web_app(world),
        host=host,
        port=chosen.get(WEB_SURFACE, 0),
    )
    return [auth, *regions.values(), web]


@dataclass(frozen=True)
class FleetUrls:
    """The served Fleet URLs: fleet-auth's root, each region's base URL, tesla_web's root ("" if
    not served)."""

    auth: str
    api: dict[FleetRegion, str]
    web: str = ""

    @classmethod
    def of(cls, urls: Mapping[str, str]) -> FleetUrls:
        """From `Cloud.extra` (or `serve_surfaces`' name -> URL)."""
        api = {region: urls[_surface_name(region)] for region in FLEET_REGIONS}
        return cls(urls[AUTH_SURFACE], api, urls.get(WEB_SURFACE, ""))

    @property
    def pairing_url(self) -> str:
        """What stands for `https://tesla.com/_ak/`: a link is this + `<domain>?vin=<VIN>`."""
        return self.web.rstrip("/") + AK_PATH if self.web else ""


def fleet_listing(world: World, urls: FleetUrls) -> dict[str, Any]:
    """The `fleet` entry of `teslalink sim all --json`: api, auth, the pairing page's `pairing_url`
    (for https://tesla.com/_ak/) and the partner apps (with secrets)."""
    return {
        "api": dict(urls.api),
        "auth": urls.auth,
        "token_url": urls.auth + "oauth2/v3/token",
        "authorize_url": urls.auth + "oauth2/v3/authorize",
        "pairing_url": urls.pairing_url,
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
