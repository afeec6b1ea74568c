"""`teslalink config init|check|path`: the starter written privately and never over a file, every
problem on its own line with exit code 1, and the logins of the named accounts checked."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from teslalink.cli.config import check_lines
from teslalink.cli.main import cli
from teslalink.service.config import STARTER_TEXT
from teslalink.simulator import ThreadedTwin

DEMO1 = "demo1@teslalink.test"


def invoke(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def one_line_error(result: Result) -> str:
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("Error: ")
    return lines[0]


def default_path() -> Path:
    return Path(os.environ["XDG_CONFIG_HOME"]) / "teslalink" / "service.toml"  # each test has its own


def test_config_is_a_command_of_teslalink() -> None:
    result = invoke("--help")
    assert "config" in result.stdout
    assert "The service's configuration file" in result.stdout


def test_path_follows_the_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    assert invoke("config", "path").stdout == f"{default_path()}\n"
    monkeypatch.setenv("TESLALINK_CONFIG", str(tmp_path / "mine.toml"))
    assert invoke("config", "path").stdout == f"{tmp_path / 'mine.toml'}\n"


def test_init_writes_the_starter_privately_and_says_where() -> None:
    result = invoke("config", "init")
    assert result.exit_code == 0, result.output
    path = default_path()
    assert result.stdout == f"{path}\n"
    assert path.read_text("utf-8") == STARTER_TEXT
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700  # the folder it made
    assert [p.name for p in path.parent.iterdir()] == ["service.toml"]  # no temporary file left


def test_init_never_replaces_a_file_without_force(tmp_path: Path) -> None:
    path = tmp_path / "service.toml"
    path.write_text("# mine\n[listen]\nport = 9000\n", encoding="utf-8")
    error = one_line_error(invoke("config", "init", "--path", str(path)))
    assert error == (
        f"Error: {path} exists; `teslalink config check` checks it, --force replaces it with the starter"
    )
    assert path.read_text("utf-8").startswith("# mine")
    result = invoke("config", "init", "--path", str(path), "--force")
    assert result.exit_code == 0, result.output
    assert path.read_text("utf-8") == STARTER_TEXT
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_init_into_a_folder_or_where_it_cannot_write_is_one_line(tmp_path: Path) -> None:
    assert one_line_error(invoke("config", "init", "--path", str(tmp_path))) == (
        f"Error: {tmp_path} is a folder; give the path of a file"
    )
    blocker = tmp_path / "a-file"
    blocker.write_text("", encoding="utf-8")
    error = one_line_error(invoke("config", "init", "--path", str(blocker / "service.toml")))
    assert error.startswith(f"Error: {blocker / 'service.toml'}: cannot write it: ")


def test_the_written_starter_checks_ok_with_a_summary(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    assert invoke("config", "init").exit_code == 0
    result = invoke("config", "check")
    assert result.exit_code == 0, result.output
    assert result.stderr == ""
    assert result.stdout.splitlines() == [
        f"{default_path()}: ok",
        f"watches nothing yet (add an [[account]] or a [[wallconnector]]); records to SQLite "
        f"{tmp_path / 'data' / 'teslalink' / 'teslalink.db'}; notifies no one (no [[notify.target]]); "
        "listens on http://127.0.0.1:8765",
    ]


def test_check_lists_every_problem_and_exits_1(tmp_path: Path) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(
        '[listen]\nport = 70000\n\n[[wallconnector]]\nname = "garage"\n\n[notify.events]\ncar_aslep = true\n',
        encoding="utf-8",
    )
    result = invoke("config", "check", "--config", str(path))
    assert result.exit_code == 1
    assert result.stdout == ""
    assert "Traceback" not in result.output
    assert result.stderr.splitlines() == [
        f"{path}:2: listen.port 70000 is out of range (1-65535)",
        f"{path}:4: wallconnector #1 has no host: it is required",
        f"{path}:8: unknown event kind 'car_aslep' in [notify.events]; did you mean 'car_asleep'?",
    ]


def test_check_of_a_missing_file_or_a_syntax_error_is_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    missing = tmp_path / "none.toml"
    monkeypatch.setenv("TESLALINK_CONFIG", str(missing))
    result = invoke("config", "check")
    assert (result.exit_code, result.stderr) == (
        1,
        f"{missing}: no such file; `teslalink config init` writes a starter\n",
    )
    missing.write_text("[listen]\nport = = 1\n", encoding="utf-8")
    result = invoke("config", "check")
    assert result.exit_code == 1
    assert result.stderr.startswith(f"{missing}:2: not valid TOML: invalid value (column 8)")
    assert len(result.stderr.splitlines()) == 1


def test_check_never_shows_a_secret(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "secret.toml"
    path.write_text(
        '[storage]\nbackend = "postgres"\ndsn = "mysql://root:Hunter2-pw@db"\n'
        '[[notify.target]]\nkind = "webhook"\nurl = "ftp://hooks.test/Tok-3f9a"\n',
        encoding="utf-8",
    )
    bad = invoke("config", "check", "--config", str(path))
    assert bad.exit_code == 1
    assert len(bad.stderr.splitlines()) == 2
    path.write_text(
        '[storage]\nbackend = "postgres"\n[[notify.target]]\nkind = "ntfy"\nurl = "https://ntfy.sh/Tok-3f9a"\n',
        encoding="utf-8",
    )
    os.chmod(path, 0o644)
    monkeypatch.setenv("TESLALINK_DSN", "postgresql://u:Hunter2-pw@db/tl")
    good = invoke("config", "check", "--config", str(path))
    assert good.exit_code == 0, good.output
    assert "PostgreSQL (the dsn is not shown)" in good.stdout
    assert f"{path}:5: warning: this file holds a secret" in good.stdout  # the url, readable by others
    for said in (bad.output, good.output):
        assert "Hunter2" not in said
        assert "Tok-3f9a" not in said


def test_check_says_which_accounts_have_no_login(demo_logged_in: ThreadedTwin, tmp_path: Path) -> None:
    path = tmp_path / "service.toml"
    path.write_text(
        f'[[account]]\nemail = "{DEMO1}"\n\n[[account]]\nemail = "nobody@teslalink.test"\n'
        f'\n[[account]]\nemail = "{DEMO1.upper()}x"\napi = "fleet"\n',
        encoding="utf-8",
    )
    ok, lines = check_lines(path)
    assert ok
    token_file = os.environ["TESLALINK_TOKEN_FILE"]
    assert lines[1].startswith(f"watches 3 accounts ({DEMO1}, nobody@teslalink.test, ")
    assert lines[2:] == [
        f"{path}: warning: nobody@teslalink.test has no login in {token_file}; run "
        "`teslalink login --email nobody@teslalink.test` or `teslalink fleet login`",
        f"{path}: warning: {DEMO1.upper()}x has no login in {token_file}; run `teslalink fleet login`",
    ]


def test_check_lines_is_what_the_command_prints(tmp_path: Path) -> None:
    path = tmp_path / "service.toml"
    path.write_text('[[wallconnector]]\nname = "garage"\nhost = "192.168.1.50"\n', encoding="utf-8")
    ok, lines = check_lines(path)
    assert ok
    assert invoke("config", "check", "--config", str(path)).stdout.splitlines() == lines
    assert "1 Wall Connector (garage)" in lines[1]
