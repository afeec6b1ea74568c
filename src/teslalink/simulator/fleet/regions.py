"""The Fleet API's three regions, their real base URLs, and the auth hosts (fleet.md §1.1)."""

from __future__ import annotations

from typing import Final, Literal

__all__ = [
    "ALL_SCOPES",
    "AUTH_HOST",
    "FLEET_BASE_URLS",
    "FLEET_REGIONS",
    "ISSUER",
    "USERINFO_AUDIENCE",
    "FleetRegion",
    "region_of_base_url",
]

ALL_SCOPES: Final = (
    "openid",
    "offline_access",
    "user_data",
    "vehicle_device_data",
    "vehicle_location",
    "vehicle_cmds",
    "vehicle_charging_cmds",
    "energy_device_data",
    "energy_cmds",
)
"""Every scope a third-party app can ask for (research/fleet.md 1.2): the twin's discovery lists
them, and its demo tokens hold them all."""

FleetRegion = Literal["na", "eu", "cn"]
FLEET_REGIONS: Final[tuple[FleetRegion, ...]] = ("na", "eu", "cn")
FLEET_BASE_URLS: Final[dict[FleetRegion, str]] = {
    "na": "https://fleet-api.prd.na.vn.cloud.tesla.com",
    "eu": "https://fleet-api.prd.eu.vn.cloud.tesla.com",
    "cn": "https://fleet-api.prd.cn.vn.cloud.tesla.cn",
}
AUTH_HOST: Final = "fleet-auth.prd.vn.cloud.tesla.com"
ISSUER: Final = "https://auth.tesla.com/oauth2/v3/nts"
"""The `iss` of a real Fleet token (fleet.md §1.5, decoded from a sample)."""
USERINFO_AUDIENCE: Final[dict[FleetRegion, str]] = {
    "na": "https://auth.tesla.com/oauth2/v3/userinfo",
    "eu": "https://auth.tesla.com/oauth2/v3/userinfo",
    "cn": "https://auth.tesla.cn/oauth2/v3/userinfo",  # unverified: the cn audience
}


def region_of_base_url(url: str, served: dict[FleetRegion, str] | None = None) -> FleetRegion | None:
    """The region whose base URL is `url`: the real one, or the twin's loopback URL for it.

    Our choice: the twin takes either as `audience`, so a client pointed at loopback need not
    know the real names; trailing slashes do not matter.
    """
    wanted = url.strip().rstrip("/")
    for region in FLEET_REGIONS:
        if wanted == FLEET_BASE_URLS[region] or (served and wanted == served.get(region, "").rstrip("/")):
            return region
    return None
