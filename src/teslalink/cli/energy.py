"""`teslalink energy status|history|reserve|mode|storm|grid|tariff`: a Powerwall or solar site.

Every command prints named rows with units (see .energy_view), or with `--json` the raw values.
A site is chosen by `--site` (its name or id; a solar-only site's name is read from site_info,
where alone Tesla keeps it). A refusal (an error body, or an answer saying it failed) is one line
on stderr and exit code 1; setting what is already set succeeds, as the site answers.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Awaitable, Callable, Mapping
from typing import TYPE_CHECKING, Any, BinaryIO, TypeVar

import click
import orjson

from ._cloud import CloudTarget, cloud_options, json_option
from ._common import echo, echo_json, run, safe_console
from ._text import plural
from .energy_view import (
    EXPORT_RULE_WORDS,
    history_entries,
    history_table,
    on_off,
    status_rows,
    tariff_table,
    two_columns,
)

if TYPE_CHECKING:
    from rich.console import RenderableType

    from ..cloud.energy import EnergySite, LiveStatus, SiteInfo

_T = TypeVar("_T")

OPERATION_MODES = ("self_consumption", "backup", "autonomous")  # as teslalink.cloud.energy (kept lazy)
EXPORT_RULES = ("battery_ok", "pv_only", "never")
CALENDAR_KINDS = ("energy", "power", "backup", "self_consumption")
PERIODS = ("day", "week", "month", "year", "lifetime")

site_option = click.option(
    "--site", "site_key", default=None, metavar="NAME", help="The site: name or id (default: the first)."
)


class PercentType(click.ParamType):  # type: ignore[type-arg]
    """A percentage 0-100 ("30" or "30%"); out of range is one plain sentence naming the range."""

    name = "percent"

    def __init__(self, what: str) -> None:
        self.what = what

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> float:
        if isinstance(value, float):
            return value
        text = str(value).strip().removesuffix("%").strip()
        try:
            number = float(text)
        except ValueError:
            self.fail(f"the {self.what} is a percentage from 0 to 100, not {text!r}", param, ctx)
        if not (math.isfinite(number) and 0.0 <= number <= 100.0):
            self.fail(f"the {self.what} must be from 0 to 100 %, not {text}", param, ctx)
        return number


def _iso_with_offset(value: str | None) -> str | None:
    """--end-date as the API wants it, checked here so a typo is a plain line, not an HTTP 400."""
    if value is None:
        return None
    try:
        moment = dt.datetime.fromisoformat(value)
    except ValueError:
        moment = None
    if moment is None or moment.tzinfo is None:
        raise click.BadParameter("give an ISO 8601 time with its offset, e.g. 2026-11-24T23:59:59-08:00")
    return value


def _on_site(
    target: CloudTarget, site_key: str | None, action: Callable[[EnergySite], Awaitable[_T]]
) -> tuple[EnergySite, _T]:
    """Pick the site, name it, run `action` on it: (site, what the action returned).

    A refused command is one line naming the site rather than the command.
    """
    from ..cloud.energy import select_site  # noqa: PLC0415 - keep `--help` fast
    from ..errors import CommandFailed  # noqa: PLC0415

    async def go() -> tuple[EnergySite, _T]:
        async with target.api() as api:
            site = await select_site(await api.energy_sites(), site_key)
            await site.resolve_name()  # a request only for a solar-only site (named in site_info alone)
            try:
                return site, await action(site)
            except CommandFailed as exc:
                raise click.ClickException(
                    f"{site.label}: refused: {exc.reason or 'no reason given'}"
                ) from None

    return run(go())


def _needs_battery(site: EnergySite, what: str) -> None:
    """Refuse before sending: a site without a Powerwall has no reserve, mode or storm watch."""
    if not site.has_battery:
        raise click.ClickException(f"{site.label} has no Powerwall, so it has no {what}")


def _row(site: EnergySite) -> dict[str, Any]:
    return {"energy_site_id": site.energy_site_id, "site_name": site.site_name}


def _done(site: EnergySite, as_json: bool, settings: dict[str, Any], text: str) -> None:
    if as_json:
        echo_json({**_row(site), **settings, "result": True})
    else:
        echo(f"{site.label}: {text}.")


def _print(renderable: RenderableType) -> None:
    safe_console().print(renderable)


@click.group("energy")
def energy() -> None:
    """Read and control a Powerwall or solar site."""


@energy.command("status")
@json_option
@site_option
@cloud_options
def status(target: CloudTarget, as_json: bool, site_key: str | None) -> None:
    """Power flows now (kW), charge, backup reserve, operation mode, grid and storm watch.

    \b
    Examples:
      teslalink energy status
      teslalink energy status --site Barn
      teslalink energy status --json
    """

    async def action(site: EnergySite) -> tuple[LiveStatus, SiteInfo]:
        return await site.live_status(), await site.site_info()

    site, (live, info) = _on_site(target, site_key, action)
    if as_json:
        echo_json(
            {
                **_row(site),
                "has_battery": site.has_battery,
                "solar_power_w": live.solar_power_w,
                "battery_power_w": live.battery_power_w,
                "load_power_w": live.load_power_w,
                "grid_power_w": live.grid_power_w,
                "percentage_charged": live.percentage_charged,
                "energy_left_wh": live.energy_left_wh,
                "total_pack_energy_wh": live.total_pack_energy_wh,
                "grid_status": live.grid_status,
                "island_status": live.island_status,
                "storm_mode_active": live.storm_mode_active,
                "storm_mode_enabled": info.storm_mode_enabled,
                "backup_reserve_percent": info.backup_reserve_percent,
                "operation_mode": info.operation_mode,
                "timestamp": live.timestamp,
            }
        )
        return
    _print(two_columns(site.label, status_rows(live, info, has_battery=site.has_battery)))


@energy.command("history")
@json_option
@click.option("--kind", type=click.Choice(CALENDAR_KINDS), default="energy", show_default=True,
              help="energy (kWh), power (kW), self_consumption (%) or backup (outages).")  # fmt: skip
@click.option("--period", type=click.Choice(PERIODS), default="day", show_default=True)
@click.option("--end-date", default=None, metavar="ISO", callback=lambda _c, _p, v: _iso_with_offset(v),
              help="The period's end, ISO 8601 with offset, e.g. 2026-11-24T23:59:59-08:00.")  # fmt: skip
@site_option
@cloud_options
def history(
    target: CloudTarget, as_json: bool, kind: str, period: str, end_date: str | None, site_key: str | None
) -> None:
    """The site's history as a table: time, then each series with its unit.

    \b
    Examples:
      teslalink energy history
      teslalink energy history --kind power
      teslalink energy history --period week --end-date 2026-11-24T23:59:59-08:00
      teslalink energy history --kind self_consumption --period month --json
    """

    async def action(site: EnergySite) -> Mapping[str, Any]:
        return await site.calendar_history(kind, period, end_date=end_date)

    site, found = _on_site(target, site_key, action)
    if as_json:
        echo_json({**_row(site), "history": found})
        return
    entries = history_entries(kind, found)
    if not entries:
        what = "outages" if kind == "backup" else f"{kind} history"
        echo(f"{site.label}: no {what} in the period ({period}).")
        return
    counted = (
        plural(len(entries), "outage", "outages")
        if kind == "backup"
        else plural(len(entries), "entry", "entries")
    )
    title = f"{site.label}: {kind} history, {period}, {counted}"
    _print(history_table(title, kind, entries, has_battery=site.has_battery))


@energy.command("reserve")
@json_option
@click.argument("percent", type=PercentType("backup reserve"))
@site_option
@cloud_options
def reserve(target: CloudTarget, as_json: bool, percent: float, site_key: str | None) -> None:
    """Set the backup reserve (0-100 %): the share of the Powerwall kept for outages.

    \b
    Examples:
      teslalink energy reserve 30
      teslalink energy reserve 20 --json
    """

    async def action(site: EnergySite) -> None:
        _needs_battery(site, "backup reserve")
        await site.set_backup_reserve(percent)

    site, _ = _on_site(target, site_key, action)
    _done(site, as_json, {"backup_reserve_percent": percent}, f"backup reserve {percent:g} %")


@energy.command("mode")
@json_option
@click.argument("mode", type=click.Choice(OPERATION_MODES))
@site_option
@cloud_options
def mode(target: CloudTarget, as_json: bool, mode: str, site_key: str | None) -> None:
    """Set the operation mode: self_consumption, backup or autonomous (time-based control).

    \b
    Examples:
      teslalink energy mode self_consumption
      teslalink energy mode autonomous --json
    """

    async def action(site: EnergySite) -> None:
        _needs_battery(site, "operation mode")
        await site.set_operation(mode)

    site, _ = _on_site(target, site_key, action)
    _done(site, as_json, {"operation_mode": mode}, f"operation mode {mode}")


@energy.command("storm")
@json_option
@click.argument("state", type=click.Choice(["on", "off"]))
@site_option
@cloud_options
def storm(target: CloudTarget, as_json: bool, state: str, site_key: str | None) -> None:
    """Storm watch on or off (the Powerwall charges fully ahead of severe weather).

    \b
    Examples:
      teslalink energy storm on
      teslalink energy storm off --json
    """
    enabled = state == "on"

    async def action(site: EnergySite) -> None:
        _needs_battery(site, "storm watch")
        await site.set_storm_mode(enabled)

    site, _ = _on_site(target, site_key, action)
    _done(site, as_json, {"storm_mode_enabled": enabled}, f"storm watch {state}")


def _rules_text(export_rule: str | None, grid_charging: bool | None) -> str:
    parts = []
    if export_rule is not None:
        parts.append(f"export {export_rule} ({EXPORT_RULE_WORDS.get(export_rule, export_rule)} to the grid)")
    if grid_charging is not None:
        parts.append(f"grid charging {on_off(grid_charging)}")
    return ", ".join(parts)


@energy.command("grid")
@json_option
@click.option("--export", "export_rule", type=click.Choice(EXPORT_RULES), default=None,
              help="What may go to the grid: battery_ok (solar and battery), pv_only, never.")  # fmt: skip
@click.option("--grid-charging/--no-grid-charging", "grid_charging", default=None,
              help="Whether the Powerwall may charge from the grid (where solar is installed).")  # fmt: skip
@site_option
@cloud_options
def grid(
    target: CloudTarget,
    as_json: bool,
    export_rule: str | None,
    grid_charging: bool | None,
    site_key: str | None,
) -> None:
    """Grid export and charging rules: shows them, or sets --export and/or --[no-]grid-charging.

    \b
    Examples:
      teslalink energy grid
      teslalink energy grid --export pv_only
      teslalink energy grid --export battery_ok --no-grid-charging --json
    """
    if export_rule is None and grid_charging is None:
        _show_grid_rules(target, as_json, site_key)
        return
    disallow = None if grid_charging is None else not grid_charging

    async def action(site: EnergySite) -> None:
        await site.set_grid_import_export(
            disallow_charge_from_grid_with_solar_installed=disallow,
            customer_preferred_export_rule=export_rule,
        )

    site, _ = _on_site(target, site_key, action)
    settings = {
        key: value
        for key, value in (("customer_preferred_export_rule", export_rule), ("grid_charging", grid_charging))
        if value is not None
    }
    _done(site, as_json, settings, _rules_text(export_rule, grid_charging))


def _show_grid_rules(target: CloudTarget, as_json: bool, site_key: str | None) -> None:
    async def action(site: EnergySite) -> SiteInfo:
        return await site.site_info()

    site, info = _on_site(target, site_key, action)
    if as_json:
        rules = {"customer_preferred_export_rule": info.export_rule, "grid_charging": info.grid_charging}
        echo_json({**_row(site), **rules})
        return
    text = _rules_text(info.export_rule, info.grid_charging) or "the site reports no grid rules"
    echo(f"{site.label}: {text}.")


@energy.command("tariff")
@json_option
@click.option("--set", "tariff_file", type=click.File("rb"), default=None, metavar="FILE",
              help="Replace the tariff with this JSON file (- for stdin), as --json prints it.")  # fmt: skip
@site_option
@cloud_options
def tariff(target: CloudTarget, as_json: bool, tariff_file: BinaryIO | None, site_key: str | None) -> None:
    """The time-of-use tariff: seasons, hours, buy and sell prices; or replace it with --set FILE.

    \b
    Examples:
      teslalink energy tariff
      teslalink energy tariff --json > tariff.json
      teslalink energy tariff --set tariff.json
    """
    content: Any = None
    if tariff_file is not None:
        try:
            content = orjson.loads(tariff_file.read())
        except orjson.JSONDecodeError:
            raise click.ClickException(f"{tariff_file.name}: not JSON") from None
        if isinstance(content, dict) and isinstance(content.get("tariff"), dict):
            content = content["tariff"]  # the file as `--json` prints it

    async def action(site: EnergySite) -> Mapping[str, Any]:
        if content is not None:
            await site.set_tariff(content)
        return await site.get_tariff()

    site, found = _on_site(target, site_key, action)
    if as_json:
        echo_json({**_row(site), "tariff": found})
    else:
        _print(tariff_table(site.label, found))
