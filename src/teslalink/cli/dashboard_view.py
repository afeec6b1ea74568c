"""Rich renderables of the dashboard: a row of panels per car, the charger beside, the site, a status bar.

Only drawing lives here; `dashboard.Dashboard` holds the values. Everything reads None as "—".
The drive panel draws `CarWatch.drive()`: the newer of the polled and the streamed figures, and
says which ("● live" while the car's stream flows, else the age of the reading).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from rich.columns import Columns
from rich.console import Group, RenderableType
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from .wallconnector_view import state_text

if TYPE_CHECKING:
    from .dashboard import CarWatch, ChargerWatch, Dashboard, DriveFigures, SiteWatch

DASH = "—"
_DOORS = {"df": "driver front", "pf": "passenger front", "dr": "driver rear", "pr": "passenger rear",
          "ft": "frunk", "rt": "trunk"}  # fmt: skip


def _num(value: float | None, fmt: str = "{:.1f}", unit: str = "") -> str:
    if value is None:
        return DASH
    return fmt.format(value) + (f" {unit}" if unit else "")


def _yes(value: bool | None, yes: str = "yes", no: str = "no") -> str:
    return DASH if value is None else (yes if value else no)


def _fields(rows: list[tuple[str, RenderableType]]) -> Table:
    table = Table.grid(padding=(0, 1))
    table.add_column(style="bold", no_wrap=True)
    table.add_column(no_wrap=True)
    for name, value in rows:
        table.add_row(name, value)
    return table


def _minutes(value: int | None) -> str:
    if value is None:
        return DASH
    hours, minutes = divmod(int(value), 60)
    return f"{hours}:{minutes:02d}"


def _age(seconds: float | None) -> str:
    if seconds is None:
        return ""
    return f"{seconds:.0f} s ago" if seconds < 90 else f"{seconds / 60:.0f} min ago"


def charge_panel(data: Any, drive: DriveFigures | None = None) -> Panel:
    """Charge figures of the last poll; level and range from a newer streamed update if there is one."""
    level, range_mi = data.battery_level, data.battery_range_mi
    if drive is not None and drive.streamed:
        level = drive.battery_level if drive.battery_level is not None else level
        range_mi = drive.range_mi if drive.range_mi is not None else range_mi
    state = data.charging_state
    style = {"Charging": "bold green", "Complete": "cyan", "Stopped": "yellow"}.get(state or "", "")
    return Panel(
        _fields(
            [
                ("level", _num(level, "{:.0f}", "%")),
                ("state", Text(state or DASH, style=style)),
                ("power", _num(data.charger_power_kw, "{:.0f}", "kW")),
                ("current", _num(data.charger_actual_current_a, "{:.0f}", "A")),
                ("voltage", _num(data.charger_voltage_v, "{:.0f}", "V")),
                ("limit", _num(data.charge_limit_soc, "{:.0f}", "%")),
                ("to full", _minutes(data.minutes_to_full_charge)),
                ("added", _num(data.charge_energy_added_kwh, "{:.2f}", "kWh")),
                ("range", data.format_distance(range_mi) or DASH),
            ]
        ),
        title="charge",
        expand=False,
    )


def climate_panel(data: Any) -> Panel:
    on = data.is_climate_on
    return Panel(
        _fields(
            [
                ("climate", Text(_yes(on, "on", "off"), style="bold green" if on else "")),
                ("inside", data.format_temperature(data.inside_temp_c) or DASH),
                ("outside", data.format_temperature(data.outside_temp_c) or DASH),
                ("setpoint", data.format_temperature(data.driver_temp_setting_c) or DASH),
            ]
        ),
        title="climate",
        expand=False,
    )


def drive_panel(data: Any, drive: DriveFigures, live: bool = False) -> Panel:
    """The drive figures; `data` only for the car's units. The subtitle says how fresh they are."""
    lat, lon = drive.latitude, drive.longitude
    position = DASH if lat is None or lon is None else f"{lat:.5f}, {lon:.5f}"
    if live:
        subtitle = Text("● live", style="bold green")
    else:
        source = "streamed" if drive.streamed else "polled"
        age = drive.age_s()
        subtitle = Text(f"{source} {_age(age)}" if age is not None else source, style="dim")
    return Panel(
        _fields(
            [
                ("shift", drive.shift_state or "P"),
                ("speed", data.format_distance(drive.speed_mph or 0.0, speed=True) or DASH),
                ("position", position),
                ("heading", _num(drive.heading, "{:.0f}", "°")),
                ("power", _num(drive.power_kw, "{:.0f}", "kW")),
                ("odometer", data.format_distance(drive.odometer_mi) or DASH),
            ]
        ),
        title="drive",
        subtitle=subtitle,
        subtitle_align="right",
        expand=False,
    )


