"""The recorder's tables as the code sees them: which record goes where, column by column.

One description serves both databases: how a record becomes a row (`Table.encode`), the upsert
that writes it (`Table.upsert_sql`), the SELECT that reads it back with its devices and span keys
joined (`Table.select_sql`) and the row back into the record (`Table.decode`). The DDL itself
lives in `migrations` (a migration, once released, never changes); a test checks that every
table of a migrated database has exactly the columns described here.

Devices (cars, Wall Connectors, sites, accounts) are small integer ids in `devices`, and span
keys small integer ids in `span_keys`, so a sample row carries two small integers instead of a
VIN and a drive key. A record names them (`DeviceRef`, `SpanKey` in an encoded row); the writer
turns them into ids.
"""

from __future__ import annotations

import enum
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field, fields
from typing import Any, Final, Literal

from ..events import DeviceKind, DeviceRef, Event, EventKind
from ..records import (
    ApiUsage,
    CarInfo,
    CarState,
    ChargeSample,
    ChargeSource,
    ChargingSession,
    Drive,
    Position,
    Record,
    SiteEnergyDay,
    SiteSample,
    StateSpan,
    WallConnectorSample,
    WallConnectorSession,
)
from .codec import (
    INT32_MAX,
    decode_figures,
    encode_figures,
    from_fixed,
    to_epoch_ms,
    to_fixed,
    to_flag,
    to_int,
    to_real,
    to_text,
)

__all__ = ["TABLES", "TABLE_OF", "Column", "SpanKey", "Table", "table_of"]

Shape = Literal["span", "sample", "row"]
Rule = Literal["avg", "last"]


@dataclass(frozen=True, slots=True)
class SpanKey:
    """A span's key in an encoded row, before the writer turns it into its `span_keys` id."""

    key: str


@dataclass(frozen=True)
class Column:
    """One column: its name in the database and the record field it holds.

    `how` says how the value is stored: "time" (epoch ms), "real", "fixed" (times `scale`),
    "int", "flag", "text", "enum" (its value as text), "figures" (JSON), "device" (an id in
    `devices`), "span" (an id in `span_keys`).
    """

    name: str
    field: str
    how: str
    scale: int = 1
    device_kind: DeviceKind | None = None  # "device": the kind of device the field names
    name_field: str | None = None  # "device": the record field that holds the device's name
    whole: bool = False  # "device": the field is a whole DeviceRef (events)
    enum_type: type[enum.StrEnum] | None = None
    limit: int = 2**63 - 1  # "int": the largest value the column holds

    def encode(self, record: Any) -> Any:
        value = getattr(record, self.field)
        how = self.how
        if how == "time":
            return to_epoch_ms(value, self.name)
        if how == "real":
            return to_real(value)
        if how == "fixed":
            return to_fixed(value, self.scale, self.name)
        if how == "int":
            return to_int(value, self.name, self.limit)
        if how == "flag":
            return to_flag(value)
        if how == "text":
            return to_text(value)
        if how == "enum":
            return None if value is None else str(value.value if isinstance(value, enum.Enum) else value)
        if how == "figures":
            return encode_figures(value)
        if how == "span":
            return None if value is None else SpanKey(to_text(str(value)) or "")
        if how == "device":
            if self.whole:
                assert isinstance(value, DeviceRef)
                return DeviceRef(value.kind, to_text(value.id) or "", to_text(value.name) or "")
            if value is None:
                return None
            assert self.device_kind is not None
            name = getattr(record, self.name_field) if self.name_field else ""
            return DeviceRef(self.device_kind, to_text(str(value)) or "", to_text(name) or "")
        raise AssertionError(how)

    def select(self, table: str) -> tuple[list[str], list[str]]:
        """The SELECT expressions that read this column back, and the joins they need."""
        if self.how == "device":
            alias = f"d_{self.name}"
            join = f"LEFT JOIN devices AS {alias} ON {alias}.id = {table}.{self.name}"
            return [f"{alias}.kind", f"{alias}.ident", f"{alias}.name"], [join]
        if self.how == "span":
            alias = f"k_{self.name}"
            return [f"{alias}.key"], [f"LEFT JOIN span_keys AS {alias} ON {alias}.id = {table}.{self.name}"]
        return [f"{table}.{self.name}"], []

    def decode(self, values: Iterator[Any], into: dict[str, Any]) -> None:
        """Consume this column's SELECT values and set the record fields they give."""
        how = self.how
        if how == "device":
            kind, ident, name = next(values), next(values), next(values)
            if self.whole:
                into[self.field] = DeviceRef(DeviceKind(kind), ident, name or "")
                return
            into[self.field] = ident
            if self.name_field:
                into[self.name_field] = name or ""
            return
        value = next(values)
        if how == "fixed":
            into[self.field] = from_fixed(value, self.scale)
        elif how == "real":
            into[self.field] = None if value is None else float(value)
        elif how == "flag":
            into[self.field] = None if value is None else bool(value)
        elif how == "enum":
            assert self.enum_type is not None
            into[self.field] = None if value is None else self.enum_type(value)
        elif how == "figures":
            into[self.field] = decode_figures(value)
        elif how in ("time", "int"):
            into[self.field] = None if value is None else int(value)
        else:  # text, span
            into[self.field] = value

    @property
    def width(self) -> int:
        return 3 if self.how == "device" else 1


