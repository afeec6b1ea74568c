"""`ThreadedTwin`: the twin on its own event-loop thread, for blocking tests and scripts."""

from __future__ import annotations

import json
import re
import socket
import threading
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from teslalink.cloud import CloudUrls
from teslalink.simulator import ThreadedTwin, World, scenario
from teslalink.simulator.demo import DEMO_DOMAIN

from .helpers import START

TIMEOUT_S = 10  # a hang guard: each request takes milliseconds


def get(url: str) -> tuple[int, Any]:
    with urllib.request.urlopen(url, timeout=TIMEOUT_S) as response:
        return response.status, json.loads(response.read())


def refuses(url: str) -> bool:
    try:
        urllib.request.urlopen(url, timeout=TIMEOUT_S).close()
    except urllib.error.URLError as exc:
        return isinstance(exc.reason, ConnectionRefusedError)
    return False


def test_a_demo_twin_serves_the_cloud_and_its_admin_from_its_thread() -> None:
    with ThreadedTwin() as twin:
        assert [a.email for a in twin.accounts] == [f"demo{i}@{DEMO_DOMAIN}" for i in (1, 2, 3)]
        assert isinstance(twin.urls, CloudUrls)
        assert twin.urls.api == twin.cloud.owner_api
        status, listing = get(twin.admin)
        assert status == 200
        assert any(e["path"] == "/_twin/truth" for e in listing["endpoints"])
        assert twin.call(threading.current_thread).name == "teslalink-twin"
        before = twin.call(twin.world.now)
        twin.call(twin.world.advance, 90)
        assert twin.call(twin.world.now) == before + 90  # the demo world's clock is frozen
        car = twin.accounts[0].vehicles[0]
        assert twin.call(scenario.vehicle_truth, twin.world, car.id)["wall_connector"] == (
            twin.accounts[0].chargers[0].unit.serial
        )
        assert len(twin.wall_connector_urls) == 3


def test_start_and_stop_are_idempotent_and_stop_closes_every_port() -> None:
    world = World(seed=3, speed=0.0, start=START)
    world.add_wall_connector()
    twin = ThreadedTwin(world)
    twin.stop()  # not running: nothing to do
    assert twin.start() is twin.start()
    api, unit = twin.urls.api, twin.wall_connector_urls[0]
    assert get(unit + "/api/1/version")[0] == 200
    twin.stop()
    twin.stop()
    assert not twin.running
    assert refuses(api + "status")
    assert refuses(unit + "/api/1/version")
    with pytest.raises(RuntimeError, match="not running"):
        twin.call(world.now)
    with twin:  # and it starts again, on new ports
        assert get(twin.wall_connector_urls[0] + "/api/1/version")[0] == 200


def test_call_raises_what_the_function_raised() -> None:
    with ThreadedTwin(World(seed=1, speed=0.0, start=START)) as twin:
        with pytest.raises(ValueError, match="ten years"):
            twin.call(twin.world.advance, 1e308)
        assert twin.call(lambda: 41 + 1) == 42


def test_a_busy_port_fails_the_start_and_leaves_nothing_running() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        twin = ThreadedTwin(World(seed=1, speed=0.0, start=START), ports={"owner_api": port})
        with pytest.raises(OSError, match="in use"):
            twin.start()
        assert not twin.running
        assert not [t for t in threading.enumerate() if t.name == "teslalink-twin"]


def test_wall_connectors_only_serves_the_units_and_no_cloud() -> None:
    world = World(seed=5, speed=0.0, start=START)
    unit = world.add_wall_connector()
    with ThreadedTwin(world, wall_connectors_only=True) as twin:
        (url,) = twin.wall_connector_urls
        assert get(url + "/api/1/version")[1]["serial_number"] == unit.serial
        with pytest.raises(RuntimeError, match="Wall Connectors only"):
            _ = twin.urls


def test_advancing_moves_a_frozen_clock_while_the_block_runs() -> None:
    with ThreadedTwin(World(seed=2, speed=0.0, start=START)) as twin:
        with twin.advancing(5.0, 0.01):
            moved = threading.Event()
            for _ in range(1000):  # bounded: about 10 s at most
                if twin.call(twin.world.now) > START + 20:
                    moved.set()
                    break
                moved.wait(0.01)
        assert moved.is_set()
        after = twin.call(twin.world.now)
        moved.wait(0.05)
        assert twin.call(twin.world.now) == after  # the ticker stopped with the block


def test_the_readme_example_runs() -> None:
    readme = (Path(__file__).parents[2] / "README.md").read_text()
    block = re.search(r"```python\n(from teslalink\.simulator import ThreadedTwin\n.*?)```", readme, re.S)
    assert block is not None, "the README lost its ThreadedTwin example"
    namespace: dict[str, Any] = {}
    exec(compile(block.group(1), "README.md", "exec"), namespace)
    assert namespace["email"] == f"demo1@{DEMO_DOMAIN}"
    assert isinstance(namespace["urls"], CloudUrls)
    assert not namespace["twin"].running
