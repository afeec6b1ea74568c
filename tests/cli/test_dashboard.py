"""The console dashboard's model against the twin's cloud, served from a background thread."""

from __future__ import annotations

import asyncio
import io
import os
import select
import socket
import sys
import time
from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any

import pytest
from click.testing import CliRunner
from rich.console import Console

from conftest import PointCli
from pty_terminal import Terminal, run_until_exit
from teslalink.cli import dashboard
from teslalink.cli.dashboard_view import render
from teslalink.cli.main import cli
from teslalink.cloud import CloudUrls, StaticToken, TeslaApi
from teslalink.cloud.watcher import CarWatcher
from teslalink.simulator import ThreadedTwin, Wiring, World
from teslalink.simulator.owner_api import link_wall_connector

EMAIL = "dash@teslalink.test"


@pytest.fixture
def twin() -> Iterator[ThreadedTwin]:
    world = World(seed=11, speed=0.0, start=1_750_000_000)
    account = world.add_account(EMAIL, "pw-dash")
    unit = world.add_wall_connector(wiring=Wiring.SPLIT_PHASE, max_current_a=48.0)
    link_wall_connector(world, account, unit)
    charging = world.add_vehicle(account, display_name="Charger", battery_level=40.0)
    world.add_vehicle(account, display_name="Sleeper", asleep=True)
    world.add_energy_site(account, site_name="Dash Home", powerwalls=1)
    charging.plug_into(unit)
    world.advance(600)
    with ThreadedTwin(world) as running:
        yield running


async def open_board(twin: ThreadedTwin, **options: Any) -> tuple[TeslaApi, dashboard.Dashboard]:
    assert twin.cloud is not None
    token = twin.call(lambda: twin.world.auth.issue(twin.world.account(EMAIL))["access_token"])
    urls = CloudUrls(api=twin.cloud.owner_api, sso=twin.cloud.sso["na"], streaming=twin.cloud.streaming)
    api = TeslaApi(urls, StaticToken(token))
    return api, await dashboard.build(api, **options)


def refreshed_once(twin: ThreadedTwin, **options: Any) -> dashboard.Dashboard:
    """A dashboard of the twin's account (`options` as `dashboard.build` takes them) after one
    refresh, closed again."""

    async def go() -> dashboard.Dashboard:
        api, board = await open_board(twin, **options)
        try:
            await board.refresh()
        finally:
            await dashboard.close(board)
            await api.close()
        return board

    return asyncio.run(go())


def car_named(twin: ThreadedTwin, name: str) -> Any:
    return next(car for car in twin.world.vehicles if car.display_name == name)


def watch(twin: ThreadedTwin, vehicle_key: str, minutes: int, **settings: Any) -> dashboard.Dashboard:
    """A board on one car, refreshed once a world minute for `minutes` (then once more);
    `settings` are set on the board first, its clock follows the world's."""

    async def go() -> dashboard.Dashboard:
        api, board = await open_board(twin, vehicle_key=vehicle_key, with_site=False)
        board.clock = lambda: twin.call(twin.world.now)
        for name, value in settings.items():
            setattr(board, name, value)
        try:
            for _ in range(minutes):
                await board.refresh()
                twin.call(lambda: twin.world.advance(60))
            await board.refresh()
        finally:
            await dashboard.close(board)
            await api.close()
        return board

    return asyncio.run(go())


def test_a_sleeping_car_stays_asleep(twin: ThreadedTwin) -> None:
    sleeper = car_named(twin, "Sleeper")
    wakes = twin.call(lambda: sleeper.wake_count)

    board = watch(twin, "Sleeper", minutes=4)
    (car,) = board.cars
    assert car.state == "asleep"
    assert car.data is None
    assert twin.call(lambda: sleeper.wake_count) == wakes
    assert twin.call(lambda: sleeper.is_online) is False
    text = draw(board)
    assert "Sleeper asleep" in text
    assert "press w to wake" in text


def test_charging_car_matches_the_twin_and_its_wall_connector(twin: ThreadedTwin) -> None:
    assert twin.cloud is not None
    unit_url = twin.cloud.wall_connectors[0].url
    charging = car_named(twin, "Charger")

    board = refreshed_once(twin, vehicle_key="Charger", wallconnector=unit_url)
    (car,) = board.cars
    assert car.state == "online"
    assert car.data.charging_state == "Charging"
    assert car.data.battery_level == int(twin.call(lambda: charging.battery_level))
    charger = board.charger
    assert charger is not None
    assert charger.vitals is not None
    assert charger.power is not None
    assert charger.vitals.vehicle_connected is True
    assert car.data.charger_actual_current_a == pytest.approx(charger.vitals.vehicle_current_a, abs=1.0)
    assert car.data.charger_power_kw == pytest.approx(charger.power.total_kw, abs=1.0)
    text = draw(board)
    for word in (
        "Charger online",
        "Charging",
        "Wall Connector",
        "split-phase",
        f"{car.data.battery_level} %",
    ):
        assert word in text


