"""The service's listener on loopback: /health in its three states, /status as the state's JSON,
/metrics parsed back by prometheus-client's own parser, JSON 404s and 405s, a port in use, and
/metrics without prometheus-client (a 501 that names it; the rest answers)."""

from __future__ import annotations

import socket
import sys
from collections.abc import AsyncIterator, Callable
from typing import Any

import aiohttp
import pytest
from prometheus_client.openmetrics.parser import text_string_to_metric_families as openmetrics_families
from prometheus_client.parser import text_string_to_metric_families

from service_state import CAR, COUNTS, EMAIL, NOW_MS, SERIAL, SITE_ID, UNIT, VIN, built_state, month_cost
from teslalink.errors import ConfigError
from teslalink.service.events import EVENT_KINDS, Event, EventKind
from teslalink.service.listener import ENDPOINTS, METRICS_MISSING, Listener, ListenError, start_listener
from teslalink.service.settings import DEFAULT_PORT, ListenSettings
from teslalink.service.state import ServiceState

FREE = ListenSettings(host="127.0.0.1", port=0)
Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


@pytest.fixture
def state() -> ServiceState:
    return built_state()


@pytest.fixture
async def listener(state: ServiceState) -> AsyncIterator[Listener]:
    async with await start_listener(FREE, lambda: (state, NOW_MS)) as running:
        yield running


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30)) as session:  # a hang guard
        yield session


async def get(http: aiohttp.ClientSession, url: str, **options: Any) -> tuple[int, str, str]:
    async with http.get(url, **options) as resp:
        return resp.status, resp.headers.get("Content-Type", ""), await resp.text()


async def get_json(http: aiohttp.ClientSession, url: str) -> tuple[int, Any]:
    async with http.get(url) as resp:
        assert resp.content_type == "application/json"
        return resp.status, await resp.json()


def samples(text: str, parse: Callable[[str], Any] = text_string_to_metric_families) -> Samples:
    """Every sample of an exposition: (name, sorted labels) -> value."""
    found: Samples = {}
    for family in parse(text):
        for sample in family.samples:
            key = (sample.name, tuple(sorted(sample.labels.items())))
            assert key not in found, f"a series appears twice: {key}"
            found[key] = sample.value
    return found


def device(ref: Any) -> tuple[tuple[str, str], ...]:
    return (("id", ref.id), ("kind", ref.kind.value), ("name", ref.name))


# --- /health ---------------------------------------------------------------------------------------


async def test_health_ok(listener: Listener, http: aiohttp.ClientSession) -> None:
    assert await get_json(http, listener.url + "health") == (200, {"health": "ok", "problems": []})


async def test_health_degraded_names_each_problem(
    state: ServiceState, listener: Listener, http: aiohttp.ClientSession
) -> None:
    state.device(CAR).error = "vehicle_data: the car did not answer within 15 s"
    state.accounts[EMAIL].error = "login expired: run `teslalink login`"
    status, body = await get_json(http, listener.url + "health")
    assert status == 200
    assert body == {
        "health": "degraded",
        "problems": [
            "car Model Y: vehicle_data: the car did not answer within 15 s",
            f"account {EMAIL}: login expired: run `teslalink login`",
        ],
    }


async def test_health_failing_is_503_with_the_recorder_first(
    state: ServiceState, listener: Listener, http: aiohttp.ClientSession
) -> None:
    state.recorder.ok = False
    state.recorder.error = "database is locked"
    state.targets[0].last_error = "HTTP 500"
    status, body = await get_json(http, listener.url + "health")
    assert status == 503
    assert body == {
        "health": "failing",
        "problems": ["recorder: database is locked", "notify webhook http://127.0.0.1: HTTP 500"],
    }


# --- /status ---------------------------------------------------------------------------------------


async def test_status_is_the_state_as_json(
    state: ServiceState, listener: Listener, http: aiohttp.ClientSession
) -> None:
    status, body = await get_json(http, listener.url + "status")
    assert status == 200
    assert body == state.to_json(NOW_MS)
    assert [d["id"] for d in body["devices"]] == [VIN, SERIAL, SITE_ID]
    assert body["event_counts"] == {"plugged_in": 2, "charging_started": 1}
    assert body["now_ms"] == NOW_MS


