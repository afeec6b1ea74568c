"""Rich renderables of the dashboard: the cars, the charger beside one, the site, a status bar, the keys.

Only drawing lives here; `dashboard.Dashboard` holds the values. Everything reads None as "—".
The drive panel draws `CarWatcher.drive()`: the newer of the polled and the streamed figures, and
says which ("● live" while the car's stream flows, else the age of the reading).

The screen fits the terminal: `render()` returns a `Screen`, which tries three layouts, roomiest
first, and draws the first whose height fits (so a resize takes effect at the next frame):

* panels: a boxed panel per part, a row of them per car (the Wall Connector beside its car);
* compact: one labelled line per part, each car's parts under its name (an 80x24 terminal);
* brief: as compact, but the cars not selected get one line each (many cars, tiny terminals).

Every part keeps its title in every layout, and the status bar and the key help always show.

Units (our choice): one scale for the whole screen, the one the selected car's touchscreen uses
(gui_temperature_units, gui_distance_units), so a cabin and a Wall Connector handle never read °F
beside °C. With no car data yet, °C (what a Wall Connector reports).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from rich.console import Console, ConsoleOptions, Group, RenderableType, RenderResult
from rich.measure import Measurement
from rich.panel import Panel
from rich.segment import Segment
from rich.table import Table
from rich.text import Text

from .wallconnector_view import state_text

if TYPE_CHECKING:
    from ..cloud import VehicleData
    from ..cloud.watcher import CarWatcher, DriveFigures
    from ..wallconnector.models import Vitals
    from ..wallconnector.power import PowerReading
    from .dashboard import ChargerWatch, Dashboard, SiteWatch

DASH = "—"
KM_PER_MILE = 1.609344
_DOORS = {"df": "driver front", "pf": "passenger front", "dr": "driver rear", "pr": "passenger rear",
          "ft": "frunk", "rt": "trunk"}  # fmt: skip
_CHARGING = ("Charging", "Starting")
_LABEL_WIDTH = 8  # "odometer", the longest row name: the values line up across panels


def _num(value: float | None, fmt: str = "{:.1f}", unit: str = "") -> str:
    """`value` with a fixed number of decimals per quantity (no width jitter), never "-0"."""
    if value is None:
        return DASH
    text = fmt.format(value)
    if text.startswith("-") and not text.strip("-0."):
        text = text[1:]  # -0.3 kW at 0 decimals is a zero, not a negative one
    return text + (f" {unit}" if unit else "")


def _yes(value: bool | None, yes: str = "yes", no: str = "no") -> str:
    return DASH if value is None else (yes if value else no)


def _minutes(value: float | None) -> str:
    if value is None:
        return DASH
    hours, minutes = divmod(int(value), 60)
    return f"{hours}:{minutes:02d}"


def _age(seconds: float | None) -> str:
    if seconds is None:
        return ""
    return f"{seconds:.0f} s ago" if seconds < 90 else f"{seconds / 60:.0f} min ago"


@dataclass(frozen=True)
class Units:
    """The scale of every temperature and distance on one screen."""

    fahrenheit: bool = False
    km: bool = False

    @classmethod
    def of(cls, data: VehicleData | None) -> Units:
        """The units `data`'s car shows on its touchscreen (None: °C, miles)."""
        if data is None:
            return cls()
        return cls(fahrenheit=bool(data.uses_fahrenheit), km=bool(data.uses_km))

    def temperature(self, celsius: float | None) -> str:
        if celsius is None:
            return DASH
        if self.fahrenheit:
            return _num(celsius * 1.8 + 32, "{:.1f}", "°F")
        return _num(celsius, "{:.1f}", "°C")

    def distance(self, miles: float | None) -> str:
        if miles is None:
            return DASH
        return _num(miles * KM_PER_MILE, "{:.1f}", "km") if self.km else _num(miles, "{:.1f}", "mi")

    def speed(self, mph: float | None) -> str:
        mph = mph or 0.0  # the API reports no speed for a car standing still
        return _num(mph * KM_PER_MILE, "{:.0f}", "km/h") if self.km else _num(mph, "{:.0f}", "mph")

    @property
    def label(self) -> str:
        return f"{'°F' if self.fahrenheit else '°C'}, {'km' if self.km else 'mi'}"


