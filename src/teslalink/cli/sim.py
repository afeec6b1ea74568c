"""`teslalink sim`: run the digital twin on loopback ports.

    teslalink sim wallconnector --count 3 --port 8300 --plugged 1 --quirks nan,missing-brace

prints one line per unit (its URL first) or, with --json, one JSON object, flushes, and then
serves until SIGINT or SIGTERM. Unit i listens on port P+i (P = 0: each on an ephemeral port).
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import sys
from typing import Any

import click
import orjson

from ..errors import ConfigError
from ..simulator import DEFAULT_FIRMWARE, Quirks, Wiring, World, serve_wall_connectors
from ..simulator.wall_connector.firmware import FirmwareProfile

__all__ = ["sim"]

DEFAULT_PORT = 8300
_MIXED = "mixed"
_WIRING_CHOICES = [w.value for w in Wiring] + [_MIXED]
_MIXED_ORDER = (Wiring.SPLIT_PHASE, Wiring.THREE_PHASE, Wiring.SINGLE_PHASE)


def _parse_quirks(ctx: click.Context, param: click.Parameter, value: str) -> Quirks:
    try:
        return Quirks.parse(value)
    except ConfigError as exc:
        raise click.BadParameter(str(exc), ctx=ctx, param=param) from None


def _check_firmware(ctx: click.Context, param: click.Parameter, value: str) -> str:
    try:
        return FirmwareProfile.parse(value).version
    except ConfigError as exc:
        raise click.BadParameter(str(exc), ctx=ctx, param=param) from None


@click.group(name="sim")
def sim() -> None:
    """Run the digital twin: simulated devices on loopback ports."""


@sim.command("wallconnector")
@click.option("--count", type=click.IntRange(1, 1000), default=1, show_default=True, help="Number of units.")
@click.option(
    "--port",
    type=click.IntRange(0, 65535),
    default=DEFAULT_PORT,
    show_default=True,
    help="Port of the first unit; unit i listens on PORT+i. 0: ephemeral ports.",
)
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option(
    "--speed",
    type=click.FloatRange(min=0.0, max=1e6),
    default=1.0,
    show_default=True,
    help="World seconds per real second (60 = one hour per minute).",
)
@click.option(
    "--seed", type=int, default=0, show_default=True, help="Seed: the same seed replays the same units."
)
@click.option(
    "--wiring",
    type=click.Choice(_WIRING_CHOICES, case_sensitive=False),
    default=Wiring.SPLIT_PHASE.value,
    show_default=True,
    help="Electrical service; 'mixed' cycles split, three and single phase.",
)
@click.option(
    "--firmware",
    default=DEFAULT_FIRMWARE,
    show_default=True,
    callback=_check_firmware,
    help="Firmware version the units report (21.x: relay_coil_v and compact vitals).",
)
@click.option(
    "--max-current",
    type=click.FloatRange(min=1.0, max=80.0),
    default=48.0,
    show_default=True,
    help="Maximum current of each unit, amps.",
)
@click.option(
    "--quirks",
    default="",
    callback=_parse_quirks,
    help="Comma-separated faults: nan, missing-brace[=P], slow[=S], stall[=S], drops[=P], glitch[=MIN], all.",
)
@click.option(
    "--plugged",
    type=click.IntRange(min=0),
    default=0,
    show_default=True,
    help="Plug a car into the first K units.",
)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object describing the units.")
@click.pass_context
def wallconnector(
    ctx: click.Context,
    *,
    count: int,
    port: int,
    host: str,
    speed: float,
    seed: int,
    wiring: str,
    firmware: str,
    max_current: float,
    quirks: Quirks,
    plugged: int,
    as_json: bool,
) -> None:
    """Serve simulated Wall Connector Gen 3 units (/api/1/vitals, lifetime, version, wifi_status)."""
    if port and port + count - 1 > 65535:
        raise click.BadParameter(
            f"{count} units from port {port} go past 65535", ctx=ctx, param_hint="'--port'"
        )
    if plugged > count:
        raise click.BadParameter(
            f"cannot plug {plugged} cars into {count} units", ctx=ctx, param_hint="'--plugged'"
        )
    world = World(seed=seed, speed=speed)
    for i in range(count):
        unit_wiring = _MIXED_ORDER[i % 3] if wiring.lower() == _MIXED else Wiring.parse(wiring)
        unit = world.add_wall_connector(
            wiring=unit_wiring, firmware=firmware, max_current_a=max_current, quirks=quirks
        )
        if i < plugged:
            unit.plug_in(min(32.0, max_current))
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_serve(world, host, port, as_json))


async def _serve(world: World, host: str, port: int, as_json: bool) -> None:
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop.set)
    try:
        async with serve_wall_connectors(world, host=host, port=port) as servers:
            if as_json:
                listing: list[dict[str, Any]] = [
                    {
                        "serial": s.unit.serial,
                        "url": s.url,
                        "host": s.host,
                        "port": s.port,
                        "wiring": s.unit.wiring.value,
                        "firmware": s.unit.firmware,
                        "vehicle_connected": s.unit.vehicle_connected,
                    }
                    for s in servers
                ]
                sys.stdout.write(orjson.dumps({"wall_connectors": listing}).decode() + "\n")
            else:
                for s in servers:
                    sys.stdout.write(f"{s.url}\t{s.unit.serial}\t{s.unit.wiring.value}\t{s.unit.firmware}\n")
            sys.stdout.flush()
            click.echo(f"serving {len(servers)} wall connector(s); Ctrl-C to stop", err=True)
            await stop.wait()
    except OSError as exc:
        reason = exc.strerror or str(exc)
        count = len(world.wall_connectors)
        ports = (
            "ephemeral ports"
            if port == 0
            else f"ports {port}-{port + count - 1}"
            if count > 1
            else f"port {port}"
        )
        raise click.ClickException(f"cannot listen on {host} {ports}: {reason}") from None


if __name__ == "__main__":  # pragma: no cover - `python -m teslalink.cli.sim` before registration
    sim(prog_name="teslalink sim")
