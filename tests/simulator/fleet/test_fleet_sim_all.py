"""`teslalink sim all --json` lists the Fleet twin under `fleet`, and its printed credentials work."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import urllib.parse
import urllib.request
from typing import Any

from conftest import readline_within
from teslalink.simulator.fleet.serve import fleet_ports

_CMD = [sys.executable, "-m", "teslalink.cli.sim", "all"]


def _request(url: str, *, token: str | None = None, form: dict[str, str] | None = None) -> tuple[int, Any]:
    data = None if form is None else urllib.parse.urlencode(form).encode()
    request = urllib.request.Request(url, data=data)
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    with urllib.request.urlopen(request, timeout=10) as response:
        return response.status, json.loads(response.read())


def test_fixed_ports_sit_in_the_extra_apps_range() -> None:
    assert fleet_ports(8300) == {
        "fleet_auth": 8304,
        "fleet_na": 8305,
        "fleet_eu": 8306,
        "fleet_cn": 8307,
        "tesla_web": 8308,
    }
    assert fleet_ports(0) == {}


def test_sim_all_json_has_the_fleet_api_the_auth_server_and_the_demo_app() -> None:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONUNBUFFERED"}
    proc = subprocess.Popen(
        [*_CMD, "--port", "0", "--json", "--print-tokens", "--speed", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        assert proc.stdout is not None
        listing = json.loads(readline_within(proc.stdout))
        fleet = listing["fleet"]
        assert set(fleet["api"]) == {"na", "eu", "cn"}
        assert fleet["pairing_url"].startswith("http://127.0.0.1:")
        assert fleet["pairing_url"].endswith("/_ak/")
        (app,) = fleet["apps"]
        assert set(app) == {"client_id", "client_secret", "domain", "redirect_uri"}
        status, token = _request(
            fleet["token_url"],
            form={
                "grant_type": "client_credentials",
                "client_id": app["client_id"],
                "client_secret": app["client_secret"],
                "audience": "https://fleet-api.prd.eu.vn.cloud.tesla.com",
            },
        )
        assert status == 200
        assert token["expires_in"] == 28800
        demo1, demo2 = listing["accounts"][:2]
        assert (demo1["fleet_region"], demo2["fleet_region"]) == ("na", "eu")
        status, products = _request(fleet["api"]["na"] + "api/1/products", token=demo1["fleet_access_token"])
        assert status == 200
        assert [p["vin"] for p in products["response"] if "vin" in p] == [v["vin"] for v in demo1["vehicles"]]
        status, region = _request(
            fleet["api"]["eu"] + "api/1/users/region", token=demo2["fleet_access_token"]
        )
        assert region["response"]["region"] == "eu"
    finally:
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=10)
    assert proc.returncode == 0
    assert "Traceback" not in err
    assert out == ""
