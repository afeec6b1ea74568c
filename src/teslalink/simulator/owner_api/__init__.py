"""The Owner API twin (owner-api.teslamotors.com): vehicles, energy sites, products, commands.

    app = create_owner_api_app(world, faults=Faults.parse("5xx=0.05", seed=world.seed),
                               rate_limits=RateLimits(per_vehicle_per_min=30))
    link_wall_connector(world, account, unit)      # the unit appears in the account's products

Modules: `app` (routes and the request layers: accounting, faults, auth, rate limits), `vehicles`,
`energy`, `account` (handlers), `bodies` (the wire format and every error body, with which ones
were seen on the real service), `ratelimit`, `products` (Wall Connector pairing, orders, service
scheduling), `admin` (the twin's `/_twin/` endpoints), `context` (what handlers share).
"""

from __future__ import annotations

from .app import ROUTES, create_owner_api_app
from .context import OWNER_API, OwnerApi
from .products import WallConnectorLink, link_wall_connector, linked_wall_connectors
from .ratelimit import RateLimiter, RateLimits

__all__ = [
    "OWNER_API",
    "ROUTES",
    "OwnerApi",
    "RateLimiter",
    "RateLimits",
    "WallConnectorLink",
    "create_owner_api_app",
    "link_wall_connector",
    "linked_wall_connectors",
]