def _time(name: str, record_field: str | None = None) -> Column:
    return Column(name, record_field or name, "time")


def _real(name: str) -> Column:
    return Column(name, name, "real")


def _fixed(name: str, record_field: str, scale: int) -> Column:
    return Column(name, record_field, "fixed", scale=scale)


def _device(name: str, record_field: str, kind: DeviceKind, name_field: str | None = None) -> Column:
    return Column(name, record_field, "device", device_kind=kind, name_field=name_field)


@dataclass(frozen=True)
class Table:
    """A record type's table: its columns in DDL order, its key and how it is written."""

    name: str
    record: type[Any]
    columns: tuple[Column, ...]
    key: tuple[str, ...]
    shape: Shape
    device: str  # the column that says which device the row is about (filters: --car)
    time: str  # the column history filters and sorts by
    rules: Mapping[str, Rule] = field(default_factory=dict)  # downsampling, samples only

    @property
    def droppable(self) -> bool:
        """Whether a full queue may drop a waiting row of this table: samples and events, never
        spans or the rows upserted by their natural keys (cars, the ledger)."""
        return self.shape == "sample" or self.record is Event

    @property
    def column_names(self) -> tuple[str, ...]:
        return tuple(column.name for column in self.columns)

    def encode(self, record: Any) -> tuple[Any, ...]:
        """The row for `record`, devices and span keys still named (`DeviceRef`, `SpanKey`).

        Raises `codec.ValueRefused` for a value no column can hold.
        """
        return tuple(column.encode(record) for column in self.columns)

    def natural_key(self, row: Sequence[Any]) -> tuple[Any, ...]:
        """What makes two rows the same row: the key columns, devices by kind and id only."""
        index = {name: i for i, name in enumerate(self.column_names)}
        parts: list[Any] = [self.name]
        for name in self.key:
            value = row[index[name]]
            parts.append((value.kind, value.id) if isinstance(value, DeviceRef) else value)
        return tuple(parts)

    def upsert_sql(self) -> str:
        """INSERT one row, or update the row with the same key (a replay is one row).

        Spans (our choice): an open version never reopens a closed span, so an old version
        replayed after a crash cannot undo the end the database already has.
        """
        names = self.column_names
        marks = ", ".join("?" for _ in names)
        updates = ", ".join(f"{name} = excluded.{name}" for name in names if name not in self.key)
        sql = (
            f"INSERT INTO {self.name} ({', '.join(names)}) VALUES ({marks}) "
            f"ON CONFLICT ({', '.join(self.key)}) DO UPDATE SET {updates}"
        )
        if self.shape == "span":
            sql += f" WHERE excluded.end_ms IS NOT NULL OR {self.name}.end_ms IS NULL"
        return sql

    def select_sql(self, where: str = "", order: str | None = None) -> str:
        """Every column read back (devices and keys joined), `where` over `t`, in time order."""
        expressions: list[str] = []
        joins: list[str] = []
        for column in self.columns:
            selected, needed = column.select("t")
            expressions += selected
            joins += needed
        sql = f"SELECT {', '.join(expressions)} FROM {self.name} AS t {' '.join(joins)}"
        if where:
            sql += f" WHERE {where}"
        return sql + f" ORDER BY {order or f't.{self.time}, t.{self.device}'}"

    def decode(self, row: Sequence[Any]) -> Any:
        values = iter(row)
        given: dict[str, Any] = {}
        for column in self.columns:
            column.decode(values, given)
        known = {f.name for f in fields(self.record)}
        return self.record(**{name: value for name, value in given.items() if name in known})


_CAR = DeviceKind.CAR
_UNIT = DeviceKind.WALL_CONNECTOR

