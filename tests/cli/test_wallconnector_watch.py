"""`wallconnector watch` and `demo --wallconnectors`: into a pipe, as JSON lines, on a terminal, with a
state file, and when a unit's answers kill the poller. Twins and hostile devices on loopback."""

from __future__ import annotations

import asyncio
import contextlib
import errno
import fcntl
import io
import json
import os
import pty
import re
import select
import struct
import subprocess
import sys
import termios
import time
from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest
from click.testing import CliRunner
from hostile_device import VITALS_FIXTURE, HostileDevice, http_answer
from rich.console import Console

import teslalink
from teslalink.cli import live
from teslalink.cli.main import cli
from teslalink.simulator import ThreadedTwin, Wiring, World, serve_wall_connectors
from teslalink.wallconnector import LifetimeEnergy, SessionMonitor, WallConnector, monitor

# No COLUMNS or LINES: the pseudo-terminal's own size must decide.
ENV = {name: value for name, value in os.environ.items() if name not in ("COLUMNS", "LINES")}
ENV["PYTHONPATH"] = str(Path(teslalink.__file__).parent.parent)
TESLALINK = [sys.executable, "-m", "teslalink"]


@pytest.fixture
def urls() -> Iterator[list[str]]:
    """One charging unit served from the twin's own thread: its base URL."""
    world = World(seed=3, speed=0.0, start=1_700_000_000)
    world.add_wall_connector(wiring=Wiring.SPLIT_PHASE).plug_in(32.0)
    world.advance(600)
    with ThreadedTwin(world, wall_connectors_only=True) as twin:
        yield twin.wall_connector_urls


def read_until(fd: int, needle: bytes, deadline_s: float = 30.0) -> bytes:
    """Bytes from `fd` until `needle` appears, EOF or the (generous, hang-guarding) deadline."""
    seen = b""
    end = time.monotonic() + deadline_s
    while needle not in seen and time.monotonic() < end:
        ready, _, _ = select.select([fd], [], [], 0.2)
        if ready:
            try:
                chunk = os.read(fd, 65536)
            except OSError:  # a pty raises EIO once the child is gone
                break
            if not chunk:
                break
            seen += chunk
    return seen


# --- a poller that dies -----------------------------------------------------------------------------


def test_a_poller_that_dies_fails_the_command(urls, monkeypatch):
    # No device answer kills the poller any more (the transport and decoder turn every hostile one
    # into a teslalink error or None), so a bug is injected in the client: an exception nobody
    # expects must not freeze the view on "waiting…" with exit 0.
    async def broken_vitals(self: WallConnector) -> None:
        raise RuntimeError("a bug in the client")

    monkeypatch.setattr(WallConnector, "vitals", broken_vitals)
    result = CliRunner().invoke(
        cli, ["wallconnector", urls[0], "watch", "--duration", "20", "--interval", "0.5"]
    )
    assert result.exit_code == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    assert "polling stopped on an unexpected error (RuntimeError: a bug in the client)" in lines[0]
    assert urls[0].removeprefix("http://") in lines[0]
    assert "Traceback" not in result.output


# --- not a terminal: plain lines and JSON lines ---------------------------------------------------


