"""`teslalink history charges|drives|sessions|states|events|energy`: what the recorder of
`teslalink serve` kept.

Reads the database on a connection of its own and changes nothing in it (a running service goes
on writing). The database is `--db` (a file or a `postgresql://` DSN), else the one the service's
config file names (`--config`, else the default file when there is one), else the data dir's
teslalink.db. `--since` takes a time back (7d, 12h, 2w) or a date or time (2026-12-01,
2026-12-01T08:00, local unless it has an offset); spans are listed when they were still going at
or after it, an energy site's days when they are on or after its date. `--car` is a VIN or a
car's name, `--site` an energy_site_id or a site's name.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import functools
import re
import time
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar

import click

from ..service.recorder.postgres import is_dsn
from ._common import echo, echo_json, printable, run, safe_console
from .config import config_option, settings_or_exit

__all__ = ["default_database", "history", "parse_since"]

_F = TypeVar("_F", bound=Callable[..., Any])

_BACK = re.compile(r"(\d+)\s*([hdw])")
_UNIT_MS = {"h": 3_600_000, "d": 86_400_000, "w": 7 * 86_400_000}


def default_database() -> Path:
    """The data dir's teslalink.db ($XDG_DATA_HOME/teslalink, else ~/.local/share/teslalink):
    where `teslalink serve` records when its config does not say otherwise."""
    from ..service.config import default_data_dir  # noqa: PLC0415 - only when no --db is given

    return default_data_dir() / "teslalink.db"


def parse_since(text: str, now_s: float) -> int:
    """`--since` as epoch ms: "7d", "12h", "2w" back from now, or an ISO date or time."""
    given = text.strip()
    back = _BACK.fullmatch(given.lower())
    if back is not None:
        return int(now_s * 1000) - int(back.group(1)) * _UNIT_MS[back.group(2)]
    try:
        moment = dt.datetime.fromisoformat(given)
    except ValueError:
        raise click.BadParameter(
            f"give a time back (7d, 12h, 2w) or a date (2026-12-01), not {printable(given)!r}",
            param_hint="'--since'",
        ) from None
    if moment.tzinfo is None:
        moment = moment.astimezone()  # a naive time is the local time
    return int(moment.timestamp() * 1000)


def _options(command: _F, *, who: str = "car") -> _F:
    chooser = (
        click.option("--car", default=None, metavar="VIN|NAME", help="Only this car.")
        if who == "car"
        else click.option("--site", default=None, metavar="ID|NAME", help="Only this energy site.")
    )
    for option in reversed(
        (
            click.option(
                "--since", default=None, metavar="WHEN", help="From: 7d, 12h, 2w or a date (2026-12-01)."
            ),
            chooser,
            click.option("--json", "as_json", is_flag=True, help="A JSON array of the records."),
            click.option("--csv", "as_csv", is_flag=True, help="CSV (RFC 4180) with a header."),
            click.option(
                "--db",
                default=None,
                metavar="PATH|DSN",
                help="The SQLite file or postgresql:// DSN (default: the config file's storage).",
            ),
            config_option,
        )
    ):
        command = option(command)
    return command


@click.group()
def history() -> None:
    """What `teslalink serve` recorded: charges, drives, Wall Connector sessions, states, events,
    energy sites' days."""


def database_of(db: str | None, config_path: Path | None) -> str | Path:
    """--db, else the config file's storage (when a file is named or the default one exists),
    else the data dir's teslalink.db."""
    if db is not None:
        return db if is_dsn(db) else Path(db)
    from ..service.config import default_config_path  # noqa: PLC0415

    if config_path is None and not default_config_path().exists():
        return default_database()
    settings = settings_or_exit(config_path)
    if settings.storage.backend == "postgres" and settings.storage.dsn:
        return settings.storage.dsn
    return settings.database_path


def _show(
    kind: str,
    since: str | None,
    car: str | None,
    as_json: bool,
    as_csv: bool,
    db: str | None,
    config_path: Path | None,
) -> None:
    if as_json and as_csv:
        raise click.UsageError("choose one of --json and --csv")
    since_ms = None if since is None else parse_since(since, time.time())
    database = database_of(db, config_path)
    run(_print(kind, database, since_ms, car, as_json=as_json, as_csv=as_csv, since_text=since))


