"""TeslaPy's own `Vehicle.stream()`, unchanged, against the streaming twin while the car drives.

TeslaPy connects to its module global STREAMING_BASE_URL + "streaming/", subscribes with
data:subscribe_oauth on open, parses every data:update with ast.literal_eval and closes on
data:error. Its Tesla object gets the token from a cache dict (no login); its Vehicle would fetch
the order list on construction, so the class attribute that caches it is pre-filled.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest

from teslalink.simulator import World
from teslalink.simulator.accounting import BillingCategory
from teslalink.simulator.streaming import StreamingPolicy, serve_streaming

from .helpers import START

teslapy = pytest.importorskip("teslapy")

EMAIL = "owner@example.com"


async def test_teslapy_streams_a_drive(monkeypatch: pytest.MonkeyPatch) -> None:
    world = World(seed=11, speed=0.0, start=START)
    account = world.add_account(EMAIL, "secret")
    car = world.add_vehicle(account, battery_level=80.0)
    token = world.auth.issue(account) | {"expires_at": time.time() + 28800}
    cache = {EMAIL: {"url": "https://auth.tesla.com/", "sso": token}}
    monkeypatch.setattr(teslapy.Vehicle, "orders", [{"vin": "none"}])
    tesla = teslapy.Tesla(EMAIL, cache_loader=lambda: cache, cache_dumper=lambda _: None)
    vehicle = teslapy.Vehicle(
        {"id": car.id, "id_s": car.id_s, "vehicle_id": car.vehicle_id, "vin": car.vin, "display_name": "x"},
        tesla,
    )
    updates: list[dict[str, Any]] = []
    car.drive("loop_10km", speed_kph=54.0)

    policy = StreamingPolicy(poll_real_s=0.005, max_updates_per_real_s=1000.0)
    async with serve_streaming(world, policy=policy) as server:
        monkeypatch.setattr(teslapy, "STREAMING_BASE_URL", server.base_url)
        streaming = asyncio.create_task(asyncio.to_thread(vehicle.stream, updates.append))
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 60.0  # a hang guard: all of this takes well under a second
        while not server.hub.subscriptions:  # the thread connects and subscribes
            assert loop.time() < deadline, "TeslaPy never subscribed"
            await asyncio.sleep(0.01)
        while len(updates) < 6:
            assert loop.time() < deadline, f"{len(updates)} updates"
            seen, step_end = len(updates), loop.time() + 1.0
            world.advance(1)
            while len(updates) == seen and loop.time() < step_end:  # noqa: ASYNC110 - a thread appends
                await asyncio.sleep(0.01)
        car.park()  # the car stops; ten quiet world seconds later the server says disconnected
        world.advance(1)
        while not (updates and updates[-1]["shift_state"] == "P"):  # the parked update came
            assert loop.time() < deadline, "no parked update"
            await asyncio.sleep(0.01)
        world.advance(10)
        await asyncio.wait_for(streaming, timeout=30.0)  # TeslaPy closes on data:error and returns

    assert len(updates) >= 6
    first, moving, parked = updates[0], updates[3], updates[-1]
    assert set(first) == {"timestamp", *teslapy.Vehicle.COLS}
    assert first["timestamp"] == int(START * 1000)
    assert moving["shift_state"] == "D"
    assert isinstance(moving["speed"], int)
    assert moving["speed"] > 0
    assert isinstance(moving["odometer"], float)
    assert moving["soc"] == 80
    assert isinstance(moving["est_lat"], float)
    assert moving["est_lat"] > first["est_lat"]
    assert isinstance(moving["power"], int)
    assert moving["power"] > 0
    assert parked["speed"] is None  # an empty field, parsed by TeslaPy as None
    assert parked["shift_state"] == "P"
    stamps = [u["timestamp"] for u in updates]
    assert stamps == sorted(set(stamps))
    # TeslaPy folds the stream into the vehicle's polled data
    assert vehicle["drive_state"]["shift_state"] == "P"
    assert vehicle["vehicle_state"]["odometer"] == parked["odometer"]
    assert world.accounting.totals[BillingCategory.STREAMING_SIGNAL] > 6 * 10
