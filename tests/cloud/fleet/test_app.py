"""The partner app's configuration file: where it lives, 0600, round trip, the secret kept out of
reprs and errors, and every malformed file a clear ConfigError naming the file."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest

from teslalink.cloud.fleet.app import FleetApp, default_app_path, default_key_path
from teslalink.cloud.fleet.hosts import FLEET_API_URLS, FLEET_AUTH_URL, FleetHosts
from teslalink.errors import ConfigError

SECRET = "ta-secret.very-private-value"


def _app(**changes: object) -> FleetApp:
    values: dict[str, object] = {
        "client_id": "client-1",
        "client_secret": SECRET,
        "redirect_uri": "http://127.0.0.1:8765/callback",
        "domain": "app.example.com",
    }
    values.update(changes)
    return FleetApp(**values)  # type: ignore[arg-type]


def test_default_path_honours_xdg_config_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "cfg"))
    assert default_app_path() == tmp_path / "cfg" / "teslalink" / "fleet.json"
    assert default_key_path() == tmp_path / "cfg" / "teslalink" / "fleet-key.pem"
    monkeypatch.delenv("XDG_CONFIG_HOME")
    assert default_app_path() == Path.home() / ".config" / "teslalink" / "fleet.json"


def test_save_load_round_trip_0600_and_the_default_place(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "cfg"))
    for name in ("TESLALINK_FLEET_AUTH_URL", "TESLALINK_FLEET_API_URL_NA"):
        monkeypatch.delenv(name, raising=False)
    app = _app(key_path=tmp_path / "key.pem")
    written = app.save()
    assert written == tmp_path / "cfg" / "teslalink" / "fleet.json"
    assert stat.S_IMODE(written.stat().st_mode) == 0o600
    assert stat.S_IMODE(written.parent.stat().st_mode) == 0o700
    loaded = FleetApp.load()
    assert loaded == app
    assert loaded.hosts.auth == FLEET_AUTH_URL
    assert "hosts" not in json.loads(written.read_text())  # Tesla's hosts need not be written
    assert [p.name for p in written.parent.iterdir()] == ["fleet.json"]  # no temporary file left


def test_the_secret_is_in_no_repr() -> None:
    app = _app()
    assert SECRET not in repr(app)
    assert SECRET not in str(app)
    assert "client-1" in repr(app)


def test_hosts_are_saved_when_not_teslas_and_the_environment_wins(tmp_path: Path) -> None:
    path = tmp_path / "fleet.json"
    hosts = FleetHosts(api={**FLEET_API_URLS, "eu": "http://127.0.0.1:9/"}, auth="http://127.0.0.1:8/")
    _app(hosts=hosts).save(path)
    saved = json.loads(path.read_text())
    assert saved["hosts"] == {"auth": "http://127.0.0.1:8/", "api": {"eu": "http://127.0.0.1:9/"}}
    assert FleetApp.load(path, environ={}).hosts == hosts
    env = {"TESLALINK_FLEET_API_URL_EU": "http://127.0.0.1:7/"}
    assert FleetApp.load(path, environ=env).hosts.base_url("eu") == "http://127.0.0.1:7/"
    assert FleetApp.load(path, environ=env).hosts.auth == "http://127.0.0.1:8/"


def test_a_missing_file_says_how_to_make_one(tmp_path: Path) -> None:
    path = tmp_path / "fleet.json"
    with pytest.raises(ConfigError, match="teslalink fleet setup") as caught:
        FleetApp.load(path, environ={"TESLALINK_FLEET_CLIENT_ID": "only-the-id"})
    assert str(caught.value).startswith(str(path))
    assert "TESLALINK_FLEET_CLIENT_SECRET" in str(caught.value)


def test_the_environment_stands_in_for_the_file_and_wins_over_it(tmp_path: Path) -> None:
    env = {
        "TESLALINK_FLEET_CLIENT_ID": "env-client",
        "TESLALINK_FLEET_CLIENT_SECRET": SECRET,
        "TESLALINK_FLEET_REDIRECT_URI": "http://localhost:9999/cb",
        "TESLALINK_FLEET_DOMAIN": "env.example.com",
        "TESLALINK_FLEET_KEY_FILE": str(tmp_path / "env-key.pem"),
    }
    path = tmp_path / "fleet.json"
    from_env = FleetApp.load(path, environ=env)  # no file at all
    assert (from_env.client_id, from_env.client_secret, from_env.redirect_uri) == (
        "env-client",
        SECRET,
        "http://localhost:9999/cb",
    )
    assert from_env.domain == "env.example.com"
    assert from_env.key_path == tmp_path / "env-key.pem"
    _app().save(path)
    mixed = FleetApp.load(path, environ={"TESLALINK_FLEET_DOMAIN": "other.example.com"})
    assert mixed.client_id == "client-1"  # from the file
    assert mixed.domain == "other.example.com"  # the environment's


@pytest.mark.parametrize(
    ("content", "words"),
    [
        (b"{not json", "not valid JSON"),
        (b'["a list"]', "must be a JSON object"),
        (b'{"client_secret": "s", "redirect_uri": "http://127.0.0.1:1/"}', "'client_id' is missing"),
        (b'{"client_id": "c", "redirect_uri": "http://127.0.0.1:1/"}', "'client_secret' is missing"),
        (b'{"client_id": "c", "client_secret": "s"}', "'redirect_uri' is missing"),
        (b'{"client_id": 5, "client_secret": "s", "redirect_uri": "http://x/"}', "'client_id' must be"),
        (b'{"client_id": "c", "client_secret": "s", "redirect_uri": "nothing"}', "is not a URL"),
        (b'{"client_id": "c", "client_secret": "s", "redirect_uri": "http://x/", "domain": 3}', "'domain'"),
        (b'{"client_id": "c", "client_secret": "s", "redirect_uri": "http://x/", "key_path": 3}', "key_path"),
        (b'{"client_id": "c", "client_secret": "s", "redirect_uri": "http://x/", "hosts": []}', "'hosts'"),
        (
            b'{"client_id": "c", "client_secret": "s", "redirect_uri": "http://x/", "hosts": {"auth": "ftp://x"}}',
            "must start with http",
        ),
    ],
    ids=[
        "not-json", "not-object", "no-id", "no-secret", "no-redirect", "id-type", "redirect-not-url",
        "domain-type", "key-type", "hosts-type", "hosts-url",
    ],
)  # fmt: skip
def test_a_bad_file_is_one_clear_error_naming_it_and_is_left_alone(
    tmp_path: Path, content: bytes, words: str
) -> None:
    path = tmp_path / "fleet.json"
    path.write_bytes(content)
    with pytest.raises(ConfigError, match=words) as caught:
        FleetApp.load(path, environ={})
    message = str(caught.value)
    assert message.startswith(str(path))
    assert "\n" not in message
    assert path.read_bytes() == content


def test_a_secret_in_a_bad_file_is_never_repeated(tmp_path: Path) -> None:
    path = tmp_path / "fleet.json"
    path.write_text(json.dumps({"client_id": "c", "client_secret": SECRET, "redirect_uri": SECRET}))
    with pytest.raises(ConfigError) as caught:
        FleetApp.load(path, environ={})
    assert "is not a URL" in str(caught.value)
    assert SECRET not in str(caught.value)


def test_a_directory_in_the_way_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "fleet.json"
    path.mkdir()
    with pytest.raises(ConfigError, match="not a regular file"):
        FleetApp.load(path)
    with pytest.raises(ConfigError, match="cannot write the Fleet app configuration"):
        _app().save(path)
    assert path.is_dir()
    assert list(tmp_path.iterdir()) == [path]  # no temporary file left behind
