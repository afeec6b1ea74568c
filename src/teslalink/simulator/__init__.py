"""teslalink's digital twin: simulated Tesla devices and services in one seeded world with a clock.

Product code, not a test helper: other people's real clients (tesla-wall-connector, TeslaPy) run
against it unchanged. It simulates Wall Connector Gen 3 units (the local HTTP API, with the
firmware's quirks) and Tesla's cloud: the SSO (both regions), the Owner API, the streaming
websocket, cars that sleep, drive and charge on those Wall Connectors, and energy sites.
`serve_cloud(world)` serves all of it on loopback; `teslalink sim all` does the same from a shell;
`ThreadedTwin` serves it from a thread of its own, for blocking tests and scripts, and `scenario`
holds the scenario controls (also served under the Owner API's `/_twin/`).
A Wall Connector alone::

    from teslalink.simulator import World, Wiring, serve_wall_connectors

    world = World(seed=1, speed=0.0, start=1_700_000_000)
    unit = world.add_wall_connector(wiring=Wiring.SPLIT_PHASE)
    unit.plug_in(32.0)
    world.advance(3600)                    # an hour of charging, integrated exactly
    async with serve_wall_connectors(world) as servers:
        print(servers[0].url)              # http://127.0.0.1:<port>/api/1/vitals answers
"""

from __future__ import annotations

from .accounts import Account
from .demo import populate_demo
from .grid import Wiring
from .quirks import Quirks
from .serve import Cloud, serve_cloud
from .site import EnergySite
from .threaded import ThreadedTwin
from .vehicle.car import Car
from .wall_connector.charger import EvseState
from .wall_connector.firmware import DEFAULT_FIRMWARE
from .wall_connector.server import WallConnectorServer, serve_wall_connectors
from .wall_connector.unit import ENDPOINTS, WallConnectorUnit
from .world import World

__all__ = [
    "DEFAULT_FIRMWARE",
    "ENDPOINTS",
    "Account",
    "Car",
    "Cloud",
    "EnergySite",
    "EvseState",
    "Quirks",
    "ThreadedTwin",
    "WallConnectorServer",
    "WallConnectorUnit",
    "Wiring",
    "World",
    "populate_demo",
    "serve_cloud",
    "serve_wall_connectors",
]