def vehicle_panel(data: Any) -> Panel:
    state = data.vehicle_state
    open_doors = [name for key, name in _DOORS.items() if state.get(key) not in (None, 0, False)]
    update = data.software_update
    if update is None or not update.status:
        update_text = "none"
    else:
        update_text = f"{update.status} {update.version or ''}".strip()
    locked = data.locked
    return Panel(
        _fields(
            [
                ("locked", Text(_yes(locked), style="" if locked is not False else "bold red")),
                ("sentry", _yes(data.sentry_mode, "on", "off")),
                ("doors", ", ".join(open_doors) + " open" if open_doors else "closed"),
                ("software", data.car_version or DASH),
                ("update", update_text),
            ]
        ),
        title="vehicle",
        expand=False,
    )


def charger_panel(charger: ChargerWatch) -> Panel:
    """The Wall Connector's vitals, compact, in the words of `wallconnector status`."""
    title = Text(f"Wall Connector {charger.host.removeprefix('http://').rstrip('/')}")  # str: markup
    vitals, power = charger.vitals, charger.power
    if vitals is None or power is None:
        text = Text(charger.error or "waiting…", style="red" if charger.error else "dim")
        return Panel(text, title=title, expand=False)
    energy = vitals.session_energy_wh
    rows: list[tuple[str, RenderableType]] = [
        ("state", state_text(vitals)),
        ("vehicle", _yes(vitals.vehicle_connected, "connected", "not connected")),
        ("power", f"{power.total_kw:.2f} kW ({power.service.value.replace('_', '-')})"),
        ("current", _num(vitals.vehicle_current_a, "{:.1f}", "A")),
        ("grid", f"{_num(vitals.grid_voltage_v, '{:.0f}', 'V')}, "
                 f"{_num(vitals.grid_frequency_hz, '{:.2f}', 'Hz')}"),
        ("session", f"{_minutes(None if vitals.session_s is None else vitals.session_s // 60)}, "
                    f"{_num(None if energy is None else energy / 1000, '{:.2f}', 'kWh')}"),
        ("handle", _num(vitals.handle_temp_c, "{:.1f}", "°C")),
    ]  # fmt: skip
    if vitals.current_alerts:
        rows.append(("alerts", Text(", ".join(map(str, vitals.current_alerts)), style="red")))
    if charger.error:
        rows.append(("error", Text(charger.error, style="red")))
    return Panel(_fields(rows), title=title, expand=False)


