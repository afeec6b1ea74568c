"""Every example in the `teslalink energy ...` help runs against the twin, and the help says the units."""

from __future__ import annotations

import shlex
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from conftest import PointCli
from teslalink.cli.energy import energy
from teslalink.cli.main import cli
from teslalink.simulator import ThreadedTwin, World

EMAIL = "words@teslalink.test"
PASSWORD = "energy-words-1"


def help_text(*command: str) -> str:
    result = CliRunner().invoke(cli, [*command, "--help"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.output


def examples() -> list[str]:
    """The example lines of every energy command's --help, in the order the help gives them."""
    found = []
    for name in sorted(energy.commands):
        for line in help_text("energy", name).splitlines():
            if line.strip().startswith("teslalink energy "):
                found.append(line.strip())
    return found


@pytest.fixture
def twin(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, point_cli_at: PointCli) -> Iterator[ThreadedTwin]:
    world = World(seed=23, speed=0.0)
    account = world.add_account(EMAIL, PASSWORD)
    world.add_energy_site(account, site_name="My Home")
    world.add_energy_site(account, site_name="Barn", powerwalls=0)  # the examples' solar-only site
    world.advance(3600.0)
    with ThreadedTwin(world) as running:
        assert running.cloud is not None
        point_cli_at(running)
        monkeypatch.setenv("TESLALINK_EMAIL", EMAIL)
        monkeypatch.chdir(tmp_path)  # examples that write a file write it here
        login = CliRunner().invoke(cli, ["login", "--password", PASSWORD], catch_exceptions=False)
        assert login.exit_code == 0, login.output
        yield running


def run_example(line: str) -> None:
    """Run one help line as the shell would: `teslalink ARGS [> FILE]`."""
    words = shlex.split(line)
    assert words[0] == "teslalink"
    target = None
    if ">" in words:
        at = words.index(">")
        words, target = words[:at], words[at + 1]
    result = CliRunner().invoke(cli, words[1:], catch_exceptions=False)
    assert result.exit_code == 0, f"{line}\n{result.output}"
    if target is not None:
        Path(target).write_text(result.stdout)


def test_every_energy_command_has_examples() -> None:
    found = examples()
    for name in energy.commands:
        assert any(line.startswith(f"teslalink energy {name}") for line in found), name


def test_every_example_runs_against_the_twin(twin: ThreadedTwin) -> None:
    found = examples()
    assert len(found) >= 14
    for line in found:
        run_example(line)


def test_help_names_ranges_and_units() -> None:
    assert "0-100 %" in help_text("energy", "reserve")
    assert "kW" in help_text("energy", "status")
    history = help_text("energy", "history")
    assert "kWh" in history
    assert "2026-11-24T23:59:59-08:00" in history
    assert "--json" in help_text("energy", "tariff")
