"""The dashboard's screen as a user sees it: `teslalink demo` on real pseudo-terminals of three sizes,
piped, and the view's layouts, units and wording against the twin."""

from __future__ import annotations

import asyncio
import io
import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace

import pytest
from rich.console import Console

from pty_terminal import Terminal, run_until_exit, wait_for
from teslalink.cli import dashboard
from teslalink.cli.dashboard import KEYS_HELP
from teslalink.cli.dashboard_view import Screen, no_data_text, render
from teslalink.cli.demo import DRIVER_NAME, build_world, drive_on
from teslalink.cloud import CloudUrls, StaticToken, TeslaApi, VehicleData
from teslalink.cloud.watcher import CarWatcher
from teslalink.simulator import ThreadedTwin, Wiring, World
from teslalink.simulator.owner_api import link_wall_connector

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="pseudo-terminals are POSIX")

SIZES = [(80, 24), (120, 40), (200, 60)]
PANELS = ("charge", "climate", "drive", "vehicle")
UNITS_NOTE = "°F, mi as the selected car shows"
NEGATIVE_ZERO = re.compile(r"(?<![\w.])-0(\.0+)?(?![\d.])")


def assert_whole_screen(frame: list[str], columns: int, rows: int) -> None:
    """Every part's title and the key help on a screen of `columns` x `rows`, nothing cut."""
    screen = "\n".join(frame)
    assert len(frame) <= rows, screen
    assert all(len(line) <= columns for line in frame), screen
    assert "..." not in screen, screen
    assert "…" not in screen.replace("waiting…", ""), screen
    for name in ("Home Y online", "Commuter online", "Wall Connector", "energy site: Demo Home"):
        assert name in screen, (name, screen)
    for panel in PANELS:
        assert len(re.findall(rf"\b{panel}\b", screen)) >= 2, (panel, screen)  # both cars
    assert KEYS_HELP in screen, screen
    assert UNITS_NOTE in screen, screen
    assert "°C" not in screen, screen  # one scale on the whole screen
    assert not NEGATIVE_ZERO.search(screen), screen


def test_the_demo_shows_every_part_on_terminals_of_three_sizes() -> None:
    args = ["demo", "--interval", "0.5", "--duration", "8"]
    terminals = [Terminal.start(args, columns, rows) for columns, rows in SIZES]
    try:
        run_until_exit(terminals)
    finally:
        codes = [terminal.close() for terminal in terminals]
    assert codes == [0, 0, 0], [t.text()[-2000:] for t in terminals]
    for terminal in terminals:
        assert "Traceback" not in terminal.text()
        assert_whole_screen(terminal.last_frame(), terminal.columns, terminal.rows)
        assert "ready" in terminal.last_frame()  # the status bar
    small, _, large = terminals
    assert "╭" not in "\n".join(small.last_frame())  # compact: a line per part
    assert "╭─ Wall Connector" in "\n".join(large.last_frame())  # panels: a box per part


def test_the_driving_car_is_selected_and_streams_live_at_80x24() -> None:
    terminal = Terminal.start(["demo", "--interval", "0.5", "--duration", "60"], 80, 24)
    try:
        assert wait_for(terminal, "● live"), terminal.text()[-2000:]  # no key pressed
        assert wait_for(terminal, "● live", then=UNITS_NOTE), terminal.text()[-2000:]
        live = terminal.last_frame(ending=UNITS_NOTE, containing="● live")
        os.write(terminal.master, b"n")
        assert wait_for(terminal, "selected Home Y"), terminal.text()[-2000:]
        os.write(terminal.master, b"q")
        run_until_exit([terminal], timeout_s=30)
    finally:
        code = terminal.close()
    assert code == 0
    assert_whole_screen(live, 80, 24)
    assert "▶ Commuter online" in live
    drive = next(line for line in live if "● live" in line)
    assert re.search(r"drive +D [1-9]\d* mph", drive), drive
    assert_whole_screen(terminal.last_frame(), 80, 24)
    assert "▶ Home Y online" in terminal.last_frame()