def screen_units(dashboard: Dashboard) -> Units:
    """The selected car's units, else those of the first car with data (see the module's docstring)."""
    cars = dashboard.cars
    ordered = ([cars[dashboard.selected]] if cars else []) + cars
    for car in ordered:
        if car.data is not None:
            return Units.of(car.data)
    return Units()


def _fields(rows: list[tuple[str, RenderableType]], value_width: int = 0) -> Table:
    """Label/value rows; `value_width` reserves room so that the panel does not jump as values change."""
    table = Table.grid(padding=(0, 1))
    table.add_column(style="bold", no_wrap=True)
    table.add_column(no_wrap=True, min_width=value_width)
    for name, value in rows:
        table.add_row(name, value)
    return table


# --- what each part says, shared by the layouts ----------------------------------------------------


def _charging(data: VehicleData) -> bool:
    return data.charging_state in _CHARGING


def _level_and_range(data: VehicleData, drive: DriveFigures | None) -> tuple[float | None, float | None]:
    """Level and range of the last poll, or of a newer streamed update if there is one."""
    level: float | None = data.battery_level
    range_mi = data.battery_range_mi
    if drive is not None and drive.streamed:
        level = drive.battery_level if drive.battery_level is not None else level
        range_mi = drive.range_mi if drive.range_mi is not None else range_mi
    return level, range_mi


def _charge_state(data: VehicleData) -> Text:
    state = data.charging_state
    style = {"Charging": "bold green", "Complete": "cyan", "Stopped": "yellow"}.get(state or "", "")
    return Text(state or DASH, style=style)


def _charge_flow(data: VehicleData) -> str:
    """Power, current and voltage while charging ("—" otherwise: a parked car's 0 kW says nothing)."""
    if not _charging(data):
        return DASH
    power = _num(data.charger_power_kw, "{:.0f}", "kW")
    current = _num(data.charger_actual_current_a, "{:.0f}", "A")
    return f"{power} {current} {_num(data.charger_voltage_v, '{:.0f}', 'V')}"


def _to_full(data: VehicleData) -> str:
    """Time to the limit, only while charging: a car that is not charging is never "0:00" from full."""
    return _minutes(data.minutes_to_full_charge) if _charging(data) else DASH


def _position(drive: DriveFigures) -> str:
    lat, lon = drive.latitude, drive.longitude
    return DASH if lat is None or lon is None else f"{lat:.5f}, {lon:.5f}"


def _freshness(drive: DriveFigures, live: bool) -> Text:
    if live:
        return Text("● live", style="bold green")
    source = "streamed" if drive.streamed else "polled"
    age = drive.age_s()
    return Text(f"{source} {_age(age)}" if age is not None else source, style="dim")


def _doors(data: VehicleData) -> str:
    state = data.vehicle_state
    open_doors = [name for key, name in _DOORS.items() if state.get(key) not in (None, 0, False)]
    return ", ".join(open_doors) + " open" if open_doors else "closed"


def _update(data: VehicleData) -> str:
    update = data.software_update
    if update is None or not update.status:
        return "none"
    return f"{update.status} {update.version or ''}".strip()


def _locked(data: VehicleData, yes: str = "locked", no: str = "unlocked") -> Text:
    locked = data.locked
    return Text(_yes(locked, yes, no), style="" if locked is not False else "bold red")


def no_data_text(car: CarWatcher) -> Text:
    """What a car without data shows, by its state: only an asleep or offline car is offered a wake."""
    if car.error:
        return Text(car.error, style="red")
    if car.state == "asleep":
        return Text("asleep: press w to wake", style="dim")
    if car.state == "offline":
        return Text("offline: press w to try to wake", style="dim")
    if car.state == "online" and car.resting:
        return Text("online, not read so that it can sleep: press r to read", style="dim")
    if car.state == "online":
        return Text("online: reading…", style="dim")
    return Text("waiting…", style="dim")


def _site_kw(watts: float | None) -> str:
    return DASH if watts is None else _num(watts / 1000, "{:.2f}", "kW")


def _charger_title(charger: ChargerWatch) -> str:
    return f"Wall Connector {charger.host.removeprefix('http://').rstrip('/')}"


def _power_text(power: PowerReading) -> str:
    return f"{power.total_kw:.2f} kW ({power.service.value.replace('_', '-')})"


