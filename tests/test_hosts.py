"""Host names no connection could use are a ConfigError at once, for Wall Connectors and the cloud."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from teslalink import errors
from teslalink.cli.main import cli
from teslalink.cloud.config import CloudUrls
from teslalink.wallconnector import parse_host

LONG_LABEL = "a" * 64  # DNS allows 63 characters per label; the idna codec raises UnicodeError


@pytest.mark.parametrize(
    "host", [LONG_LABEL, f"{LONG_LABEL}.local:80", f"http://{LONG_LABEL}/", "twc..local", f"x.{LONG_LABEL}"]
)
def test_a_wall_connector_host_with_a_bad_label_is_a_config_error(host):
    with pytest.raises(errors.ConfigError, match="1 to 63 characters"):
        parse_host(host)


@pytest.mark.parametrize("name", ["api", "sso", "streaming"])
def test_a_cloud_url_with_a_bad_label_is_a_config_error(name):
    scheme = "wss" if name == "streaming" else "https"
    with pytest.raises(errors.ConfigError, match=f"{name} URL .* 1 to 63 characters"):
        CloudUrls(**{name: f"{scheme}://{LONG_LABEL}.test/"})


@pytest.mark.parametrize("value", ["https://x:99999/", "https://[::1/", "https:///path"])
def test_other_unusable_cloud_urls_are_config_errors(value):
    with pytest.raises(errors.ConfigError, match="api URL"):
        CloudUrls(api=value)


def test_63_characters_and_ip_addresses_are_fine():
    assert parse_host("a" * 63).host == "a" * 63
    assert str(parse_host("[::1]:8080")) == "http://[::1]:8080/"
    assert CloudUrls(api=f"http://{'a' * 63}.test:8080").api == f"http://{'a' * 63}.test:8080/"


def one_line_error(args: list[str]) -> str:
    result = CliRunner().invoke(cli, args, catch_exceptions=False)
    assert result.exit_code == 1, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.output
    return lines[0]


@pytest.mark.parametrize(
    ("option", "url"),
    [
        ("--api-url", f"https://{LONG_LABEL}.test/"),
        ("--sso-url", f"https://{LONG_LABEL}.test/"),
        ("--streaming-url", f"wss://{LONG_LABEL}.test/"),
    ],
)
def test_the_cli_says_one_line_for_a_cloud_url_with_a_bad_label(option, url, tmp_path: Path, monkeypatch):
    monkeypatch.setenv("TESLALINK_TOKEN_FILE", str(tmp_path / "tokens.json"))
    login = ["login", "--email", "demo1@teslalink.test", "--password", "x", option, url]
    assert "1 to 63 characters" in one_line_error(login)


def test_the_cli_says_one_line_for_a_wall_connector_host_with_a_bad_label():
    assert "1 to 63 characters" in one_line_error(["wallconnector", LONG_LABEL, "vitals"])
