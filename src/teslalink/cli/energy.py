"""`teslalink energy status|history|reserve|mode|storm|grid|tariff`: a Powerwall or solar site."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import click
import orjson

from ._cloud import CloudTarget, cloud_options, json_option, pick_site
from ._common import echo, echo_json, run, safe_console

OPERATION_MODES = ("self_consumption", "backup", "autonomous")  # as teslalink.cloud.energy (kept lazy)
EXPORT_RULES = ("battery_ok", "pv_only", "never")
CALENDAR_KINDS = ("energy", "power", "backup", "self_consumption")
PERIODS = ("day", "week", "month", "year", "lifetime")

site_option = click.option(
    "--site", "site_key", default=None, help="The site: name or id (default: the first)."
)


def _on_site(
    target: CloudTarget, site_key: str | None, action: Callable[[Any], Awaitable[Any]]
) -> tuple[Any, Any]:
    async def go() -> tuple[Any, Any]:
        async with target.api() as api:
            site = pick_site(await api.energy_sites(), site_key)
            return {"energy_site_id": site.energy_site_id, "site_name": site.site_name}, await action(site)

    return run(go())


@click.group("energy")
def energy() -> None:
    """Read and control a Powerwall or solar site."""


@energy.command("status")
@json_option
@site_option
@cloud_options
def status(target: CloudTarget, as_json: bool, site_key: str | None) -> None:
    """Power flows now, charge, backup reserve and operation mode."""

    async def action(site: Any) -> tuple[Any, Any]:
        return await site.live_status(), await site.site_info()

    row, (live, info) = _on_site(target, site_key, action)
    fields: list[tuple[str, Any]] = [
        ("solar_power_w", live.solar_power_w),
        ("battery_power_w", live.battery_power_w),
        ("load_power_w", live.load_power_w),
        ("grid_power_w", live.grid_power_w),
        ("percentage_charged", live.percentage_charged),
        ("grid_status", live.grid_status),
        ("storm_mode_active", live.storm_mode_active),
        ("backup_reserve_percent", info.backup_reserve_percent),
        ("operation_mode", info.operation_mode),
    ]
    if as_json:
        echo_json({**row, **dict(fields)})
        return
    from rich.table import Table  # noqa: PLC0415

    table = Table(title=f"{row['site_name'] or row['energy_site_id']}", show_header=False)
    table.add_column("field", style="bold")
    table.add_column("value")
    for name, value in fields:
        table.add_row(name, "-" if value is None else str(value))
    safe_console().print(table)


@energy.command("history")
@json_option
@click.option("--kind", type=click.Choice(CALENDAR_KINDS), default="energy", show_default=True)
@click.option("--period", type=click.Choice(PERIODS), default="day", show_default=True)
@click.option("--end-date", default=None, help="ISO 8601 with offset, e.g. 2026-11-24T23:59:59-08:00.")
@site_option
@cloud_options
def history(
    target: CloudTarget, as_json: bool, kind: str, period: str, end_date: str | None, site_key: str | None
) -> None:
    """The site's calendar history (JSON; the table shows each entry's totals)."""

    async def action(site: Any) -> Any:
        return await site.calendar_history(kind, period, end_date=end_date)

    row, found = _on_site(target, site_key, action)
    if as_json:
        echo_json({**row, "history": found})
        return
    series = found.get("time_series") or []
    echo(f"{row['site_name']}: {kind} history, {period}, {len(series)} entries")
    for entry in series:
        if isinstance(entry, dict):
            echo("  " + ", ".join(f"{k}={v}" for k, v in entry.items()))


@energy.command("reserve")
@json_option
@click.argument("percent", type=click.FloatRange(0, 100))
@site_option
@cloud_options
def reserve(target: CloudTarget, as_json: bool, percent: float, site_key: str | None) -> None:
    """Set the backup reserve (percent of the Powerwall kept for outages)."""

    async def action(site: Any) -> None:
        await site.set_backup_reserve(percent)

    row, _ = _on_site(target, site_key, action)
    if as_json:
        echo_json({**row, "backup_reserve_percent": percent, "result": True})
    else:
        echo(f"{row['site_name']}: backup reserve {percent:g} %.")


@energy.command("mode")
@json_option
@click.argument("mode", type=click.Choice(OPERATION_MODES))
@site_option
@cloud_options
def mode(target: CloudTarget, as_json: bool, mode: str, site_key: str | None) -> None:
    """Set the operation mode: self_consumption, backup or autonomous (time-based control)."""

    async def action(site: Any) -> None:
        await site.set_operation(mode)

    row, _ = _on_site(target, site_key, action)
    if as_json:
        echo_json({**row, "operation_mode": mode, "result": True})
    else:
        echo(f"{row['site_name']}: operation mode {mode}.")


def _done(row: dict[str, Any], as_json: bool, settings: dict[str, Any], text: str) -> None:
    if as_json:
        echo_json({**row, **settings, "result": True})
    else:
        echo(f"{row['site_name']}: {text}.")


@energy.command("storm")
@json_option
@click.argument("state", type=click.Choice(["on", "off"]))
@site_option
@cloud_options
def storm(target: CloudTarget, as_json: bool, state: str, site_key: str | None) -> None:
    """Storm watch on or off (the Powerwall charges fully ahead of severe weather)."""
    enabled = state == "on"

    async def action(site: Any) -> None:
        await site.set_storm_mode(enabled)

    row, _ = _on_site(target, site_key, action)
    _done(row, as_json, {"storm_mode_enabled": enabled}, f"storm watch {state}")


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
    """Grid import and export rules: --export and/or --grid-charging / --no-grid-charging."""
    if export_rule is None and grid_charging is None:
        raise click.ClickException("energy grid needs --export, --grid-charging or --no-grid-charging")
    disallow = None if grid_charging is None else not grid_charging

    async def action(site: Any) -> None:
        await site.set_grid_import_export(
            disallow_charge_from_grid_with_solar_installed=disallow,
            customer_preferred_export_rule=export_rule,
        )

    row, _ = _on_site(target, site_key, action)
    settings = {
        key: value
        for key, value in (("customer_preferred_export_rule", export_rule), ("grid_charging", grid_charging))
        if value is not None
    }
    _done(row, as_json, settings, ", ".join(f"{k} {v}" for k, v in settings.items()))


@energy.command("tariff")
@click.option("--set", "tariff_file", type=click.File("rb"), default=None, metavar="FILE",
              help="Replace the tariff with this JSON file (- for standard input), as printed.")  # fmt: skip
@site_option
@cloud_options
def tariff(target: CloudTarget, tariff_file: Any, site_key: str | None) -> None:
    """Print the time-of-use tariff as JSON, or replace it with --set FILE."""
    content: Any = None
    if tariff_file is not None:
        try:
            content = orjson.loads(tariff_file.read())
        except orjson.JSONDecodeError as exc:
            raise click.ClickException(f"{tariff_file.name}: not JSON ({exc})") from None
        if isinstance(content, dict) and isinstance(content.get("tariff"), dict):
            content = content["tariff"]  # the file as this command prints it

    async def action(site: Any) -> Any:
        if content is not None:
            await site.set_tariff(content)
        return await site.get_tariff()

    row, found = _on_site(target, site_key, action)
    echo_json({**row, "tariff": found})
