"""How `teslalink history` shows records: a table with units for people, JSON and CSV for tools.

JSON is an array of the records as the recorder keeps them (times in epoch ms, energies in Wh,
an energy site's day as "YYYY-MM-DD" in the site's time zone, enums by value; a charge also
carries `losses_wh`, an event its `Event.to_json()` shape). CSV has the same keys as the header,
flattened (an event's device as three columns, its figures as a JSON text), written as RFC 4180
says (CRLF line ends, fields quoted where needed). The table shows local times, kWh, km,
minutes and names instead of VINs, serials and site ids.
"""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import enum
import io
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..service.events import DeviceKind, Event
from ..service.records import ChargingSession, Drive, SiteEnergyDay, StateSpan, WallConnectorSession
from ._text import printable

if TYPE_CHECKING:
    from rich.table import Table

__all__ = ["KINDS", "HistoryKind", "as_csv", "as_json", "as_table"]

Names = Mapping[tuple[DeviceKind, str], str]


def local_time(ms: int | None) -> str:
    if ms is None:
        return "ongoing"
    return dt.datetime.fromtimestamp(ms / 1000).astimezone().strftime("%Y-%m-%d %H:%M")


def duration(start_ms: int, end_ms: int | None) -> str:
    if end_ms is None:
        return ""
    minutes = max(0, round((end_ms - start_ms) / 60_000))
    days, minutes = divmod(minutes, 24 * 60)
    hours, minutes = divmod(minutes, 60)
    if days:
        return f"{days} d {hours} h"
    return f"{hours} h {minutes:02d} min" if hours else f"{minutes} min"


def _kwh(wh: float | None) -> str:
    return "" if wh is None else f"{wh / 1000:.2f}"


def _number(value: float | None, digits: int = 1) -> str:
    return "" if value is None else f"{value:.{digits}f}"


def _levels(start: float | None, end: float | None) -> str:
    if start is None and end is None:
        return ""
    return f"{_number(start, 0) or '?'} → {_number(end, 0) or '?'}"


def _car(names: Names, vin: str | None) -> str:
    if vin is None:
        return ""
    return names.get((DeviceKind.CAR, vin), vin)


def _unit(names: Names, serial: str) -> str:
    return names.get((DeviceKind.WALL_CONNECTOR, serial), serial)


def _site(names: Names, site_id: str) -> str:
    return names.get((DeviceKind.SITE, site_id), site_id)


def _seconds(seconds: float | None) -> str:
    return "" if seconds is None else duration(0, round(seconds * 1000))


def _losses(charge: ChargingSession) -> str:
    losses = charge.losses_wh
    if losses is None:
        return ""
    share = f" ({losses / charge.energy_grid_wh:.0%})" if charge.energy_grid_wh else ""
    return f"{losses / 1000:.2f}{share}"


Cell = Callable[[Any, Names], str]


@dataclass(frozen=True)
class HistoryKind:
    """One `history` subcommand: what it lists and the columns of its table."""

    name: str
    plural: str  # "charging sessions": for "No charging sessions since ..."
    columns: Sequence[tuple[str, Cell, bool]]  # header, cell, right-aligned