def _grid_text(vitals: Vitals) -> str:
    return f"{_num(vitals.grid_voltage_v, '{:.0f}', 'V')}, {_num(vitals.grid_frequency_hz, '{:.2f}', 'Hz')}"


def _session_text(vitals: Vitals) -> str:
    energy = vitals.session_energy_wh
    minutes = None if vitals.session_s is None else vitals.session_s // 60
    return f"{_minutes(minutes)}, {_num(None if energy is None else energy / 1000, '{:.2f}', 'kWh')}"


# --- the panels layout -----------------------------------------------------------------------------


def charge_panel(data: VehicleData, drive: DriveFigures | None = None, units: Units | None = None) -> Panel:
    """Charge figures of the last poll; level and range from a newer streamed update if there is one."""
    units = units or Units.of(data)
    level, range_mi = _level_and_range(data, drive)
    rows: list[tuple[str, RenderableType]] = [
        ("level", _num(level, "{:.0f}", "%")),
        ("range", units.distance(range_mi)),
        ("state", _charge_state(data)),
        ("power", _charge_flow(data)),
        ("limit", _num(data.charge_limit_soc, "{:.0f}", "%")),
        ("to full", _to_full(data)),
        ("added", _num(data.charge_energy_added_kwh, "{:.2f}", "kWh")),
    ]
    return Panel(_fields(rows, 16), title="charge", expand=False)


def climate_panel(data: VehicleData, units: Units | None = None) -> Panel:
    units = units or Units.of(data)
    on = data.is_climate_on
    rows: list[tuple[str, RenderableType]] = [
        ("climate", Text(_yes(on, "on", "off"), style="bold green" if on else "")),
        ("inside", units.temperature(data.inside_temp_c)),
        ("outside", units.temperature(data.outside_temp_c)),
        ("setpoint", units.temperature(data.driver_temp_setting_c)),
    ]
    return Panel(_fields(rows, 8), title="climate", expand=False)


def drive_panel(
    data: VehicleData, drive: DriveFigures, live: bool = False, units: Units | None = None
) -> Panel:
    """The drive figures; `data` only for the car's units. The subtitle says how fresh they are."""
    units = units or Units.of(data)
    rows: list[tuple[str, RenderableType]] = [
        ("shift", drive.shift_state or "P"),
        ("speed", units.speed(drive.speed_mph)),
        ("position", _position(drive)),
        ("heading", _num(drive.heading, "{:.0f}°")),
        ("power", _num(drive.power_kw, "{:.0f}", "kW")),
        ("odometer", units.distance(drive.odometer_mi)),
    ]
    subtitle = _freshness(drive, live)
    return Panel(_fields(rows, 20), title="drive", subtitle=subtitle, subtitle_align="right", expand=False)


def vehicle_panel(data: VehicleData) -> Panel:
    rows: list[tuple[str, RenderableType]] = [
        ("locked", _locked(data, "yes", "no")),
        ("sentry", _yes(data.sentry_mode, "on", "off")),
        ("doors", _doors(data)),
        ("software", data.car_version or DASH),
        ("update", _update(data)),
    ]
    return Panel(_fields(rows, 16), title="vehicle", expand=False)


def charger_panel(charger: ChargerWatch, units: Units | None = None) -> Panel:
    """The Wall Connector's vitals, compact, in the words of `wallconnector status`."""
    units = units or Units()
    title = _charger_title(charger)
    vitals, power = charger.vitals, charger.power
    if vitals is None or power is None:
        text = Text(charger.error or "waiting…", style="red" if charger.error else "dim")
        return Panel(text, title=Text(title), expand=False)
    rows: list[tuple[str, RenderableType]] = [
        ("state", state_text(vitals)),
        ("vehicle", _yes(vitals.vehicle_connected, "connected", "not connected")),
        ("power", _power_text(power)),
        ("current", _num(vitals.vehicle_current_a, "{:.1f}", "A")),
        ("grid", _grid_text(vitals)),
        ("session", _session_text(vitals)),
        ("handle", units.temperature(vitals.handle_temp_c)),
    ]
    if vitals.current_alerts:
        rows.append(("alerts", Text(", ".join(map(str, vitals.current_alerts)), style="red")))
    if charger.error:
        rows.append(("error", Text(charger.error, style="red")))
    return Panel(_fields(rows, 22), title=Text(title), expand=False)


