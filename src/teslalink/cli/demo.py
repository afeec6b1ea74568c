"""`teslalink demo`: the whole digital twin in the console dashboard. No login, no setup, no network.

One account owns a car charging on a split-phase Wall Connector, a second car driving laps of a
demo loop for as long as the demo runs (`drive_on`) and a Powerwall + solar site. The twin's
SSO, Owner API, streaming server and Wall Connector are served on loopback, and the dashboard
reads them over real HTTP with a token the twin issued, exactly as it would read Tesla.
`--wallconnectors` shows the older view of three simulated Wall Connectors instead.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import TYPE_CHECKING

import click

from ..simulator import Wiring, World, serve_wall_connectors
from ..wallconnector.client import WallConnector
from . import live
from ._common import run

if TYPE_CHECKING:
    from ..simulator.vehicle.car import Car
    from .dashboard import Dashboard

DEMO_EMAIL = "demo@teslalink.test"
DRIVER_NAME = "Commuter"
DRIVE_ROUTE = "loop_10km"
DRIVE_KPH = 50.0
DRIVE_LAPS = 100  # 1,000 km: more than any battery, so a drive ends only where the driver stops it
LOW_SOC = 20.0  # the driver stops to Supercharge below this level...
RESUME_SOC = 80.0  # ...and drives on from this one


@click.command()
@click.option("--speed", type=click.FloatRange(min=0.0), default=60.0, show_default=True,
              help="World seconds per real second.")  # fmt: skip
@click.option("--seed", type=int, default=1, show_default=True, help="Seed of the simulated world.")
@click.option("--interval", type=click.FloatRange(min=0.2), default=1.0, show_default=True,
              help="Seconds between polls.")  # fmt: skip
@click.option("--duration", type=click.FloatRange(min=0), default=None, help="Stop after this many seconds.")
@click.option("--wallconnectors", is_flag=True, help="Show three simulated Wall Connectors instead.")
def demo(speed: float, seed: int, interval: float, duration: float | None, wallconnectors: bool) -> None:
    """The digital twin in the console dashboard until `q` or Ctrl-C.

    A car charging on a split-phase Wall Connector, a car driving laps of a 10 km loop for as
    long as the demo runs (it Supercharges below 20 % and drives on), and a Powerwall with
    solar, all read over real HTTP on loopback by the same clients you would point at Tesla.
    The dashboard needs a terminal (see `teslalink dashboard --help`: layouts, keys, units).
    With --wallconnectors: three Wall Connectors (charging, car waiting, idle) in a live table
    until q or Ctrl-C; into a pipe or a file, one plain line per unit per reading instead.
    """
    if wallconnectors:
        run(_wall_connectors(speed, seed, interval, duration))
    else:
        from .dashboard import require_terminal  # noqa: PLC0415

        require_terminal("demo", "`teslalink sim` serves the same twin to every other command")
        run(_dashboard(speed, seed, interval, duration))


def build_world(seed: int, speed: float) -> World:
    """The demo world: one account, a charging car, a driving car, a Powerwall + solar site."""
    from ..simulator.owner_api import link_wall_connector  # noqa: PLC0415

    world = World(seed=seed, speed=speed)
    account = world.add_account(DEMO_EMAIL, "teslalink-demo", full_name="Demo Owner")
    garage = world.add_wall_connector(wiring=Wiring.SPLIT_PHASE, max_current_a=48.0)
    link_wall_connector(world, account, garage)
    home = world.add_vehicle(
        account, model="Y", display_name="Home Y", battery_level=42.0, charge_limit_soc=90
    )
    commuter = world.add_vehicle(account, model="3", display_name=DRIVER_NAME, battery_level=76.0)
    world.add_energy_site(account, site_name="Demo Home", solar_kw=7.6, powerwalls=1)
    home.plug_into(garage)
    drive_on(commuter)
    return world


def drive_on(car: Car) -> None:
    """One look of the demo's driver at `car`: keep it driving laps for as long as the demo runs.

    Our choice: the laps are longer than any battery, so the drive never ends by itself; below
    LOW_SOC the driver stops at a Supercharger and, from RESUME_SOC, drives on (a car that is
    never empty, never parked for good, and whose header "driving" stays true). The demo calls
    this every real second; the twin's world advances lazily in between.
    """
    from ..simulator.vehicle.routes import DEMO_ROUTES, laps  # noqa: PLC0415

    if car.is_driving:
        if car.battery_level < LOW_SOC:
            car.park()
            car.start_supercharging()
        return
    charging = car.charging_state
    if charging in ("Charging", "Starting") and car.battery_level < RESUME_SOC:
        return
    if charging != "Disconnected":
        car.unplug()
    car.drive(laps(DEMO_ROUTES[DRIVE_ROUTE], DRIVE_LAPS), speed_kph=DRIVE_KPH)


async def keep_driving(world: World, every_s: float = 1.0) -> None:
    """Run `drive_on` on the demo's driving car every `every_s` real seconds (until cancelled)."""
    car = next(car for car in world.vehicles if car.display_name == DRIVER_NAME)
    while True:
        await asyncio.sleep(every_s)
        drive_on(car)


