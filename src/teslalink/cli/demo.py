"""`teslalink demo`: the live view against an in-process digital twin. No setup, no network."""

from __future__ import annotations

import click

from ..simulator import Wiring, World, serve_wall_connectors
from ..wallconnector.client import WallConnector
from . import live
from ._common import run


@click.command()
@click.option("--speed", type=click.FloatRange(min=0.0), default=60.0, show_default=True,
              help="World seconds per real second.")  # fmt: skip
@click.option("--seed", type=int, default=1, show_default=True, help="Seed of the simulated world.")
@click.option("--interval", type=click.FloatRange(min=0.2), default=1.0, show_default=True,
              help="Seconds between polls.")  # fmt: skip
@click.option("--duration", type=click.FloatRange(min=0), default=None, help="Stop after this many seconds.")
def demo(speed: float, seed: int, interval: float, duration: float | None) -> None:
    """Three simulated Wall Connectors on loopback, in a live view until Ctrl-C.

    One charges a car on North-American split-phase, one has a car plugged in and waiting on EU
    three-phase, one is idle. They are read over real HTTP by the same client you would point at
    your own unit.
    """

    async def go() -> None:
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

    run(go())
