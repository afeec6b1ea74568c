"""`teslalink wallconnector HOST ...`: read a Wall Connector Gen 3 on the LAN."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from ..errors import TeslalinkError
from ..transport import Timeouts
from ..wallconnector.client import WallConnector
from ..wallconnector.models import DeviceModel, Version, Vitals
from ..wallconnector.power import ElectricalService, PowerReading
from . import live
from ._common import echo_json, run, safe_console
from .wallconnector_view import fields_table, status_table

SERVICES = [member.value for member in ElectricalService]


class _Target:
    """How to reach one unit: the group's HOST and the subcommand's connection options."""

    def __init__(self, host: str) -> None:
        self.host = host

    def client(self, service: str, timeout: float) -> WallConnector:
        timeouts = Timeouts(connect_s=timeout, read_s=3 * timeout)
        return WallConnector(self.host, service=service, timeouts=timeouts)


F = TypeVar("F", bound=Callable[..., Any])


def unit_options(command: F) -> F:
    """The options every subcommand takes: wiring and timeout."""
    command = click.option(
        "--service",
        type=click.Choice(SERVICES),
        default="auto",
        show_default=True,
        help="How the unit is wired; auto detects split-phase while charging.",
    )(command)
    return click.option(
        "--timeout",
        type=click.FloatRange(min=0.1),
        default=5.0,
        show_default=True,
        help="Seconds to connect; the whole answer within 3x this; at most 3 attempts, 4x this in all.",
    )(command)


json_option = click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")


@click.group("wallconnector")
@click.argument("host")
@click.pass_context
def wallconnector(ctx: click.Context, host: str) -> None:
    """Read a Tesla Wall Connector Gen 3 at HOST (an address, host:port or URL)."""
    ctx.obj = _Target(host)


def _endpoint_command(name: str, endpoint: str, title: str) -> click.Command:
    @click.command(name, help=f"Show /api/1/{endpoint}.")
    @json_option
    @click.option("--raw", is_flag=True, help="Print the unit's own (repaired) JSON answer.")
    @unit_options
    @click.pass_obj
    def command(target: _Target, as_json: bool, raw: bool, service: str, timeout: float) -> None:
        async def fetch() -> DeviceModel | dict[str, Any]:
            async with target.client(service, timeout) as client:
                if raw:
                    return await client.get_raw(endpoint)
                getter: Callable[[], Awaitable[DeviceModel]] = getattr(client, endpoint)
                return await getter()

        result = run(fetch())
        if raw or as_json or isinstance(result, dict):
            echo_json(result)
        else:
            safe_console().print(fields_table(result, f"{title} — {target.host}"))

    return command


for _name, _endpoint, _title in [
    ("vitals", "vitals", "Vitals"),
    ("lifetime", "lifetime", "Lifetime"),
    ("version", "version", "Version"),
    ("wifi", "wifi_status", "Wi-Fi"),
]:
    wallconnector.add_command(_endpoint_command(_name, _endpoint, _title))


@wallconnector.command()
@json_option
@unit_options
@click.pass_obj
def status(target: _Target, as_json: bool, service: str, timeout: float) -> None:
    """One screen: state, power, current, voltage, session energy, temperatures, firmware.

    If /api/1/version does not answer, the rest is shown, one line on stderr says what is missing
    and the exit code is still 0: the status is what was asked, and it was read. Without vitals
    there is no status: one line, exit code 1.
    """

    async def fetch() -> tuple[Vitals, PowerReading, Version | None, str | None]:
        async with target.client(service, timeout) as client:
            vitals = await client.vitals()
            try:
                version, missing = await client.version(), None
            except TeslalinkError as exc:
                version, missing = None, f"firmware and serial not read: {exc}"
            return vitals, client.power(vitals), version, missing

    vitals, power, version, missing = run(fetch())
    if as_json:
        echo_json({"host": target.host, "vitals": vitals, "power": power, "version": version})
    else:
        safe_console().print(status_table(target.host, vitals, power, version))
    if missing is not None:
        click.echo(f"Warning: {missing}", err=True)


@wallconnector.command()
@click.option("--interval", type=click.FloatRange(min=0.5), default=5.0, show_default=True,
              help="Seconds between polls (one request at a time per unit).")  # fmt: skip
@click.option("--duration", type=click.FloatRange(min=0), default=None, help="Stop after this many seconds.")
@click.option(
    "--state",
    "state_path",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Keep session and lifetime energy bookkeeping in this file across restarts.",
)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object per reading (JSON lines).")
@unit_options
@click.pass_obj
def watch(
    target: _Target,
    interval: float,
    duration: float | None,
    state_path: Path | None,
    as_json: bool,
    service: str,
    timeout: float,
) -> None:
    """Live view until q or Ctrl-C; finished charging sessions are printed as they end.

    On a terminal the table is redrawn in place; into a pipe or a file each reading is one plain
    line (or, with --json, one JSON object). With --state the file is checked at start and saved
    atomically every minute and at exit. If polling stops on an error it cannot handle, one line
    says so and the exit code is 1.
    """

    async def go() -> None:
        async with target.client(service, timeout) as client:
            await live.watch(
                [client],
                [client.host],
                interval_s=interval,
                duration_s=duration,
                state_path=state_path,
                as_json=as_json,
            )

    run(go())
