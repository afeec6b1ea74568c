"""The schema, one numbered migration at a time, for each database.

A database remembers which migrations it has in `schema_version` (one row per migration: its
number and when it ran). At open the recorder applies the ones it lacks, in order, each in its
own transaction, and refuses a database whose newest migration is newer than this code knows
(a newer teslalink wrote it; an older one must not guess at its tables). A released migration
is never edited: a change is a new one at the end of both lists, with the same meaning in both.

The logical schema is the same in SQLite and PostgreSQL (`tables` describes it; a test checks
both against it); the types differ where the databases do. SQLite: integers are stored in as few
bytes as they need, so samples use fixed-point integers, and sample tables are `WITHOUT ROWID`
tables clustered on (device, at_ms), which is also their only index. PostgreSQL: `bigint` for
times and ids from Tesla, `integer` for fixed point, `double precision` for floats, `jsonb` for
an event's figures.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

__all__ = ["POSTGRES", "SQLITE", "Migration", "latest"]


@dataclass(frozen=True)
class Migration:
    version: int
    what: str
    statements: tuple[str, ...]


SQLITE_V1: Final = (
    """CREATE TABLE devices (
        id INTEGER PRIMARY KEY,
        kind TEXT NOT NULL,
        ident TEXT NOT NULL,
        name TEXT NOT NULL DEFAULT '',
        UNIQUE (kind, ident)
    )""",
    """CREATE TABLE span_keys (
        id INTEGER PRIMARY KEY,
        key TEXT NOT NULL UNIQUE
    )""",
    """CREATE TABLE cars (
        car INTEGER PRIMARY KEY REFERENCES devices (id),
        account TEXT NOT NULL,
        model TEXT,
        vehicle_id INTEGER,
        api_id INTEGER
    )""",
    """CREATE TABLE state_spans (
        span INTEGER PRIMARY KEY REFERENCES span_keys (id),
        car INTEGER NOT NULL REFERENCES devices (id),
        state TEXT NOT NULL,
        start_ms INTEGER NOT NULL,
        end_ms INTEGER
    )""",
    """CREATE TABLE drives (
        span INTEGER PRIMARY KEY REFERENCES span_keys (id),
        car INTEGER NOT NULL REFERENCES devices (id),
        start_ms INTEGER NOT NULL,
        end_ms INTEGER,
        start_odometer_km REAL,
        end_odometer_km REAL,
        distance_km REAL,
        start_battery_level REAL,
        end_battery_level REAL,
        start_range_km REAL,
        end_range_km REAL,
        energy_used_wh REAL,
        speed_max_kmh REAL,
        start_latitude REAL,
        start_longitude REAL,
        end_latitude REAL,
        end_longitude REAL
    )""",
    """CREATE TABLE positions (
        car INTEGER NOT NULL REFERENCES devices (id),
        at_ms INTEGER NOT NULL,
        drive INTEGER REFERENCES span_keys (id),
        latitude_e7 INTEGER NOT NULL,
        longitude_e7 INTEGER NOT NULL,
        speed_kmh_x10 INTEGER,
        power_w INTEGER,
        heading_x10 INTEGER,
        odometer_m INTEGER,
        battery_level_x10 INTEGER,
        PRIMARY KEY (car, at_ms)
    ) WITHOUT ROWID""",
    """CREATE TABLE charging_sessions (
        span INTEGER PRIMARY KEY REFERENCES span_keys (id),
        source TEXT NOT NULL,
        car INTEGER REFERENCES devices (id),
        unit INTEGER REFERENCES devices (id),
        start_ms INTEGER NOT NULL,
        end_ms INTEGER,
        energy_added_wh REAL,
        energy_grid_wh REAL,
        start_battery_level REAL,
        end_battery_level REAL,
        max_power_w REAL,
        fast_charger INTEGER,
        stop_reason TEXT
    )""",
    """CREATE TABLE charge_samples (
        car INTEGER NOT NULL REFERENCES devices (id),
        at_ms INTEGER NOT NULL,
        session INTEGER REFERENCES span_keys (id),
        charging_state TEXT,
        battery_level_x10 INTEGER,
        charge_limit_soc INTEGER,
        energy_added_wh INTEGER,
        power_w INTEGER,
        current_a_x10 INTEGER,
        voltage_v_x10 INTEGER,
        phases INTEGER,
        PRIMARY KEY (car, at_ms)
    ) WITHOUT ROWID""",
    """CREATE TABLE wallconnector_sessions (
        span INTEGER PRIMARY KEY REFERENCES span_keys (id),
        unit INTEGER NOT NULL REFERENCES devices (id),
        start_ms INTEGER NOT NULL,
        end_ms INTEGER,
        energy_wh REAL,
        charging_s REAL,
        car INTEGER REFERENCES devices (id)
    )""",
    """CREATE TABLE wallconnector_samples (
        unit INTEGER NOT NULL REFERENCES devices (id),
        at_ms INTEGER NOT NULL,
        vehicle_connected INTEGER,
        contactor_closed INTEGER,
        evse_state INTEGER,
        power_w INTEGER,
        vehicle_current_a_x10 INTEGER,
        grid_v_x10 INTEGER,
        grid_hz_x1000 INTEGER,
        session_energy_wh_x10 INTEGER,
        handle_temp_c_x10 INTEGER,
        pcba_temp_c_x10 INTEGER,
        mcu_temp_c_x10 INTEGER,
        PRIMARY KEY (unit, at_ms)
    ) WITHOUT ROWID""",
    """CREATE TABLE site_samples (
        site INTEGER NOT NULL REFERENCES devices (id),
        at_ms INTEGER NOT NULL,
        solar_w INTEGER,
        load_w INTEGER,
        grid_w INTEGER,
        battery_w INTEGER,
        battery_level_x10 INTEGER,
        grid_status TEXT,
        PRIMARY KEY (site, at_ms)
    ) WITHOUT ROWID""",
    """CREATE TABLE events (
        at_ms INTEGER NOT NULL,
        device INTEGER NOT NULL REFERENCES devices (id),
        kind TEXT NOT NULL,
        text TEXT NOT NULL,
        figures TEXT NOT NULL,
        PRIMARY KEY (at_ms, device, kind)
    ) WITHOUT ROWID""",
    """CREATE TABLE api_usage (
        account INTEGER NOT NULL REFERENCES devices (id),
        month TEXT NOT NULL,
        category TEXT NOT NULL,
        count INTEGER NOT NULL,
        cost_usd REAL,
        PRIMARY KEY (account, month, category)
    ) WITHOUT ROWID""",
    """CREATE TABLE meta (
        name TEXT PRIMARY KEY,
        value INTEGER NOT NULL
    ) WITHOUT ROWID""",
)

POSTGRES_V1: Final = (
    """CREATE TABLE devices (
        id integer GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
        kind text NOT NULL,
        ident text NOT NULL,
        name text NOT NULL DEFAULT '',
        UNIQUE (kind, ident)
    )""",
    """CREATE TABLE span_keys (
        id integer GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
        key text NOT NULL UNIQUE
    )""",
    """CREATE TABLE cars (
        car integer PRIMARY KEY REFERENCES devices (id),
        account text NOT NULL,
        model text,
        vehicle_id bigint,
        api_id bigint
    )""",
    """CREATE TABLE state_spans (
        span integer PRIMARY KEY REFERENCES span_keys (id),
        car integer NOT NULL REFERENCES devices (id),
        state text NOT NULL,
        start_ms bigint NOT NULL,
        end_ms bigint
    )""",
    """CREATE TABLE drives (
        span integer PRIMARY KEY REFERENCES span_keys (id),
        car integer NOT NULL REFERENCES devices (id),
        start_ms bigint NOT NULL,
        end_ms bigint,
        start_odometer_km double precision,
        end_odometer_km double precision,
        distance_km double precision,
        start_battery_level double precision,
        end_battery_level double precision,
        start_range_km double precision,
        end_range_km double precision,
        energy_used_wh double precision,
        speed_max_kmh double precision,
        start_latitude double precision,
        start_longitude double precision,
        end_latitude double precision,
        end_longitude double precision
    )""",
    """CREATE TABLE positions (
        car integer NOT NULL REFERENCES devices (id),
        at_ms bigint NOT NULL,
        drive integer REFERENCES span_keys (id),
        latitude_e7 integer NOT NULL,
        longitude_e7 integer NOT NULL,
        speed_kmh_x10 integer,
        power_w integer,
        heading_x10 integer,
        odometer_m integer,
        battery_level_x10 integer,
        PRIMARY KEY (car, at_ms)
    )""",
    """CREATE TABLE charging_sessions (
        span integer PRIMARY KEY REFERENCES span_keys (id),
        source text NOT NULL,
        car integer REFERENCES devices (id),
        unit integer REFERENCES devices (id),
        start_ms bigint NOT NULL,
        end_ms bigint,
        energy_added_wh double precision,
        energy_grid_wh double precision,
        start_battery_level double precision,
        end_battery_level double precision,
        max_power_w double precision,
        fast_charger integer,
        stop_reason text
    )""",
    """CREATE TABLE charge_samples (
        car integer NOT NULL REFERENCES devices (id),
        at_ms bigint NOT NULL,
        session integer REFERENCES span_keys (id),
        charging_state text,
        battery_level_x10 integer,
        charge_limit_soc integer,
        energy_added_wh integer,
        power_w integer,
        current_a_x10 integer,
        voltage_v_x10 integer,
        phases integer,
        PRIMARY KEY (car, at_ms)
    )""",
    """CREATE TABLE wallconnector_sessions (
        span integer PRIMARY KEY REFERENCES span_keys (id),
        unit integer NOT NULL REFERENCES devices (id),
        start_ms bigint NOT NULL,
        end_ms bigint,
        energy_wh double precision,
        charging_s double precision,
        car integer REFERENCES devices (id)
    )""",
    """CREATE TABLE wallconnector_samples (
        unit integer NOT NULL REFERENCES devices (id),
        at_ms bigint NOT NULL,
        vehicle_connected integer,
        contactor_closed integer,
        evse_state integer,
        power_w integer,
        vehicle_current_a_x10 integer,
        grid_v_x10 integer,
        grid_hz_x1000 integer,
        session_energy_wh_x10 integer,
        handle_temp_c_x10 integer,
        pcba_temp_c_x10 integer,
        mcu_temp_c_x10 integer,
        PRIMARY KEY (unit, at_ms)
    )""",
    """CREATE TABLE site_samples (
        site integer NOT NULL REFERENCES devices (id),
        at_ms bigint NOT NULL,
        solar_w integer,
        load_w integer,
        grid_w integer,
        battery_w integer,
        battery_level_x10 integer,
        grid_status text,
        PRIMARY KEY (site, at_ms)
    )""",
    """CREATE TABLE events (
        at_ms bigint NOT NULL,
        device integer NOT NULL REFERENCES devices (id),
        kind text NOT NULL,
        text text NOT NULL,
        figures jsonb NOT NULL,
        PRIMARY KEY (at_ms, device, kind)
    )""",
    """CREATE TABLE api_usage (
        account integer NOT NULL REFERENCES devices (id),
        month text NOT NULL,
        category text NOT NULL,
        count bigint NOT NULL,
        cost_usd double precision,
        PRIMARY KEY (account, month, category)
    )""",
    """CREATE TABLE meta (
        name text PRIMARY KEY,
        value bigint NOT NULL
    )""",
)

SQLITE_V2: Final = (
    """CREATE TABLE site_energy_days (
        site INTEGER NOT NULL REFERENCES devices (id),
        day TEXT NOT NULL,
        solar_wh REAL,
        home_wh REAL,
        grid_import_wh REAL,
        grid_export_wh REAL,
        battery_charge_wh REAL,
        battery_discharge_wh REAL,
        PRIMARY KEY (site, day)
    ) WITHOUT ROWID""",
)

POSTGRES_V2: Final = (
    """CREATE TABLE site_energy_days (
        site integer NOT NULL REFERENCES devices (id),
        day text NOT NULL,
        solar_wh double precision,
        home_wh double precision,
        grid_import_wh double precision,
        grid_export_wh double precision,
        battery_charge_wh double precision,
        battery_discharge_wh double precision,
        PRIMARY KEY (site, day)
    )""",
)
"""Migration 2: an energy site's daily energies (one row per site and local day, "YYYY-MM-DD",
which sorts as it reads). Few rows (one a day), so the figures stay floats, as spans do."""

SQLITE: Final = (
    Migration(1, "the recorder's tables", SQLITE_V1),
    Migration(2, "energy sites' daily energies", SQLITE_V2),
)
POSTGRES: Final = (
    Migration(1, "the recorder's tables", POSTGRES_V1),
    Migration(2, "energy sites' daily energies", POSTGRES_V2),
)


def latest(migrations: tuple[Migration, ...]) -> int:
    """The schema version this code writes."""
    return migrations[-1].version if migrations else 0
