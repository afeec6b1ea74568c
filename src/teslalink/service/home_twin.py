"""One owner's home in the twin, served on loopback, ready for `teslalink serve` to watch.

The service's tests, its benchmark and the demo need the same thing: a frozen world (moved only
by the service's scheduler, `World(speed=0)`) with one account on the Fleet API (the demo
partner app registered, a user token with every scope stored in a token file as
`teslalink fleet login` would store it), a car, a Wall Connector on the "home network" (its own
loopback port) and a Powerwall site with solar; and the `ServiceSettings` that watch them. Its
`fleet_options` open the account against the twin (the app's hosts, the world's clock for the
token's expiry). Nothing here is used by the service itself.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import AsyncIterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from .settings import AccountSettings, ListenSettings, ServiceSettings, StorageSettings, UnitSettings

if TYPE_CHECKING:
    from ..cloud.tokens import TokenStore
    from ..simulator import World
    from ..simulator.site import EnergySite
    from ..simulator.vehicle.car import Car
    from ..simulator.wall_connector.unit import WallConnectorUnit

__all__ = ["EMAIL", "WEEK_START", "HomeTwin", "serve_home"]

EMAIL: Final = "owner@teslalink.test"
WEEK_START: Final = 1_780_297_200.0
"""Monday 2026-06-01 00:00 in Fremont (07:00 UTC): `simulator.week`'s script starts at midnight."""


@dataclass
class HomeTwin:
    world: World
    email: str
    car: Car
    unit: WallConnectorUnit
    site: EnergySite
    unit_host: str  # host:port of the Wall Connector's local API
    store: TokenStore
    folder: Path
    fleet_options: dict[str, Any] = field(default_factory=dict)

    def settings(self, *, with_unit: bool = True, **changes: Any) -> ServiceSettings:
        """What `teslalink serve` is told: this account (Fleet API), the unit (for this car), the
        site, SQLite in the folder, no listener unless asked (`listen=ListenSettings(...)`)."""
        units = (UnitSettings(name="garage", host=self.unit_host, car=self.car.vin),) if with_unit else ()
        settings = ServiceSettings(
            data_dir=self.folder / "data",
            accounts=(AccountSettings(self.email, api="fleet"),),
            wallconnectors=units,
            storage=StorageSettings(path=Path("teslalink.db")),
            listen=ListenSettings(enabled=False),
        )
        return replace(settings, **changes)


@contextlib.asynccontextmanager
async def serve_home(
    folder: Path,
    *,
    seed: int = 1,
    start: float = WEEK_START,
    battery_level: float = 55.0,
    asleep: bool = True,
) -> AsyncIterator[HomeTwin]:
    """Build the home's world, serve it (Owner and Fleet surfaces, the unit), log the owner in."""
    from ..cloud.fleet.app import FleetApp  # noqa: PLC0415
    from ..cloud.fleet.hosts import FleetHosts  # noqa: PLC0415
    from ..cloud.fleet.tokens import SECTION, FleetToken  # noqa: PLC0415
    from ..cloud.tokens import TokenStore  # noqa: PLC0415
    from ..simulator import World, serve_cloud  # noqa: PLC0415
    from ..simulator.fleet import DEMO_APP, FleetUrls, fleet_surfaces, populate_fleet_demo  # noqa: PLC0415
    from ..simulator.fleet.regions import ALL_SCOPES  # noqa: PLC0415
    from ..simulator.fleet.state import authority_of, fleet_state  # noqa: PLC0415
    from ..simulator.owner_api.products import link_wall_connector  # noqa: PLC0415

    world = World(seed=seed, speed=0.0, start=start)
    account = world.add_account(EMAIL, "pw-home")
    car = world.add_vehicle(account, display_name="Model 3", asleep=asleep, battery_level=battery_level)
    unit = world.add_wall_connector()
    link_wall_connector(world, account, unit)
    site = world.add_energy_site(account, site_name="Home", powerwalls=1)
    populate_fleet_demo(world)
    surfaces = fleet_surfaces(world)
    os.makedirs(folder, exist_ok=True)
    async with serve_cloud(world, surfaces=surfaces) as cloud:
        urls = FleetUrls.of(cloud.extra)
        body = authority_of(world).issue_user_token(account, client_id=DEMO_APP.client_id, scopes=ALL_SCOPES)
        store = TokenStore(folder / "tokens.json")
        token = FleetToken(
            access_token=body["access_token"],
            refresh_token=body["refresh_token"],
            expires_at=world.now() + float(body["expires_in"]),
            region=fleet_state(world).home_region(account),
            scopes=tuple(ALL_SCOPES),
            client_id=DEMO_APP.client_id,
        )
        store.save_section(EMAIL, SECTION, token.to_entry())
        app = FleetApp(
            client_id=DEMO_APP.client_id,
            client_secret=DEMO_APP.client_secret,
            redirect_uri=DEMO_APP.redirect_uris[0],
            domain=DEMO_APP.domain,
            key_path=folder / "fleet-key.pem",
            hosts=FleetHosts(api={str(r): u for r, u in urls.api.items()}, auth=urls.auth),
        )
        environ = {"XDG_CONFIG_HOME": str(folder / "config")}
        server = next(s for s in cloud.wall_connectors if s.unit is unit)
        yield HomeTwin(
            world=world,
            email=EMAIL,
            car=car,
            unit=unit,
            site=site,
            unit_host=f"{server.host}:{server.port}",
            store=store,
            folder=folder,
            fleet_options={"app": app, "environ": environ, "clock": world.now},
        )
