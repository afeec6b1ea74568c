"""The Fleet API twin: fleet-auth, three regional hosts, partner registration, pairing state, and
the simulated car's side of the Vehicle Command Protocol.

    surfaces = fleet_surfaces(world)                      # auth + na/eu/cn, for serve_cloud
    async with serve_cloud(world, surfaces=surfaces) as cloud:
        cloud.extra["fleet_auth"], cloud.extra["fleet_na"]   # http://127.0.0.1:<port>/ each

`fleet_state(world)` holds what the Fleet side of the world knows (partner apps, the public keys
the world knows per domain, registrations per region, home regions, consents); `pairing` is the
per-car set of paired public keys that the car's signed-command side reads too. `security_of(car)`
is that side (keys, epochs, whitelist, `handle(routable_message)`), and `inspect_request` what the
Fleet API reads of a request before the car (scopes, AES-GCM).

The protocol needs the `fleet` extra (cryptography, tesla-protocol): its names are imported on first
use, so the rest of the twin loads without it.
"""

from __future__ import annotations

from typing import Any

from .demo import DEMO_APP, populate_fleet_demo
from .pairing import pair, paired_keys, unpair
from .regions import FLEET_BASE_URLS, FLEET_REGIONS, FleetRegion
from .serve import FleetUrls, fleet_listing, fleet_ready, fleet_surfaces
from .state import FleetState, PartnerApp, fleet_state

_PROTOCOL_NAMES = ("CarSecurity", "KeyEntry", "RequestView", "inspect_request", "security_of")

__all__ = [
    "DEMO_APP",
    "FLEET_BASE_URLS",
    "FLEET_REGIONS",
    "CarSecurity",
    "FleetRegion",
    "FleetState",
    "FleetUrls",
    "KeyEntry",
    "PartnerApp",
    "RequestView",
    "fleet_listing",
    "fleet_ready",
    "fleet_state",
    "fleet_surfaces",
    "inspect_request",
    "pair",
    "paired_keys",
    "populate_fleet_demo",
    "security_of",
    "unpair",
]


def __getattr__(name: str) -> Any:
    """The car's protocol side on first use: it needs cryptography and tesla-protocol."""
    if name in _PROTOCOL_NAMES:
        from . import car_security  # noqa: PLC0415

        return getattr(car_security, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