@pytest.mark.parametrize("command", ["demo", "dashboard"])
def test_piped_the_live_view_fails_at_once_in_one_line(command: str, tmp_path: Path) -> None:
    env = dict(os.environ, TESLALINK_TOKEN_FILE=str(tmp_path / "tokens.json"))
    master, slave = os.openpty()  # keys typed on a terminal while stdout is a pipe
    try:
        os.write(master, b"cq")
        result = subprocess.run(
            [sys.executable, "-m", "teslalink", command, "--duration", "30"],
            stdin=slave,
            capture_output=True,
            env=env,
            timeout=60,
            check=False,
        )
    finally:
        os.close(slave)
        os.close(master)
    assert result.returncode == 1
    assert result.stdout == b""
    errors = result.stderr.decode().splitlines()
    assert len(errors) == 1, errors
    assert "needs a terminal" in errors[0]
    assert f"teslalink {command}" in errors[0]


# --- the demo's driving car ---------------------------------------------------------------------------


def test_the_demos_driving_car_keeps_driving_and_supercharges_when_low() -> None:
    world = build_world(seed=1, speed=0.0)
    car = next(car for car in world.vehicles if car.display_name == DRIVER_NAME)
    seen: dict[int, tuple[bool, tuple[float, float], float]] = {}
    charged = False
    for minute in range(1, 16 * 60 + 1):  # 16 world hours, the demo's driver looking every minute
        world.advance(60)
        drive_on(car)
        charged = charged or car.charging_state == "Charging"
        seen[minute] = (car.is_driving, car.location, car.odometer_mi)
    for minute in (1, 30, 90):  # a user who looks after a minute, or an hour and a half (60x)
        driving, here, _ = seen[minute]
        assert driving, minute
        assert seen[minute + 1][1] != here, minute
    assert charged  # it ran low and Supercharged...
    assert car.battery_level > 5.0
    assert sum(driving for driving, _, _ in seen.values()) > 0.8 * len(seen)  # ...and drove on
    assert seen[16 * 60][2] > seen[1][2] + 400  # hundreds of miles of laps


# --- the view against the twin --------------------------------------------------------------------------

EMAIL = "screen@teslalink.test"


@pytest.fixture
def twin() -> Iterator[ThreadedTwin]:
    world = World(seed=5, speed=0.0, start=1_750_000_000)
    account = world.add_account(EMAIL, "pw-screen")
    unit = world.add_wall_connector(wiring=Wiring.SPLIT_PHASE, max_current_a=48.0)
    link_wall_connector(world, account, unit)
    metric = world.add_vehicle(account, display_name="Metric", units="km", temperature_units="C")
    world.add_vehicle(account, display_name="Imperial")
    world.add_vehicle(account, display_name="Asleep", asleep=True)
    world.add_energy_site(account, site_name="Screen Home", powerwalls=1)
    metric.plug_into(unit)
    world.advance(600)
    with ThreadedTwin(world) as running:
        yield running


def read_board(twin: ThreadedTwin) -> dashboard.Dashboard:
    assert twin.cloud is not None
    cloud = twin.cloud

    async def go() -> dashboard.Dashboard:
        token = twin.call(lambda: twin.world.auth.issue(twin.world.account(EMAIL))["access_token"])
        urls = CloudUrls(api=cloud.owner_api, sso=cloud.sso["na"], streaming=cloud.streaming)
        async with TeslaApi(urls, StaticToken(token)) as api:
            board = await dashboard.build(api, wallconnector=cloud.wall_connectors[0].url)
            try:
                await board.refresh()
            finally:
                await dashboard.close(board)
        return board

    return asyncio.run(go())


def draw(board: dashboard.Dashboard, columns: int, rows: int) -> tuple[str, str]:
    """The screen as text at `columns` x `rows`, and the layout the screen chose."""
    out = io.StringIO()
    screen = render(board, title="screen test", keys_help=KEYS_HELP)
    Console(file=out, width=columns, height=rows, color_system=None).print(screen)
    assert isinstance(screen, Screen)
    return out.getvalue(), screen.layout


def temperatures(text: str) -> list[str]:
    return re.findall(r"-?\d+(?:\.\d+)? °[CF]", text)