CARS = Table(
    "cars",
    CarInfo,
    (
        _device("car", "vin", _CAR, name_field="name"),
        Column("account", "account", "text"),
        Column("model", "model", "text"),
        Column("vehicle_id", "vehicle_id", "int"),
        Column("api_id", "id", "int"),
    ),
    key=("car",),
    shape="row",
    device="car",
    time="car",
)

STATE_SPANS = Table(
    "state_spans",
    StateSpan,
    (
        Column("span", "key", "span"),
        _device("car", "vin", _CAR),
        Column("state", "state", "enum", enum_type=CarState),
        _time("start_ms"),
        _time("end_ms"),
    ),
    key=("span",),
    shape="span",
    device="car",
    time="start_ms",
)

DRIVES = Table(
    "drives",
    Drive,
    (
        Column("span", "key", "span"),
        _device("car", "vin", _CAR),
        _time("start_ms"),
        _time("end_ms"),
        *(
            _real(name)
            for name in (
                "start_odometer_km",
                "end_odometer_km",
                "distance_km",
                "start_battery_level",
                "end_battery_level",
                "start_range_km",
                "end_range_km",
                "energy_used_wh",
                "speed_max_kmh",
                "start_latitude",
                "start_longitude",
                "end_latitude",
                "end_longitude",
            )
        ),
    ),
    key=("span",),
    shape="span",
    device="car",
    time="start_ms",
)

POSITIONS = Table(
    "positions",
    Position,
    (
        _device("car", "vin", _CAR),
        _time("at_ms"),
        Column("drive", "drive_key", "span"),
        _fixed("latitude_e7", "latitude", 10**7),
        _fixed("longitude_e7", "longitude", 10**7),
        _fixed("speed_kmh_x10", "speed_kmh", 10),
        _fixed("power_w", "power_kw", 1000),
        _fixed("heading_x10", "heading", 10),
        _fixed("odometer_m", "odometer_km", 1000),
        _fixed("battery_level_x10", "battery_level", 10),
    ),
    key=("car", "at_ms"),
    shape="sample",
    device="car",
    time="at_ms",
    rules={},  # a drive's path is kept as it was driven: positions are never downsampled
)

CHARGING_SESSIONS = Table(
    "charging_sessions",
    ChargingSession,
    (
        Column("span", "key", "span"),
        Column("source", "source", "enum", enum_type=ChargeSource),
        _device("car", "vin", _CAR),
        _device("unit", "serial", _UNIT),
        _time("start_ms"),
        _time("end_ms"),
        _real("energy_added_wh"),
        _real("energy_grid_wh"),
        _real("start_battery_level"),
        _real("end_battery_level"),
        _real("max_power_w"),
        Column("fast_charger", "fast_charger", "flag"),
        Column("stop_reason", "stop_reason", "text"),
    ),
    key=("span",),
    shape="span",
    device="car",
    time="start_ms",
)

CHARGE_SAMPLES = Table(
    "charge_samples",
    ChargeSample,
    (
        _device("car", "vin", _CAR),
        _time("at_ms"),
        Column("session", "session_key", "span"),
        Column("charging_state", "charging_state", "text"),
        _fixed("battery_level_x10", "battery_level", 10),
        _fixed("charge_limit_soc", "charge_limit_soc", 1),
        _fixed("energy_added_wh", "energy_added_wh", 1),
        _fixed("power_w", "power_w", 1),
        _fixed("current_a_x10", "current_a", 10),
        _fixed("voltage_v_x10", "voltage_v", 10),
        Column("phases", "phases", "int", limit=INT32_MAX),
    ),
    key=("car", "at_ms"),
    shape="sample",
    device="car",
    time="at_ms",
    rules={
        "session": "last",
        "charging_state": "last",
        "battery_level_x10": "last",
        "charge_limit_soc": "last",
        "energy_added_wh": "last",
        "power_w": "avg",
        "current_a_x10": "avg",
        "voltage_v_x10": "avg",
        "phases": "last",
    },
)

WALLCONNECTOR_SESSIONS = Table(
    "wallconnector_sessions",
    WallConnectorSession,
    (
        Column("span", "key", "span"),
        _device("unit", "serial", _UNIT),
        _time("start_ms"),
        _time("end_ms"),
        _real("energy_wh"),
        _real("charging_s"),
        _device("car", "vin", _CAR),
    ),
    key=("span",),
    shape="span",
    device="car",
    time="start_ms",
)

