"""Shared test helpers: the copied real device responses."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

FIXTURES = Path(__file__).parent / "fixtures"


@pytest.fixture(autouse=True)
def _no_shared_config(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """No test reads or writes the user's ~/.config/teslalink (tokens, cooldowns): two runs at once,
    or two tests, would share it. A test that wants a token file still names its own."""
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path_factory.mktemp("config-home")))
    monkeypatch.delenv("TESLALINK_TOKEN_FILE", raising=False)


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
    report: pytest.TestReport = outcome.get_result()  # type: ignore[attr-defined]
    if report.when != "teardown" or not report.passed:
        return
    written = {
        name: text for name, text in (("stdout", report.capstdout), ("stderr", report.capstderr)) if text
    }
    if written:
        report.outcome = "failed"
        report.longrepr = "the test wrote to " + "; ".join(f"{k}: {v[:300]!r}" for k, v in written.items())
