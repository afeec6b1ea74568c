"""`teslalink status` against a listener served in the test (its own thread and loop, as a running
service's): the human report (devices, the month's calls and cost, targets, recorder, events), `--json`
equal to /status, exit 1 when the service is failing, and one line when nothing answers."""

from __future__ import annotations

import json
import socket
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from service_state import CAR, EMAIL, NOW_MS, SERIAL, SITE_ID, VIN, ThreadedListener, built_state, month_cost
from teslalink.cli.main import cli
from teslalink.cli.status import DEFAULT_URL
from teslalink.service.settings import DEFAULT_PORT
from teslalink.service.state import ServiceState


def invoke(*args: str) -> Result:
    return CliRunner().invoke(cli, ["status", *args], catch_exceptions=False)


def one_line_error(result: Result) -> str:
    assert result.exit_code == 1, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("Error: ")
    return lines[0]


@pytest.fixture
def state() -> ServiceState:
    return built_state()


@pytest.fixture
def served(state: ServiceState) -> Iterator[ThreadedListener]:
    with ThreadedListener(lambda: (state, NOW_MS)) as running:
        yield running


@pytest.fixture
def not_listening() -> Iterator[str]:
    """A loopback port bound and not listening: a connection there is refused, and no other program
    can take it while the test runs."""
    with socket.socket() as bound:
        bound.bind(("127.0.0.1", 0))
        yield f"http://127.0.0.1:{bound.getsockname()[1]}/"


def test_the_report_says_what_the_service_watches(served: ThreadedListener) -> None:
    result = invoke("--url", served.url)
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0] == f"teslalink 0.1.0 at {served.url}: ok, up 2 h 5 min"
    assert "devices (3):" in lines
    assert (
        f"  car Model Y ({VIN}): charging, read 12 s ago, next in 48 s: "
        "battery_level 54, charger_power_kw 7.2, plugged_in yes, shift_state P"
    ) in lines
    assert (
        f"  wallconnector Garage ({SERIAL}): online, read 3 s ago, next in 2 s: "
        "vehicle_connected yes, power_w 7100.5, session_energy_wh 3200"
    ) in lines
    assert f"  site Home ({SITE_ID}): unknown, never read yet" in lines
    cost = month_cost()
    assert (
        f"  {EMAIL} (fleet API) 2025-06: data 120, commands 3, wakes 1, signals 0; "
        f"${cost:.4f} of a $10.00 budget ({100 * cost / 10:.0f} %)"
    ) in lines
    assert "  webhook http://127.0.0.1: 4 delivered, 1 failed, 2 retried, 0 dropped, 0 suppressed" in lines
    assert "recorder: ok; batches 56, written 1234" in lines
    assert "recent events (the last 3, 3 since the start):" in lines
    assert "  10 min ago: plugged_in, Model Y: Model Y plugged in" in lines
    assert lines[-1] == "  1 min ago: plugged_in, Model Y: Model Y plugged in again"
    assert "problems:" not in lines
    assert result.stderr == ""


def test_errors_are_shown_under_their_device(state: ServiceState, served: ThreadedListener) -> None:
    state.device(CAR).error = "vehicle_data: timed out"
    state.targets[1].last_error = "HTTP 429"
    result = invoke("--url", served.url)
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0].endswith(": degraded, up 2 h 5 min")
    assert lines[1:4] == [
        "problems:",
        "  car Model Y: vehicle_data: timed out",
        "  notify ntfy https://ntfy.sh: HTTP 429",
    ]
    assert "    error: vehicle_data: timed out" in lines
    assert "    last error: HTTP 429" in lines


def test_json_is_the_status_answer(served: ThreadedListener) -> None:
    result = invoke("--url", served.url, "--json")
    assert result.exit_code == 0, result.output
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # never a proxy from the env
    with opener.open(served.url + "status", timeout=30) as answer:  # a hang guard
        direct = json.loads(answer.read())
    assert json.loads(result.stdout) == direct
    assert direct["devices"][0]["id"] == VIN


@pytest.mark.parametrize("form", ["{url}", "{url}status", "{hostport}", "{url}status/"])
def test_the_url_in_any_usual_form(form: str, served: ThreadedListener) -> None:
    url = form.format(url=served.url, hostport=served.url.removeprefix("http://").rstrip("/"))
    result = invoke("--url", url, "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["now_ms"] == NOW_MS


def test_a_failing_service_is_exit_1_after_the_report(state: ServiceState, served: ThreadedListener) -> None:
    state.recorder.ok = False
    state.recorder.error = "database is locked"
    result = invoke("--url", served.url)
    assert one_line_error(result) == "Error: the service is failing: recorder: database is locked"
    assert "recorder: failing: database is locked; batches 56, written 1234" in result.stdout.splitlines()


def test_nothing_listening_is_one_line(not_listening: str) -> None:
    result = invoke("--url", not_listening)
    assert one_line_error(result) == (
        f"Error: no teslalink service answers at {not_listening}: is `teslalink serve` running?"
    )
    assert result.stdout == ""


def test_something_else_listening_is_one_line(served: ThreadedListener) -> None:
    elsewhere = served.url + "nothing-here/"
    result = invoke("--url", elsewhere)
    assert one_line_error(result) == (
        f"Error: {elsewhere} answered HTTP 404 to /status: is it a teslalink service's listener?"
    )


def test_a_url_with_a_password_is_not_printed(not_listening: str) -> None:
    url = not_listening.replace("http://", "http://me:hunter2@")
    result = invoke("--url", url)
    assert "hunter2" not in result.output
    assert one_line_error(result).startswith(f"Error: no teslalink service answers at {not_listening}")


def test_not_an_http_url_is_a_usage_error() -> None:
    result = invoke("--url", "ftp://127.0.0.1/")
    assert result.exit_code == 2, result.output
    assert "is not an http:// URL of a listener" in result.stderr


def test_the_default_is_the_default_listener() -> None:
    assert f"http://127.0.0.1:{DEFAULT_PORT}/" == DEFAULT_URL
    result = CliRunner().invoke(cli, ["status", "--help"])
    assert result.exit_code == 0
    assert DEFAULT_URL in result.stdout
    listed = CliRunner().invoke(cli, ["--help"])
    assert "status" in listed.stdout


def test_the_config_files_listener_is_asked(served: ThreadedListener, tmp_path: Path) -> None:
    port = int(served.url.rstrip("/").rsplit(":", 1)[1])
    config = tmp_path / "service.toml"
    config.write_text(f'[listen]\nhost = "127.0.0.1"\nport = {port}\n')
    result = invoke("--config", str(config))
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[0].startswith(f"teslalink 0.1.0 at http://127.0.0.1:{port}/: ok")


def test_a_broken_config_is_one_line_per_problem(tmp_path: Path) -> None:
    config = tmp_path / "service.toml"
    config.write_text("[listen]\nport = 70000\n")
    result = invoke("--config", str(config))
    assert result.exit_code == 1
    assert result.stderr.startswith(f"Error: {config}:2: ")
