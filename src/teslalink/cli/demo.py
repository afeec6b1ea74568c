"""`teslalink demo`: the whole digital twin in the console dashboard. No login, no setup, no network.

One account owns a car charging on a split-phase Wall Connector, a second car driving a demo
route and a Powerwall + solar site. The twin's SSO, Owner API, streaming server and Wall
Connector are served on loopback, and the dashboard reads them over real HTTP with a token the
twin issued, exactly as it would read Tesla. `--wallconnectors` shows the older view of three
simulated Wall Connectors instead.
"""

from __future__ import annotations

import click

from ..simulator import Wiring, World, serve_wall_connectors
from ..wallconnector.client import WallConnector
from . import live
from ._common import run

DEMO_EMAIL = "demo@teslalink.test"


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

    A car charging on a split-phase Wall Connector, a car driving a 10 km loop, and a Powerwall
    with solar, all read over real HTTP on loopback by the same clients you would point at Tesla.
    With --wallconnectors: three Wall Connectors (charging, car waiting, idle) in a live table
    until q or Ctrl-C; into a pipe or a file, one plain line per unit per reading instead.
    """
    if wallconnectors:
        run(_wall_connectors(speed, seed, interval, duration))
    else:
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
    commuter = world.add_vehicle(account, model="3", display_name="Commuter", battery_level=76.0)
    world.add_energy_site(account, site_name="Demo Home", solar_kw=7.6, powerwalls=1)
    home.plug_into(garage)
    commuter.drive("loop_10km", speed_kph=50.0)
    return world


async def _dashboard(speed: float, seed: int, interval: float, duration: float | None) -> None:
    from ..cloud import CloudUrls, StaticToken, TeslaApi  # noqa: PLC0415
    from ..simulator.cloud import serve_cloud  # noqa: PLC0415
    from . import dashboard  # noqa: PLC0415

    world = build_world(seed, speed)
    token = str(world.auth.issue(world.account(DEMO_EMAIL))["access_token"])
    async with serve_cloud(world) as cloud:
        urls = CloudUrls(api=cloud.owner_api, sso=cloud.sso["na"], streaming=cloud.streaming)
        async with TeslaApi(urls, StaticToken(token)) as api:
            board = await dashboard.build(api, wallconnector=cloud.wall_connectors[0].url)
            title = (
                f"teslalink demo — simulated world at {speed:g}x, served on loopback\n"
                "Home Y charging on a split-phase Wall Connector · Commuter driving a 10 km loop · "
                "Demo Home: Powerwall + solar"
            )
            try:
                await dashboard.show(board, interval_s=interval, duration_s=duration, title=title)
            finally:
                await dashboard.close(board)


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