def test_climate_key_reaches_the_car(twin: ThreadedTwin) -> None:
    charging = car_named(twin, "Charger")

    async def go() -> dashboard.Dashboard:
        api, board = await open_board(twin, vehicle_key="Charger")
        try:
            await board.refresh()
            action = board.key("c")
            assert action is not None
            await action
        finally:
            await dashboard.close(board)
            await api.close()
        return board

    board = asyncio.run(go())
    assert board.status == "Charger: climate on"
    assert board.cars[0].data.is_climate_on is True
    assert twin.call(lambda: charging.vehicle_data()["climate_state"]["is_climate_on"]) is True


def test_unlock_asks_and_a_failing_command_shows_its_reason(twin: ThreadedTwin) -> None:
    async def go() -> list[str]:
        api, board = await open_board(twin, vehicle_key="Sleeper")
        seen: list[str] = []
        try:
            await board.refresh()
            action = board.key("f")  # the car is asleep: the cloud refuses
            assert action is not None
            await action
            seen.append(board.status)
            board.cars[0].data = type("Locked", (), {"locked": True})()
            assert board.key("l") is None
            seen.append(board.status)
            assert board.key("x") is None
            seen.append(board.status)
        finally:
            await dashboard.close(board)
            await api.close()
        return seen

    failed, ask, cancelled = asyncio.run(go())
    assert failed.startswith("Sleeper: flash lights failed:")
    assert "\n" not in failed
    assert ask == "Unlock Sleeper? y/n"
    assert cancelled == "unlock: cancelled"


def test_wake_key_wakes_an_asleep_car_and_the_panel_shows_it_online(twin: ThreadedTwin) -> None:
    sleeper = car_named(twin, "Sleeper")
    woken_before = twin.call(lambda: sleeper.wake_reasons.get("wake_up", 0))

    async def go() -> tuple[dashboard.Dashboard, list[str], int]:
        api, board = await open_board(twin, vehicle_key="Sleeper")
        states: list[str] = []
        try:
            for _ in range(3):  # refreshes alone never wake it
                await board.refresh()
                states.append(board.cars[0].state)
                twin.call(lambda: twin.world.advance(60))
            wakes_before_key = twin.call(lambda: sleeper.wake_count)
            action = board.key("w")
            assert action is not None
            assert board.status == "Sleeper: wake…"
            task = asyncio.ensure_future(action)
            for _ in range(1200):  # the twin's clock runs while the dashboard waits for the car
                if task.done():
                    break
                twin.call(lambda: twin.world.advance(5))
                await asyncio.sleep(0.05)
            await task
            await board.refresh()
        finally:
            await dashboard.close(board)
            await api.close()
        return board, states, wakes_before_key

    board, states, wakes_before_key = asyncio.run(go())
    assert states == ["asleep", "asleep", "asleep"]
    assert wakes_before_key == twin.call(lambda: sleeper.wake_count) - 1  # the key, and only it
    assert twin.call(lambda: sleeper.wake_reasons.get("wake_up", 0)) == woken_before + 1
    assert twin.call(lambda: sleeper.is_online) is True
    (car,) = board.cars
    assert board.status == "Sleeper: online"
    assert car.state == "online"
    assert car.data is not None
    assert car.data.battery_level == pytest.approx(twin.call(lambda: sleeper.battery_level), abs=1.0)
    text = draw(board)
    assert "Sleeper online" in text
    assert "press w to wake" not in text


def test_energy_panel_shows_the_site_live_status(twin: ThreadedTwin) -> None:
    board = refreshed_once(twin)
    site = board.site
    assert site is not None
    assert site.status is not None
    expected = twin.call(twin.world.energy_sites[0].live_status)
    assert site.status.percentage_charged == pytest.approx(expected["percentage_charged"], abs=0.5)
    assert [car.name for car in board.cars] == ["Charger", "Sleeper"]
    text = draw(board)
    assert "energy site: Dash Home" in text
    assert f"{site.status.percentage_charged:.0f} %" in text


def draw(board: dashboard.Dashboard) -> str:
    out = io.StringIO()
    console = Console(file=out, width=160, height=100, force_terminal=False, color_system=None)
    console.print(render(board, title="test"))
    return out.getvalue()


