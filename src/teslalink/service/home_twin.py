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
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from .settings import AccountSettings, ListenSettings, ServiceSettings, StorageSettings, UnitSettings

if TYPE_CHECKING:
    from ..cloud.fleet.app import FleetApp
    from ..cloud.tokens import TokenStore
    from ..simulator import World
    from ..simulator.site import EnergySite
    from ..simulator.vehicle.car import Car
    from ..simulator.wall_connector.unit import WallConnectorUnit

__all__ = ["EMAIL", "WEEK_START", "HomeTwin", "demo_app", "serve_home"]

EMAIL: Final = "owner@teslalink.test"
WEEK_START: Final = 1_780_297_200.0
"""Monday 2026-06-01 00:00 in Fremont (07:00 UTC): `simulator.week`'s script starts at midnight."""


@dataclass
class HomeTwin:
    world: World
    email: str
    cars: list[Car]  # the owner's car first; more for a benchmark's fleet
    units: list[WallConnectorUnit]  # one per car, the first in the garage
    unit_hosts: list[str]  # host:port of each unit's local API
    site: EnergySite
    store: TokenStore
    folder: Path
    fleet_options: dict[str, Any] = field(default_factory=dict)

    @property
    def car(self) -> Car:
        return self.cars[0]

    @property
    def unit(self) -> WallConnectorUnit:
        return self.units[0]

    def settings(self, *, with_unit: bool = True, **changes: Any) -> ServiceSettings:
        """What `teslalink serve` is told: this account (Fleet API), the units (unit i for car i:
        the first is "garage"), the site, SQLite in the folder, no listener unless asked."""
        units = tuple(
            UnitSettings(name="garage" if i == 0 else f"unit-{i}", host=host, car=car.vin)
            for i, (host, car) in enumerate(zip(self.unit_hosts, self.cars, strict=True))
        )
        units = units if with_unit else ()
        settings = ServiceSettings(
            data_dir=self.folder / "data",
            accounts=(AccountSettings(self.email, api="fleet"),),
            wallconnectors=units,
            storage=StorageSettings(path=Path("teslalink.db")),
            listen=ListenSettings(enabled=False),
        )
        return replace(settings, **changes)


def demo_app(folder: Path, api: Mapping[str, str], auth: str) -> FleetApp:
    """The twin's demo partner app with the twin's Fleet hosts (`api`: region -> base URL), its key
    file in `folder`: what `fleet_options` open the account with."""
    from ..cloud.fleet.app import FleetApp  # noqa: PLC0415
    from ..cloud.fleet.hosts import FleetHosts  # noqa: PLC0415
    from ..simulator.fleet import DEMO_APP  # noqa: PLC0415

    return FleetApp(
        client_id=DEMO_APP.client_id,
        client_secret=DEMO_APP.client_secret,
        redirect_uri=DEMO_APP.redirect_uris[0],
        domain=DEMO_APP.domain,
        key_path=folder / "fleet-key.pem",
        hosts=FleetHosts(api=dict(api), auth=auth),
    )


@contextlib.asynccontextmanager
async def serve_home(
    folder: Path,
    *,
    seed: int = 1,
    start: float = WEEK_START,
    battery_level: float = 55.0,
    asleep: bool = True,
    cars: int = 1,
    speed: float = 0.0,
) -> AsyncIterator[HomeTwin]:
    """Build the home's world, serve it (Owner and Fleet surfaces, the units), log the owner in.

    `cars` > 1 (a benchmark's fleet): car i > 0 is asleep when i % 3 == 0, plugged into its unit
    and charging when i % 3 == 1, else online and idle. `speed` 0 (default): a frozen world that
    only a scheduler's `run_until` moves."""
    from ..cloud.fleet.tokens import SECTION, FleetToken  # noqa: PLC0415
    from ..cloud.tokens import TokenStore  # noqa: PLC0415
    from ..simulator import World, serve_cloud  # noqa: PLC0415
    from ..simulator.fleet import DEMO_APP, FleetUrls, fleet_surfaces, populate_fleet_demo  # noqa: PLC0415
    from ..simulator.fleet.regions import ALL_SCOPES  # noqa: PLC0415
    from ..simulator.fleet.state import authority_of, fleet_state  # noqa: PLC0415
    from ..simulator.owner_api.products import link_wall_connector  # noqa: PLC0415

    world = World(seed=seed, speed=speed, start=start)
    account = world.add_account(EMAIL, "pw-home")
    fleet = [world.add_vehicle(account, display_name="Model 3", asleep=asleep, battery_level=battery_level)]
    fleet += [
        world.add_vehicle(account, display_name=f"Car {i}", asleep=i % 3 == 0, battery_level=40.0)
        for i in range(1, cars)
    ]
    units = [world.add_wall_connector() for _ in fleet]
    for i, (car, unit) in enumerate(zip(fleet, units, strict=True)):
        link_wall_connector(world, account, unit)
        if i % 3 == 1:
            car.plug_into(unit)
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
        app = demo_app(folder, {str(r): u for r, u in urls.api.items()}, urls.auth)
        environ = {"XDG_CONFIG_HOME": str(folder / "config")}
        servers = {id(s.unit): s for s in cloud.wall_connectors}
        yield HomeTwin(
            world=world,
            email=EMAIL,
            cars=fleet,
            units=units,
            unit_hosts=[f"{servers[id(u)].host}:{servers[id(u)].port}" for u in units],
            site=site,
            store=store,
            folder=folder,
            fleet_options={"app": app, "environ": environ, "clock": world.now},
        )