async def test_each_request_reads_the_state_anew(
    state: ServiceState, listener: Listener, http: aiohttp.ClientSession
) -> None:
    state.add_event(Event(EventKind.UNPLUGGED, NOW_MS, CAR, "Model Y unplugged"))
    state.device(UNIT).state = "offline"
    _, body = await get_json(http, listener.url + "status")
    assert body["recent_events"][-1]["kind"] == "unplugged"
    assert body["devices"][1]["state"] == "offline"


# --- /metrics --------------------------------------------------------------------------------------


async def test_metrics_carry_the_state(listener: Listener, http: aiohttp.ClientSession) -> None:
    status, content_type, text = await get(http, listener.url + "metrics")
    assert status == 200
    assert content_type.startswith("text/plain")
    found = samples(text)
    assert found[("teslalink_up", ())] == 1
    assert found[("teslalink_build_info", (("version", "0.1.0"),))] == 1
    assert found[("teslalink_start_time_seconds", ())] == (NOW_MS - 7_500_000) / 1000
    assert {k[1][0][1]: v for k, v in found.items() if k[0] == "teslalink_health"} == {
        "ok": 1,
        "degraded": 0,
        "failing": 0,
    }
    assert found[("teslalink_problems", ())] == 0
    # the devices
    assert (
        found[("teslalink_device_state", (*device(CAR)[:2], ("name", "Model Y"), ("state", "charging")))] == 1
    )
    last = "teslalink_device_last_reading_timestamp_seconds"
    assert found[(last, device(CAR))] == (NOW_MS - 12_000) / 1000
    assert found[(last, device(UNIT))] == (NOW_MS - 3_000) / 1000
    assert not [k for k in found if k[0] == last and ("id", SITE_ID) in k[1]]  # never read: no sample
    assert found[("teslalink_device_next_poll_timestamp_seconds", device(UNIT))] == (NOW_MS + 2_000) / 1000
    assert [v for k, v in found.items() if k[0] == "teslalink_device_error"] == [0, 0, 0]
    assert found[("teslalink_reading_battery_level", device(CAR))] == 54
    assert found[("teslalink_reading_charger_power_kw", device(CAR))] == 7.2
    assert found[("teslalink_reading_plugged_in", device(CAR))] == 1
    assert found[("teslalink_reading_power_w", device(UNIT))] == 7100.5
    assert found[("teslalink_reading_vehicle_connected", device(UNIT))] == 1
    assert not [k for k in found if "shift_state" in k[0]]  # text stays in /status
    # the account: this month's calls and their cost
    for category, count in COUNTS.items():
        key = ("teslalink_billable_requests_total", (("account", EMAIL), ("category", category)))
        assert found[key] == count
    assert found[("teslalink_cost_usd", (("account", EMAIL),))] == pytest.approx(month_cost())
    assert month_cost() > 0
    assert found[("teslalink_budget_usd", (("account", EMAIL),))] == 10.0
    assert (
        found[("teslalink_account_info", (("account", EMAIL), ("api", "fleet"), ("month", "2025-06")))] == 1
    )
    assert found[("teslalink_account_error", (("account", EMAIL),))] == 0
    # the targets: the repeated redacted name told apart
    delivered = {
        dict(k[1])["target"]: v for k, v in found.items() if k[0] == "teslalink_notify_delivered_total"
    }
    assert delivered == {
        "webhook http://127.0.0.1": 4,
        "ntfy https://ntfy.sh": 3,
        "ntfy https://ntfy.sh #2": 1,
    }
    assert found[("teslalink_notify_failed_total", (("target", "webhook http://127.0.0.1"),))] == 1
    assert found[("teslalink_notify_retried_total", (("target", "webhook http://127.0.0.1"),))] == 2
    assert found[("teslalink_notify_suppressed_total", (("target", "ntfy https://ntfy.sh"),))] == 2
    assert found[("teslalink_notify_dropped_total", (("target", "ntfy https://ntfy.sh #2"),))] == 1
    # the recorder and the events
    assert found[("teslalink_recorder_ok", ())] == 1
    assert found[("teslalink_recorder_written_total", ())] == 1234
    assert found[("teslalink_recorder_batches_total", ())] == 56
    events = {dict(k[1])["kind"]: v for k, v in found.items() if k[0] == "teslalink_events_total"}
    assert set(events) == EVENT_KINDS  # every kind, from 0: a rate() needs the series before the first
    assert events["plugged_in"] == 2
    assert events["charging_started"] == 1
    assert sum(events.values()) == 3


