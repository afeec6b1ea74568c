"""What a device or Tesla sends is printed, never obeyed: markup, escape sequences, lone surrogates,
numbers orjson cannot write and nesting it refuses, in tables, plain lines and JSON (issue 13 M1, L4)."""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import click
import pytest
from click.testing import CliRunner, Result

from conftest import PointCli
from teslalink._json import MAX_DEPTH
from teslalink.cli import dashboard, live
from teslalink.cli._common import echo_json, json_text, safe_console
from teslalink.cli.main import cli
from teslalink.cloud import StaticToken, TeslaApi
from teslalink.simulator import ThreadedTwin, World
from teslalink.simulator.demo import populate_demo
from teslalink.wallconnector.client import WallConnector

# Markup rich would parse, an OSC that retitles the terminal, a screen clear, a C1 CSI, a bell, a CR.
HOSTILE = "[/bold] Sparky [/] \x1b]0;pwned\x07 \x1b[2J \x9b31m \r done"
# What must never reach the terminal from it.
FORBIDDEN = ["\x1b", "\x07", "\x9b", "\r"]


def invoke(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def assert_clean(result: Result) -> str:
    """The command worked, printed no control character and no traceback; returns what it printed."""
    assert result.exit_code == 0, (result.output, result.exception)
    text = result.stdout + result.stderr
    for char in FORBIDDEN:
        assert char not in text, (char, text)
    assert "Traceback" not in text
    return text


# --- a Wall Connector answering what the test says ---------------------------------------------------


class HostileUnit:
    """A loopback HTTP server that answers each path with the body the test set, as a unit would."""

    def __init__(self) -> None:
        self.bodies: dict[str, bytes] = {}
        bodies = self.bodies

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # http.server's name
                body = bodies.get(self.path)
                if body is None:
                    self.send_error(404)
                    return
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:  # tests print nothing
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.host = f"127.0.0.1:{self.server.server_address[1]}"
        self._thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05})

    def answer(self, endpoint: str, body: str) -> None:
        self.bodies[f"/api/1/{endpoint}"] = body.encode()

    def __enter__(self) -> HostileUnit:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self._thread.join(10)
        self.server.server_close()


@pytest.fixture
def unit() -> Iterator[HostileUnit]:
    with HostileUnit() as running:
        running.answer("vitals", json.dumps({"grid_v": 241.2, "evse_state": 11, "vehicle_connected": True}))
        yield running


def wc(unit: HostileUnit, *args: str) -> Result:
    return invoke("wallconnector", unit.host, *args, "--timeout", "2")


def version_body(firmware: str, **extra: object) -> str:
    return json.dumps({"firmware_version": firmware, "serial_number": "PGT1", **extra})


def test_firmware_string_with_markup_and_escapes_is_shown_as_text(unit: HostileUnit) -> None:
    unit.answer("version", version_body(HOSTILE))
    for command in ("version", "status"):
        text = assert_clean(wc(unit, command))
        assert "[/bold] Sparky [/]" in text
        assert "]0;pwned" in text  # what is left of the escape sequence is inert text


def test_unknown_field_names_and_values_from_a_device_are_shown_as_text(unit: HostileUnit) -> None:
    unit.answer("version", version_body("24.1", **{f"x{HOSTILE}": HOSTILE}))
    text = assert_clean(wc(unit, "version"))
    assert "Sparky [/]" in text


def test_a_lone_surrogate_is_shown_as_a_replacement_character(unit: HostileUnit) -> None:
    unit.answer("version", '{"firmware_version": "24.1\\ud800", "serial_number": "\\udfff"}')
    for command in ("version", "status"):
        assert "24.1\ufffd" in assert_clean(wc(unit, command))
    for flag in ("--json", "--raw"):
        printed = json.loads(assert_clean(wc(unit, "version", flag)))
        assert printed["firmware_version"] == "24.1\ufffd"


def test_json_prints_a_301_digit_uptime(unit: HostileUnit) -> None:
    # the tolerant decoder turns 1e300 seconds into an int orjson cannot write
    unit.answer("vitals", '{"evse_state": 11, "uptime_s": 1e300, "grid_v": 240.0}')
    printed = json.loads(assert_clean(wc(unit, "vitals", "--json")))
    assert printed["uptime_s"] in (None, int(1e300))  # dropped by the decoder, or the true number
    assert printed["grid_voltage_v"] == 240.0


def test_raw_of_an_answer_nested_absurdly_deep_is_one_line(unit: HostileUnit) -> None:
    depth = 300  # the decoder refuses more than MAX_DEPTH levels; orjson would write 255 at most
    unit.answer("version", '{"firmware_version": "24.1", "nest": ' + "[" * depth + "1" + "]" * depth + "}")
    result = wc(unit, "version", "--raw")
    assert result.exit_code == 1
    assert "Traceback" not in result.output
    (line,) = result.stderr.strip().splitlines()
    assert f"nested deeper than {MAX_DEPTH} levels" in line


def test_json_text_writes_nesting_deeper_than_orjson_allows() -> None:
    depth = 300
    nested: object = 1
    for _ in range(depth):
        nested = [nested]
    printed, levels = json.loads(json_text({"nest": nested}))["nest"], 0
    while isinstance(printed, list) and levels <= depth:
        printed, levels = printed[0], levels + 1
    assert (printed, levels) == (1, depth)


def test_json_text_writes_ints_over_64_bits_as_numbers() -> None:
    huge = 2**64 * 3 + 1
    assert json.loads(json_text({"n": [huge, -huge]})) == {"n": [huge, -huge]}