def test_show_renders_frames_without_a_terminal(twin: ThreadedTwin) -> None:
    out = io.StringIO()

    async def go() -> None:
        api, board = await open_board(twin)
        try:
            console = Console(file=out, width=120, force_terminal=False)
            await dashboard.show(board, interval_s=0.2, duration_s=0.6, console=console, keys=False)
        finally:
            await dashboard.close(board)
            await api.close()

    asyncio.run(go())
    text = out.getvalue()
    assert "Charger online" in text
    assert "Sleeper asleep" in text
    assert "q quit" not in text


def test_dashboard_command_with_a_logged_in_account(twin: ThreadedTwin, point_cli_at: PointCli) -> None:
    assert twin.cloud is not None
    point_cli_at(twin)
    runner = CliRunner()
    login = runner.invoke(cli, ["login", "--email", EMAIL, "--password", "pw-dash"], catch_exceptions=False)
    assert login.exit_code == 0, login.output
    unit = twin.cloud.wall_connectors[0].url
    args = [
        "dashboard",
        "--vehicle",
        "charger",
        "--wallconnector",
        unit,
        "--interval",
        "0.2",
        "--duration",
        "3",
    ]
    terminal = Terminal.start(args, 120, 40, env=dict(os.environ))  # the variables set above
    try:
        run_until_exit([terminal])
    finally:
        code = terminal.close()
    assert code == 0, terminal.text()[-2000:]
    screen = "\n".join(terminal.last_frame())
    for word in ("Charger online", "Charging", "Wall Connector", "energy site: Dash Home", "q quit"):
        assert word in screen, word
    assert "Sleeper" not in screen
    missing = Terminal.start(
        ["dashboard", "--vehicle", "nope", "--duration", "0"], 80, 24, env=dict(os.environ)
    )
    try:
        run_until_exit([missing])
    finally:
        code = missing.close()
    assert code == 1
    assert "no car 'nope'" in missing.text()
    assert "Traceback" not in missing.text()


@pytest.mark.skipif(sys.platform == "win32", reason="a pseudo-terminal is POSIX")
def test_keys_on_a_terminal_act_and_the_terminal_is_restored() -> None:
    import pty
    import termios

    pid, fd = pty.fork()
    if pid == 0:  # the child: the demo on the pseudo-terminal
        os.environ.update(COLUMNS="160", LINES="80")
        os.execv(
            sys.executable,
            [sys.executable, "-m", "teslalink", "demo", "--interval", "0.3", "--duration", "40"],
        )
    before = termios.tcgetattr(fd)
    seen = b""

    def wait_for(text: bytes, timeout: float = 20.0) -> bool:  # generous: a loaded CI machine
        nonlocal seen
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if text in seen:
                return True
            ready, _, _ = select.select([fd], [], [], 0.1)
            if ready:
                try:
                    seen += os.read(fd, 65536)
                except OSError:
                    break
        return text in seen

    try:
        assert wait_for(b"q quit"), seen[-2000:]
        os.write(fd, b"c")
        assert wait_for(b"climate on"), seen[-2000:]
        os.write(fd, b"q")
        wait_for(b"\x00", timeout=3.0)  # drain until the child exits
    finally:
        _, status = os.waitpid(pid, 0)
    assert os.WIFEXITED(status)
    assert os.WEXITSTATUS(status) == 0
    assert b"Traceback" not in seen
    after = termios.tcgetattr(fd)
    assert after[3] & termios.ICANON == before[3] & termios.ICANON
    assert after[3] & termios.ECHO == before[3] & termios.ECHO
    os.close(fd)


def test_the_charger_stays_beside_the_plugged_in_car_when_another_is_selected() -> None:
    from teslalink.cli.dashboard_view import charger_car
    from teslalink.cloud import VehicleData

    def car(state: str | None) -> CarWatcher:
        vehicle = SimpleNamespace(display_name=f"car {state}", vin="", id_s="1")
        watch = CarWatcher(vehicle=vehicle, state="online")
        watch.data = VehicleData({"charge_state": {"charging_state": state}})
        return watch

    board = dashboard.Dashboard([car("Disconnected"), car("Charging")])
    assert charger_car(board.cars) == 1
    assert board.key("n") is None
    assert board.selected == 1
    assert board.status == "selected car Charging"
    assert board.key("n") is None
    assert board.selected == 0
    assert charger_car([car("Disconnected")]) == 0


def test_an_unreachable_wall_connector_is_one_line_in_the_status_bar(twin: ThreadedTwin) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]

    async def go() -> dashboard.Dashboard:
        api, board = await open_board(twin, vehicle_key="Charger", wallconnector=f"127.0.0.1:{port}")
        try:
            await board.refresh()
        finally:
            await dashboard.close(board)
            await api.close()
        return board

    board = asyncio.run(go())
    assert board.charger is not None
    assert board.charger.error
    assert board.cars[0].state == "online"
    bar = [line for line in draw(board).splitlines() if line.startswith("ready · Wall Connector: ")]
    assert len(bar) == 1
    assert f"127.0.0.1:{port}" in bar[0]