async def test_metrics_follow_the_state_and_say_no_error_text(
    state: ServiceState, listener: Listener, http: aiohttp.ClientSession
) -> None:
    state.recorder.ok = False
    state.recorder.error = "disk I/O error at /secret/place"
    state.device(UNIT).error = "connection refused by 192.168.1.50"
    state.add_event(Event(EventKind.WALLCONNECTOR_OFFLINE, NOW_MS, UNIT, "Garage is offline"))
    _, _, text = await get(http, listener.url + "metrics")
    found = samples(text)
    assert found[("teslalink_recorder_ok", ())] == 0
    assert found[("teslalink_health", (("state", "failing"),))] == 1
    assert found[("teslalink_problems", ())] == 2
    assert found[("teslalink_device_error", device(UNIT))] == 1
    assert found[("teslalink_events_total", (("kind", "wallconnector_offline"),))] == 1
    assert "/secret/place" not in text
    assert "192.168.1.50" not in text


async def test_metrics_in_openmetrics_when_asked(listener: Listener, http: aiohttp.ClientSession) -> None:
    accept = "application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5"
    status, content_type, text = await get(http, listener.url + "metrics", headers={"Accept": accept})
    assert status == 200
    assert content_type.startswith("application/openmetrics-text")
    found = samples(text, openmetrics_families)
    assert found[("teslalink_billable_requests_total", (("account", EMAIL), ("category", "data")))] == 120


async def test_two_listeners_keep_their_own_series(http: aiohttp.ClientSession) -> None:
    import prometheus_client

    first, second = built_state(), ServiceState(version="9.9.9", started_ms=NOW_MS)
    async with (
        await start_listener(FREE, lambda: (first, NOW_MS)) as one,
        await start_listener(FREE, lambda: (second, NOW_MS)) as two,
    ):
        assert one.port != two.port
        found_one = samples((await get(http, one.url + "metrics"))[2])
        found_two = samples((await get(http, two.url + "metrics"))[2])
    assert ("teslalink_build_info", (("version", "0.1.0"),)) in found_one
    assert ("teslalink_build_info", (("version", "9.9.9"),)) in found_two
    assert not [k for k in found_two if k[0].startswith("teslalink_device_") and k[1]]
    assert b"teslalink_" not in prometheus_client.generate_latest(prometheus_client.REGISTRY)


async def test_without_prometheus_client_metrics_is_501_and_the_rest_answers(
    state: ServiceState, http: aiohttp.ClientSession, monkeypatch: pytest.MonkeyPatch
) -> None:
    import teslalink.service

    for name in [n for n in sys.modules if n.split(".")[0] == "prometheus_client"] + ["prometheus_client"]:
        monkeypatch.setitem(sys.modules, name, None)  # import prometheus_client(.x): ImportError
    monkeypatch.delitem(sys.modules, "teslalink.service.metrics", raising=False)
    monkeypatch.delattr(teslalink.service, "metrics", raising=False)
    async with await start_listener(FREE, lambda: (state, NOW_MS)) as running:
        status, _, text = await get(http, running.url + "metrics")
        assert (status, text.splitlines()) == (501, [METRICS_MISSING])
        assert "teslalink[serve]" in text
        assert (await get_json(http, running.url + "status"))[0] == 200
        assert (await get_json(http, running.url + "health"))[0] == 200


# --- everything else -------------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["", "nope", "status/", "metrics/extra", "HEALTH"])
async def test_anything_else_is_a_json_404(
    path: str, listener: Listener, http: aiohttp.ClientSession
) -> None:
    status, body = await get_json(http, listener.url + path)
    assert status == 404
    assert body == {"error": "no such endpoint", "endpoints": list(ENDPOINTS)}


async def test_another_method_is_a_json_405(listener: Listener, http: aiohttp.ClientSession) -> None:
    async with http.post(listener.url + "health", data=b"{}") as resp:
        assert resp.status == 405
        assert "GET" in resp.headers["Allow"]
        assert (await resp.json())["endpoints"] == list(ENDPOINTS)


