"""The dashboard's live drive panel against the twin: the selected driving car is streamed, nothing else.

The twin's clock is frozen (speed 0) and moved by the test, so its streaming server sends an update
whenever world time passes a second while the car moves; the dashboard polls only when the test
calls `refresh()`, so every change of the drive figures between two refreshes came from the stream.
"""

from __future__ import annotations

import asyncio
import io
import time
from collections.abc import Iterator
from typing import Any

import pytest
from rich.console import Console
from test_dashboard import car_named, draw

from conftest import eventually
from teslalink.cli import dashboard
from teslalink.cloud import StaticToken, TeslaApi
from teslalink.cloud.streaming import StreamState, VehicleStream
from teslalink.cloud.watcher import CarWatcher, StreamPolicy
from teslalink.simulator import ThreadedTwin, World
from teslalink.simulator.accounting import BillingCategory

EMAIL = "live@teslalink.test"


@pytest.fixture
def twin() -> Iterator[ThreadedTwin]:
    world = World(seed=23, speed=0.0, start=1_750_000_000)
    account = world.add_account(EMAIL, "pw-live")
    driver = world.add_vehicle(account, display_name="Driver", battery_level=80.0)
    world.add_vehicle(account, display_name="Parked", battery_level=60.0)
    world.add_vehicle(account, display_name="Sleeper", asleep=True)
    world.advance(30)
    driver.drive("loop_10km", speed_kph=50.0)
    world.advance(30)  # up to speed
    with ThreadedTwin(world) as running:
        yield running


async def open_board(twin: ThreadedTwin, **options: Any) -> tuple[TeslaApi, dashboard.Dashboard]:
    token = twin.call(lambda: twin.world.auth.issue(twin.world.account(EMAIL))["access_token"])
    api = TeslaApi(twin.urls, StaticToken(token))
    board = await dashboard.build(api, with_site=False, **options)
    return api, board


def billed(twin: ThreadedTwin, name: str, category: BillingCategory) -> int:
    car = car_named(twin, name)
    return int(twin.call(lambda: twin.world.accounting.by_vehicle.get(car.id, {}).get(category, 0)))


async def closed_cleanly(board: dashboard.Dashboard, api: TeslaApi, problems: list[Any]) -> None:
    """Close the board and the API; nothing may be left running and the loop saw no error."""
    await dashboard.close(board)
    await api.close()
    await asyncio.sleep(0)
    assert asyncio.all_tasks() == {asyncio.current_task()}
    assert problems == []


def collect_loop_problems() -> list[Any]:
    """What the loop's exception handler would have logged (unclosed sessions, lost task errors)."""
    problems: list[Any] = []
    asyncio.get_running_loop().set_exception_handler(lambda _loop, context: problems.append(context))
    return problems


