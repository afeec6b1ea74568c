"""The whole cloud: `serve_cloud` in process, and `teslalink sim all` as a real process."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import urllib.request
from typing import Any

import aiohttp
import pytest
from click.testing import CliRunner

from conftest import readline_within
from teslalink.cli.sim import sim
from teslalink.simulator import World
from teslalink.simulator.demo import DEMO_DOMAIN, populate_demo
from teslalink.simulator.faults import SERVER_ERROR_STATUSES, Faults
from teslalink.simulator.serve import ports_from_base, serve_cloud
from teslalink.simulator.streaming import HELLO

_CMD = [sys.executable, "-m", "teslalink.cli.sim", "all"]


# --- the demo world ---------------------------------------------------------------------------------


def test_demo_world_has_every_login_flavour_and_a_charging_car(world: World) -> None:
    demo = populate_demo(world, accounts=3, cars_per_account=2, sites=2, chargers=1)
    assert [d.email for d in demo] == [f"demo{i}@{DEMO_DOMAIN}" for i in (1, 2, 3)]
    assert [d.totp_secret is not None for d in demo] == [False, True, False]
    assert [d.region for d in demo] == ["na", "na", "cn"]
    for d in demo:
        first, second = d.vehicles
        assert first.plugged_unit is d.chargers[0].unit
        assert second.state == "asleep"
        assert [s.resource_type for s in d.sites] == ["battery", "solar"]
        assert world.account(d.email).password == d.password
    world.advance(120)
    assert demo[0].vehicles[0].charging_state == "Charging"
    assert "password" not in repr(demo[0])


def test_port_layout() -> None:
    assert ports_from_base(0) == {}
    assert ports_from_base(9000, extra_apps=1) == {
        "sso_na": 9000,
        "sso_cn": 9001,
        "owner_api": 9002,
        "streaming": 9003,
        "extra_0": 9004,
        "wall_connectors": 9010,
    }


# --- serve_cloud in process ---------------------------------------------------------------------------


async def test_every_surface_answers_and_tells_the_same_story(world: World) -> None:
    (demo,) = populate_demo(world, accounts=1, cars_per_account=1, sites=1, chargers=1)
    world.advance(120)
    token = world.auth.issue(world.account(demo.email))["access_token"]
    car = demo.vehicles[0]
    faults = Faults(world.seed)
    extra = aiohttp.web.Application()
    async with (
        serve_cloud(world, faults=faults, extra_apps={"later": extra}) as cloud,
        aiohttp.ClientSession() as http,
    ):
        assert set(cloud.as_dict()) == {"sso", "owner_api", "streaming", "admin", "wall_connectors", "extra"}
        for region in ("na", "cn"):
            async with http.get(cloud.sso[region] + "oauth2/v3/.well-known/openid-configuration") as r:
                assert r.status == 200
        headers = {"Authorization": f"Bearer {token}"}
        async with http.get(cloud.owner_api + "api/1/products", headers=headers) as r:
            assert (await r.json())["count"] == 3
        async with http.get(cloud.owner_api + f"api/1/vehicles/{car.id}/vehicle_data", headers=headers) as r:
            charge = (await r.json())["response"]["charge_state"]
        (server,) = cloud.wall_connectors
        async with http.get(server.url + "/api/1/vitals") as r:
            vitals = await r.json()
        assert vitals["vehicle_connected"] is True
        assert charge["charging_state"] == "Charging"
        assert charge["charger_actual_current"] == round(vitals["vehicle_current_a"])
        async with http.ws_connect(cloud.streaming) as ws:
            assert json.loads(await ws.receive_bytes(timeout=5)) == HELLO  # binary frames, as Tesla
        async with http.get(cloud.extra["later"]) as r:
            assert r.status == 404  # served, empty

        # faults set at runtime reach the SSO and the Wall Connectors too
        async with http.post(cloud.admin + "faults", json={"surface": "sso", "spec": "5xx=1"}) as r:
            assert r.status == 200
        async with http.get(cloud.sso["na"] + "oauth2/v3/.well-known/openid-configuration") as r:
            assert r.status in SERVER_ERROR_STATUSES
        faults.set("wall_connector", "drop=1")
        assert server.unit.quirks.drop_rate == 1.0
        with pytest.raises(aiohttp.ClientError):
            async with http.get(server.url + "/api/1/vitals") as r:
                await r.read()
        assert cloud.api.world is world
    assert server.unit.quirks.drop_rate == 0.0  # the unit's own quirks are back


async def test_without_faults_the_plain_sso_serves(world: World) -> None:
    populate_demo(world, accounts=1, chargers=0)
    async with serve_cloud(world) as cloud, aiohttp.ClientSession() as http:
        assert cloud.wall_connectors == []
        async with http.get(cloud.sso["cn"] + "oauth2/v3/.well-known/openid-configuration") as r:
            assert r.status == 200
        assert cloud.faults.to_spec() == ""


# --- the command -------------------------------------------------------------------------------------


def _start(*args: str) -> subprocess.Popen[str]:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONUNBUFFERED"}
    return subprocess.Popen(
        [*_CMD, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env
    )


def _request(url: str, *, token: str | None = None, body: bytes | None = None) -> tuple[int, Any]:
    request = urllib.request.Request(url, data=body, method="POST" if body is not None else "GET")
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    if body is not None:
        request.add_header("Content-Type", "application/json")
    with urllib.request.urlopen(request, timeout=10) as response:
        raw = response.read()
        kind = response.headers["Content-Type"] or ""
        return response.status, json.loads(raw) if "json" in kind else raw.decode()


def test_sim_all_json_listing_then_serves_then_exits_cleanly() -> None:
    proc = _start(
        "--port", "0", "--json", "--print-tokens", "--speed", "0", "--accounts", "3",
        "--cars-per-account", "2", "--faults", "latency=0",
    )  # fmt: skip
    try:
        assert proc.stdout is not None
        listing = json.loads(readline_within(proc.stdout))  # printed and flushed before serving
        accounts = listing["accounts"]
        assert [a["email"] for a in accounts] == [f"demo{i}@{DEMO_DOMAIN}" for i in (1, 2, 3)]
        assert accounts[1]["totp_secret"]
        assert accounts[2]["region"] == "cn"
        assert all(a["password"] for a in accounts)
        assert listing["streaming"].startswith("ws://127.0.0.1:")
        assert listing["streaming"].endswith("/streaming/")
        api = listing["owner_api"]
        assert _request(api + "status") == (200, "ok")
        first = accounts[0]
        status, products = _request(api + "api/1/products", token=first["access_token"])
        assert status == 200
        ids = [p["id"] for p in products["response"] if "vehicle_id" in p]
        assert ids == [v["id"] for v in first["vehicles"]]
        status, discovery = _request(listing["sso"]["na"] + "oauth2/v3/.well-known/openid-configuration")
        assert status == 200
        assert "token_endpoint" in discovery
        charger = listing["wall_connectors"][0]
        assert charger["account"] == first["email"]
        assert _request(charger["url"] + "/api/1/vitals")[1]["vehicle_connected"] is True
        status, moved = _request(listing["admin"] + "advance", body=b'{"seconds": 60}')
        assert status == 200
        assert _request(listing["admin"] + "world")[1]["now"] == moved["now"]
    finally:
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=10)
    assert proc.returncode == 0
    assert "Traceback" not in err
    assert out == ""


def test_sim_all_human_listing_and_sigint() -> None:
    proc = _start("--port", "0", "--accounts", "2", "--chargers", "0", "--sites", "0")
    try:
        assert proc.stdout is not None
        lines = [readline_within(proc.stdout) for _ in range(5)]
        assert lines[0].startswith("sso (na)   http://127.0.0.1:")
        assert lines[2].startswith("owner api  http://127.0.0.1:")
        rest = [readline_within(proc.stdout) for _ in range(4)]
        assert rest[0].startswith(f"account demo1@{DEMO_DOMAIN}  password ")
        assert "totp secret" in rest[2]
    finally:
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=10)
    assert proc.returncode == 0
    assert "Traceback" not in err


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--faults", "5xx=2"], "between 0 and 1"),
        (["--faults", "moon.drop=0.1"], "unknown surface"),
        (["--rate-limits", "cars=3"], "bad rate limit"),
        (["--port", "65530"], "go past 65535"),
    ],
)
def test_sim_all_refuses_bad_options(args: list[str], message: str) -> None:
    result = CliRunner().invoke(sim, ["all", *args])
    assert result.exit_code == 2
    assert message in result.output


def test_sim_all_reports_a_busy_port() -> None:
    import socket

    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = CliRunner().invoke(sim, ["all", "--port", str(port), "--accounts", "1"])
    assert result.exit_code == 1
    assert f"cannot listen on 127.0.0.1 ports from {port}" in result.output
