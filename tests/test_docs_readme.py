"""The README's shell walk-throughs say what the code does: the ports `sim` serves on, and the
login and read commands that follow, run against the twin (the car commands' lines are run by
tests/cli/test_help_examples.py, the energy ones by tests/cli/test_energy_cli_words.py)."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

from click.testing import CliRunner

from teslalink.cli.main import cli
from teslalink.cli.sim import DEFAULT_PORT
from teslalink.simulator import ThreadedTwin
from teslalink.simulator.serve import ports_from_base

README = Path(__file__).resolve().parents[1] / "README.md"
_EXPORT = re.compile(r"TESLALINK_(SSO|API|STREAMING)_URL=(\w+)://127\.0\.0\.1:(\d+)/")
_SIM_ALL = re.compile(r"teslalink sim all --port (\d+)")


def shell_lines() -> list[str]:
    """Every line of the README's ```sh blocks, continuation lines joined."""
    lines: list[str] = []
    in_sh = False
    for line in README.read_text("utf-8").splitlines():
        stripped = line.strip()
        if stripped.startswith("```"):
            in_sh = stripped == "```sh" and not in_sh
            continue
        if in_sh:
            if lines and lines[-1].endswith("\\"):
                lines[-1] = lines[-1][:-1] + " " + stripped
            else:
                lines.append(stripped)
    return lines


def test_the_exported_urls_are_the_ports_sim_all_serves_on() -> None:
    lines = shell_lines()
    bases = {int(found[1]) for line in lines if (found := _SIM_ALL.search(line))}
    assert bases, "the README starts `sim all --port P` somewhere"
    exports = [found for line in lines for found in _EXPORT.findall(line)]
    assert exports
    for base in bases:
        layout = ports_from_base(base)
        expected = {
            "SSO": ("http", layout["sso_na"]),
            "API": ("http", layout["owner_api"]),
            "STREAMING": ("ws", layout["streaming"]),
        }
        for name, scheme, port in exports:
            assert (scheme, int(port)) == expected[name], f"TESLALINK_{name}_URL in the README"


def test_the_wall_connector_twin_listens_where_the_readme_says() -> None:
    watched = [line for line in shell_lines() if line.startswith("teslalink wallconnector 127.0.0.1:")]
    assert watched
    for line in watched:
        port = int(line.split()[2].split(":")[1].split("/")[0])
        assert port == DEFAULT_PORT  # `sim wallconnector` without --port: the first unit's port


def test_the_login_walk_through_runs(demo_twin: ThreadedTwin) -> None:
    commands = [
        shlex.split(line.split("#")[0])[1:]
        for line in shell_lines()
        if line.startswith(("teslalink login", "teslalink logout"))
    ]
    assert commands
    for args in commands:
        result = CliRunner().invoke(cli, args, catch_exceptions=False)
        assert result.exit_code == 0, (args, result.output)
