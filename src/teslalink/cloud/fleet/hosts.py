"""Where the Fleet API lives: one base URL per region, and the auth server (research/fleet.md 1.1).

TESLALINK_FLEET_API_URL_NA / _EU / _CN and TESLALINK_FLEET_AUTH_URL point the client at the twin
(`teslalink sim all --json` prints them under `fleet`) or a proxy; unset, Tesla's hosts are used.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Final

from ...errors import ConfigError
from ..config import _check_host

__all__ = ["FLEET_API_URLS", "FLEET_AUTH_URL", "FleetHosts"]

FLEET_API_URLS: Final[dict[str, str]] = {
    "na": "https://fleet-api.prd.na.vn.cloud.tesla.com/",  # North America and Asia-Pacific but China
    "eu": "https://fleet-api.prd.eu.vn.cloud.tesla.com/",  # Europe, Middle East, Africa
    "cn": "https://fleet-api.prd.cn.vn.cloud.tesla.cn/",  # China (its own developer.tesla.cn app)
}
"""Tesla's regional Fleet API base URLs (developer.tesla.com base-urls page), each ending in '/'."""

FLEET_AUTH_URL: Final = "https://fleet-auth.prd.vn.cloud.tesla.com/"
"""Tesla's Fleet auth server; its token endpoint is `oauth2/v3/token` (announcement 2025-07-21)."""

_ENV_AUTH: Final = "TESLALINK_FLEET_AUTH_URL"
_ENV_API: Final = "TESLALINK_FLEET_API_URL_"  # + NA, EU, CN


def _normalised(name: str, value: str) -> str:
    """`value` checked as an http(s) URL with a usable host, ending in '/' (so relative paths join)."""
    scheme, sep, _ = value.partition("://")
    if not sep or scheme not in ("http", "https"):
        raise ConfigError(f"{name} URL {value!r} must start with http:// or https://")
    _check_host(name, value)
    return value if value.endswith("/") else value + "/"


@dataclass(frozen=True, slots=True)
class FleetHosts:
    """The base URL of each Fleet region (`api`, by "na"/"eu"/"cn") and of the auth server."""

    api: Mapping[str, str] = field(default_factory=lambda: dict(FLEET_API_URLS))
    auth: str = FLEET_AUTH_URL

    def __post_init__(self) -> None:
        api = {region.lower(): _normalised(f"Fleet API {region}", url) for region, url in self.api.items()}
        object.__setattr__(self, "api", MappingProxyType(api))
        object.__setattr__(self, "auth", _normalised("Fleet auth", self.auth))

    @classmethod
    def from_env(
        cls,
        environ: Mapping[str, str] | None = None,
        *,
        auth: str | None = None,
        api: Mapping[str, str] | None = None,
        na: str | None = None,
        eu: str | None = None,
        cn: str | None = None,
    ) -> FleetHosts:
        """Explicit overrides (`auth`, `api` or one region's keyword) win over the environment, which
        wins over Tesla's hosts."""
        env = os.environ if environ is None else environ
        given = {"na": na, "eu": eu, "cn": cn}
        urls: dict[str, str] = {}
        for region, default in FLEET_API_URLS.items():
            urls[region] = (
                given[region] or (api or {}).get(region) or env.get(_ENV_API + region.upper()) or default
            )
        for region, url in (api or {}).items():  # a region of the caller's beyond the three
            urls.setdefault(region.lower(), url)
        return cls(api=urls, auth=auth or env.get(_ENV_AUTH) or FLEET_AUTH_URL)

    def base_url(self, region: str) -> str:
        """The base URL of `region` ("na", "eu", "cn"; any case), or a ConfigError naming the known ones."""
        try:
            return self.api[region.lower()]
        except KeyError:
            known = ", ".join(sorted(self.api))
            raise ConfigError(f"unknown Fleet API region {region!r} (known: {known})") from None

    def region_of(self, base_url: str) -> str | None:
        """The region whose base URL is `base_url` (trailing '/' optional), or None if none is."""
        wanted = base_url.rstrip("/") + "/"
        return next((region for region, url in self.api.items() if url == wanted), None)
