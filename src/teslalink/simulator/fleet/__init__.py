"""The Fleet API twin: fleet-auth, three regional hosts, partner registration, pairing state.

    surfaces = fleet_surfaces(world)                      # auth + na/eu/cn, for serve_cloud
    async with serve_cloud(world, surfaces=surfaces) as cloud:
        cloud.extra["fleet_auth"], cloud.extra["fleet_na"]   # http://127.0.0.1:<port>/ each

`fleet_state(world)` holds what the Fleet side of the world knows (partner apps, the public keys
the world knows per domain, registrations per region, home regions, consents); `pairing` is the
per-car set of paired public keys that the car's signed-command side reads too.
"""

from .demo import DEMO_APP, populate_fleet_demo
from .pairing import pair, paired_keys, unpair
from .regions import FLEET_BASE_URLS, FLEET_REGIONS, FleetRegion
from .serve import FleetUrls, fleet_listing, fleet_ready, fleet_surfaces
from .state import FleetState, PartnerApp, fleet_state

__all__ = [
    "DEMO_APP",
    "FLEET_BASE_URLS",
    "FLEET_REGIONS",
    "FleetRegion",
    "FleetState",
    "FleetUrls",
    "PartnerApp",
    "fleet_listing",
    "fleet_ready",
    "fleet_state",
    "fleet_surfaces",
    "pair",
    "paired_keys",
    "populate_fleet_demo",
    "unpair",
]
