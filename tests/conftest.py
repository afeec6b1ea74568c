"""Shared test helpers: the copied real device responses, the CLI pointed at a twin, and the guards
(quiet tests, no shared config, loopback only)."""

from __future__ import annotations

import asyncio
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from teslalink.simulator import ThreadedTwin

FIXTURES = Path(__file__).parent / "fixtures"


@pytest.fixture(autouse=True)
def _no_shared_config(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """No test reads or writes the user's ~/.config/teslalink (tokens, cooldowns): two runs at once,
    or two tests, would share it. A test that wants a token file still names its own."""
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path_factory.mktemp("config-home")))
    monkeypatch.delenv("TESLALINK_TOKEN_FILE", raising=False)


PointCli = Callable[["ThreadedTwin"], Path]


@pytest.fixture
def point_cli_at(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> PointCli:
    """`point_cli_at(twin)`: CLI commands in this test talk to `twin` (its SSO, Owner API and
    streaming URLs through the environment) and keep their tokens in a file of the test's own,
    whose path it returns."""

    def point(twin: ThreadedTwin) -> Path:
        urls = twin.urls
        token_file = tmp_path / "tokens.json"
        monkeypatch.setenv("TESLALINK_API_URL", urls.api)
        monkeypatch.setenv("TESLALINK_SSO_URL", urls.sso)
        monkeypatch.setenv("TESLALINK_STREAMING_URL", urls.streaming)
        monkeypatch.setenv("TESLALINK_TOKEN_FILE", str(token_file))
        monkeypatch.delenv("TESLALINK_EMAIL", raising=False)
        return token_file

    return point


def counting_down(left: float, total: float, since: float) -> bool:
    """Whether `left` seconds of a `total`-second wait started at `since` (time.time()) is right.

    A cooldown counts down in real time: judged against the time actually elapsed (plus a second
    for rounding), never against a fixed margin that a slow or busy machine would overrun.
    """
    elapsed = time.time() - since
    return total - elapsed - 1.0 <= left <= total


async def eventually(
    condition: Callable[[], bool], step: Callable[[], None] | None = None, hang_guard_s: float = 30.0
) -> None:
    """Yield to the loop (running `step` first, e.g. advancing the world) until `condition()` holds.

    Something that must happen, waited for: not a speed check. The hang guard only ends a wait
    that would otherwise never end (asyncio.timeout, TimeoutError).
    """
    async with asyncio.timeout(hang_guard_s):
        while not condition():
            if step is not None:
                step()
            await asyncio.sleep(0.01)


def readline_within(stream: IO[str] | None, hang_guard_s: float = 60.0) -> str:
    """The next line a child process prints, or a failed test when none comes.

    A plain `readline()` on a child's pipe waits forever if the child hangs before printing; a
    reader thread with a join timeout turns that into a failure (a hang guard, not a speed check).
    """
    assert stream is not None
    found: list[str] = []
    reader = threading.Thread(target=lambda: found.append(stream.readline()), daemon=True)
    reader.start()
    reader.join(hang_guard_s)
    if not found:
        pytest.fail(f"the child printed no line within {hang_guard_s:g} s")
    return found[0]


DEMO_EMAIL = "demo1@teslalink.test"
DEMO_PASSWORD = "teslalink-demo-1"


@pytest.fixture
def demo_twin(point_cli_at: PointCli) -> Iterator[ThreadedTwin]:
    """The demo world (`populate_demo`, two cars an account, the clock frozen) on its own thread,
    with the CLI pointed at it."""
    from teslalink.simulator import ThreadedTwin, World, populate_demo

    world = World(seed=5, speed=0.0)
    with ThreadedTwin(world, accounts=populate_demo(world, cars_per_account=2)) as running:
        point_cli_at(running)
        yield running


@pytest.fixture
def demo_logged_in(demo_twin: ThreadedTwin) -> ThreadedTwin:
    """`demo_twin` with demo1 logged in through `teslalink login`."""
    from click.testing import CliRunner

    from teslalink.cli.main import cli

    login = CliRunner().invoke(cli, ["login", "--email", DEMO_EMAIL, "--password", DEMO_PASSWORD])
    assert login.exit_code == 0, login.output
    return demo_twin


@pytest.fixture
def wc_fixture():
    """Read a Wall Connector fixture as bytes by file name."""

    def read(name: str) -> bytes:
        return (FIXTURES / "wall_connector" / name).read_bytes()

    return read


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    """A test that writes to stdout or stderr fails: tests print nothing but pytest's own output
    (figures belong in bench/). What a test captures itself (capsys, CliRunner, a subprocess's
    pipes) is not written, so it does not count."""
    outcome = yield
    report: pytest.TestReport = outcome.get_result()
    if report.when != "teardown" or not report.passed:
        return
    written = {
        name: text for name, text in (("stdout", report.capstdout), ("stderr", report.capstderr)) if text
    }
    if written:
        report.outcome = "failed"
        report.longrepr = "the test wrote to " + "; ".join(f"{k}: {v[:300]!r}" for k, v in written.items())


@pytest.fixture
def run_probe(tmp_path: Path) -> Callable[[str], subprocess.CompletedProcess[str]]:
    """Run a probe test file under this conftest in a fresh pytest process: how the guards here
    are tested (a guard that fails a test can only be watched from outside that run)."""

    def run(source: str) -> subprocess.CompletedProcess[str]:
        shutil.copy(Path(__file__), tmp_path / "conftest.py")
        (tmp_path / "test_probe.py").write_text(source)
        return subprocess.run(
            [sys.executable, "-m", "pytest", "-q", "-rE", "-p", "no:cacheprovider", str(tmp_path)],
            capture_output=True,
            text=True,
            timeout=120,  # a hang guard: a probe runs in about a second
            cwd=tmp_path,
            check=False,
        )

    return run


# --- the loopback guard: no test reaches beyond this machine ----------------------------------------
# Self-contained: installed once for the whole run (so session and module fixtures are covered too),
# checked after each test. It patches the Python-level entry points every client here goes through:
# socket.getaddrinfo (also behind asyncio's loop.getaddrinfo and aiohttp's threaded resolver),
# socket.socket.connect / connect_ex (also behind socket.create_connection and asyncio's
# sock_connect) and asyncio's loop.create_connection. A refused call raises `ReachedBeyondLoopback`
# (an OSError, so the code under test fails as on an unreachable network, never hangs) before the
# real call, so nothing is sent; and the test fails at teardown even if the code swallowed the error.
# Not covered, our choice: subprocesses a test starts (the `teslalink` CLI, TeslaPy) inherit nothing
# from this process; they are pointed at the twin on 127.0.0.1 by their arguments and environment.

import ipaddress  # noqa: E402
import socket  # noqa: E402
from typing import Any  # noqa: E402

_LOOPBACK_NAMES = frozenset({"localhost", "localhost.localdomain", "ip6-localhost", "ip6-loopback"})


class ReachedBeyondLoopback(OSError):
    """A test tried to resolve or connect to something that is not this machine."""


def _is_loopback(host: Any, *, passive_ok: bool = False) -> bool:
    """127.0.0.0/8, ::1 (also as ::ffff:127.x.y.z), localhost; with `passive_ok` also None, "",
    0.0.0.0 and :: (what a server binds; resolving them sends nothing)."""
    if isinstance(host, bytes):
        host = host.decode("ascii", "replace")
    if host is None or host == "":
        return passive_ok
    if not isinstance(host, str):
        return False
    text = host.strip("[]").split("%")[0].lower()
    if text in _LOOPBACK_NAMES or text.endswith(".localhost"):
        return True
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return address.is_loopback or (passive_ok and address.is_unspecified)


class LoopbackGuard:
    """The patched entry points, the real ones beneath them, and what was refused since the last check."""

    def __init__(self) -> None:
        self.real_getaddrinfo = socket.getaddrinfo
        self.real_connect = socket.socket.connect
        self.real_connect_ex = socket.socket.connect_ex
        self.real_create_connection = asyncio.base_events.BaseEventLoop.create_connection
        self.error = ReachedBeyondLoopback
        self._refused: list[str] = []
        self._lock = threading.Lock()

    def refuse(self, what: str) -> ReachedBeyondLoopback:
        message = (
            f"loopback guard: a test tried to reach {what}; tests talk only to 127.0.0.1, ::1 or unix sockets"
        )
        with self._lock:
            self._refused.append(message)
        return ReachedBeyondLoopback(message)

    def take(self) -> list[str]:
        """What was refused since the last call (and forget it: a test that expects a refusal takes it)."""
        with self._lock:
            refused, self._refused = self._refused, []
        return refused

    def install(self) -> None:
        guard = self

        def getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
            if not _is_loopback(host, passive_ok=True):
                raise guard.refuse(f"the name {host!r} (getaddrinfo)")
            return guard.real_getaddrinfo(host, *args, **kwargs)

        def allowed(sock: socket.socket, address: Any) -> bool:
            if sock.family == getattr(socket, "AF_UNIX", object()):
                return True
            return isinstance(address, tuple) and bool(address) and _is_loopback(address[0])

        def connect(self: socket.socket, address: Any) -> None:
            if not allowed(self, address):
                raise guard.refuse(f"{address!r} (socket.connect)")
            return guard.real_connect(self, address)

        def connect_ex(self: socket.socket, address: Any) -> int:
            if not allowed(self, address):
                raise guard.refuse(f"{address!r} (socket.connect_ex)")
            return guard.real_connect_ex(self, address)

        async def create_connection(
            self: asyncio.AbstractEventLoop,
            protocol_factory: Any,
            host: Any = None,
            *args: Any,
            **kwargs: Any,
        ) -> Any:
            if host is not None and not _is_loopback(host):
                raise guard.refuse(f"the host {host!r} (loop.create_connection)")
            return await guard.real_create_connection(self, protocol_factory, host, *args, **kwargs)

        socket.getaddrinfo = getaddrinfo
        socket.socket.connect = connect
        socket.socket.connect_ex = connect_ex
        asyncio.base_events.BaseEventLoop.create_connection = create_connection

    def uninstall(self) -> None:
        socket.getaddrinfo = self.real_getaddrinfo
        socket.socket.connect = self.real_connect
        socket.socket.connect_ex = self.real_connect_ex
        asyncio.base_events.BaseEventLoop.create_connection = self.real_create_connection


@pytest.fixture(scope="session")
def _installed_loopback_guard() -> Iterator[LoopbackGuard]:
    guard = LoopbackGuard()
    guard.install()
    yield guard
    guard.uninstall()


@pytest.fixture(autouse=True)
def loopback_guard(_installed_loopback_guard: LoopbackGuard) -> Iterator[LoopbackGuard]:
    """Fails the test when anything in it tried to reach beyond loopback, even if the error was caught."""
    guard = _installed_loopback_guard
    yield guard  # a refusal while this test's wider fixtures were set up counts for it too
    refused = guard.take()
    if refused:
        pytest.fail("\n".join(refused), pytrace=False)