# --- letting an idle car sleep -----------------------------------------------------------------------


def _watch_idle_car(twin: ThreadedTwin, let_sleep_after_s: float, minutes: int) -> dashboard.Dashboard:
    """A board on a new idle, awake car called Idle."""
    account = twin.world.account(EMAIL)
    twin.call(lambda: twin.world.add_vehicle(account, display_name="Idle"))
    return watch(twin, "Idle", minutes, let_sleep_after_s=let_sleep_after_s)


def test_an_idle_car_is_left_to_sleep_and_a_read_car_is_not(twin: ThreadedTwin) -> None:
    kept = _watch_idle_car(twin, let_sleep_after_s=float("inf"), minutes=40)
    assert twin.call(lambda: car_named(twin, "Idle").is_online) is True  # every read keeps it awake
    assert kept.cars[0].resting is False

    twin.call(lambda: setattr(car_named(twin, "Idle"), "display_name", "Idle (kept)"))
    rested = _watch_idle_car(twin, let_sleep_after_s=600, minutes=40)
    (car,) = rested.cars
    idle = car_named(twin, "Idle")
    assert car.resting is True
    assert car.state == "asleep"
    assert twin.call(lambda: idle.is_online) is False
    assert twin.call(lambda: idle.wake_count) == 0


def test_a_resting_car_is_read_again_when_it_wakes_or_on_r(twin: ThreadedTwin) -> None:
    account = twin.world.account(EMAIL)
    idle = twin.call(lambda: twin.world.add_vehicle(account, display_name="Idle"))

    async def go() -> tuple[list[bool], list[float | None]]:
        api, board = await open_board(twin, vehicle_key="Idle", with_site=False)
        board.let_sleep_after_s = 0.0  # rests after its first idle read
        (car,) = board.cars
        resting, updated = [], []
        try:
            await board.refresh()
            resting.append(car.resting)
            updated.append(car.updated)
            assert "not read so that it can sleep (r reads it)" in draw(board)
            assert "so that it can sleep" in board.status
            await board.refresh()  # not read: `updated` stays
            updated.append(car.updated)
            message = await board.key("r")  # type: ignore[misc]
            assert "Idle: online" in message
            updated.append(car.updated)
            resting.append(car.resting)  # read, then idle again at once (let_sleep_after_s 0)
            twin.call(lambda: twin.world.advance(16 * 60))  # falls asleep untouched
            await board.refresh()
            assert car.state == "asleep"
            twin.call(idle.wake_up)  # the owner's phone wakes it
            twin.call(lambda: twin.world.advance(60))
            board.let_sleep_after_s = 3600.0
            await board.refresh()  # online again after asleep: read
            resting.append(car.resting)
            updated.append(car.updated)
        finally:
            await dashboard.close(board)
            await api.close()
        return resting, updated

    resting, updated = asyncio.run(go())
    assert resting == [True, True, False]
    assert updated[0] == updated[1] != updated[2] != updated[3]


def test_a_charging_car_is_never_left_to_rest(twin: ThreadedTwin) -> None:
    (car,) = watch(twin, "Charger", minutes=3, let_sleep_after_s=0.0).cars
    assert car.data.charging_state == "Charging"
    assert car.resting is False


def test_a_solar_only_site_is_shown_by_its_name() -> None:
    # Tesla's products list has no site_name for a solar-only site: only site_info names it.
    world = World(seed=12, speed=0.0, start=1_750_000_000)
    account = world.add_account(EMAIL, "pw-dash")
    world.add_vehicle(account, display_name="Sleeper", asleep=True)
    world.add_energy_site(account, site_name="Barn", powerwalls=0)
    with ThreadedTwin(world) as running:
        board = refreshed_once(running)
    assert board.site is not None
    assert board.site.name == "Barn"
    assert "energy site: Barn" in draw(board)


def test_a_fleet_login_refreshes_every_minute_unless_told_because_each_read_is_billed() -> None:
    from teslalink.cloud.fleet.api import FleetApi
    from teslalink.cloud.fleet.hosts import FleetHosts

    owner = TeslaApi(CloudUrls(), StaticToken("t"))
    fleet = FleetApi(FleetHosts.from_env({}), StaticToken("t"))
    assert dashboard.refresh_interval(owner, None) == 5.0
    assert dashboard.refresh_interval(fleet, None) == 60.0
    assert dashboard.refresh_interval(fleet, 2.0) == 2.0