def car_heading(car: CarWatcher, selected: bool, stream_error: str | None = None) -> Text:
    """The car's name and state, and why it is not read or not streamed when that is so."""
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
    elif car.data is not None and not car.online:
        heading.append("  (last seen while online)", style="dim")
    return heading


def car_row(
    car: CarWatcher,
    selected: bool,
    charger: ChargerWatch | None,
    live: bool = False,
    stream_error: str | None = None,
    units: Units | None = None,
) -> RenderableType:
    """One car: its state, then its panels. `live`: the drive panel follows the car's stream."""
    units = units or Units.of(car.data)
    panels: list[RenderableType] = []
    drive = car.drive()
    if car.data is not None and car.online and drive is not None:
        panels = [
            charge_panel(car.data, drive, units),
            climate_panel(car.data, units),
            drive_panel(car.data, drive, live, units),
            vehicle_panel(car.data),
        ]
    elif car.data is not None:
        panels = [charge_panel(car.data, units=units), vehicle_panel(car.data)]
    else:
        panels = [Panel(no_data_text(car), title="car")]
    if charger is not None:
        panels.append(charger_panel(charger, units))
    return Group(car_heading(car, selected, stream_error), PanelRow(panels))


@dataclass
class PanelRow:
    """Panels side by side, as many as fit the width, the rest on the next lines (in order).

    Unlike rich's Columns (a grid of equal columns), each line packs panels at their own widths,
    so a narrow panel never leaves a wide gap.
    """

    panels: list[RenderableType]
    gap: int = 1

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        width = options.max_width
        line: list[RenderableType] = []
        used = 0
        for panel in self.panels:
            need = min(width, Measurement.get(console, options, panel).maximum)
            if line and used + self.gap + need > width:
                yield _side_by_side(line, self.gap)
                line, used = [], 0
            used += need + (self.gap if line else 0)
            line.append(panel)
        if line:
            yield _side_by_side(line, self.gap)


def _side_by_side(panels: list[RenderableType], gap: int) -> Table:
    table = Table.grid(padding=(0, gap, 0, 0))
    for _ in panels:
        table.add_column(no_wrap=True)
    table.add_row(*panels)
    return table


def site_panel(site: SiteWatch) -> Panel:
    status = site.status
    if status is None:
        return Panel(
            Text(site.error or "waiting…", style="red" if site.error else "dim"), title=Text(site.name)
        )
    table = Table.grid(padding=(0, 2))
    for _ in range(6):
        table.add_column(no_wrap=True, min_width=8)
    names = ("solar", "battery", "house", "grid", "battery %", "grid status")
    table.add_row(*(Text(name, style="bold") for name in names))
    table.add_row(
        _site_kw(status.solar_power_w),
        _site_kw(status.battery_power_w),
        _site_kw(status.load_power_w),
        _site_kw(status.grid_power_w),
        _num(status.percentage_charged, "{:.0f}", "%"),
        status.grid_status or DASH,
    )
    title = f"energy site: {site.name}" + (f" ({site.error})" if site.error else "")
    return Panel(table, title=Text(title), expand=False)


# --- the compact layout: one line per part -----------------------------------------------------------


def _lines(rows: list[tuple[str, RenderableType]]) -> Table:
    """Indented label/value lines; a long value wraps under itself rather than being cut."""
    table = Table.grid(padding=(0, 1))
    table.add_column(width=1)
    table.add_column(style="bold", no_wrap=True, width=_LABEL_WIDTH - 1)
    table.add_column(ratio=1)
    for name, value in rows:
        table.add_row("", name, value)
    return table


def _joined(*parts: str | Text) -> Text:
    text = Text()
    for part in parts:
        if not part or part == DASH:
            continue
        if text:
            text.append(" · ")
        text.append(part)
    return text


def compact_charge(data: VehicleData, drive: DriveFigures | None, units: Units) -> Text:
    """Level, range, state, power and current while charging, limit, time to it (no voltage, no kWh)."""
    level, range_mi = _level_and_range(data, drive)
    state = _charge_state(data)
    if _charging(data):
        power = _num(data.charger_power_kw, "{:.0f}", "kW")
        state.append(f" {power} {_num(data.charger_actual_current_a, '{:.0f}', 'A')}")
    to_full = _to_full(data)
    return _joined(
        f"{_num(level, '{:.0f}', '%')} {units.distance(range_mi)}",
        state,
        f"limit {_num(data.charge_limit_soc, '{:.0f}', '%')}",
        f"full in {to_full}" if to_full != DASH else "",
    )