@pytest.mark.parametrize(("columns", "rows"), SIZES)
def test_one_scale_on_the_screen_the_selected_cars(twin: ThreadedTwin, columns: int, rows: int) -> None:
    board = read_board(twin)
    assert [car.name for car in board.cars] == ["Metric", "Imperial", "Asleep"]
    text, _ = draw(board, columns, rows)  # Metric selected: its °C and km for all
    found = temperatures(text)
    assert found, text
    assert all(t.endswith("°C") for t in found), text
    assert all(re.fullmatch(r"-?\d+\.\d °C", t) for t in found), found  # one decimal, always
    assert " mi" not in text
    assert " km" in text
    assert "°C, km as the selected car shows" in text
    board.key("n")  # Imperial selected: °F and mi everywhere, the Wall Connector's handle too
    text, _ = draw(board, columns, rows)
    found = temperatures(text)
    assert found, text
    assert all(t.endswith("°F") for t in found), text
    assert " km" not in text
    assert " mi" in text
    assert "°F, mi as the selected car shows" in text
    assert not NEGATIVE_ZERO.search(text), text


def test_the_layout_follows_the_room(twin: ThreadedTwin) -> None:
    board = read_board(twin)
    layouts = {}
    for columns, rows in [*SIZES, (80, 18), (60, 12)]:
        text, layouts[columns, rows] = draw(board, columns, rows)
        lines = text.rstrip("\n").split("\n")
        assert len(lines) <= rows or (columns, rows) == (60, 12), text
        assert KEYS_HELP.split("  ")[0] in text
        for name in ("Metric online", "Imperial online", "Asleep asleep", "Wall Connector",
                     "energy site: Screen Home"):  # fmt: skip
            assert name in text, (name, text)
    assert layouts[80, 24] == "compact"
    assert layouts[200, 60] == "panels"
    assert layouts[80, 18] == "brief"  # the cars not selected on one line each


def test_a_car_not_charging_shows_no_time_to_full(twin: ThreadedTwin) -> None:
    board = read_board(twin)
    imperial = board.cars[1]
    assert imperial.data.charging_state == "Disconnected"
    assert imperial.data.minutes_to_full_charge == 0
    board.selected = 1
    for columns, rows in SIZES:
        text, _ = draw(board, columns, rows)
        assert "0:00" not in text, text
        assert "full in" in text or "to full" in text  # the charging car still says it


def car_in(state: str, *, resting: bool = False, error: str | None = None) -> CarWatcher:
    vehicle = SimpleNamespace(display_name="Car", vin="", id_s="1")
    return CarWatcher(vehicle=vehicle, state=state, resting=resting, error=error)


def test_a_car_without_data_is_offered_a_wake_only_when_it_needs_one() -> None:
    assert str(no_data_text(car_in("asleep"))) == "asleep: press w to wake"
    assert "press w" in str(no_data_text(car_in("offline")))
    online = str(no_data_text(car_in("online")))
    assert online == "online: reading…"
    assert "press r" in str(no_data_text(car_in("online", resting=True)))
    assert str(no_data_text(car_in("online", error="HTTP 500"))) == "HTTP 500"


def test_no_negative_zero_and_fixed_decimals_for_figures_near_zero() -> None:
    data = VehicleData(
        {
            "charge_state": {
                "charging_state": "Disconnected",
                "battery_level": 50,
                "minutes_to_full_charge": 0,
            },
            "climate_state": {"inside_temp": -0.01, "outside_temp": -0.04, "driver_temp_setting": 20.0},
            "drive_state": {"shift_state": "D", "speed": 0, "power": -0.3, "heading": 0},
            "gui_settings": {"gui_temperature_units": "C", "gui_distance_units": "km/hr"},
        }
    )
    car = car_in("online")
    car.data, car.updated = data, time.monotonic()
    board = dashboard.Dashboard([car])
    for columns, rows in SIZES:
        text, _ = draw(board, columns, rows)
        assert not NEGATIVE_ZERO.search(text), text
        assert "0.0 °C" in text
        assert "20.0 °C" in text
        assert "0 kW" in text
        assert "0:00" not in text
