"""Rich renderings of Wall Connector data: field tables, the status screen and the live table.

Kept apart from the commands so that `watch`, `status` and `demo` draw the same thing.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from rich import box
from rich.table import Table
from rich.text import Text

from ..wallconnector.models import DeviceModel, EvseState, Version, Vitals
from ..wallconnector.power import ElectricalService, PowerReading

if TYPE_CHECKING:
    from ..wallconnector.monitor import UnitMonitor

_UNITS = {"_v": "V", "_a": "A", "_hz": "Hz", "_c": "°C", "_s": "s", "_wh": "Wh", "_uv": "µV",
          "_pct": "%", "_dbm": "dBm", "_db": "dB"}  # fmt: skip

_STATE_STYLE = {
    EvseState.CHARGING: "bold green",
    EvseState.CHARGING_REDUCED: "green",
    EvseState.WAITING_FOR_CAR: "yellow",
    EvseState.CHARGING_FINISHED: "cyan",
    EvseState.ERROR: "red",
    EvseState.UNKNOWN: "magenta",
}


_SHORT_SERVICE = {
    ElectricalService.AUTO: "auto",
    ElectricalService.SPLIT_PHASE: "split",
    ElectricalService.THREE_PHASE: "3-phase",
    ElectricalService.SINGLE_PHASE: "1-phase",
}


def _unit_of(name: str) -> str:
    for suffix, unit in _UNITS.items():
        if name.endswith(suffix):
            return unit
    return ""


def _fmt(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:.3f}".rstrip("0").rstrip(".")
    if isinstance(value, tuple):
        return ", ".join(str(v) for v in value) or "none"
    if isinstance(value, EvseState):
        return value.description
    return str(value)


# Our choice: a newer firmware adds a handful of fields; a device sending thousands is broken or
# hostile, and drawing 200,000 rows took two minutes. `--raw` still gives them all.
MAX_UNKNOWN_SHOWN = 50


def fields_table(model: DeviceModel, title: str) -> Table:
    """Every field of a model with its unit; fields a newer firmware added are listed at the end.

    At most `MAX_UNKNOWN_SHOWN` of those are drawn, then one line says how many more there are.
    """
    table = Table(title=title, show_header=True, header_style="bold")
    table.add_column("field")
    table.add_column("value", justify="right")
    table.add_column("unit")
    for name, value in model.items():
        table.add_row(name, _fmt(value), _unit_of(name))
    unknown = model.unknown_fields
    for name, value in itertools.islice(unknown.items(), MAX_UNKNOWN_SHOWN):
        table.add_row(Text(name, style="dim"), str(value), "")
    if len(unknown) > MAX_UNKNOWN_SHOWN:
        more = len(unknown) - MAX_UNKNOWN_SHOWN
        table.add_row(Text(f"... and {more:,} more unknown fields (--raw shows them)", style="dim"), "", "")
    return table


def state_text(vitals: Vitals) -> Text:
    words = vitals.evse_state.description
    if vitals.evse_state is EvseState.UNKNOWN and vitals.evse_state_code is not None:
        words = f"unknown ({vitals.evse_state_code})"
    return Text(words, style=_STATE_STYLE.get(vitals.evse_state, ""))


def status_table(host: str, vitals: Vitals, power: PowerReading, version: Version | None) -> Table:
    """The one-screen summary: what a user looks at first."""
    table = Table(title=f"Wall Connector {host}", show_header=False)
    table.add_column(style="bold")
    table.add_column()
    table.add_row("state", state_text(vitals))
    table.add_row("vehicle", "connected" if vitals.vehicle_connected else "not connected")
    table.add_row("power", f"{power.total_kw:.2f} kW ({power.service.value.replace('_', '-')})")
    table.add_row("current", f"{_fmt(vitals.vehicle_current_a)} A")
    table.add_row("grid", f"{_fmt(vitals.grid_voltage_v)} V, {_fmt(vitals.grid_frequency_hz)} Hz")
    energy = vitals.session_energy_wh
    table.add_row("session", f"{_duration(vitals.session_s)}, {_kwh(energy)}")
    temps = (vitals.handle_temp_c, vitals.pcba_temp_c, vitals.mcu_temp_c)
    table.add_row("temperatures", "handle {} °C, pcba {} °C, mcu {} °C".format(*map(_fmt, temps)))
    if vitals.current_alerts:
        table.add_row("alerts", Text(_fmt(vitals.current_alerts), style="red"))
    if version is not None:
        table.add_row("firmware", _fmt(version.firmware_version))
        table.add_row("serial", _fmt(version.serial_number))
    table.add_row("uptime", _duration(vitals.uptime_s))
    return table


def live_table(rows: Sequence[UnitMonitor], title: str = "Wall Connectors") -> Table:
    # Two spaces between columns (the box's blank divider and one of padding) so that every column
    # fits a default 80-column terminal; the default padding dropped the wiring column there.
    table = Table(title=title, header_style="bold", box=box.SIMPLE_HEAD, padding=(0, 1, 0, 0), pad_edge=False)
    for column, justify in [
        ("unit", "left"), ("state", "left"), ("kW", "right"), ("A", "right"), ("V", "right"),
        ("session", "right"), ("kWh", "right"), ("°C", "right"), ("wiring", "left"),
    ]:  # fmt: skip
        table.add_column(
            column,
            justify=justify,  # type: ignore[arg-type]
            no_wrap=column != "state",
            min_width=15 if column == "state" else None,
        )
    for row in rows:
        v, p = row.vitals, row.power
        if v is None or p is None:
            table.add_row(row.name, Text(row.error or "waiting…", style="red"), *[""] * 7)
            continue
        state = state_text(v)
        if row.error:
            state.append(f" ({row.error})", style="dim red")
        energy = v.session_energy_wh
        table.add_row(
            row.name,
            state,
            f"{p.total_kw:.2f}",
            _fmt(v.vehicle_current_a),
            _fmt(v.grid_voltage_v),
            _duration(v.session_s),
            f"{energy / 1000:.2f}" if energy is not None else "—",
            _fmt(v.handle_temp_c),
            _SHORT_SERVICE[p.service],
        )
    return table


def unit_line(name: str, vitals: Vitals, power: PowerReading) -> str:
    """One reading as plain text, the same figures as a live-table row: for a pipe or a log file."""
    energy = vitals.session_energy_wh
    return (
        f"{name}: {state_text(vitals).plain}, {power.total_kw:.2f} kW, {_fmt(vitals.vehicle_current_a)} A, "
        f"{_fmt(vitals.grid_voltage_v)} V, session {_duration(vitals.session_s)} {_kwh(energy)}, "
        f"handle {_fmt(vitals.handle_temp_c)} °C, {_SHORT_SERVICE[power.service]}"
    )


def _kwh(wh: float | None) -> str:
    return "—" if wh is None else f"{wh / 1000:.2f} kWh"


def _duration(seconds: int | None) -> str:
    if seconds is None:
        return "—"
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    if hours >= 24:
        return f"{hours // 24}d {hours % 24}h"
    return f"{hours}:{minutes:02d}:{secs:02d}"
