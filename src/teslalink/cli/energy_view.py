"""What `teslalink energy ...` prints for a person: named rows with units, history and tariff tables.

Numbers are rounded to what the quantity warrants, with fixed decimals so columns do not jitter:
power in kW with one decimal, energy in kWh with one, charge and reserve in whole percent (the
app's own precision), prices with three decimals. A flow's sign is said in words ("from the grid",
"charging"), so no `-0.0` can appear. `--json` prints the raw values instead (see .energy).
Everything Tesla sends is printed as plain text (rich `Text`), never read as markup.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rich.table import Table

    from ..cloud.energy import LiveStatus, SiteInfo

__all__ = [
    "EXPORT_RULE_WORDS",
    "history_table",
    "on_off",
    "status_rows",
    "tariff_table",
]

NO_BATTERY = "no battery"

EXPORT_RULE_WORDS = {"battery_ok": "solar and battery", "pv_only": "solar only", "never": "nothing"}
"""What each customer_preferred_export_rule lets go to the grid."""

ISLAND_WORDS = {
    "on_grid": "on grid",
    "off_grid": "off grid",
    "off_grid_intentional": "off grid (by choice)",
    "off_grid_unintentional": "off grid (outage)",
}
GRID_WORDS = {"Active": "connected", "Inactive": "down (outage)"}


def on_off(value: bool | None) -> str:
    return "-" if value is None else ("on" if value else "off")


def kw(watts: float | None) -> str:
    """Watts as kW with one decimal, always non-negative (the caller words the direction)."""
    if watts is None:
        return "-"
    shown = round(abs(watts) / 1000.0, 1)
    return f"{shown + 0.0:.1f} kW"  # + 0.0: a rounded -0.0 prints as 0.0


def flow(watts: float | None, positive: str, negative: str) -> str:
    """A signed flow in words: "1.2 kW from the grid"; under 50 W it is just "0.0 kW"."""
    text = kw(watts)
    if watts is None or abs(watts) < 50.0:
        return text
    return f"{text} {positive if watts > 0 else negative}"


def percent(value: float | None) -> str:
    return "-" if value is None else f"{round(value):d} %"


def _charge(live: LiveStatus) -> str:
    text = percent(live.percentage_charged)
    left, total = live.energy_left_wh, live.total_pack_energy_wh
    if left is not None and total:
        text += f" ({left / 1000.0:.1f} of {total / 1000.0:.1f} kWh)"
    return text


def _storm(live: LiveStatus, info: SiteInfo) -> str:
    text = on_off(info.storm_mode_enabled)
    if live.storm_mode_active:
        text += " (active now: charging ahead of a storm)"
    return text


def status_rows(live: LiveStatus, info: SiteInfo, *, has_battery: bool) -> list[tuple[str, str]]:
    """The rows of `energy status`: power flows, then the battery, then the grid."""
    battery = has_battery and info.has_battery is not False
    rows = [
        ("Solar", kw(live.solar_power_w)),
        ("House", kw(live.load_power_w)),
        ("Grid", flow(live.grid_power_w, "from the grid", "to the grid")),
        ("Battery", flow(live.battery_power_w, "discharging", "charging") if battery else NO_BATTERY),
        ("Battery charge", _charge(live) if battery else NO_BATTERY),
        ("Backup reserve", percent(info.backup_reserve_percent) if battery else NO_BATTERY),
        ("Operation mode", (info.operation_mode or "-") if battery else NO_BATTERY),
    ]
    if live.grid_status is not None:
        rows.append(("Grid status", GRID_WORDS.get(live.grid_status, live.grid_status.lower())))
    if live.island_status is not None:
        rows.append(("Island", ISLAND_WORDS.get(live.island_status, live.island_status.replace("_", " "))))
    if battery and (live.storm_mode_active is not None or info.storm_mode_enabled is not None):
        rows.append(("Storm watch", _storm(live, info)))
    if live.timestamp:
        rows.append(("Read at", _time(live.timestamp)))
    return rows


def two_columns(title: str, rows: Iterable[tuple[str, str]]) -> Table:
    from rich.table import Table  # noqa: PLC0415 - rich only when a table is printed
    from rich.text import Text  # noqa: PLC0415

    table = Table(title=Text(title), show_header=False)
    table.add_column("field", style="bold")
    table.add_column("value")
    for name, value in rows:
        table.add_row(Text(name), Text(value))
    return table


# --- history ---------------------------------------------------------------------------------------


def _time(stamp: Any, *, date_only: bool = False) -> str:
    """An ISO time as "2026-12-05 00:15" (the site's local time, as Tesla sends it)."""
    if not isinstance(stamp, str):
        return "-"
    try:
        moment = dt.datetime.fromisoformat(stamp)
    except ValueError:
        return stamp
    return f"{moment:%Y-%m-%d}" if date_only else f"{moment:%Y-%m-%d %H:%M}"


def _sum(entry: Mapping[str, Any], *names: str) -> float | None:
    values = [entry.get(name) for name in names]
    numbers = [v for v in values if isinstance(v, int | float) and not isinstance(v, bool)]
    return float(sum(numbers)) if numbers else None


def _fixed(value: float | None, decimals: int = 1) -> str:
    return "-" if value is None else f"{round(value, decimals) + 0.0:.{decimals}f}"


def _kwh(value: float | None) -> str:
    return _fixed(None if value is None else value / 1000.0)


# our choice: the 17 energy counters Tesla sends per entry are shown as the six totals the app
# shows (solar made, house used, grid in and out, battery in and out); --json has every counter.
ENERGY_COLUMNS: Sequence[tuple[str, tuple[str, ...]]] = (
    ("Solar\nkWh", ("solar_energy_exported",)),
    (
        "House\nkWh",
        tuple(f"consumer_energy_imported_from_{s}" for s in ("grid", "solar", "battery", "generator")),
    ),
    ("From grid\nkWh", ("grid_energy_imported",)),
    ("To grid\nkWh", tuple(f"grid_energy_exported_from_{s}" for s in ("solar", "battery", "generator"))),
    ("Battery in\nkWh", tuple(f"battery_energy_imported_from_{s}" for s in ("grid", "solar", "generator"))),
    ("Battery out\nkWh", ("battery_energy_exported",)),
)
POWER_COLUMNS: Sequence[tuple[str, str]] = (
    ("Solar\nkW", "solar_power"),
    ("Battery\nkW", "battery_power"),
    ("Grid\nkW", "grid_power"),
    ("Generator\nkW", "generator_power"),
)


def _kw_cell(entry: Mapping[str, Any], key: str) -> str:
    watts = _sum(entry, key)
    return _fixed(None if watts is None else watts / 1000.0)


def _history_columns(kind: str, entries: list[Mapping[str, Any]], battery: bool) -> list[tuple[str, Any]]:
    """(header, entry -> cell) for each column of `kind`; battery columns only on a Powerwall site."""
    if kind == "energy":
        return [
            (h, lambda e, n=names: _kwh(_sum(e, *n)))
            for h, names in ENERGY_COLUMNS
            if battery or not h.startswith("Battery")
        ]
    if kind == "power":
        return [
            (h, lambda e, k=k: _kw_cell(e, k))
            for h, k in POWER_COLUMNS
            if (battery or k != "battery_power")
            and (k != "generator_power" or any(e.get(k) for e in entries))
        ]
    if kind == "self_consumption":
        columns = [("From solar\n%", lambda e: _fixed(_sum(e, "solar"), 0))]
        return columns + ([("From battery\n%", lambda e: _fixed(_sum(e, "battery"), 0))] if battery else [])
    return [("Outage", lambda e: _duration(e.get("duration")))]


def _duration(seconds: Any) -> str:
    if not isinstance(seconds, int | float) or isinstance(seconds, bool):
        return "-"
    minutes = round(seconds / 60)
    return f"{minutes // 60:d} h {minutes % 60:02d} min"


def history_entries(kind: str, found: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    series = found.get("events" if kind == "backup" else "time_series")
    return [e for e in series if isinstance(e, Mapping)] if isinstance(series, list) else []


def history_table(title: str, kind: str, entries: list[Mapping[str, Any]], *, has_battery: bool) -> Table:
    """Time, then each series with its unit; for power, the signs are said in the caption."""
    from rich.table import Table  # noqa: PLC0415
    from rich.text import Text  # noqa: PLC0415

    columns = _history_columns(kind, entries, has_battery)
    caption = "+ battery discharging, + grid importing" if kind == "power" else None
    table = Table(title=Text(title), caption=caption)
    table.add_column("Time" if kind in ("power", "backup") else "Date", no_wrap=True)
    for header, _ in columns:
        table.add_column(header, justify="right")
    date_only = kind not in ("power", "backup")  # energy and self_consumption entries are whole days
    for entry in entries:
        stamp = _time(entry.get("timestamp"), date_only=date_only)
        table.add_row(Text(stamp), *(Text(cell(entry)) for _, cell in columns))
    return table


# --- tariff ----------------------------------------------------------------------------------------

_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def _season_span(season: Mapping[str, Any]) -> str:
    try:
        start = f"{_MONTHS[int(season['fromMonth']) - 1]} {int(season['fromDay'])}"
        end = f"{_MONTHS[int(season['toMonth']) - 1]} {int(season['toDay'])}"
    except (KeyError, TypeError, ValueError, IndexError):
        return ""
    return f"{start} - {end}"


def _hours(window: Mapping[str, Any]) -> str:
    try:
        text = (
            f"{int(window['fromHour']):02d}:{int(window.get('fromMinute', 0)):02d}-"
            f"{int(window['toHour']):02d}:{int(window.get('toMinute', 0)):02d}"
        )
    except (KeyError, TypeError, ValueError):
        return "-"
    days = (window.get("fromDayOfWeek"), window.get("toDayOfWeek"))
    # our choice: days are given by Tesla's numbers, not named: no source we have fixes which
    # number is Monday; 0-6 is the whole week whichever it is.
    return text if days in ((0, 6), (None, None)) else f"{text} days {days[0]}-{days[1]}"


def _price(charges: Any, season: str, period: str) -> str:
    rates = charges.get(season) if isinstance(charges, Mapping) else None
    value = rates.get(period) if isinstance(rates, Mapping) else None
    return _fixed(value, 3) if isinstance(value, int | float) and not isinstance(value, bool) else "-"


def tariff_table(title: str, tariff: Mapping[str, Any]) -> Table:
    """One row per season and time-of-use window: hours, buy and sell price per kWh."""
    from rich.table import Table  # noqa: PLC0415
    from rich.text import Text  # noqa: PLC0415

    sell = tariff.get("sell_tariff")
    sell_charges = sell.get("energy_charges") if isinstance(sell, Mapping) else None
    name = " ".join(str(tariff.get(k)) for k in ("name", "utility") if isinstance(tariff.get(k), str))
    table = Table(title=Text(f"{title}: {name}" if name else title))
    for header in ("Season", "Period", "Hours"):
        table.add_column(header)
    table.add_column("Buy /kWh", justify="right")
    table.add_column("Sell /kWh", justify="right")
    seasons = tariff.get("seasons")
    for season_name, season in seasons.items() if isinstance(seasons, Mapping) else ():
        if not isinstance(season, Mapping):
            continue
        periods = season.get("tou_periods")
        for period, windows in periods.items() if isinstance(periods, Mapping) else ():
            for window in windows if isinstance(windows, list) else ():
                if isinstance(window, Mapping):
                    table.add_row(
                        Text(f"{season_name} ({_season_span(season)})"),
                        Text(str(period).replace("_", " ").lower()),
                        Text(_hours(window)),
                        _price(tariff.get("energy_charges"), str(season_name), str(period)),
                        _price(sell_charges, str(season_name), str(period)),
                    )
    return table