async def _dashboard(speed: float, seed: int, interval: float, duration: float | None) -> None:
    from ..cloud import CloudUrls, StaticToken, TeslaApi  # noqa: PLC0415
    from ..simulator.serve import serve_cloud  # noqa: PLC0415
    from . import dashboard  # noqa: PLC0415

    world = build_world(seed, speed)
    token = str(world.auth.issue(world.account(DEMO_EMAIL))["access_token"])
    driver = asyncio.create_task(keep_driving(world))
    try:
        async with serve_cloud(world) as cloud:
            urls = CloudUrls(api=cloud.owner_api, sso=cloud.sso["na"], streaming=cloud.streaming)
            async with TeslaApi(urls, StaticToken(token)) as api:
                board = await dashboard.build(api, wallconnector=cloud.wall_connectors[0].url)
                board.selected = _index_of(board, DRIVER_NAME)  # its drive panel is "live" from the start
                title = (
                    f"teslalink demo — simulated world at {speed:g}x, served on loopback\n"
                    "Home Y charging on a split-phase Wall Connector · "
                    "Commuter driving laps of a 10 km loop · Demo Home: Powerwall + solar"
                )
                try:
                    await dashboard.show(board, interval_s=interval, duration_s=duration, title=title)
                finally:
                    await dashboard.close(board)
    finally:
        driver.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await driver  # a driver that failed (a twin bug) raises here rather than vanishing


def _index_of(board: Dashboard, name: str) -> int:
    """The position of the car called `name` on `board` (0 if there is none)."""
    return next((index for index, car in enumerate(board.cars) if car.name == name), 0)


async def _wall_connectors(speed: float, seed: int, interval: float, duration: float | None) -> None:
    world = World(seed=seed, speed=speed)
    garage = world.add_wall_connector(wiring=Wiring.SPLIT_PHASE, max_current_a=48.0)
    office = world.add_wall_connector(wiring=Wiring.THREE_PHASE, max_current_a=16.0)
    world.add_wall_connector(wiring=Wiring.SINGLE_PHASE, max_current_a=32.0)
    garage.plug_in(requested_current_a=40.0)
    office.plug_in(requested_current_a=16.0)
    office.set_requested_current(0.0)  # plugged in, the car is not asking for current
    names = ["garage", "office", "cottage"]
    async with serve_wall_connectors(world) as servers:
        clients = [WallConnector(server.url) for server in servers]
        try:
            title = (
                f"teslalink demo — simulated world at {speed:g}x\n"
                "garage: NA split-phase, charging · office: EU three-phase, car waiting · cottage: idle"
            )
            await live.watch(
                clients, names, interval_s=interval, duration_s=duration, title=title, clock=world.now
            )
        finally:
            for client in clients:
                await client.close()
