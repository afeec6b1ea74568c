"""`teslalink stream` against the twin's streaming server while the demo car drives."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from collections.abc import Iterator

import pytest
from test_cloud_cli import DEMO1, invoke

from conftest import PointCli
from teslalink.simulator import ThreadedTwin, World
from teslalink.simulator.demo import populate_demo


@pytest.fixture
def driving(point_cli_at: PointCli) -> Iterator[ThreadedTwin]:
    world = World(seed=6, speed=0.0)
    with ThreadedTwin(world, accounts=populate_demo(world, cars_per_account=2)) as running:
        assert running.cloud is not None
        point_cli_at(running)
        assert invoke("login", "--email", DEMO1, "--password", "teslalink-demo-1").exit_code == 0
        car = running.accounts[0].vehicles[0]
        running.call(car.unplug)
        running.call(lambda: car.drive("loop_10km"))
        with running.advancing(0.5, 0.01):
            yield running


def test_stream_json_lines_until_count(driving: ThreadedTwin) -> None:
    car = driving.accounts[0].vehicles[0]
    result = invoke("stream", "--json", "--count", "3", "--duration", "10")
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(rows) == 3
    assert {row["vehicle_id"] for row in rows} == {str(car.vehicle_id)}
    assert all(row["latitude"] is not None and row["shift_state"] == "D" for row in rows)


def test_stream_plain_lines_and_duration(driving: ThreadedTwin) -> None:
    result = invoke("stream", "--duration", "3")  # the first update takes ~0.1 s: room when loaded
    assert result.exit_code == 0, result.output
    assert "speed_mph=" in result.stdout


def test_an_unreachable_streaming_server_ends_a_timed_run_in_one_error_line(driving: ThreadedTwin) -> None:
    result = invoke("stream", "--streaming-url", "ws://127.0.0.1:1/streaming/", "--duration", "1.2")
    assert result.exit_code == 1, result.output
    (line,) = result.stderr.strip().splitlines()  # the problem once, as the error it ends with
    assert line.startswith("Error: no stream: ")
    assert "cannot connect" in line
    assert result.stdout == ""


def test_an_untimed_run_tells_each_new_problem_while_it_retries(driving: ThreadedTwin) -> None:
    # Without --duration the stream retries until Ctrl-C: a line on stderr says why nothing comes.
    proc = subprocess.Popen(
        [sys.executable, "-m", "teslalink", "stream", "--streaming-url", "ws://127.0.0.1:1/streaming/"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
    )
    hang_guard = threading.Timer(30.0, proc.kill)  # a line that never comes ends the wait
    hang_guard.start()
    try:
        assert proc.stderr is not None
        line = proc.stderr.readline().decode()
    finally:
        hang_guard.cancel()
        proc.kill()
        proc.wait(10)
    assert line.startswith("stream backing_off: ")
    assert "cannot connect" in line


def test_a_parked_car_is_no_error(driving: ThreadedTwin) -> None:
    car = driving.accounts[0].vehicles[0]
    driving.call(car.park)
    result = invoke("stream", "--json", "--duration", "1")
    assert result.exit_code == 0, result.output  # nothing (or the parked state) to tell: no error
    assert all(json.loads(line)["shift_state"] in ("P", None) for line in result.stdout.splitlines())
