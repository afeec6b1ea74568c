"""`teslalink sim`: run the digital twin on loopback ports.

    teslalink sim wallconnector --count 3 --port 8300 --plugged 1 --quirks nan,missing-brace
    teslalink sim all --accounts 3 --cars-per-account 2 --port 0 --json --faults 5xx=0.02

`wallconnector` prints one line per unit (its URL first) or, with --json, one JSON object,
flushes, and then serves until SIGINT or SIGTERM. Unit i listens on port P+i (P = 0: each on an
ephemeral port).

`all` serves the whole cloud of a demo world (SSO in both regions, Owner API with the twin's
/_twin/ admin and scenario endpoints, streaming, Wall Connectors, and with the `fleet` extra the
Fleet API: fleet-auth on P+4, the na, eu, cn hosts on P+5..P+7, tesla.com's /_ak pairing page on
P+8) and prints, before serving, every
URL (`admin`: the base URL of the admin endpoints, which answers with their list) and
the demo accounts with their passwords, TOTP secrets and vehicle ids (with --print-tokens also a
ready access token each): a demo twin, so printing them is the point; nowhere else does.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import sys
from collections.abc import Callable
from typing import Any, TypeVar

import click
import orjson

from ..errors import ConfigError
from ..simulator import DEFAULT_FIRMWARE, Quirks, Wiring, World, serve_wall_connectors
from ..simulator.demo import DemoAccount, populate_demo
from ..simulator.faults import Faults
from ..simulator.fleet import (
    FleetUrls,
    fleet_listing,
    fleet_ready,
    fleet_state,
    fleet_surfaces,
    populate_fleet_demo,
)
from ..simulator.fleet.serve import fleet_ports, fleet_user_token
from ..simulator.owner_api import RateLimits
from ..simulator.serve import WALL_CONNECTORS_OFFSET, Cloud, ports_from_base, serve_cloud
from ..simulator.wall_connector.firmware import FirmwareProfile

__all__ = ["sim"]

T = TypeVar("T")

DEFAULT_PORT = 8300
_MIXED = "mixed"
_WIRING_CHOICES = [w.value for w in Wiring] + [_MIXED]
_MIXED_ORDER = (Wiring.SPLIT_PHASE, Wiring.THREE_PHASE, Wiring.SINGLE_PHASE)


def _checked(parse: Callable[[str], T]) -> Callable[[click.Context, click.Parameter, str], T]:
    """A click callback: `parse(value)`, its ConfigError as the option's usage error."""

    def callback(ctx: click.Context, param: click.Parameter, value: str) -> T:
        try:
            return parse(value)
        except ConfigError as exc:
            raise click.BadParameter(str(exc), ctx=ctx, param=param) from None

    return callback


def _valid_faults(text: str) -> str:
    """The --faults text, checked (the `Faults` is made later, with the world's seed)."""
    Faults.parse(text)
    return text


_parse_quirks = _checked(Quirks.parse)
_check_firmware = _checked(lambda value: FirmwareProfile.parse(value).version)


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


# --- sim all: the whole cloud -------------------------------------------------------------------

DEFAULT_CLOUD_PORT = 8400


_parse_faults = _checked(_valid_faults)
_parse_rate_limits = _checked(RateLimits.parse)


@sim.command("all")
@click.option("--accounts", type=click.IntRange(1, 100), default=3, show_default=True, help="Demo accounts.")
@click.option(
    "--cars-per-account", type=click.IntRange(0, 50), default=1, show_default=True, help="Cars per account."
)
@click.option(
    "--sites", type=click.IntRange(0, 10), default=1, show_default=True, help="Energy sites per account."
)
@click.option(
    "--chargers",
    type=click.IntRange(0, 10),
    default=1,
    show_default=True,
    help="Wall Connectors per account; the first car of each account charges on the first one.",
)
@click.option(
    "--port",
    type=click.IntRange(0, 65535),
    default=DEFAULT_CLOUD_PORT,
    show_default=True,
    help="Base port: SSO na P, cn P+1, Owner API P+2, streaming P+3, Fleet API P+4..P+7, "
    "Wall Connectors from P+10. "
    "0: ephemeral ports.",
)
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option(
    "--speed",
    type=click.FloatRange(min=0.0, max=1e6),
    default=1.0,
    show_default=True,
    help="World seconds per real second (0: frozen; move it with POST /_twin/advance).",
)
@click.option(
    "--seed", type=int, default=0, show_default=True, help="Seed: the same seed replays the same world."
)
@click.option(
    "--faults",
    "fault_spec",
    default="",
    callback=_parse_faults,
    help="Faults, e.g. 'latency=0.2,5xx=0.05,429=0.02,drop=0.01'; prefix a key with a surface "
    "(sso., owner_api., streaming., wall_connector.) for one surface only.",
)
@click.option(
    "--rate-limits",
    default="",
    callback=_parse_rate_limits,
    help="Owner API limits per minute of world time, e.g. 'vehicle=30,account=120,retry_after=300'.",
)
@click.option("--signed-commands", is_flag=True, help="Every car refuses unsigned commands (403).")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object with every URL and account.")
@click.option(
    "--print-tokens",
    is_flag=True,
    help="Add a ready access token per account to the listing (for scripts and tests; demo only).",
)
@click.pass_context
def all_surfaces(
    ctx: click.Context,
    *,
    accounts: int,
    cars_per_account: int,
    sites: int,
    chargers: int,
    port: int,
    host: str,
    speed: float,
    seed: int,
    fault_spec: str,
    rate_limits: RateLimits,
    signed_commands: bool,
    as_json: bool,
    print_tokens: bool,
) -> None:
    """Serve the whole simulated Tesla cloud: SSO, Owner API, streaming and Wall Connectors.

    Demo accounts demo1@teslalink.test, demo2 (with TOTP MFA), demo3 (cn region), ...; their
    passwords, TOTP secrets and vehicle ids are printed before serving (this is a demo twin).
    """
    units = accounts * chargers
    if port and port + WALL_CONNECTORS_OFFSET + max(units - 1, 0) > 65535:
        raise click.BadParameter(
            f"{units} Wall Connectors from port {port} go past 65535", ctx=ctx, param_hint="'--port'"
        )
    world = World(seed=seed, speed=speed)
    demo = populate_demo(
        world, accounts=accounts, cars_per_account=cars_per_account, sites=sites, chargers=chargers
    )
    if fleet_ready():
        populate_fleet_demo(world)
    faults = Faults.parse(fault_spec, seed=seed)
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(
            _serve_cloud(
                world,
                demo,
                host=host,
                port=port,
                faults=faults,
                rate_limits=rate_limits,
                signed_commands=signed_commands,
                as_json=as_json,
                print_tokens=print_tokens,
            )
        )