KINDS: Mapping[str, HistoryKind] = {
    "charges": HistoryKind(
        "charges",
        "charging sessions",
        (
            ("Start", lambda c, n: local_time(c.start_ms), False),
            ("End", lambda c, n: local_time(c.end_ms), False),
            ("Car", lambda c, n: _car(n, c.vin), False),
            ("Seen by", lambda c, n: c.source.value, False),
            (
                "Where",
                lambda c, n: n.get((DeviceKind.WALL_CONNECTOR, c.serial), c.serial) if c.serial else "away",
                False,
            ),
            ("Added kWh", lambda c, n: _kwh(c.energy_added_wh), True),
            ("Grid kWh", lambda c, n: _kwh(c.energy_grid_wh), True),
            ("Losses kWh", lambda c, n: _losses(c), True),
            ("Battery %", lambda c, n: _levels(c.start_battery_level, c.end_battery_level), True),
            ("Max kW", lambda c, n: _number(None if c.max_power_w is None else c.max_power_w / 1000), True),
            ("Stop", lambda c, n: c.stop_reason or "", False),
        ),
    ),
    "drives": HistoryKind(
        "drives",
        "drives",
        (
            ("Start", lambda d, n: local_time(d.start_ms), False),
            ("End", lambda d, n: local_time(d.end_ms), False),
            ("Car", lambda d, n: _car(n, d.vin), False),
            ("Duration", lambda d, n: duration(d.start_ms, d.end_ms), True),
            ("Distance km", lambda d, n: _number(d.distance_km), True),
            ("Battery %", lambda d, n: _levels(d.start_battery_level, d.end_battery_level), True),
            ("Energy kWh", lambda d, n: _kwh(d.energy_used_wh), True),
            ("Max km/h", lambda d, n: _number(d.speed_max_kmh, 0), True),
        ),
    ),
    "sessions": HistoryKind(
        "sessions",
        "Wall Connector sessions",
        (
            ("Start", lambda s, n: local_time(s.start_ms), False),
            ("End", lambda s, n: local_time(s.end_ms), False),
            ("Wall Connector", lambda s, n: _unit(n, s.serial), False),
            ("Car", lambda s, n: _car(n, s.vin), False),
            ("Energy kWh", lambda s, n: _kwh(s.energy_wh), True),
            (
                "Charging",
                lambda s, n: "" if s.charging_s is None else duration(0, round(s.charging_s * 1000)),
                True,
            ),
        ),
    ),
    "states": HistoryKind(
        "states",
        "states",
        (
            ("Start", lambda s, n: local_time(s.start_ms), False),
            ("End", lambda s, n: local_time(s.end_ms), False),
            ("Car", lambda s, n: _car(n, s.vin), False),
            ("State", lambda s, n: s.state.value, False),
            ("Duration", lambda s, n: duration(s.start_ms, s.end_ms), True),
        ),
    ),
    "events": HistoryKind(
        "events",
        "events",
        (
            ("Time", lambda e, n: local_time(e.at_ms), False),
            ("Event", lambda e, n: e.kind.value, False),
            ("Device", lambda e, n: n.get((e.device.kind, e.device.id)) or e.device.label, False),
            ("What", lambda e, n: e.text, False),
        ),
    ),
    "energy": HistoryKind(
        "energy",
        "energy site days",
        (
            ("Day", lambda d, n: d.day, False),
            ("Site", lambda d, n: _site(n, d.site_id), False),
            ("Solar kWh", lambda d, n: _kwh(d.solar_wh), True),
            ("Home kWh", lambda d, n: _kwh(d.home_wh), True),
            ("Grid in kWh", lambda d, n: _kwh(d.grid_import_wh), True),
            ("Grid out kWh", lambda d, n: _kwh(d.grid_export_wh), True),
            ("Battery in kWh", lambda d, n: _kwh(d.battery_charge_wh), True),
            ("Battery out kWh", lambda d, n: _kwh(d.battery_discharge_wh), True),
        ),
    ),
}


def _plain(value: Any) -> Any:
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    return value


def to_json(record: Any) -> dict[str, Any]:
    """A record as JSON: its fields (enums by value), a charge's losses, an event's own shape."""
    if isinstance(record, Event):
        return record.to_json()
    data = {f.name: _plain(getattr(record, f.name)) for f in dataclasses.fields(record)}
    if isinstance(record, ChargingSession):
        data["losses_wh"] = record.losses_wh
    return data


def _flat(record: Any) -> dict[str, Any]:
    data = to_json(record)
    if isinstance(record, Event):
        device = data.pop("device")
        figures = data.pop("figures")
        data = {
            "at_ms": data["at_ms"],
            "kind": data["kind"],
            "device_kind": device["kind"],
            "device_id": device["id"],
            "device_name": device["name"],
            "text": data["text"],
            "figures": json.dumps(figures, ensure_ascii=False, separators=(",", ":")),
        }
    return data


_EMPTY_HEADERS: Mapping[str, Sequence[str]] = {
    "charges": [f.name for f in dataclasses.fields(ChargingSession)] + ["losses_wh"],
    "drives": [f.name for f in dataclasses.fields(Drive)],
    "sessions": [f.name for f in dataclasses.fields(WallConnectorSession)],
    "states": [f.name for f in dataclasses.fields(StateSpan)],
    "events": ["at_ms", "kind", "device_kind", "device_id", "device_name", "text", "figures"],
    "energy": [f.name for f in dataclasses.fields(SiteEnergyDay)],
}


def as_json(records: Sequence[Any]) -> list[dict[str, Any]]:
    return [to_json(record) for record in records]


def as_csv(kind: str, records: Sequence[Any]) -> str:
    """RFC 4180: a header, CRLF line ends, quoting where a field needs it; None is empty."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    rows = [_flat(record) for record in records]
    header = list(rows[0]) if rows else list(_EMPTY_HEADERS[kind])
    writer.writerow(header)
    for row in rows:
        writer.writerow([_field(row[name]) for name in header])
    return out.getvalue()


def _field(value: Any) -> Any:
    """A CSV field: None empty, text without what a terminal would obey (names come from devices)."""
    if value is None:
        return ""
    return printable(value) if isinstance(value, str) else value


_TIMES = ("Start", "End", "Time", "Day")


def as_table(kind: str, records: Sequence[Any], names: Names, title: str) -> Table:
    from rich.table import Table  # noqa: PLC0415 - rich only for a table
    from rich.text import Text  # noqa: PLC0415

    spec = KINDS[kind]
    table = Table(title=Text(title))
    for header, _, right in spec.columns:
        table.add_column(header, justify="right" if right else "left", no_wrap=header in _TIMES)
    for record in records:
        table.add_row(*(Text(cell(record, names)) for _, cell, _ in spec.columns))
    return table