def car_row(
    car: CarWatch,
    selected: bool,
    charger: ChargerWatch | None,
    live: bool = False,
    stream_error: str | None = None,
) -> RenderableType:
    """One car: its state, then its panels. `live`: the drive panel follows the car's stream."""
    marker = "▶ " if selected else ""
    state_style = {"online": "green", "asleep": "blue", "offline": "red"}.get(car.state, "yellow")
    heading = Text(f"{marker}{car.name} ", style="bold")
    heading.append(car.state, style=state_style)
    if car.error:
        heading.append(f" ({car.error})", style="dim red")
    if stream_error:
        heading.append(f" (live drive failed: {stream_error}; polling)", style="dim red")
    if car.resting and car.online:
        heading.append("  idle: not read so that it can sleep (r reads it)", style="dim")
    panels: list[RenderableType] = []
    drive = car.drive()
    if car.data is not None and car.online and drive is not None:
        panels = [
            charge_panel(car.data, drive),
            climate_panel(car.data),
            drive_panel(car.data, drive, live),
            vehicle_panel(car.data),
        ]
    elif car.data is not None:
        heading.append("  (last seen while online)", style="dim")
        panels = [charge_panel(car.data), vehicle_panel(car.data)]
    else:
        panels = [Panel(Text(f"{car.state}: press w to wake", style="dim"), title="car")]
    if charger is not None:
        panels.append(charger_panel(charger))
    return Group(heading, Columns(panels, padding=(0, 1), align="left"))


def site_panel(site: SiteWatch) -> Panel:
    status = site.status
    if status is None:
        return Panel(
            Text(site.error or "waiting…", style="red" if site.error else "dim"), title=Text(site.name)
        )

    def kw(watts: float | None) -> str:
        return DASH if watts is None else f"{watts / 1000 + 0.0:.2f} kW".replace("-0.00", "0.00")

    table = Table.grid(padding=(0, 2))
    for _ in range(6):
        table.add_column(no_wrap=True)
    table.add_row(
        Text("solar", style="bold"),
        Text("battery", style="bold"),
        Text("load", style="bold"),
        Text("grid", style="bold"),
        Text("battery %", style="bold"),
        Text("grid status", style="bold"),
    )
    table.add_row(
        kw(status.solar_power_w),
        kw(status.battery_power_w),
        kw(status.load_power_w),
        kw(status.grid_power_w),
        _num(status.percentage_charged, "{:.0f}", "%"),
        status.grid_status or DASH,
    )
    title = Text(f"energy site: {site.name}" + (f" ({site.error})" if site.error else ""))
    return Panel(table, title=title)


def first_error(dashboard: Dashboard) -> str | None:
    """The first reading that failed, as one line for the status bar (None: all well)."""
    for car in dashboard.cars:
        if car.error:
            return f"{car.name}: {car.error}"
    if dashboard.charger is not None and dashboard.charger.error:
        return f"Wall Connector: {dashboard.charger.error}"
    if dashboard.site is not None and dashboard.site.error:
        return f"{dashboard.site.name}: {dashboard.site.error}"
    return None


def charger_car(cars: list[CarWatch]) -> int:
    """The car the Wall Connector is drawn beside: the first one plugged in, else the first."""
    for index, car in enumerate(cars):
        if car.data is not None and car.data.charging_state not in (None, "Disconnected"):
            return index
    return 0


def render(
    dashboard: Dashboard, *, title: str = "teslalink dashboard", keys_help: str | None = None
) -> Group:
    """The whole screen: title, a row per car (the charger beside the plugged-in one), site, status."""
    parts: list[RenderableType] = [Text(title, style="bold")]
    beside = charger_car(dashboard.cars)
    many = len(dashboard.cars) > 1
    for index, car in enumerate(dashboard.cars):
        charger = dashboard.charger if index == beside else None
        selected = many and index == dashboard.selected
        parts.append(car_row(car, selected, charger, dashboard.is_live(car), dashboard.stream_error(car)))
    if not dashboard.cars and dashboard.charger is not None:
        parts.append(charger_panel(dashboard.charger))
    if dashboard.site is not None:
        parts.append(site_panel(dashboard.site))
    bar = Text(dashboard.status or "ready", style="reverse", no_wrap=True, overflow="ellipsis")
    problem = first_error(dashboard)
    if problem:
        bar.append(f" · {problem}", style="reverse red")
    parts.append(bar)
    if keys_help:
        parts.append(Text(keys_help, style="dim"))
    return Group(*parts)