def test_json_lines_are_what_orjson_writes_and_survive_what_it_refuses() -> None:
    # `stream --json` prints one line per update
    row = {"shift_state": "D", "speed": 31.5, "power": None, "heading": 270}
    assert json_text(row, indent=False) == json.dumps(row, separators=(",", ":"))
    line = json_text({**row, "shift_state": "D\ud800\x9b", "odometer": 2**70}, indent=False)
    assert "\n" not in line
    assert json.loads(line) == {**row, "shift_state": "D\ufffd\x9b", "odometer": 2**70}
    assert "\x9b" not in line


def test_nesting_too_deep_for_any_encoder_is_one_clear_error() -> None:
    deep: list[object] = []
    inner = deep
    for _ in range(5000):
        inner.append([])
        inner = inner[0]  # type: ignore[assignment]
    with pytest.raises(click.ClickException, match="nested too deeply"):
        echo_json(deep)


def test_json_output_escapes_c1_controls_and_stays_the_same_json(unit: HostileUnit) -> None:
    unit.answer("version", version_body(HOSTILE))
    result = wc(unit, "version", "--raw")
    assert json.loads(assert_clean(result))["firmware_version"] == HOSTILE


def test_markup_and_escapes_in_a_live_view_are_shown_as_text(
    unit: HostileUnit, capsys: pytest.CaptureFixture[str]
) -> None:
    async def watch() -> None:
        async with WallConnector(unit.host) as client:
            await live.watch([client], [HOSTILE], interval_s=0.5, duration_s=0.3)

    asyncio.run(watch())
    printed = capsys.readouterr().out
    assert "Sparky [/]" in printed
    for char in FORBIDDEN:
        assert char not in printed


# --- a car anyone who can rename it can name -----------------------------------------------------------


@pytest.fixture
def logged_in(point_cli_at: PointCli) -> Iterator[ThreadedTwin]:
    world = World(seed=5, speed=0.0)
    with ThreadedTwin(world, accounts=populate_demo(world, cars_per_account=1)) as running:
        assert running.cloud is not None
        point_cli_at(running)
        login = invoke("login", "--email", "demo1@teslalink.test", "--password", "teslalink-demo-1")
        assert login.exit_code == 0, login.output
        yield running


def rename_car(twin: ThreadedTwin, name: str) -> None:
    def rename() -> None:
        for car in twin.world.vehicles:
            car.display_name = name

    twin.call(rename)


def test_a_car_renamed_with_markup_is_listed(logged_in: ThreadedTwin) -> None:
    renamed = invoke("command", "SET_VEHICLE_NAME", "vehicle_name=Sparky [/]")
    assert renamed.exit_code == 0, renamed.output
    assert "Sparky [/]" in assert_clean(invoke("vehicles"))


def test_a_car_name_with_escape_sequences_never_reaches_the_terminal(logged_in: ThreadedTwin) -> None:
    rename_car(logged_in, HOSTILE)
    assert "Sparky [/]" in assert_clean(invoke("vehicles"))
    assert "Sparky [/]" in assert_clean(invoke("lock"))  # the plain "NAME: lock done." line
    printed = json.loads(assert_clean(invoke("vehicles", "--json")))
    assert printed[0]["display_name"] == HOSTILE  # JSON keeps every character, escaped


def test_an_error_line_holding_escape_sequences_is_printed_clean(tmp_path: Path) -> None:
    tariff = tmp_path / "\x1b]0;pwned\x07\x1b[2J.json"
    tariff.write_text("{not json")
    result = invoke("energy", "tariff", "--set", str(tariff))
    assert result.exit_code == 1
    lines = result.stderr.splitlines()
    assert len(lines) == 1, lines
    assert "/]0;pwned[2J.json: not JSON" in lines[0]
    assert not any(char in result.stderr for char in FORBIDDEN)


def test_a_status_message_with_markup_is_shown_as_text(capsys: pytest.CaptureFixture[str]) -> None:
    # rich's spinner parses a str message as markup whatever its console says
    status = safe_console().status("Waking [/]")
    status.update(f"waking: {HOSTILE} after 3 s")
    safe_console().print(status.renderable)
    printed = capsys.readouterr().out
    assert "waking: [/bold] Sparky [/]" in printed
    assert not any(char in printed for char in FORBIDDEN)


# --- the dashboard: a car and a site anyone with the account can name ----------------------------------


def test_the_dashboard_shows_hostile_car_and_site_names_as_text(capsys: pytest.CaptureFixture[str]) -> None:
    world = World(seed=11, speed=0.0, start=1_750_000_000)
    account = world.add_account("dash@teslalink.test", "pw-dash")
    world.add_vehicle(account, display_name=HOSTILE, battery_level=40.0)
    world.add_energy_site(account, site_name=HOSTILE, powerwalls=1)

    async def go(twin: ThreadedTwin) -> None:
        token = twin.call(lambda: world.auth.issue(world.account("dash@teslalink.test"))["access_token"])
        async with TeslaApi(twin.urls, StaticToken(token)) as api:
            board = await dashboard.build(api)
            try:
                await board.refresh()
                await dashboard.show(board, interval_s=0.2, duration_s=0.3, keys=False)
            finally:
                await dashboard.close(board)

    with ThreadedTwin(world) as twin:
        asyncio.run(go(twin))
    printed = capsys.readouterr().out
    assert "energy site: [/bold] Sparky [/]" in printed
    assert not any(char in printed for char in FORBIDDEN)