async def _print(
    kind: str,
    database: str | Path,
    since_ms: int | None,
    car: str | None,
    *,
    as_json: bool,
    as_csv: bool,
    since_text: str | None,
) -> None:
    from ..errors import StorageError  # noqa: PLC0415 - the recorder only when a command runs
    from ..service.recorder import open_reader  # noqa: PLC0415
    from . import history_view as view  # noqa: PLC0415

    if isinstance(database, Path) and not await asyncio.to_thread(database.exists):
        raise StorageError(f"no database at {database} yet: `teslalink serve` records there (or give --db)")
    reader = await open_reader(database)
    try:
        if kind == "energy":
            records = await _site_days(reader, since_ms, car)
        else:
            if car is not None and not await reader.find_cars(car):
                known = sorted({name or vin for name, vin in await _car_names(reader)})
                listed = f" (cars: {', '.join(known)})" if known else " (no cars recorded yet)"
                raise StorageError(f"no car {printable(car)!r} in {reader.where}{listed}")
            queries: dict[str, Callable[..., Awaitable[Sequence[Any]]]] = {
                "charges": reader.charges,
                "drives": reader.drives,
                "sessions": reader.sessions,
                "states": reader.states,
                "events": reader.events,
            }
            records = await queries[kind](since_ms=since_ms, car=car)
        names = await reader.device_names()
    finally:
        await reader.close()
    if as_json:
        echo_json(view.as_json(records))
    elif as_csv:
        click.echo(view.as_csv(kind, records), nl=False)
    elif not records:
        what = view.KINDS[kind].plural
        echo(f"No {what} since {since_text}." if since_text else f"No {what} recorded yet.")
    else:
        what = view.KINDS[kind].plural
        title = what[:1].upper() + what[1:] + (f" since {since_text}" if since_text else "")
        safe_console().print(view.as_table(kind, records, names, title))


async def _car_names(reader: Any) -> list[tuple[str, str]]:
    return [(car.name, car.vin) for car in await reader.cars()]


async def _site_days(reader: Any, since_ms: int | None, site: str | None) -> Sequence[Any]:
    """The sites' days on or after the local date of `since_ms`; an unknown `site` is one line."""
    from ..errors import StorageError  # noqa: PLC0415
    from ..service.events import DeviceKind  # noqa: PLC0415

    if site is not None and not await reader.find_sites(site):
        names = await reader.device_names()
        rows = await reader.site_energy_days()
        known = sorted({names.get((DeviceKind.SITE, d.site_id), d.site_id) for d in rows})
        listed = f" (sites: {', '.join(known)})" if known else " (no site's days recorded yet)"
        raise StorageError(f"no energy site {printable(site)!r} in {reader.where}{listed}")
    since_day = None if since_ms is None else dt.date.fromtimestamp(since_ms / 1000).isoformat()
    days: Sequence[Any] = await reader.site_energy_days(since_day=since_day, site=site)
    return days


@history.command()
@_options
def charges(
    since: str | None, car: str | None, as_json: bool, as_csv: bool, db: str | None, config_path: Path | None
) -> None:
    """Charging sessions: energy added to the battery, from the grid, and the losses between."""
    _show("charges", since, car, as_json, as_csv, db, config_path)


@history.command()
@_options
def drives(
    since: str | None, car: str | None, as_json: bool, as_csv: bool, db: str | None, config_path: Path | None
) -> None:
    """Drives: distance, duration, battery used."""
    _show("drives", since, car, as_json, as_csv, db, config_path)


@history.command()
@_options
def sessions(
    since: str | None, car: str | None, as_json: bool, as_csv: bool, db: str | None, config_path: Path | None
) -> None:
    """Wall Connector sessions: plugged in to unplugged, the energy the unit delivered."""
    _show("sessions", since, car, as_json, as_csv, db, config_path)


@history.command()
@_options
def states(
    since: str | None, car: str | None, as_json: bool, as_csv: bool, db: str | None, config_path: Path | None
) -> None:
    """The cars' states: online, asleep, offline, driving, charging, updating."""
    _show("states", since, car, as_json, as_csv, db, config_path)


@history.command()
@_options
def events(
    since: str | None, car: str | None, as_json: bool, as_csv: bool, db: str | None, config_path: Path | None
) -> None:
    """Events: plugged in, charging started and stopped, drives, sleep, alerts."""
    _show("events", since, car, as_json, as_csv, db, config_path)


@history.command()
@functools.partial(_options, who="site")
def energy(
    since: str | None, site: str | None, as_json: bool, as_csv: bool, db: str | None, config_path: Path | None
) -> None:
    """Energy sites' days: solar produced, the home's use, grid import and export, battery charge
    and discharge (kWh; read from Tesla once a day, each day in the site's time zone)."""
    _show("energy", since, site, as_json, as_csv, db, config_path)