def compact_climate(data: VehicleData, units: Units) -> Text:
    on = data.is_climate_on
    return _joined(
        Text(_yes(on, "on", "off"), style="bold green" if on else ""),
        f"in {units.temperature(data.inside_temp_c)}",
        f"out {units.temperature(data.outside_temp_c)}",
        f"set {units.temperature(data.driver_temp_setting_c)}",
    )


def compact_drive(drive: DriveFigures, live: bool, units: Units) -> Text:
    return _joined(
        f"{drive.shift_state or 'P'} {units.speed(drive.speed_mph)}",
        _position(drive),
        _num(drive.heading, "{:.0f}°"),
        _num(drive.power_kw, "{:.0f}", "kW"),
        _freshness(drive, live),
    )


def compact_vehicle(data: VehicleData) -> Text:
    return _joined(
        _locked(data),
        f"sentry {_yes(data.sentry_mode, 'on', 'off')}",
        f"doors {_doors(data)}",
        data.car_version or "",
        f"update {_update(data)}",
    )


def compact_car(car: CarWatcher, selected: bool, live: bool, stream_error: str | None, units: Units) -> Group:
    rows: list[tuple[str, RenderableType]] = []
    drive = car.drive()
    data = car.data
    if data is not None:
        rows.append(("charge", compact_charge(data, drive, units)))
        if car.online and drive is not None:
            rows.append(("climate", compact_climate(data, units)))
            rows.append(("drive", compact_drive(drive, live, units)))
        rows.append(("vehicle", compact_vehicle(data)))
    else:
        rows.append(("car", no_data_text(car)))
    return Group(car_heading(car, selected, stream_error), _lines(rows))


def brief_car(car: CarWatcher, selected: bool, units: Units) -> Text:
    """A car in one line: state, level and range, gear and speed."""
    heading = car_heading(car, selected)
    data, drive = car.data, car.drive()
    if data is None:
        return heading
    level, range_mi = _level_and_range(data, drive)
    parts: list[str | Text] = [
        f"{_num(level, '{:.0f}', '%')} {units.distance(range_mi)}",
        _charge_state(data),
    ]
    if drive is not None and drive.shift_state not in (None, "P"):
        parts.append(f"{drive.shift_state} {units.speed(drive.speed_mph)}")
    heading.append(" · ")
    heading.append_text(_joined(*parts))
    return heading


def compact_charger(charger: ChargerWatch, units: Units) -> Group:
    heading = Text(_charger_title(charger), style="bold")
    vitals, power = charger.vitals, charger.power
    if vitals is None or power is None:
        text = Text(charger.error or "waiting…", style="red" if charger.error else "dim")
        return Group(heading, _lines([("state", text)]))
    connected = _yes(vitals.vehicle_connected, "car connected", "no car")
    rows: list[tuple[str, RenderableType]] = [
        ("state", _joined(state_text(vitals), connected, _power_text(power),
                          _num(vitals.vehicle_current_a, "{:.1f}", "A"))),
        ("grid", _joined(_grid_text(vitals), f"session {_session_text(vitals)}",
                         f"handle {units.temperature(vitals.handle_temp_c)}")),
    ]  # fmt: skip
    if vitals.current_alerts:
        rows.append(("alerts", Text(", ".join(map(str, vitals.current_alerts)), style="red")))
    return Group(heading, _lines(rows))


def compact_site(site: SiteWatch) -> Group:
    title = f"energy site: {site.name}" + (f" ({site.error})" if site.error else "")
    heading = Text(title, style="bold")
    status = site.status
    if status is None:
        text = Text(site.error or "waiting…", style="red" if site.error else "dim")
        return Group(heading, _lines([("power", text)]))
    power = _joined(
        f"solar {_site_kw(status.solar_power_w)}",
        f"battery {_site_kw(status.battery_power_w)}",
        f"house {_site_kw(status.load_power_w)}",
        f"grid {_site_kw(status.grid_power_w)}",
    )
    state = _joined(
        f"battery {_num(status.percentage_charged, '{:.0f}', '%')}", f"grid {status.grid_status or DASH}"
    )
    return Group(heading, _lines([("power", power), ("status", state)]))


