"""`teslalink serve`'s front door: `--check` says ok or every problem with its line (exit 0 or
1), a broken or missing file stops the start with one `Error:` line per problem, never a
traceback; the service itself is run by tests/service/test_serve_process.py."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner, Result

from teslalink.cli.main import cli


def invoke(*args: str) -> Result:
    return CliRunner().invoke(cli, ["serve", *args], catch_exceptions=False)


def test_check_of_a_good_file_is_ok_and_exit_0(tmp_path: Path) -> None:
    config = tmp_path / "service.toml"
    config.write_text('[[wallconnector]]\nname = "garage"\nhost = "192.168.1.20"\n')
    result = invoke("--config", str(config), "--check")
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[0] == f"{config}: ok"
    assert "garage" in result.stdout


def test_check_of_a_bad_file_names_every_problem_with_its_line(tmp_path: Path) -> None:
    config = tmp_path / "service.toml"
    config.write_text('[listen]\nport = 70000\n\n[[wallconnector]]\nname = "garage"\nwiring = "four_phase"\n')
    result = invoke("--config", str(config), "--check")
    assert result.exit_code == 1
    lines = result.stderr.splitlines()
    assert lines[0].startswith(f"{config}:2: ")
    assert any(line.startswith(f"{config}:6: ") for line in lines)
    assert "Traceback" not in result.output


def test_serve_with_a_bad_file_stops_with_one_error_line_per_problem(tmp_path: Path) -> None:
    config = tmp_path / "service.toml"
    config.write_text("[listen]\nport = 70000\nhots = 1\n")
    result = invoke("--config", str(config))
    assert result.exit_code == 1
    lines = result.stderr.splitlines()
    assert len(lines) == 2
    assert all(line.startswith(f"Error: {config}:") for line in lines)
    assert "Traceback" not in result.output


def test_serve_without_a_file_says_how_to_make_one(tmp_path: Path) -> None:
    result = invoke("--config", str(tmp_path / "none.toml"))
    assert result.exit_code == 1
    (line,) = result.stderr.splitlines()
    assert line.startswith("Error: ")
    assert "teslalink config init" in line


def test_serve_is_listed_with_its_help() -> None:
    listed = CliRunner().invoke(cli, ["--help"])
    assert "serve" in listed.stdout
    helped = invoke("--help")
    assert helped.exit_code == 0
    assert "--check" in helped.stdout