def test_the_driving_car_moves_with_its_stream_between_polls_and_the_stream_ends_when_it_parks(
    twin: ThreadedTwin,
) -> None:
    driver = car_named(twin, "Driver")

    async def go() -> None:
        problems = collect_loop_problems()
        api, board = await open_board(twin, vehicle_key="Driver")
        try:
            await board.refresh()  # the one poll: online, in D -> the stream opens
            (car,) = board.cars
            polled = car.data
            assert polled.shift_state == "D"
            stream = board.stream
            assert isinstance(stream, VehicleStream)
            assert board.streamed is car
            await eventually(lambda: board.is_live(car))
            data_calls = billed(twin, "Driver", BillingCategory.DATA)

            seen = []
            with twin.advancing(1.0, 0.02):
                for _ in range(6):
                    board.changed.clear()
                    await asyncio.wait_for(board.changed.wait(), 30.0)
                    figures = car.drive()
                    assert figures is not None
                    assert figures.streamed
                    seen.append(figures)
            # The clock is still; one more world second gives one update of this very instant.
            twin.call(lambda: twin.world.advance(1.0))
            truth = twin.call(driver.telemetry)
            await eventually(lambda: car.live is not None and car.live.timestamp_ms == truth["timestamp"])

            assert billed(twin, "Driver", BillingCategory.DATA) == data_calls  # no poll meanwhile
            assert billed(twin, "Driver", BillingCategory.STREAMING_SIGNAL) > 0
            odometers = [f.odometer_mi for f in seen]
            assert odometers == sorted(odometers)
            assert odometers[-1] > polled.odometer_mi
            assert len({(f.latitude, f.longitude) for f in seen}) >= 5  # it moved with the stream
            live = car.drive()
            assert live is not None
            assert live.odometer_mi == truth["odometer"]
            assert live.speed_mph == truth["speed"] > 20
            assert (live.latitude, live.longitude) == (truth["est_lat"], truth["est_lng"])
            assert live.heading == truth["heading"]
            assert live.battery_level == truth["soc"]
            assert live.shift_state == "D"
            text = draw(board)
            assert "● live" in text
            assert f"{truth['est_lat']:.5f}, {truth['est_lng']:.5f}" in text
            assert f"{truth['est_lat']:.5f}" not in draw_polled(car)

            twin.call(driver.park)
            twin.call(lambda: twin.world.advance(1.0))
            await eventually(lambda: board.streamed is None)  # the P update ended the stream
            await eventually(lambda: stream.stats.state is StreamState.STOPPED)
            assert car.live is not None
            assert car.live.shift_state == "P"
            signals = billed(twin, "Driver", BillingCategory.STREAMING_SIGNAL)
            await board.refresh()
            assert car.data.shift_state == "P"
            assert board.stream is None  # parked: polling only
            twin.call(lambda: twin.world.advance(30.0))
            await asyncio.sleep(0.2)
            assert billed(twin, "Driver", BillingCategory.STREAMING_SIGNAL) == signals
            assert not board.is_live(car)
            assert "● live" not in draw(board)
            assert "polled 0 s ago" in draw(board)
        finally:
            await closed_cleanly(board, api, problems)

    asyncio.run(go())


def draw_polled(car: CarWatcher) -> str:
    """The drive panel as the last poll alone would draw it."""
    from teslalink.cli.dashboard_view import drive_panel

    figures = CarWatcher(car.vehicle, state="online", data=car.data, updated=time.monotonic()).drive()
    assert figures is not None
    out = io.StringIO()
    Console(file=out, width=160, color_system=None).print(drive_panel(car.data, figures))
    return out.getvalue()


def test_switching_car_closes_the_stream_and_a_parked_car_gets_none(twin: ThreadedTwin) -> None:
    async def go() -> None:
        problems = collect_loop_problems()
        api, board = await open_board(twin)
        try:
            assert [car.name for car in board.cars] == ["Driver", "Parked", "Sleeper"]
            driving, parked, sleeper = board.cars
            await board.refresh()
            first = board.stream
            assert first is not None
            assert board.streamed is driving
            await eventually(lambda: board.is_live(driving))

            assert board.key("n") is None  # to the parked car: the stream ends at once
            assert board.status == "selected Parked"
            assert board.streamed is None
            await eventually(lambda: first.stats.state is StreamState.STOPPED)
            await board.refresh()
            assert parked.state == "online"
            assert parked.shift_state is None
            assert board.stream is None

            board.key("n")  # the asleep car
            await board.refresh()
            assert sleeper.state == "asleep"
            assert board.stream is None

            board.key("n")  # back to the driving car: streamed again
            second = board.stream
            assert second is not None
            assert second is not first
            with twin.advancing(1.0, 0.02):
                await eventually(lambda: board.is_live(driving))
            assert not board.is_live(parked)
            assert not board.is_live(sleeper)
            assert billed(twin, "Parked", BillingCategory.STREAMING_SIGNAL) == 0
            assert billed(twin, "Sleeper", BillingCategory.STREAMING_SIGNAL) == 0
        finally:
            await closed_cleanly(board, api, problems)  # while streaming: the stream closes too
        assert second.stats.state is StreamState.STOPPED

    asyncio.run(go())


def test_the_stream_ends_when_the_driving_car_goes_offline(twin: ThreadedTwin) -> None:
    driver = car_named(twin, "Driver")

    async def go() -> None:
        problems = collect_loop_problems()
        api, board = await open_board(twin, vehicle_key="Driver")
        try:
            await board.refresh()
            (car,) = board.cars
            stream = board.stream
            assert stream is not None
            await eventually(lambda: board.is_live(car))
            twin.call(driver.go_offline)  # out of coverage, still driving
            await board.refresh()
            assert car.state == "offline"
            assert board.stream is None
            await eventually(lambda: stream.stats.state is StreamState.STOPPED)
            assert not board.is_live(car)
        finally:
            await closed_cleanly(board, api, problems)

    asyncio.run(go())


