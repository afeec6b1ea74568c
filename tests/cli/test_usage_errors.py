"""Usage errors are two lines and exit 2, runtime errors one line and exit 1, and no error echoes what
may be a PIN (issue 13 L2, L3; README "Exit codes")."""

from __future__ import annotations

from pathlib import Path

import click
import pytest
from click.testing import CliRunner, Result

from teslalink.cli.main import cli, reported_in_one_line

CLOSED = "127.0.0.1:9"  # nothing is sent: every case fails while parsing


@pytest.fixture(autouse=True)
def nowhere(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Should a case reach the network, it meets a closed port and an empty token file."""
    monkeypatch.setenv("TESLALINK_API_URL", f"http://{CLOSED}")
    monkeypatch.setenv("TESLALINK_SSO_URL", f"http://{CLOSED}")
    monkeypatch.setenv("TESLALINK_STREAMING_URL", f"ws://{CLOSED}")
    monkeypatch.setenv("TESLALINK_TOKEN_FILE", str(tmp_path / "tokens.json"))


def invoke(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args), prog_name="teslalink", catch_exceptions=False)


USAGE_ERRORS = [
    (["charge", "limit", "abc"], "teslalink charge limit", "'abc' is not a valid integer"),
    (["charge", "limit"], "teslalink charge limit", "Missing argument 'PERCENT'"),
    (["wallconnector", CLOSED, "vitals", "--timeout", "0"], "teslalink wallconnector HOST vitals", "range"),
    (["wallconnector", CLOSED, "status", "--service", "foo"], "teslalink wallconnector HOST status", "'foo'"),
    (["wallconnector", CLOSED, "watch", "--interval", "x"], "teslalink wallconnector HOST watch", "'x'"),
    (["energy", "reserve", "150"], "teslalink energy reserve", "from 0 to 100 %, not 150"),
    (["climate", "temp", "72"], "teslalink climate temp", "a temperature needs its unit, e.g. 22C or 72F"),
    (["stream", "--count", "0"], "teslalink stream", "x>=1"),
    (["nosuch"], "teslalink", "No such command 'nosuch'"),
    (["charge", "nosuch"], "teslalink charge", "No such command 'nosuch'"),
    (["--bogus"], "teslalink", "No such option"),
    (["vehicles", "--bogus"], "teslalink vehicles", "No such option"),
    (["wake", "--timeout"], "teslalink wake", "requires an argument"),
    (["climate", "temp", "warm"], "teslalink climate temp", "'warm'"),
]


@pytest.mark.parametrize(
    ("args", "command", "words"), USAGE_ERRORS, ids=[" ".join(c[0]) for c in USAGE_ERRORS]
)
def test_a_usage_error_is_one_error_line_and_the_help_hint_with_exit_2(
    args: list[str], command: str, words: str
) -> None:
    result = invoke(*args)
    assert result.exit_code == 2, result.output
    assert result.stdout == ""
    error, hint = result.stderr.splitlines()
    assert error.startswith("Error: ")
    assert words in error
    assert hint == f"Try '{command} --help' for help."


def test_extra_arguments_are_not_echoed_they_may_be_a_pin() -> None:
    result = invoke("lock", "4827")
    assert result.exit_code == 2
    assert "4827" not in result.output
    assert (
        result.stderr.splitlines()[0]
        == "Error: Got unexpected extra argument (not shown: one may be a password or PIN)."
    )


@pytest.mark.parametrize("command", ["command", "api"])
def test_a_pin_given_without_a_key_is_not_echoed(command: str) -> None:
    result = invoke(command, "SPEED_LIMIT_ACTIVATE", "4827")
    assert result.exit_code == 1
    assert "4827" not in result.output
    assert result.stderr.splitlines() == [
        "Error: arguments are key=value, got a value not shown (it may be a PIN)"
    ]


def test_a_key_without_its_value_is_named() -> None:
    result = invoke("command", "CHANGE_CHARGE_LIMIT", "percent")
    assert result.exit_code == 1
    assert result.stderr.splitlines() == ["Error: arguments are key=value, got 'percent'"]


def test_a_runtime_error_with_newlines_is_one_line_with_exit_1(tmp_path: Path) -> None:
    tariff = tmp_path / "two\nlines.json"
    tariff.write_text("{not json")
    result = invoke("energy", "tariff", "--set", str(tariff))
    assert result.exit_code == 1
    assert len(result.stderr.splitlines()) == 1
    assert result.stderr.startswith("Error: ")
    assert "two lines.json: not JSON" in result.stderr


@pytest.mark.parametrize("args", [["--help"], ["--version"], ["charge", "--help"]])
def test_help_and_version_are_not_errors(args: list[str]) -> None:
    result = invoke(*args)
    assert result.exit_code == 0
    assert result.stdout.strip()
    assert result.stderr == ""


def test_a_group_without_a_subcommand_shows_its_help() -> None:
    result = invoke("wallconnector")
    assert result.exit_code in (0, 2)  # click 8.2+ says 2 (a usage error), 8.1 said 0
    assert "Usage: teslalink wallconnector" in result.output
    assert "Error" not in result.output


def interrupted_prompt() -> None:
    """What click.prompt does on Ctrl-C: Abort, raised "from None" while the interrupt is handled."""
    try:
        raise KeyboardInterrupt
    except KeyboardInterrupt:
        raise click.Abort() from None


def prompt_at_end_of_input() -> None:
    try:
        raise EOFError
    except EOFError:
        raise click.Abort() from None


def test_ctrl_c_at_a_prompt_is_exit_130(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_, reported_in_one_line():
        interrupted_prompt()
    assert exit_.value.code == 130
    assert capsys.readouterr().err == "Aborted!\n"


def test_end_of_input_at_a_prompt_stays_click_s_abort_exit_1() -> None:
    with pytest.raises(click.Abort), reported_in_one_line():
        prompt_at_end_of_input()