async def test_a_failing_snapshot_is_a_json_500_and_the_listener_goes_on(http: aiohttp.ClientSession) -> None:
    calls: list[int] = []
    state = built_state()

    def snapshot() -> tuple[ServiceState, int]:
        calls.append(1)
        if len(calls) == 1:
            raise RuntimeError("a bug in the runner")
        return state, NOW_MS

    async with await start_listener(FREE, snapshot) as running:
        status, body = await get_json(http, running.url + "status")
        assert status == 500
        assert "a bug" not in body["error"]
        assert (await get_json(http, running.url + "status"))[0] == 200


# --- the socket ------------------------------------------------------------------------------------


async def test_a_port_in_use_is_one_clear_line(listener: Listener) -> None:
    with pytest.raises(ListenError) as raised:
        await start_listener(
            ListenSettings(host="127.0.0.1", port=listener.port), lambda: (built_state(), NOW_MS)
        )
    message = str(raised.value)
    assert isinstance(raised.value, ConfigError)
    assert message.startswith(f"cannot listen on 127.0.0.1:{listener.port}: the port is in use")
    assert "\n" not in message


async def test_a_port_another_program_listens_on(http: aiohttp.ClientSession) -> None:
    with socket.socket() as other:
        other.bind(("127.0.0.1", 0))
        other.listen()
        port = other.getsockname()[1]
        with pytest.raises(ListenError, match="the port is in use"):
            await start_listener(ListenSettings(host="127.0.0.1", port=port), lambda: (built_state(), NOW_MS))


@pytest.mark.parametrize("port", [-1, 65536])
async def test_a_port_out_of_range(port: int) -> None:
    with pytest.raises(ListenError, match=r"the port must be 0\.\.65535"):
        await start_listener(ListenSettings(host="127.0.0.1", port=port), lambda: (built_state(), NOW_MS))


async def test_the_defaults_are_loopback_and_the_url_says_where(state: ServiceState) -> None:
    assert (ListenSettings().host, ListenSettings().port) == ("127.0.0.1", DEFAULT_PORT)
    running = await start_listener(FREE, lambda: (state, NOW_MS))
    assert running.url == f"http://127.0.0.1:{running.port}/"
    await running.close()


async def test_ipv6_loopback(state: ServiceState, http: aiohttp.ClientSession) -> None:
    if not socket.has_ipv6:
        pytest.skip("this machine has no IPv6")  # pragma: no cover
    try:
        running = await start_listener(ListenSettings(host="::1", port=0), lambda: (state, NOW_MS))
    except ListenError as exc:  # pragma: no cover - a kernel without ::1
        pytest.skip(str(exc))
    async with running:
        assert running.url == f"http://[::1]:{running.port}/"
        assert (await get_json(http, running.url + "health"))[0] == 200


async def test_closed_it_answers_no_more(state: ServiceState, http: aiohttp.ClientSession) -> None:
    running = await start_listener(FREE, lambda: (state, NOW_MS))
    url = running.url
    await running.close()
    await running.close()  # idempotent: the runner's stop and a `finally` may both close it
    with pytest.raises(aiohttp.ClientConnectionError):
        await get(http, url + "health")
    again = await start_listener(ListenSettings(host="127.0.0.1", port=running.port), lambda: (state, NOW_MS))
    await again.close()  # the port is free again at once (a service restarted by systemd)


# --- DNS rebinding --------------------------------------------------------------------------------


@pytest.mark.parametrize("host", ["evil.example", "192.168.1.20", "teslalink.attacker.test:8765"])
async def test_a_loopback_listener_refuses_a_request_for_another_name(
    listener: Listener, http: aiohttp.ClientSession, host: str
) -> None:
    """A page whose name was pointed at 127.0.0.1 sends its own Host: refused, nothing shown."""
    status, _, text = await get(http, listener.url + "status", headers={"Host": host})
    assert status == 421
    assert "loopback names only" in text
    assert "VIN" not in text
    assert "@" not in text  # no account email


@pytest.mark.parametrize("host", ["localhost", "127.0.0.1", "LOCALHOST:1"])
async def test_a_loopback_listener_answers_its_loopback_names(
    listener: Listener, http: aiohttp.ClientSession, host: str
) -> None:
    status, _ = (await get(http, listener.url + "health", headers={"Host": host}))[:2]
    assert status == 200
