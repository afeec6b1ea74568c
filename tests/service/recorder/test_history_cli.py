"""`teslalink history ...` on a database the recorder wrote: a table with units, JSON, RFC 4180 CSV;
--since and --car; a missing or empty database, an unknown car, a bad --since: one line."""

from __future__ import annotations

import asyncio
import csv
import io
import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from teslalink.cli.main import cli
from teslalink.service.records import CarInfo, CarState, SiteEnergyDay, StateSpan
from teslalink.service.settings import StorageSettings

from .conftest import PgServer
from .helpers import EMAIL, SERIAL, SITE, T0, VIN, VIN2, Clock, one_of_each, opened


@pytest.fixture
def utc(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Local time is UTC for the table's times (and back to the machine's after)."""
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


def write(settings: StorageSettings, data_dir: Path) -> None:
    async def fill() -> None:
        recorder = await opened(settings, data_dir, Clock())
        for record in one_of_each():
            recorder.put(record)
        recorder.put(CarInfo(VIN2, EMAIL, name="Runner"))
        recorder.put(StateSpan("state-2", VIN2, CarState.ASLEEP, T0 + 86_400_000))
        recorder.put(SiteEnergyDay(SITE, "2026-12-01", solar_wh=2_500.0, home_wh=19_000.0, site_name="Home"))
        await recorder.close()

    asyncio.run(fill())


@pytest.fixture
def database(tmp_path: Path) -> Path:
    write(StorageSettings(), tmp_path)
    return tmp_path / "teslalink.db"


def history(*args: str) -> Result:
    return CliRunner().invoke(cli, ["history", *args], env={"COLUMNS": "200"})


def test_charges_as_a_table_with_units(database: Path, utc: None) -> None:
    shown = history("charges", "--db", str(database))
    assert shown.exit_code == 0, shown.output
    text = shown.output
    for header in ("Start", "End", "Car", "Added kWh", "Grid kWh", "Losses kWh", "Battery %", "Max kW"):
        assert header in text
    assert "2026-11-30 01:53" in text  # T0 + 1 h, in local time (UTC here)
    assert "Sleeper" in text  # the car's name, not its VIN
    assert VIN not in text
    assert "30.12" in text  # kWh
    assert "33.46" in text
    assert "3.34 (10%)" in text  # the losses: grid minus added, and their share
    assert "40 → 80" in text
    assert "11.0" in text  # max kW


def test_every_kind_as_a_table(database: Path, utc: None) -> None:
    expected = {
        "drives": ["Sleeper", "25.2", "30 min", "81 → 76", "4.12", "104"],
        "sessions": [SERIAL, "Sleeper", "33.46", "4 h 00 min"],
        "states": ["driving", "asleep", "Runner", "30 min", "ongoing"],
        "events": ["charging_started", "Sleeper started charging at Garage"],
    }
    for kind, cells in expected.items():
        shown = history(kind, "--db", str(database))
        assert shown.exit_code == 0, shown.output
        for cell in cells:
            assert cell in shown.output, (kind, cell)


def test_json_is_an_array_of_the_records(database: Path) -> None:
    shown = history("charges", "--db", str(database), "--json")
    assert shown.exit_code == 0, shown.output
    (charge,) = json.loads(shown.output)
    assert charge["key"] == "charge-1"
    assert charge["source"] == "both"
    assert charge["energy_added_wh"] == 30_120.0
    assert charge["energy_grid_wh"] == 33_456.7
    assert charge["losses_wh"] == pytest.approx(3_336.7)
    assert (charge["vin"], charge["serial"]) == (VIN, SERIAL)
    events = json.loads(history("events", "--db", str(database), "--json").output)
    assert events == [one_of_each()[-1].to_json()]  # type: ignore[union-attr]


def test_csv_is_rfc_4180_with_a_header(database: Path) -> None:
    shown = history("events", "--db", str(database), "--csv")
    assert shown.exit_code == 0, shown.output
    raw = shown.stdout_bytes.decode()
    assert raw.endswith("\r\n")  # CRLF line ends: the header and one row
    assert raw.count("\r\n") == 2
    header, row = list(csv.reader(io.StringIO(raw)))
    assert header == ["at_ms", "kind", "device_kind", "device_id", "device_name", "text", "figures"]
    assert row[:5] == [str(T0 + 3_600_000), "charging_started", "car", VIN, "Sleeper"]
    assert json.loads(row[6])["where"] == "Garage"  # a field with quotes and commas, quoted
    states = list(csv.DictReader(io.StringIO(history("states", "--db", str(database), "--csv").output)))
    assert [s["state"] for s in states] == ["driving", "asleep"]
    assert states[1]["end_ms"] == ""  # not known (still going): empty


def test_since_and_car_choose_the_rows(database: Path) -> None:
    both = json.loads(history("states", "--db", str(database), "--json").output)
    assert [s["key"] for s in both] == ["state-1", "state-2"]
    runner = json.loads(history("states", "--db", str(database), "--json", "--car", "runner").output)
    assert [s["key"] for s in runner] == ["state-2"]
    by_vin = json.loads(history("states", "--db", str(database), "--json", "--car", VIN).output)
    assert [s["key"] for s in by_vin] == ["state-1"]
    later = json.loads(history("states", "--db", str(database), "--json", "--since", "2026-12-01").output)
    assert [s["key"] for s in later] == ["state-2"]
    hours = (time.time() * 1000 - (T0 + 86_400_000)) / 3_600_000  # back to state-2's start
    back = json.loads(
        history("states", "--db", str(database), "--json", "--since", f"{int(hours) + 1}h").output
    )
    assert [s["key"] for s in back] == ["state-2"]  # state-2 is still going: it shows however far back


def test_an_unknown_car_is_one_line_naming_the_known_ones(database: Path) -> None:
    shown = history("charges", "--db", str(database), "--car", "Nobody")
    assert shown.exit_code == 1
    assert shown.output.strip().splitlines() == [
        f"Error: no car 'Nobody' in {database} (cars: Runner, Sleeper)"
    ]


def test_nothing_to_show_is_one_line(database: Path) -> None:
    shown = history("drives", "--db", str(database), "--since", "2030-01-01")
    assert shown.exit_code == 0
    assert shown.output == "No drives since 2030-01-01.\n"
    assert (
        json.loads(history("drives", "--db", str(database), "--since", "2030-01-01", "--json").output) == []
    )
    header_only = history("drives", "--db", str(database), "--since", "2030-01-01", "--csv").output
    assert header_only.splitlines()[0].startswith("key,vin,start_ms,end_ms,")


def test_a_missing_or_empty_database_is_one_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "share"))
    shown = history("charges")
    assert shown.exit_code == 1
    default = tmp_path / "share" / "teslalink" / "teslalink.db"
    assert (
        shown.output
        == f"Error: no database at {default} yet: `teslalink serve` records there (or give --db)\n"
    )
    assert not default.exists()
    empty = tmp_path / "empty.db"
    empty.touch()
    shown = history("events", "--db", str(empty))
    assert shown.exit_code == 1
    assert shown.output == f"Error: {empty}: holds no teslalink records (no schema yet)\n"


def test_the_default_database_is_the_data_dirs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "share"))
    write(StorageSettings(), tmp_path / "share" / "teslalink")
    shown = history("sessions", "--json")
    assert shown.exit_code == 0, shown.output
    assert [s["key"] for s in json.loads(shown.output)] == ["wc-session-1"]


def test_energy_is_one_row_per_site_day_with_units(database: Path) -> None:
    shown = history("energy", "--db", str(database))
    assert shown.exit_code == 0, shown.output
    lines = shown.output.splitlines()
    for header in ("Day", "Site", "Solar kWh", "Home kWh", "Grid in kWh", "Grid out kWh", "Battery in kWh"):
        assert header in shown.output
    assert "Battery out kWh" in shown.output
    (first,) = [line for line in lines if "2026-11-30" in line]
    cells = [cell.strip() for cell in first.split("│")[1:-1]]
    # the site's name, kWh with two decimals; the discharge was not given: empty, never 0.00
    assert cells == ["2026-11-30", "Home", "31.20", "22.87", "4.31", "9.95", "7.42", ""]
    (second,) = [line for line in lines if "2026-12-01" in line]
    cells = [cell.strip() for cell in second.split("│")[1:-1]]
    assert cells == ["2026-12-01", "Home", "2.50", "19.00", "", "", "", ""]
    assert SITE not in shown.output


def test_energy_as_json_and_csv_and_chosen_by_since_and_site(database: Path) -> None:
    days = json.loads(history("energy", "--db", str(database), "--json").output)
    assert [(d["site_id"], d["day"]) for d in days] == [(SITE, "2026-11-30"), (SITE, "2026-12-01")]
    assert days[0]["solar_wh"] == 31_204.5
    assert days[0]["battery_discharge_wh"] is None
    assert days[0]["site_name"] == "Home"
    raw = history("energy", "--db", str(database), "--csv").stdout_bytes.decode()
    assert raw.count("\r\n") == 3
    header, *rows = list(csv.reader(io.StringIO(raw)))
    assert header[:3] == ["site_id", "day", "solar_wh"]
    assert [row[1] for row in rows] == ["2026-11-30", "2026-12-01"]
    later = json.loads(history("energy", "--db", str(database), "--json", "--since", "2026-12-01").output)
    assert [d["day"] for d in later] == ["2026-12-01"]
    for site in ("home", SITE):
        chosen = json.loads(history("energy", "--db", str(database), "--json", "--site", site).output)
        assert len(chosen) == 2, site
    unknown = history("energy", "--db", str(database), "--site", "Cabin")
    assert unknown.exit_code == 1
    assert unknown.output == f"Error: no energy site 'Cabin' in {database} (sites: Home)\n"
    none = history("energy", "--db", str(database), "--since", "2030-01-01")
    assert none.output == "No energy site days since 2030-01-01.\n"
    header_only = history("energy", "--db", str(database), "--since", "2030-01-01", "--csv").output
    assert header_only.splitlines() == [
        "site_id,day,solar_wh,home_wh,grid_import_wh,grid_export_wh,battery_charge_wh,"
        "battery_discharge_wh,site_name"
    ]


def test_bad_options_are_usage_errors(database: Path) -> None:
    bad_since = history("charges", "--db", str(database), "--since", "yesterday")
    assert bad_since.exit_code == 2
    assert "give a time back (7d, 12h, 2w) or a date (2026-12-01), not 'yesterday'" in bad_since.output
    both = history("charges", "--db", str(database), "--json", "--csv")
    assert both.exit_code == 2
    assert "choose one of --json and --csv" in both.output


def test_history_reads_a_postgres_database(pg_server: PgServer, tmp_path: Path, utc: None) -> None:
    name = pg_server.new_database()
    try:
        write(StorageSettings(backend="postgres", dsn=pg_server.dsn(name)), tmp_path)
        shown = history("charges", "--db", pg_server.dsn(name))
        assert shown.exit_code == 0, shown.output
        assert "3.34 (10%)" in shown.output
        listed = json.loads(history("drives", "--db", pg_server.dsn(name), "--json").output)
        assert [d["key"] for d in listed] == ["drive-1"]
        days = json.loads(history("energy", "--db", pg_server.dsn(name), "--json").output)
        assert [(d["day"], d["site_name"]) for d in days] == [("2026-11-30", "Home"), ("2026-12-01", "Home")]
    finally:
        pg_server.drop_database(name)
