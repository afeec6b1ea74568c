"""The README's shell walk-throughs say what the code does: the ports `sim` serves on (the Fleet
twin's too), and the login and read commands that follow, run against the twin (the car commands'
lines are run by tests/cli/test_help_examples.py, the energy ones by
tests/cli/test_energy_cli_words.py); `sim all --json --print-tokens` lists what the twin section
names."""

from __future__ import annotations

import json
import os
import re
import shlex
import signal
import subprocess
import sys
from pathlib import Path

from click.testing import CliRunner

from conftest import readline_within
from teslalink.cli.main import cli
from teslalink.cli.sim import DEFAULT_PORT
from teslalink.cloud.fleet.jwt import read_payload
from teslalink.cloud.fleet.oauth import DEFAULT_SCOPES
from teslalink.simulator import ThreadedTwin
from teslalink.simulator.fleet.serve import fleet_ports
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


# --- the Fleet twin ------------------------------------------------------------------------------

_FLEET_EXPORT = re.compile(r"(TESLALINK_FLEET_\w+)=(\S+)")
# the surface of `sim all`'s listing each exported URL stands for, and the path after its port
_FLEET_URLS = {
    "TESLALINK_FLEET_AUTH_URL": ("fleet_auth", "/"),
    "TESLALINK_FLEET_API_URL_NA": ("fleet_na", "/"),
    "TESLALINK_FLEET_API_URL_EU": ("fleet_eu", "/"),
    "TESLALINK_FLEET_API_URL_CN": ("fleet_cn", "/"),
    "TESLALINK_FLEET_PAIRING_URL": ("tesla_web", "/_ak/"),
}
_FLEET_LISTING_KEYS = ("api", "auth", "token_url", "authorize_url", "apps", "pairing_url")
_FLEET_APP_KEYS = ("client_id", "client_secret", "domain", "redirect_uri")


def fleet_exports() -> dict[str, str]:
    return {name: value for line in shell_lines() for name, value in _FLEET_EXPORT.findall(line)}


def test_the_fleet_urls_are_the_ports_sim_all_serves_the_fleet_twin_on() -> None:
    text = README.read_text("utf-8")
    layout = fleet_ports(1000)  # the offsets the twin section names: P+4, P+5..P+7, P+8
    assert layout == {
        "fleet_auth": 1004,
        "fleet_na": 1005,
        "fleet_eu": 1006,
        "fleet_cn": 1007,
        "tesla_web": 1008,
    }
    for claim in ("on P+5..P+7 with\n`--port P`", "fleet-auth (P+4;", "`pairing_url` (P+8)"):
        assert claim in text, claim
    exports = fleet_exports()
    assert set(_FLEET_URLS) <= set(exports)
    bases = {int(found[1]) for line in shell_lines() if (found := _SIM_ALL.search(line))}
    for base in bases:
        ports = fleet_ports(base)
        for name, (surface, path) in _FLEET_URLS.items():
            assert exports[name] == f"http://127.0.0.1:{ports[surface]}{path}", name


def test_the_fleet_listing_and_its_tokens_are_as_the_readme_says() -> None:
    """`sim all --json --print-tokens` lists what the README names, the README's app is the twin's,
    and the README's `fleet login` line signs demo1 in against that twin."""
    text = README.read_text("utf-8")
    env = {k: v for k, v in os.environ.items() if k != "PYTHONUNBUFFERED"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "teslalink.cli.sim", "all", "--port", "0", "--json", "--print-tokens"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        listing = json.loads(readline_within(proc.stdout))
        fleet = listing["fleet"]
        assert set(fleet) == set(_FLEET_LISTING_KEYS)
        assert all(f"`{key}`" in text for key in (*_FLEET_LISTING_KEYS, *_FLEET_APP_KEYS))
        (app,) = fleet["apps"]
        assert set(app) == set(_FLEET_APP_KEYS)
        exports = fleet_exports()
        for key in _FLEET_APP_KEYS:
            assert exports[f"TESLALINK_FLEET_{key.upper()}"] == app[key], key
        for account in listing["accounts"]:
            claims = read_payload(account["fleet_access_token"], "the listed token")
            assert claims["exp"] - claims["iat"] == 8 * 3600
            assert set(claims["scp"]) == set(DEFAULT_SCOPES)  # every scope
            assert claims["ou_code"].lower() == account["fleet_region"]
        served = {
            "fleet_auth": fleet["auth"],
            **{f"fleet_{region}": url for region, url in fleet["api"].items()},
            "tesla_web": fleet["pairing_url"].removesuffix("_ak/"),
        }
        pointed = {name: served[surface] + path.lstrip("/") for name, (surface, path) in _FLEET_URLS.items()}
        logins = [line for line in shell_lines() if line.startswith("teslalink fleet login")]
        assert logins
        for line in logins:
            result = CliRunner().invoke(
                cli, shlex.split(line.split("#")[0])[1:], env={**exports, **pointed}, catch_exceptions=False
            )
            assert result.exit_code == 0, result.output
            assert "demo1@teslalink.test" in result.output
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.communicate(timeout=10)
