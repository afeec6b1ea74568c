"""teslalink's digital twin: simulated Tesla devices and services in one seeded world with a clock.

Product code, not a test helper: other people's real clients run against it unchanged. Today it
simulates Wall Connector Gen 3 units (the local HTTP API of /api/1/vitals, lifetime, version and
wifi_status, with the firmware's quirks)::

    from teslalink.simulator import World, Wiring, serve_wall_connectors

    world = World(seed=1, speed=0.0, start=1_700_000_000)
    unit = world.add_wall_connector(wiring=Wiring.SPLIT_PHASE)
    unit.plug_in(32.0)
    world.advance(3600)                    # an hour of charging, integrated exactly
    async with serve_wall_connectors(world) as servers:
        print(servers[0].url)              # http://127.0.0.1:<port>/api/1/vitals answers
"""

from __future__ import annotations

from .physics.charger import EvseState
from .physics.grid import Wiring
from .quirks import Quirks
from .server import WallConnectorServer, serve_wall_connectors
from .wall_connector.firmware import DEFAULT_FIRMWARE
from .wall_connector.unit import ENDPOINTS, WallConnectorUnit
from .world import World

__all__ = [
    "DEFAULT_FIRMWARE",
    "ENDPOINTS",
    "EvseState",
    "Quirks",
    "WallConnectorServer",
    "WallConnectorUnit",
    "Wiring",
    "World",
    "serve_wall_connectors",
]