# --- the screen ------------------------------------------------------------------------------------


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


def charger_car(cars: list[CarWatcher]) -> int:
    """The car the Wall Connector is drawn beside: the first one plugged in, else the first."""
    for index, car in enumerate(cars):
        if car.data is not None and car.data.charging_state not in (None, "Disconnected"):
            return index
    return 0


def _bottom(dashboard: Dashboard, keys_help: str | None, units: Units, width: int) -> list[RenderableType]:
    """The status bar, then the keys and the units: on one line if it fits `width`, else on two."""
    bar = Text(dashboard.status or "ready", style="reverse", no_wrap=True, overflow="ellipsis")
    problem = first_error(dashboard)
    if problem:
        bar.append(f" · {problem}", style="reverse red")
    parts: list[RenderableType] = [bar]
    if keys_help:
        note = f"{units.label} as the selected car shows"
        one_line = f"{keys_help}  ·  {note}"
        help_text = one_line if len(one_line) <= width else f"{keys_help}\n{note}"
        parts.append(Text(help_text, style="dim"))
    return parts


def panels_layout(dashboard: Dashboard, title: str, keys_help: str | None, width: int) -> Group:
    """A boxed panel per part: the layout of a roomy terminal."""
    units = screen_units(dashboard)
    parts: list[RenderableType] = [Text(title, style="bold")]
    beside = charger_car(dashboard.cars)
    many = len(dashboard.cars) > 1
    for index, car in enumerate(dashboard.cars):
        charger = dashboard.charger if index == beside else None
        selected = many and index == dashboard.selected
        live, error = dashboard.is_live(car), dashboard.stream_error(car)
        parts.append(car_row(car, selected, charger, live, error, units))
    if not dashboard.cars and dashboard.charger is not None:
        parts.append(charger_panel(dashboard.charger, units))
    if dashboard.site is not None:
        parts.append(site_panel(dashboard.site))
    return Group(*parts, *_bottom(dashboard, keys_help, units, width))


def compact_layout(
    dashboard: Dashboard, title: str, keys_help: str | None, width: int, *, brief: bool = False
) -> Group:
    """A line per part (`brief`: a line per car not selected), the title's first line only."""
    units = screen_units(dashboard)
    parts: list[RenderableType] = [Text(title.splitlines()[0] if title else "", style="bold")]
    beside = charger_car(dashboard.cars)
    many = len(dashboard.cars) > 1
    for index, car in enumerate(dashboard.cars):
        selected = many and index == dashboard.selected
        if brief and many and not selected:
            parts.append(brief_car(car, selected, units))
        else:
            live, error = dashboard.is_live(car), dashboard.stream_error(car)
            parts.append(compact_car(car, selected, live, error, units))
        if index == beside and dashboard.charger is not None:
            parts.append(compact_charger(dashboard.charger, units))
    if not dashboard.cars and dashboard.charger is not None:
        parts.append(compact_charger(dashboard.charger, units))
    if dashboard.site is not None:
        parts.append(compact_site(dashboard.site))
    return Group(*parts, *_bottom(dashboard, keys_help, units, width))


@dataclass
class Screen:
    """The whole screen, in the roomiest layout that fits the console's height (see the docstring)."""

    dashboard: Dashboard
    title: str
    keys_help: str | None
    layout: str = ""  # the layout of the last frame drawn: "panels", "compact" or "brief"

    def layouts(self, width: int) -> list[tuple[str, Group]]:
        board, title, keys = self.dashboard, self.title, self.keys_help
        return [
            ("panels", panels_layout(board, title, keys, width)),
            ("compact", compact_layout(board, title, keys, width)),
            ("brief", compact_layout(board, title, keys, width, brief=True)),
        ]

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        height = options.height or options.size.height
        free = options.update(height=None)
        lines: list[list[Segment]] = []
        for name, group in self.layouts(options.max_width):
            lines = console.render_lines(group, free, pad=False)
            self.layout = name
            if len(lines) <= height:
                break
        for line in lines:
            yield from line
            yield Segment.line()


def render(
    dashboard: Dashboard, *, title: str = "teslalink dashboard", keys_help: str | None = None
) -> Screen:
    """The whole screen: title, a row per car (the charger beside the plugged-in one), site, status, keys."""
    return Screen(dashboard, title, keys_help)
