"""The CLI against simulated units served over real loopback HTTP, from the twin's own thread."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner
from hostile_device import VITALS_FIXTURE, HostileDevice, http_answer

import teslalink
from teslalink.cli.main import cli
from teslalink.simulator import Quirks, ThreadedTwin, Wiring, World


@pytest.fixture
def urls() -> Iterator[list[str]]:
    """Two units (one charging) served from the twin's own thread: their base URLs."""
    world = World(seed=7, speed=0.0, start=1_700_000_000)
    charging = world.add_wall_connector(wiring=Wiring.SPLIT_PHASE, quirks=Quirks(nan_in_lifetime=True))
    world.add_wall_connector(wiring=Wiring.THREE_PHASE, firmware="21.29.1+g4152353e50f744")
    charging.plug_in(32.0)
    world.advance(600)
    with ThreadedTwin(world, wall_connectors_only=True) as twin:
        yield twin.wall_connector_urls


def invoke(*args: str):
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def test_vitals_table(urls):
    result = invoke("wallconnector", urls[0], "vitals")
    assert result.exit_code == 0, result.output
    assert "grid_voltage_v" in result.output
    assert "charging" in result.output


def test_vitals_json_is_typed(urls):
    result = invoke("wallconnector", urls[0], "vitals", "--json")
    data = json.loads(result.output)
    assert data["evse_state"] == "charging"
    assert data["evse_state_code"] == 11
    assert data["contactor_closed"] is True
    assert 31 <= data["vehicle_current_a"] <= 33


def test_lifetime_raw_shows_repaired_nan_as_null(urls):
    result = invoke("wallconnector", urls[0], "lifetime", "--raw")
    data = json.loads(result.output)
    assert data["avg_startup_temp"] is None
    assert data["energy_wh"] > 0


def test_version_and_wifi(urls):
    version = json.loads(invoke("wallconnector", urls[1], "version", "--json").output)
    assert version["firmware_version"] == "21.29.1+g4152353e50f744"
    wifi = invoke("wallconnector", urls[1], "wifi")
    assert wifi.exit_code == 0
    assert "ssid" in wifi.output


def test_status_screen_and_split_phase_power(urls):
    result = invoke("wallconnector", urls[0], "status")
    assert result.exit_code == 0
    for word in ("charging", "kW (split-phase)", "firmware", "handle"):
        assert word in result.output
    data = json.loads(invoke("wallconnector", urls[0], "status", "--json").output)
    vitals = data["vitals"]
    assert data["power"]["service"] == "split_phase"
    assert data["power"]["total_w"] == pytest.approx(vitals["grid_voltage_v"] * vitals["vehicle_current_a"])


def test_explicit_service_wins(urls):
    data = json.loads(invoke("wallconnector", urls[0], "status", "--service", "three_phase", "--json").output)
    assert data["power"]["service"] == "three_phase"


def test_watch_for_a_while(urls):
    # 3 s: the first answer must come within the run, and takes milliseconds (30x margin when loaded)
    result = invoke("wallconnector", urls[0], "watch", "--interval", "0.5", "--duration", "3")
    assert result.exit_code == 0
    assert "charging" in result.output


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_unreachable_host_is_one_line_and_exit_1():
    port = _free_port()
    result = CliRunner().invoke(cli, ["wallconnector", f"127.0.0.1:{port}", "vitals", "--timeout", "0.2"])
    assert result.exit_code == 1
    lines = result.output.strip().splitlines()
    assert len(lines) == 1
    assert f"127.0.0.1:{port}" in lines[0]
    assert "Traceback" not in result.output


def test_timeout_is_one_line_and_exit_1():
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)  # accepts connections, never answers
    port = listener.getsockname()[1]
    try:
        result = CliRunner().invoke(cli, ["wallconnector", f"127.0.0.1:{port}", "vitals", "--timeout", "0.1"])
    finally:
        listener.close()
    assert result.exit_code == 1
    assert "no answer within 0.3 s" in result.output
    assert len(result.output.strip().splitlines()) == 1


