"""`teslalink energy ...` against the twin: plain rows with units, tables, solar-only sites, exit codes."""

from __future__ import annotations

import asyncio
import json
import re
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from click.testing import CliRunner, Result

from conftest import PointCli
from teslalink.cli.energy_view import flow, kw, percent
from teslalink.cli.main import cli
from teslalink.simulator import ThreadedTwin, World
from teslalink.simulator.site.energy_site import EnergySite as TwinSite

EMAIL = "owner@teslalink.test"
PASSWORD = "energy-pw-1"
LONG_FLOAT = re.compile(r"\d\.\d{2,}")  # 48.58206603028484, 0.05 kW: more decimals than warranted


def invoke(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def one_line_error(result: Result, exit_code: int = 1) -> str:
    assert result.exit_code == exit_code, result.output
    lines = result.stderr.strip().splitlines()
    assert "Traceback" not in result.output
    assert lines, result.output
    if exit_code == 2:  # a usage error: the error line, then the one hint line naming --help
        assert len(lines) == 2, result.output
        assert lines[1].startswith("Try ")
        return lines[0]
    assert len(lines) == 1, result.output
    return lines[0]


def start_twin(
    monkeypatch: pytest.MonkeyPatch, point_cli_at: PointCli, *, battery_site: bool
) -> ThreadedTwin:
    world = World(seed=11, speed=0.0)
    account = world.add_account(EMAIL, PASSWORD)
    if battery_site:
        world.add_energy_site(account, site_name="My Home", initial_charge_percent=48.58206603028484)
    world.add_energy_site(account, site_name="Barn", powerwalls=0)
    world.advance(3600.0)  # history has entries; the battery is between reserve and full
    running = ThreadedTwin(world)
    running.__enter__()
    assert running.cloud is not None
    point_cli_at(running)
    monkeypatch.setenv("TESLALINK_EMAIL", EMAIL)
    result = invoke("login", "--password", PASSWORD)
    assert result.exit_code == 0, result.output
    return running


@pytest.fixture
def twin(monkeypatch: pytest.MonkeyPatch, point_cli_at: PointCli) -> Iterator[ThreadedTwin]:
    running = start_twin(monkeypatch, point_cli_at, battery_site=True)
    try:
        yield running
    finally:
        running.__exit__(None, None, None)


def sites(twin: ThreadedTwin) -> tuple[TwinSite, TwinSite]:
    home, barn = twin.world.energy_sites
    return home, barn


def rows(output: str) -> dict[str, str]:
    """The two-column table as {name: value}."""
    found = {}
    for line in output.splitlines():
        cells = [c.strip() for c in line.strip("│ \n").split("│")]
        if len(cells) == 2 and cells[0]:
            found[cells[0]] = cells[1]
    return found


# --- status ---------------------------------------------------------------------------------------


def test_status_shows_named_rows_with_units(twin: ThreadedTwin) -> None:
    result = invoke("energy", "status")
    assert result.exit_code == 0, result.output
    shown = rows(result.stdout)
    assert {"Solar", "House", "Grid", "Battery", "Battery charge", "Backup reserve", "Operation mode"} <= set(
        shown
    )
    assert {"Grid status", "Island", "Storm watch"} <= set(shown)
    for name in ("Solar", "House", "Grid", "Battery"):
        assert re.fullmatch(r"\d+\.\d kW( .+)?", shown[name]), shown[name]
    home, _ = sites(twin)
    charge = twin.call(lambda: home.percentage_charged)
    assert charge != round(charge)  # a long float on the wire; a whole percent on the screen
    assert re.fullmatch(rf"{round(charge)} % \(\d+\.\d of \d+\.\d kWh\)", shown["Battery charge"]), shown
    assert shown["Backup reserve"] == "20 %"
    assert shown["Grid status"] == "connected"
    assert shown["Storm watch"] == "off"
    assert not LONG_FLOAT.search(result.stdout), result.stdout
    for raw in ("solar_power", "percentage_charged", "True", "False", "-0.0"):
        assert raw not in result.stdout


def test_status_json_keeps_the_raw_values(twin: ThreadedTwin) -> None:
    home, _ = sites(twin)
    result = invoke("energy", "status", "--json")
    assert result.exit_code == 0, result.output
    status = json.loads(result.stdout)
    live = twin.call(home.live_status)
    assert status["percentage_charged"] == live["percentage_charged"]  # unrounded, as Tesla sent it
    assert status["solar_power_w"] == live["solar_power"]
    assert status["storm_mode_active"] is False
    assert status["backup_reserve_percent"] == 20
    assert status["has_battery"] is True


def test_a_solar_only_site_is_named_selected_and_has_no_battery(twin: ThreadedTwin) -> None:
    _, barn = sites(twin)
    result = invoke("energy", "status", "--site", "barn")
    assert result.exit_code == 0, result.output
    assert "Barn" in result.stdout.splitlines()[0]
    shown = rows(result.stdout)
    for name in ("Battery", "Battery charge", "Backup reserve", "Operation mode"):
        assert shown[name] == "no battery"
    assert "Storm watch" not in shown
    by_id = json.loads(invoke("energy", "status", "--site", str(barn.energy_site_id), "--json").stdout)
    assert by_id["site_name"] == "Barn"
    assert by_id["has_battery"] is False
    assert "no energy site 'Shed'" in one_line_error(invoke("energy", "status", "--site", "Shed"))
    config = invoke("api", "SITE_CONFIG", "--site", "barn")  # `api` finds it by name too
    assert config.exit_code == 0, config.output
    assert json.loads(config.stdout)["site_name"] == "Barn"


def test_an_account_with_only_a_solar_site_shows_its_name(
    monkeypatch: pytest.MonkeyPatch, point_cli_at: PointCli
) -> None:
    running = start_twin(monkeypatch, point_cli_at, battery_site=False)
    try:
        result = invoke("energy", "status")
        assert result.exit_code == 0, result.output
        assert "Barn" in result.stdout.splitlines()[0]
        assert rows(result.stdout)["Battery charge"] == "no battery"
        assert invoke("energy", "grid").stdout.startswith("Barn: ")
    finally:
        running.__exit__(None, None, None)


# --- history --------------------------------------------------------------------------------------


def test_history_is_a_table_with_units(twin: ThreadedTwin) -> None:
    result = invoke("energy", "history", "--kind", "power")
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert re.search(r"My Home: power history, day, \d+ entries", result.stdout)
    assert any("Time" in line for line in lines)
    assert "kW" in result.stdout
    assert re.search(r"\d{4}-\d\d-\d\d \d\d:\d\d\s*│\s*\d+\.\d\s*│", result.stdout)
    assert "=" not in result.stdout
    assert not LONG_FLOAT.search(result.stdout)
    energy = invoke("energy", "history", "--period", "week")
    assert energy.exit_code == 0, energy.output
    assert "kWh" in energy.stdout
    assert "Date" in energy.stdout
    assert "grid_energy_imported" not in energy.stdout
    assert not LONG_FLOAT.search(energy.stdout)
    bad_date = one_line_error(invoke("energy", "history", "--end-date", "yesterday"), 2)
    assert "ISO 8601 time with its offset, e.g. 2026-11-24T23:59:59-08:00" in bad_date
    raw = json.loads(invoke("energy", "history", "--json").stdout)
    assert "grid_energy_imported" in raw["history"]["time_series"][0]


def test_history_of_a_solar_site_has_no_battery_columns(twin: ThreadedTwin) -> None:
    result = invoke("energy", "history", "--kind", "power", "--site", "Barn")
    assert result.exit_code == 0, result.output
    assert "Solar" in result.stdout
    assert "Battery" not in result.stdout


# --- grid, tariff ---------------------------------------------------------------------------------


def test_grid_without_options_shows_the_rules(twin: ThreadedTwin) -> None:
    result = invoke("energy", "grid")
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == "My Home: export pv_only (solar only to the grid), grid charging on."
    assert invoke("energy", "grid", "--export", "never", "--no-grid-charging").exit_code == 0
    shown = json.loads(invoke("energy", "grid", "--json").stdout)
    assert shown["customer_preferred_export_rule"] == "never"
    assert shown["grid_charging"] is False


def test_tariff_is_a_table_and_json_with_json(twin: ThreadedTwin) -> None:
    table = invoke("energy", "tariff")
    assert table.exit_code == 0, table.output
    assert "Buy" in table.stdout
    assert "16:00-21:00" in table.stdout
    with pytest.raises(json.JSONDecodeError):
        json.loads(table.stdout)
    assert json.loads(invoke("energy", "tariff", "--json").stdout)["tariff"]["seasons"]


# --- exit codes -----------------------------------------------------------------------------------


def test_setting_the_reserve_again_keeps_succeeding(twin: ThreadedTwin) -> None:
    home, _ = sites(twin)
    for _ in range(2):
        result = invoke("energy", "reserve", "30")
        assert result.exit_code == 0, result.output
        assert result.stdout.strip() == "My Home: backup reserve 30 %."
    assert twin.call(lambda: home.settings.backup_reserve_percent) == 30


def test_an_out_of_range_reserve_is_one_plain_line(twin: ThreadedTwin) -> None:
    result = invoke("energy", "reserve", "150")
    assert result.exit_code != 0
    line = one_line_error(result, result.exit_code)
    assert "backup reserve must be from 0 to 100 %" in line
    assert "<=" not in line
    assert "a percentage from 0 to 100" in one_line_error(invoke("energy", "reserve", "lots"), 2)
    assert invoke("energy", "reserve", "25%").exit_code == 0


def test_a_battery_command_on_a_solar_site_is_one_line(twin: ThreadedTwin) -> None:
    for args in (("reserve", "30"), ("mode", "backup"), ("storm", "on")):
        line = one_line_error(invoke("energy", *args, "--site", "Barn"))
        assert line.startswith("Error: Barn has no Powerwall"), line


def test_an_error_body_is_exit_1_and_one_line(twin: ThreadedTwin, tmp_path: Path) -> None:
    bad = tmp_path / "tariff.json"
    bad.write_text(json.dumps({"tariff": {"name": "no seasons"}}))
    line = one_line_error(invoke("energy", "tariff", "--set", str(bad)))
    assert "400" in line


class RefusingSite:
    """A loopback Owner API with one Powerwall site whose every command answers `answer` (HTTP 200)."""

    def __init__(self, answer: dict[str, Any]) -> None:
        self.answer = answer
        self.url = ""
        self._loop = asyncio.new_event_loop()
        self._runner: web.AppRunner | None = None
        self._thread = threading.Thread(target=self._loop.run_forever)

    async def _start(self) -> str:
        site_entry = {"energy_site_id": 7, "resource_type": "battery", "site_name": "Fake", "components": {}}

        async def products(_: web.Request) -> web.Response:
            return web.json_response({"response": [site_entry], "count": 1})

        async def command(_: web.Request) -> web.Response:
            return web.json_response({"response": self.answer})

        app = web.Application()
        app.router.add_get("/api/1/products", products)
        app.router.add_post("/api/1/energy_sites/7/{name}", command)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        return f"http://127.0.0.1:{port}/"

    def __enter__(self) -> RefusingSite:
        self._thread.start()
        self.url = asyncio.run_coroutine_threadsafe(self._start(), self._loop).result(10)
        return self

    def __exit__(self, *exc: object) -> None:
        assert self._runner is not None
        asyncio.run_coroutine_threadsafe(self._runner.cleanup(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)
        self._loop.close()


@pytest.mark.parametrize(
    ("answer", "reason"),
    [
        ({"result": False, "reason": "gateway_offline"}, "gateway_offline"),
        ({"code": 500, "message": "Internal failure"}, "Internal failure"),
        ({"Code": 409, "Message": "Busy"}, "Busy"),
    ],
)
def test_a_failed_answer_is_exit_1_and_one_line(
    twin: ThreadedTwin, monkeypatch: pytest.MonkeyPatch, answer: dict[str, Any], reason: str
) -> None:
    with RefusingSite(answer) as refusing:
        monkeypatch.setenv("TESLALINK_API_URL", refusing.url)
        for args in (("reserve", "30"), ("mode", "backup"), ("storm", "on"), ("grid", "--export", "never")):
            line = one_line_error(invoke("energy", *args))
            assert line == f"Error: Fake: refused: {reason}", line


def test_numbers_have_fixed_decimals_and_never_a_minus_zero() -> None:
    assert kw(-30.0) == "0.0 kW"
    assert flow(-30.0, "from the grid", "to the grid") == "0.0 kW"
    assert flow(-1749.6, "from the grid", "to the grid") == "1.7 kW to the grid"
    assert flow(2000.0, "discharging", "charging") == "2.0 kW discharging"
    assert percent(48.58206603028484) == "49 %"
    assert kw(None) == "-"
