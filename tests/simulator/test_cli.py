"""`teslalink sim wallconnector` as a real process: addresses first, serving, clean exit."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import urllib.request
from typing import Any

import pytest
from click.testing import CliRunner

from conftest import readline_within
from teslalink.cli.sim import sim

_CMD = [sys.executable, "-m", "teslalink.cli.sim", "wallconnector"]


def _start(*args: str) -> subprocess.Popen[str]:
    # stdout is a pipe, so block-buffered: the listing must arrive because the command flushes it.
    env = {k: v for k, v in os.environ.items() if k != "PYTHONUNBUFFERED"}
    return subprocess.Popen(
        [*_CMD, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env
    )


def _get_json(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=10) as response:
        assert response.headers["Content-Type"] == "application/json"
        return json.loads(response.read())


@pytest.mark.parametrize("stop_signal", [signal.SIGTERM, signal.SIGINT])
def test_json_listing_then_serves_then_exits_cleanly(stop_signal: signal.Signals) -> None:
    proc = _start(
        "--port", "0", "--count", "3", "--plugged", "1", "--wiring", "mixed", "--speed", "60", "--json"
    )
    try:
        assert proc.stdout is not None
        line = readline_within(proc.stdout)  # printed and flushed before serving
        listing = json.loads(line)
        units = listing["wall_connectors"]
        assert [u["wiring"] for u in units] == ["split_phase", "three_phase", "single_phase"]
        for unit in units:
            assert unit["host"] == "127.0.0.1"
            assert unit["url"] == f"http://127.0.0.1:{unit['port']}"
            assert unit["firmware"] == "23.8.2+gce13e49b546382"
            assert len(unit["serial"]) == 14
        vitals = _get_json(units[0]["url"] + "/api/1/vitals")
        assert vitals["vehicle_connected"] is True
        version = _get_json(units[1]["url"] + "/api/1/version")
        assert version["serial_number"] == units[1]["serial"]
        assert _get_json(units[2]["url"] + "/api/1/vitals")["vehicle_connected"] is False
    finally:
        proc.send_signal(stop_signal)
        out, err = proc.communicate(timeout=10)
    assert proc.returncode == 0
    assert "Traceback" not in err
    assert out == ""


def test_plain_listing_one_address_per_line() -> None:
    proc = _start("--port", "0", "--count", "2", "--quirks", "nan", "--seed", "5")
    try:
        assert proc.stdout is not None
        lines = [readline_within(proc.stdout), readline_within(proc.stdout)]
        urls = [line.split("\t")[0] for line in lines]
        assert all(url.startswith("http://127.0.0.1:") for url in urls)
        body = urllib.request.urlopen(urls[1] + "/api/1/lifetime", timeout=10).read()
        assert b'"alert_count":nan' in body
    finally:
        proc.terminate()
        _, err = proc.communicate(timeout=10)
    assert proc.returncode == 0
    assert "Traceback" not in err


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--quirks", "bogus"], "unknown quirk 'bogus'"),
        (["--quirks", "drops=7"], "between 0 and 1"),
        (["--wiring", "delta"], "'delta' is not one of"),
        (["--count", "0"], "--count"),
        (["--speed", "-1"], "--speed"),
        (["--firmware", "new"], "firmware version 'new'"),
        (["--plugged", "4", "--count", "2"], "cannot plug 4 cars into 2 units"),
        (["--port", "65535", "--count", "2"], "past 65535"),
    ],
)
def test_bad_options_exit_2_with_one_clear_line(args: list[str], message: str) -> None:
    result = CliRunner().invoke(sim, ["wallconnector", *args])
    assert result.exit_code == 2
    assert message in result.output
    error_lines = [line for line in result.output.splitlines() if line.startswith("Error:")]
    assert len(error_lines) == 1


def test_busy_port_is_a_clear_error() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = CliRunner().invoke(sim, ["wallconnector", "--port", str(port)])
    assert result.exit_code == 1
    assert f"cannot listen on 127.0.0.1 port {port}" in result.output
    assert "Traceback" not in result.output


def test_help_lists_the_options() -> None:
    result = CliRunner().invoke(sim, ["wallconnector", "--help"])
    assert result.exit_code == 0
    for option in ("--count", "--port", "--speed", "--seed", "--wiring", "--quirks", "--plugged", "--json"):
        assert option in result.output