def _listing(world: World, cloud: Cloud, demo: list[DemoAccount], *, print_tokens: bool) -> dict[str, Any]:
    owner_of = {link.unit.serial: (d.email, link.energy_site_id) for d in demo for link in d.chargers}
    listing: dict[str, Any] = cloud.as_dict()
    for entry in listing["wall_connectors"]:
        email, site_id = owner_of.get(entry["serial"], (None, None))
        entry["account"], entry["energy_site_id"] = email, site_id
    accounts = []
    for d in demo:
        entry = {
            "email": d.email,
            "password": d.password,
            "region": d.region,
            "totp_secret": d.totp_secret,
            "vehicles": [
                {
                    "id": c.id,
                    "id_s": c.id_s,
                    "vehicle_id": c.vehicle_id,
                    "vin": c.vin,
                    "display_name": c.display_name,
                }
                for c in d.vehicles
            ],
            "energy_sites": [
                {
                    "energy_site_id": s.energy_site_id,
                    "resource_type": s.resource_type,
                    "site_name": s.site_name,
                }
                for s in d.sites
            ],
            "wall_connectors": [link.unit.serial for link in d.chargers],
        }
        if fleet_ready():
            entry["fleet_region"] = fleet_state(world).home_region(world.account(d.email))
        if print_tokens:
            entry["access_token"] = world.auth.issue(world.account(d.email))["access_token"]
            if fleet_ready():  # for the demo app, every scope
                entry["fleet_access_token"] = fleet_user_token(world, world.account(d.email))
        accounts.append(entry)
    listing["accounts"] = accounts
    if fleet_ready():
        listing["fleet"] = fleet_listing(world, FleetUrls.of(cloud.extra))
    listing["seed"], listing["speed"] = world.seed, world.speed
    listing["faults"] = cloud.faults.to_spec()
    listing["note"] = (
        "a simulated world: demo passwords" + (" and tokens" if print_tokens else "") + " only work here"
    )
    return listing


async def _serve_cloud(
    world: World,
    demo: list[DemoAccount],
    *,
    host: str,
    port: int,
    faults: Faults,
    rate_limits: RateLimits,
    signed_commands: bool,
    as_json: bool,
    print_tokens: bool,
) -> None:
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop.set)
    try:
        async with serve_cloud(
            world,
            host=host,
            ports=ports_from_base(port),
            faults=faults,
            rate_limits=rate_limits,
            require_signed_commands=signed_commands,
            surfaces=fleet_surfaces(world, host, fleet_ports(port)) if fleet_ready() else (),
        ) as cloud:
            listing = _listing(world, cloud, demo, print_tokens=print_tokens)
            if as_json:
                sys.stdout.write(orjson.dumps(listing).decode() + "\n")
            else:
                sys.stdout.write(_human(listing))
            sys.stdout.flush()
            click.echo("serving the simulated Tesla cloud; Ctrl-C to stop", err=True)
            await stop.wait()
    except OSError as exc:
        where = "ephemeral ports" if port == 0 else f"ports from {port}"
        raise click.ClickException(f"cannot listen on {host} {where}: {exc.strerror or exc}") from None


def _human(listing: dict[str, Any]) -> str:
    lines = [
        f"sso (na)   {listing['sso']['na']}",
        f"sso (cn)   {listing['sso']['cn']}",
        f"owner api  {listing['owner_api']}",
        f"streaming  {listing['streaming']}",
        f"admin      {listing['admin']}",
    ]
    lines += [
        f"wall connector {w['serial']}  {w['url']}  ({w['account']})" for w in listing["wall_connectors"]
    ]
    for account in listing["accounts"]:
        extra = f"  totp secret {account['totp_secret']}" if account["totp_secret"] else ""
        lines.append(
            f"account {account['email']}  password {account['password']}  region {account['region']}{extra}"
        )
        lines += [f"  vehicle {v['id']}  {v['display_name']}  {v['vin']}" for v in account["vehicles"]]
        lines += [f"  energy site {s['energy_site_id']}  {s['site_name']}" for s in account["energy_sites"]]
        if "access_token" in account:
            lines.append(f"  access token {account['access_token']}")
    if "fleet" in listing:
        lines.append(f"fleet auth {listing['fleet']['auth']}")
        lines += [f"fleet {region}   {url}" for region, url in listing["fleet"]["api"].items()]
        lines.append(f"fleet pairing {listing['fleet']['pairing_url']}")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":  # pragma: no cover - `python -m teslalink.cli.sim` before registration
    sim(prog_name="teslalink sim")
