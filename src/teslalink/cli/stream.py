"""`teslalink stream`: one car's streaming websocket as a live table (or JSON lines).

The stream never wakes the car: a parked, sleeping car simply sends nothing until it drives or
charges again (the table says it is waiting). `--count` and `--duration` end it for scripts.

The stream retries for ever by design, so the user must see why nothing arrives: the live table
shows the stream's state and last error, and without a table each new problem is one line on
stderr. A run that ends (`--duration`) without ever reaching the streaming server is an error.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import click

from ._cloud import CloudTarget, cloud_options, is_interactive, vehicle_option
from ._common import echo, json_text, run, safe_console
from ._text import plural

if TYPE_CHECKING:
    from rich.live import Live
    from rich.table import Table

    from ..cloud.stream_models import StreamUpdate
    from ..cloud.streaming import StreamStats

FIELDS = (
    "speed_mph",
    "shift_state",
    "power_kw",
    "soc",
    "range_mi",
    "est_range_mi",
    "odometer_mi",
    "latitude",
    "longitude",
    "heading",
    "elevation_m",
)


def update_row(update: StreamUpdate) -> dict[str, Any]:
    """The typed fields of one StreamUpdate, with its car and time."""
    return {
        "vehicle_id": update.vehicle_id,
        "timestamp_ms": update.timestamp_ms,
        **{name: getattr(update, name) for name in FIELDS},
    }


def _table(title: str, row: dict[str, Any] | None, count: int, stats: StreamStats) -> Table:
    from rich.table import Table  # noqa: PLC0415 - rich only on a terminal

    caption = f"{plural(count, 'update', 'updates')}, {stats.state.value} (Ctrl-C to stop)"
    table = Table(title=title, caption=caption, show_header=False)
    table.add_column("field", style="bold")
    table.add_column("value")
    if stats.last_error and stats.state.value != "streaming":
        table.add_row("last problem", stats.last_error)
    if row is None:
        table.add_row("waiting", "for the car to drive or charge (a parked car sends nothing)")
    else:
        from datetime import UTC, datetime  # noqa: PLC0415

        table.add_row("time", datetime.fromtimestamp(row["timestamp_ms"] / 1000, UTC).isoformat())
        for name in FIELDS:
            table.add_row(name, "-" if row[name] is None else str(row[name]))
    return table


@click.command("stream")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per update (JSON lines).")
@click.option("--count", type=click.IntRange(min=1), default=None, help="Stop after this many updates.")
@click.option("--duration", type=click.FloatRange(min=0), default=None, help="Stop after this many seconds.")
@vehicle_option
@cloud_options
def stream(
    target: CloudTarget, as_json: bool, count: int | None, duration: float | None, vehicle_key: str | None
) -> None:
    """Follow a car's live stream: speed, power, charge, position (Owner API logins only)."""
    _refuse_a_fleet_login(target)
    live = None if as_json or not is_interactive() else _start_live()

    async def go() -> int:
        from ..cloud.streaming import VehicleStream  # noqa: PLC0415 - keep `--help` fast

        # The session every command shares: its 429 cooldowns (the API's, and the handshake's,
        # kept in it) are honoured before sending and outlive this run.
        async with target.api() as api:
            vehicle = await api.vehicle(vehicle_key)
            if vehicle.vehicle_id is None:
                raise click.ClickException(
                    f"{vehicle.display_name or vehicle.vin} has no vehicle_id to stream"
                )
            title = f"{vehicle.display_name or vehicle.vin} — stream"
            seen = 0
            row: dict[str, Any] | None = None
            async with VehicleStream(api.urls, api.tokens, vehicle.vehicle_id, cooldowns=api) as updates:
                stats = updates.stats

                reported: str | None = None

                def draw() -> None:
                    if live is not None:
                        live.update(_table(title, row, seen, stats), refresh=True)

                def tick() -> None:
                    """Redraw the table, or tell stderr of a new problem once.

                    A run with --duration that has not reached the server yet keeps its problem
                    for the one error line it ends with, so a script reads it once, not twice.
                    """
                    nonlocal reported
                    if live is not None:
                        draw()
                    elif duration is not None and stats.connects == 0:
                        return
                    elif stats.last_error and stats.last_error != reported:
                        reported = stats.last_error
                        echo(f"stream {stats.state.value}: {reported}", err=True)

                stopper = _stop_later(updates.stop, duration)
                watcher = asyncio.create_task(_every(0.5, tick))
                draw()
                try:
                    async for update in updates:
                        seen += 1
                        row = update_row(update)
                        if live is not None:
                            draw()
                        elif as_json:
                            click.echo(json_text(row, indent=False))
                        else:
                            echo(" ".join(f"{k}={v}" for k, v in row.items() if v is not None))
                        if count is not None and seen >= count:
                            break
                finally:
                    watcher.cancel()
                    if stopper is not None:
                        stopper.cancel()
                if seen == 0 and stats.connects == 0 and stats.last_error:
                    raise click.ClickException(f"no stream: {stats.last_error}")
            return seen

    try:
        run(go())
    finally:
        if live is not None:
            live.stop()


FLEET_REFUSAL = (
    "stream needs an Owner API login: Tesla's streaming server does not take Fleet API tokens, "
    "and Fleet Telemetry is not supported yet (`teslalink login`, then `--api owner`)"
)
"""research/fleet.md 1.10: the legacy streaming websocket authenticates Owner API tokens only."""


def _refuse_a_fleet_login(target: CloudTarget) -> None:
    """One line and exit 1 before anything is sent, when this run would use the Fleet API."""
    from ..errors import TeslalinkError  # noqa: PLC0415 - keep `--help` fast

    try:
        fleet = target.uses_fleet(target.store())
    except TeslalinkError as exc:
        raise click.ClickException(str(exc)) from None
    if fleet:
        raise click.ClickException(FLEET_REFUSAL)


async def _every(seconds: float, tick: Callable[[], None]) -> None:
    while True:
        await asyncio.sleep(seconds)
        tick()


def _stop_later(stop: Callable[[], Any], seconds: float | None) -> asyncio.TimerHandle | None:
    if seconds is None:
        return None
    loop = asyncio.get_running_loop()
    pending: set[asyncio.Future[Any]] = set()

    def fire() -> None:
        task = asyncio.ensure_future(stop())
        pending.add(task)
        task.add_done_callback(pending.discard)

    return loop.call_later(seconds, fire)


def _start_live() -> Live:
    from rich.live import Live  # noqa: PLC0415

    live = Live(auto_refresh=False, console=safe_console())
    live.start()
    return live