WALLCONNECTOR_SAMPLES = Table(
    "wallconnector_samples",
    WallConnectorSample,
    (
        _device("unit", "serial", _UNIT),
        _time("at_ms"),
        Column("vehicle_connected", "vehicle_connected", "flag"),
        Column("contactor_closed", "contactor_closed", "flag"),
        Column("evse_state", "evse_state", "int", limit=INT32_MAX),
        _fixed("power_w", "power_w", 1),
        _fixed("vehicle_current_a_x10", "vehicle_current_a", 10),
        _fixed("grid_v_x10", "grid_v", 10),
        _fixed("grid_hz_x1000", "grid_hz", 1000),
        _fixed("session_energy_wh_x10", "session_energy_wh", 10),
        _fixed("handle_temp_c_x10", "handle_temp_c", 10),
        _fixed("pcba_temp_c_x10", "pcba_temp_c", 10),
        _fixed("mcu_temp_c_x10", "mcu_temp_c", 10),
    ),
    key=("unit", "at_ms"),
    shape="sample",
    device="unit",
    time="at_ms",
    rules={
        "vehicle_connected": "last",
        "contactor_closed": "last",
        "evse_state": "last",
        "power_w": "avg",
        "vehicle_current_a_x10": "avg",
        "grid_v_x10": "avg",
        "grid_hz_x1000": "avg",
        "session_energy_wh_x10": "last",
        "handle_temp_c_x10": "avg",
        "pcba_temp_c_x10": "avg",
        "mcu_temp_c_x10": "avg",
    },
)

SITE_SAMPLES = Table(
    "site_samples",
    SiteSample,
    (
        _device("site", "site_id", DeviceKind.SITE),
        _time("at_ms"),
        _fixed("solar_w", "solar_w", 1),
        _fixed("load_w", "load_w", 1),
        _fixed("grid_w", "grid_w", 1),
        _fixed("battery_w", "battery_w", 1),
        _fixed("battery_level_x10", "battery_level", 10),
        Column("grid_status", "grid_status", "text"),
    ),
    key=("site", "at_ms"),
    shape="sample",
    device="site",
    time="at_ms",
    rules={
        "solar_w": "avg",
        "load_w": "avg",
        "grid_w": "avg",
        "battery_w": "avg",
        "battery_level_x10": "last",
        "grid_status": "last",
    },
)

SITE_ENERGY_DAYS = Table(
    "site_energy_days",
    SiteEnergyDay,
    (
        _device("site", "site_id", DeviceKind.SITE, name_field="site_name"),
        Column("day", "day", "text"),
        *(
            _real(name)
            for name in (
                "solar_wh",
                "home_wh",
                "grid_import_wh",
                "grid_export_wh",
                "battery_charge_wh",
                "battery_discharge_wh",
            )
        ),
    ),
    key=("site", "day"),
    shape="row",
    device="site",
    time="day",
)

EVENTS = Table(
    "events",
    Event,
    (
        _time("at_ms"),
        Column("device", "device", "device", whole=True),
        Column("kind", "kind", "enum", enum_type=EventKind),
        Column("text", "text", "text"),
        Column("figures", "figures", "figures"),
    ),
    key=("at_ms", "device", "kind"),
    shape="row",
    device="device",
    time="at_ms",
)

API_USAGE = Table(
    "api_usage",
    ApiUsage,
    (
        _device("account", "account", DeviceKind.ACCOUNT),
        Column("month", "month", "text"),
        Column("category", "category", "text"),
        Column("count", "count", "int"),
        _real("cost_usd"),
    ),
    key=("account", "month", "category"),
    shape="row",
    device="account",
    time="month",
)

TABLES: Final[tuple[Table, ...]] = (
    CARS,
    STATE_SPANS,
    DRIVES,
    POSITIONS,
    CHARGING_SESSIONS,
    CHARGE_SAMPLES,
    WALLCONNECTOR_SESSIONS,
    WALLCONNECTOR_SAMPLES,
    SITE_SAMPLES,
    SITE_ENERGY_DAYS,
    EVENTS,
    API_USAGE,
)

TABLE_OF: Final[Mapping[type[Any], Table]] = {table.record: table for table in TABLES}

SPAN_TABLES: Final = tuple(table for table in TABLES if table.shape == "span")
DOWNSAMPLED: Final = tuple(table for table in TABLES if table.rules)


def table_of(record: Record) -> Table:
    """The table `record` is kept in (KeyError for anything that is not a record)."""
    return TABLE_OF[type(record)]