def test_an_asleep_car_gets_no_stream_and_stays_asleep(twin: ThreadedTwin) -> None:
    sleeper = car_named(twin, "Sleeper")
    wakes = twin.call(lambda: sleeper.wake_count)

    async def go() -> None:
        problems = collect_loop_problems()
        api, board = await open_board(twin, vehicle_key="Sleeper")
        try:
            for _ in range(3):
                await board.refresh()
                assert board.stream is None
                twin.call(lambda: twin.world.advance(60))
            assert board.cars[0].state == "asleep"
        finally:
            await closed_cleanly(board, api, problems)

    asyncio.run(go())
    assert twin.call(lambda: sleeper.wake_count) == wakes
    assert twin.call(lambda: sleeper.is_online) is False
    assert billed(twin, "Sleeper", BillingCategory.STREAMING_SIGNAL) == 0


def test_a_failing_stream_falls_back_to_polling_and_says_so(twin: ThreadedTwin) -> None:
    assert twin.cloud is not None
    faults = twin.cloud.faults
    twin.call(lambda: faults.set("streaming", "5xx=1"))  # every websocket handshake refused

    async def go() -> None:
        problems = collect_loop_problems()
        api, board = await open_board(twin, vehicle_key="Driver")
        board.stream_policy = StreamPolicy(max_failures=2, backoff_initial_s=0.05, backoff_max_s=0.1)
        try:
            await board.refresh()
            (car,) = board.cars
            stream = board.stream
            assert stream is not None
            await eventually(lambda: board.streamed is None)  # it gave up after two refusals
            assert stream.stopped
            assert stream.stats.failures == 2
            assert stream.stats.connects == 0
            assert car.stream_error is not None
            assert "websocket refused" in car.stream_error
            assert board.status.startswith("Driver: live drive stopped (")
            assert board.status.endswith("; polling")
            text = draw(board)
            assert "live drive failed" in text
            assert "● live" not in text

            polled_at = car.updated
            twin.call(lambda: twin.world.advance(10))
            await board.refresh()  # polling goes on, and the broken stream is not retried at once
            assert car.updated is not None
            assert polled_at is not None
            assert car.updated > polled_at
            assert car.data.shift_state == "D"
            assert board.stream is None
            figures = car.drive()
            assert figures is not None
            assert not figures.streamed
            assert figures.odometer_mi == car.data.odometer_mi
            assert "polled 0 s ago" in draw(board)

            twin.call(faults.clear)  # the streaming host is back; a later attempt succeeds
            board.stream_policy = StreamPolicy(retry_after_s=0.0)
            await board.refresh()
            assert board.stream is not None
            with twin.advancing(1.0, 0.02):
                await eventually(lambda: board.is_live(car))
            assert car.stream_error is None
        finally:
            await closed_cleanly(board, api, problems)

    asyncio.run(go())


def test_show_draws_the_live_drive_at_the_streams_rate(twin: ThreadedTwin) -> None:
    out = io.StringIO()

    async def go() -> None:
        problems = collect_loop_problems()
        api, board = await open_board(twin, vehicle_key="Driver")
        try:
            console = Console(file=out, width=160, force_terminal=True, color_system=None)
            with twin.advancing(1.0, 0.02):
                await dashboard.show(board, interval_s=30.0, duration_s=1.0, console=console, keys=False)
        finally:
            await closed_cleanly(board, api, problems)

    data_calls = billed(twin, "Driver", BillingCategory.DATA)
    asyncio.run(go())
    assert billed(twin, "Driver", BillingCategory.DATA) == data_calls + 2  # one poll: summary, vehicle_data
    text = out.getvalue()
    assert "● live" in text
    rows = [line for line in text.splitlines() if "position" in line]
    positions = {row.split("position")[1].split("│")[0].strip() for row in rows}
    assert len(positions) >= 4  # the drive panel moved between polls
