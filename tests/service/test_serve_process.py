"""`teslalink serve` as a process, the way an owner runs it: against `teslalink sim all` (the twin in
its own process), after `teslalink fleet login --headless`, from a config file; asked by
`teslalink status`; stopped by SIGTERM (exit 0); killed with SIGKILL in the middle of a charge and
started again, after which `teslalink history` lists that charge once and the database opens.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from conftest import readline_within

HANG_GUARD_S = 120.0
"""Only against a hang (the service is there in a few seconds): each wait ends as soon as its
condition holds, however slow or fast the machine."""


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def teslalink(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "teslalink", *args]
    return subprocess.run(command, env=env, capture_output=True, text=True, timeout=HANG_GUARD_S, check=False)


@pytest.fixture
def twin() -> Iterator[dict[str, Any]]:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONUNBUFFERED"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "teslalink", "sim", "all", "--port", "0", "--json", "--speed", "30"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env=env,
    )
    try:
        yield json.loads(readline_within(proc.stdout))
    finally:
        proc.terminate()
        proc.wait(HANG_GUARD_S)


@pytest.fixture
def owner(twin: dict[str, Any], tmp_path: Path) -> dict[str, Any]:
    """demo1 logged in to the twin's Fleet API, and a config that watches its car and unit."""
    fleet = twin["fleet"]
    (app,) = fleet["apps"]
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("TESLALINK_")},
        "XDG_CONFIG_HOME": str(tmp_path / "config"),
        "XDG_DATA_HOME": str(tmp_path / "data"),
        "TESLALINK_FLEET_AUTH_URL": fleet["auth"],
        **{f"TESLALINK_FLEET_API_URL_{region.upper()}": url for region, url in fleet["api"].items()},
        **{f"TESLALINK_FLEET_{key.upper()}": app[key] for key in ("client_id", "client_secret", "domain")},
        "TESLALINK_FLEET_REDIRECT_URI": app["redirect_uri"],
    }
    account = twin["accounts"][0]
    credentials = ("--email", account["email"], "--password", account["password"])
    login = teslalink("fleet", "login", "--headless", *credentials, env=env)
    assert login.returncode == 0, login.stderr
    unit = next(u for u in twin["wall_connectors"] if u["serial"] == account["wall_connectors"][0])
    port = free_port()
    config = tmp_path / "service.toml"
    config.write_text(
        f"""[service]
data_dir = "{tmp_path / "data" / "teslalink"}"

[listen]
port = {port}

[[account]]
email = "{account["email"]}"
api = "fleet"

[[wallconnector]]
name = "garage"
host = "{unit["host"]}:{unit["port"]}"
car = "{account["vehicles"][0]["vin"]}"
"""
    )
    vin = account["vehicles"][0]["vin"]
    return {"env": env, "config": config, "url": f"http://127.0.0.1:{port}/", "vin": vin}


def start(owner: dict[str, Any]) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "teslalink", "serve", "--config", str(owner["config"])],
        env=owner["env"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )


def status_when(owner: dict[str, Any], ready: Any) -> dict[str, Any]:
    """GET /status until `ready(body)` holds."""
    deadline = time.monotonic() + HANG_GUARD_S
    while True:
        try:
            with urllib.request.urlopen(owner["url"] + "status", timeout=5) as answer:
                body: dict[str, Any] = json.load(answer)
            if ready(body):
                return body
        except OSError:
            pass
        assert time.monotonic() < deadline, "the service never got there"
        time.sleep(0.2)


def charging(body: dict[str, Any]) -> bool:
    """The car is read charging (`sim all` plugs demo1's first car in) and the garage unit too."""
    devices = {d["name"]: d for d in body["devices"]}
    car = next((d for d in body["devices"] if d["kind"] == "car"), None)
    unit = devices.get("garage")
    return (
        car is not None
        and car["state"] == "charging"
        and unit is not None
        and unit["reading"].get("contactor_closed") is True
    )


def history(owner: dict[str, Any], what: str) -> list[dict[str, Any]]:
    done = teslalink("history", what, "--config", str(owner["config"]), "--json", env=owner["env"])
    assert done.returncode == 0, done.stderr
    found: list[dict[str, Any]] = json.loads(done.stdout)
    return found


def test_serve_runs_reports_stops_cleanly_and_survives_kill_9(owner: dict[str, Any]) -> None:
    serve = start(owner)
    try:
        body = status_when(owner, charging)
        assert body["health"] in ("ok", "degraded")
        devices = {d["name"]: d for d in body["devices"]}
        assert devices["garage"]["reading"]["vehicle_connected"] is True
        shown = teslalink("status", "--config", str(owner["config"]), env=owner["env"])
        assert shown.returncode == 0, shown.stderr
        assert "garage" in shown.stdout
        time.sleep(3.0)  # one recorder batch: the open session is committed
        serve.send_signal(signal.SIGKILL)
        serve.wait(HANG_GUARD_S)
        serve = start(owner)  # again, from what the killed one left
        status_when(
            owner, lambda b: any(d["name"] == "garage" and d["last_reading_ms"] for d in b["devices"])
        )
        time.sleep(3.0)
        serve.send_signal(signal.SIGTERM)
        _, stderr = serve.communicate(timeout=HANG_GUARD_S)
        assert serve.returncode == 0, stderr
        assert "stopped" in stderr.splitlines()[-1]
        assert "Traceback" not in stderr
    finally:
        serve.kill()
        serve.wait(HANG_GUARD_S)
    charges = [c for c in history(owner, "charges") if c["vin"] == owner["vin"]]
    assert len(charges) == 1  # the session that spans the kill: neither lost nor doubled
    sessions = history(owner, "sessions")
    assert len(sessions) == 1
    assert charges[0]["end_ms"] is None  # still charging: open, not half-written