def test_watch_into_a_pipe_prints_a_plain_line_per_reading_while_it_runs(urls):
    proc = subprocess.Popen(
        [*TESLALINK, "wallconnector", urls[0], "watch", "--interval", "0.5"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        env=ENV,
    )
    try:
        assert proc.stdout is not None
        seen = read_until(proc.stdout.fileno(), b"charging")
        seen += read_until(proc.stdout.fileno(), b"\n")  # the rest of that line
    finally:
        proc.terminate()
        proc.wait(10)
    first = seen.decode().splitlines()[0]
    assert f"{urls[0].removeprefix('http://')}: charging" in first
    assert "kW" in first
    assert b"\x1b" not in seen  # no ANSI codes in a pipe


def test_demo_into_a_pipe_prints_every_unit_and_no_escape_codes():
    done = subprocess.run(
        [*TESLALINK, "demo", "--wallconnectors", "--duration", "2", "--interval", "0.5"],
        check=False,
        capture_output=True,
        env=ENV,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    lines = done.stdout.decode().splitlines()
    for unit in ("garage: charging", "office: ", "cottage: "):
        assert any(unit in line for line in lines), unit
    assert b"\x1b" not in done.stdout


def test_watch_json_prints_one_object_per_reading(urls):
    result = CliRunner().invoke(
        cli, ["wallconnector", urls[0], "watch", "--json", "--duration", "1.6", "--interval", "0.5"]
    )
    assert result.exit_code == 0, result.output
    records = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(records) >= 2
    for record in records:
        assert record["unit"] == urls[0].removeprefix("http://")
        assert record["vitals"]["evse_state"] == "charging"
        assert record["power"]["service"] == "split_phase"
        assert record["error"] is None


# --- a terminal: the live table and the q key -------------------------------------------------------


def test_q_quits_the_wall_connector_demo_on_a_terminal():
    """On a default 80x24 terminal every column shows, the keys are named, and q ends the demo."""
    pid, fd = pty.fork()
    if pid == 0:  # the child: the demo on the pseudo-terminal, sized before anything reads the size
        fcntl.ioctl(0, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 80, 0, 0))
        os.execve(sys.executable, [*TESLALINK, "demo", "--wallconnectors", "--interval", "0.5"], ENV)
    status = None
    try:
        shown = read_until(fd, b"q or Ctrl-C quits")
        assert b"q or Ctrl-C quits" in shown, shown[-2000:]
        shown += read_until(fd, b"0:01:")  # a minute into the world: every column at its full width
        shown += read_until(fd, b"quits")  # the rest of that frame
        frame = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", shown.decode(errors="replace")).rsplit("unit ", 1)[-1]
        assert re.search(r"garage +charging .* split\b", frame), frame  # cut at 80 columns before
        os.write(fd, b"zzzz")  # any other key: neither echoed nor acted on
        assert b"zzzz" not in read_until(fd, b"quits")  # the next frame came, without the keys
        os.write(fd, b"q")
        read_until(fd, b"\x00never")  # drain until the child closes the terminal
        end = time.monotonic() + 30
        while status is None and time.monotonic() < end:
            done, code = os.waitpid(pid, os.WNOHANG)
            status = code if done == pid else None
            time.sleep(0.05)
        assert status is not None, "q did not end the demo"
        assert os.waitstatus_to_exitcode(status) == 0
    finally:
        if status is None:
            os.kill(pid, 9)
            os.waitpid(pid, 0)
        os.close(fd)


# --- --state FILE ----------------------------------------------------------------------------------


@pytest.mark.parametrize("where", ["missing/state.json", "a-file/state.json"])
def test_an_unusable_state_path_is_one_line_before_any_polling(tmp_path, where):
    (tmp_path / "a-file").write_text("not a directory")
    path = tmp_path / where
    answers = {"/api/1/vitals": http_answer(VITALS_FIXTURE.read_bytes())}
    with HostileDevice(answers) as device:
        result = CliRunner().invoke(
            cli, ["wallconnector", device.host, "watch", "--duration", "5", "--state", str(path)]
        )
    assert result.exit_code == 1
    lines = result.output.strip().splitlines()
    assert len(lines) == 1
    assert "cannot be written" in lines[0]
    assert str(path) in lines[0]
    assert device.requests == []  # it failed before polling
    assert not path.exists()


def test_the_state_is_saved_at_exit_in_the_library_format(urls, tmp_path):
    path = tmp_path / "garage.json"
    result = CliRunner().invoke(
        cli,
        [
            "wallconnector",
            urls[0],
            "watch",
            "--duration",
            "1.2",
            "--interval",
            "0.5",
            "--state",
            str(path),
        ],
    )
    assert result.exit_code == 0, result.output
    state = orjson.loads(path.read_bytes())
    sessions, lifetime = SessionMonitor(), LifetimeEnergy()
    sessions.restore(state["sessions"])
    lifetime.restore(state["lifetime"])
    assert sessions.in_progress is not None  # the charging session it followed
    assert lifetime.baseline_wh is not None
    assert [p.name for p in tmp_path.iterdir()] == ["garage.json"]  # no temporary file left behind

    again = CliRunner().invoke(
        cli,
        [
            "wallconnector",
            urls[0],
            "watch",
            "--duration",
            "0.6",
            "--interval",
            "0.5",
            "--state",
            str(path),
        ],
    )
    assert again.exit_code == 0, again.output  # and the next run continues from it


async def test_the_state_is_saved_periodically_not_only_at_exit(tmp_path, monkeypatch):
    # The file is written at start, when nothing is known yet; finding the followed session in it
    # while the watch still runs proves a save on schedule (a minute by default, shortened here).
    monkeypatch.setattr(monitor, "STATE_SAVE_EVERY_S", 0.3)
    world = World(seed=3, speed=0.0, start=1_700_000_000)
    world.add_wall_connector(wiring=Wiring.SPLIT_PHASE).plug_in(32.0)
    path = tmp_path / "garage.json"
    async with serve_wall_connectors(world) as servers, WallConnector(servers[0].url) as client:
        watching = asyncio.create_task(
            live.watch(
                [client], ["garage"], interval_s=0.5, state_path=path, console=Console(file=io.StringIO())
            )
        )
        try:
            for _ in range(100):  # 10 s at most
                await asyncio.sleep(0.1)
                if orjson.loads(path.read_bytes())["sessions"]["open"] is not None:
                    break
            assert not watching.done()
        finally:
            watching.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await watching
    sessions = SessionMonitor()
    sessions.restore(orjson.loads(path.read_bytes())["sessions"])
    assert sessions.in_progress is not None


def test_a_state_that_cannot_be_saved_is_one_line_and_the_previous_file_is_kept(urls, tmp_path, monkeypatch):
    # The disk fills up after the start's save: the real atomic writer meets ENOSPC at its rename.
    path = tmp_path / "garage.json"
    real_replace, renames = os.replace, []

    def replace(src: str, dst: str | os.PathLike[str]) -> None:
        if Path(dst) == path:
            renames.append(dst)
            if len(renames) > 1:
                raise OSError(errno.ENOSPC, "No space left on device")
        real_replace(src, dst)

    monkeypatch.setattr(os, "replace", replace)
    args = ["wallconnector", urls[0], "watch", "--duration", "1.2", "--interval", "0.5"]
    result = CliRunner().invoke(cli, [*args, "--state", str(path)])
    assert result.exit_code == 1
    assert len(renames) == 2  # the start's save, then the one that failed
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "cannot be written" in lines[0]
    assert "No space left on device" in lines[0]
    assert "the previous file, if any, is kept" in lines[0]
    sessions = SessionMonitor()
    sessions.restore(orjson.loads(path.read_bytes())["sessions"])  # the start's save, intact
    assert [p.name for p in tmp_path.iterdir()] == ["garage.json"]  # no temporary file left