def test_bad_host_is_a_clear_error():
    result = CliRunner().invoke(cli, ["wallconnector", "http://twc/api/1/vitals", "vitals"])
    assert result.exit_code == 1
    assert "without a path" in result.output


def test_demo_runs_and_shows_three_units():
    # 3 s: every unit's first answer must come within the run (milliseconds each, when not loaded)
    result = CliRunner().invoke(cli, ["demo", "--wallconnectors", "--duration", "3", "--interval", "0.5"])
    assert result.exit_code == 0, result.output
    for name in ("garage", "office", "cottage", "charging", "waiting for"):
        assert name in result.output


def _unknown_fields_vitals(count: int) -> bytes:
    body = json.loads(VITALS_FIXTURE.read_bytes())
    body.update({f"future_field_{i:06d}": i for i in range(count)})
    return json.dumps(body).encode()


def test_thousands_of_unknown_fields_are_capped_in_the_table():
    answers = {"/api/1/vitals": http_answer(_unknown_fields_vitals(5000))}
    with HostileDevice(answers) as device:
        table = CliRunner().invoke(cli, ["wallconnector", device.host, "vitals"])
        raw = CliRunner().invoke(cli, ["wallconnector", device.host, "vitals", "--raw"])
    assert table.exit_code == 0, table.output
    assert "future_field_000049" in table.output
    assert "future_field_000050" not in table.output
    assert "... and 4,950 more unknown fields" in table.output
    assert len(table.output.splitlines()) < 200
    assert raw.exit_code == 0
    assert "future_field_004999" in raw.output  # --raw still gives everything


def test_status_without_version_shows_the_vitals_and_says_what_is_missing():
    answers = {"/api/1/vitals": http_answer(VITALS_FIXTURE.read_bytes())}  # /api/1/version: 404
    with HostileDevice(answers) as device:
        result = CliRunner().invoke(cli, ["wallconnector", device.host, "status", "--timeout", "0.5"])
        as_json = CliRunner().invoke(cli, ["wallconnector", device.host, "status", "--json"])
    assert result.exit_code == 0, result.output
    grid_v = json.loads(VITALS_FIXTURE.read_bytes())["grid_v"]
    assert f"{grid_v:g} V" in result.stdout
    assert "firmware" not in result.stdout
    assert result.stderr.count("\n") == 1
    assert "firmware and serial not read" in result.stderr
    assert "404" in result.stderr
    assert as_json.exit_code == 0
    data = json.loads(as_json.stdout)
    assert data["version"] is None
    assert data["vitals"]["grid_voltage_v"] == grid_v


def test_status_without_vitals_is_still_exit_1():
    with HostileDevice({}) as device:
        result = CliRunner().invoke(cli, ["wallconnector", device.host, "status"])
    assert result.exit_code == 1
    assert len(result.output.strip().splitlines()) == 1


def test_wallconnector_commands_do_not_import_aiohttp(urls):
    """The lean LAN transport is the default: aiohttp (0.2-0.3 s to import) must not be loaded."""
    env = {**os.environ, "PYTHONPATH": str(Path(teslalink.__file__).parent.parent)}
    command = [sys.executable, "-X", "importtime", "-m", "teslalink", "wallconnector", urls[0]]
    for sub in (["status"], ["vitals", "--json"], ["watch", "--duration", "0.6", "--interval", "0.5"]):
        done = subprocess.run(
            [*command, *sub], check=False, capture_output=True, text=True, env=env, timeout=60
        )
        assert done.returncode == 0, done.stderr[-2000:]
        imported = [line.rsplit("|", 1)[-1].strip() for line in done.stderr.splitlines()]
        assert "teslalink.wallconnector.client" in imported  # the check itself works
        assert not [name for name in imported if name.split(".")[0] == "aiohttp"], sub
