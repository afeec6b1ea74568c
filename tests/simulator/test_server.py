"""Real HTTP on loopback: routing, headers, network quirks, offline units, a peer client."""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import Callable

import aiohttp
import orjson
import pytest

from teslalink._json import decode_object
from teslalink.simulator import Quirks, WallConnectorServer, World, serve_wall_connectors

from .helpers import OLD_FW

# Every request here answers in milliseconds on loopback; a hang must fail fast, never wait out
# aiohttp's default of five minutes. Every session below gets it, and _get passes it explicitly.
_TIMEOUT = aiohttp.ClientTimeout(total=5, sock_connect=2)


def _session(connector: aiohttp.BaseConnector | None = None, timeout_s: float = 5) -> aiohttp.ClientSession:
    return aiohttp.ClientSession(timeout=_timeout(timeout_s), connector=connector)


async def _get(session: aiohttp.ClientSession, url: str, timeout_s: float = 5) -> tuple[int, bytes, str]:
    async with session.get(url, timeout=_timeout(timeout_s)) as response:
        return response.status, await response.read(), response.headers.get("Content-Type", "")


def _timeout(total_s: float) -> aiohttp.ClientTimeout:
    return _TIMEOUT if total_s == _TIMEOUT.total else aiohttp.ClientTimeout(total=total_s, sock_connect=2)


async def _until(condition: Callable[[], bool], timeout_s: float = 10.0) -> None:
    """Wait, turn by turn of the loop, until `condition` holds (a hang fails after `timeout_s`)."""
    async with asyncio.timeout(timeout_s):
        while not condition():  # noqa: ASYNC110 - the unit's in-flight count has no event
            await asyncio.sleep(0.001)


async def test_serves_the_four_endpoints(world: World) -> None:
    unit = world.add_wall_connector()
    async with serve_wall_connectors(world) as servers, _session() as session:
        (server,) = servers
        assert server.unit is unit
        assert server.host == "127.0.0.1"
        assert server.port > 0
        assert server.url == f"http://127.0.0.1:{server.port}"
        for endpoint in ("vitals", "lifetime", "version", "wifi_status"):
            status, body, content_type = await _get(session, f"{server.url}/api/1/{endpoint}")
            assert status == 200
            assert content_type == "application/json"
            assert list(orjson.loads(body)) == list(getattr(unit, endpoint)())
        _, body, _ = await _get(session, f"{server.url}/api/1/version?x=1")
        assert body == unit.render("version")


@pytest.mark.parametrize(
    "path", ["/", "/api/1/", "/api/1/vitals/", "/api/1/alerts", "/tedapi/v1", "/api/2/vitals"]
)
async def test_other_paths_are_404(world: World, path: str) -> None:
    world.add_wall_connector()
    async with serve_wall_connectors(world) as servers, _session() as session:
        status, _, _ = await _get(session, servers[0].url + path)
        assert status == 404


async def test_methods(world: World) -> None:
    world.add_wall_connector()
    async with serve_wall_connectors(world) as servers, _session() as session:
        url = f"{servers[0].url}/api/1/vitals"
        async with session.post(url, timeout=_TIMEOUT) as response:
            assert response.status == 405
        async with session.head(url, timeout=_TIMEOUT) as response:
            assert response.status == 200
            assert await response.read() == b""


async def test_state_changes_show_over_http(world: World) -> None:
    unit = world.add_wall_connector(firmware=OLD_FW)
    async with serve_wall_connectors(world) as servers, _session() as session:
        url = f"{servers[0].url}/api/1/vitals"
        first = orjson.loads((await _get(session, url))[1])
        assert first["evse_state"] == 1
        unit.plug_in(32.0)
        world.advance(600)
        now = orjson.loads((await _get(session, url))[1])
        assert now["evse_state"] == 11
        assert now["session_s"] == 600
        assert now["session_energy_wh"] > 1000


async def test_port_p_serves_unit_i_on_p_plus_i() -> None:
    world = World(seed=1, speed=0.0)
    units = [world.add_wall_connector() for _ in range(3)]
    for _ in range(10):
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            base = probe.getsockname()[1]
        if base + 3 > 65535:
            continue
        try:
            async with serve_wall_connectors(world, port=base) as servers, _session() as session:
                assert [s.port for s in servers] == [base, base + 1, base + 2]
                for unit, server in zip(units, servers, strict=True):
                    body = (await _get(session, f"{server.url}/api/1/version"))[1]
                    assert orjson.loads(body)["serial_number"] == unit.serial
                return
        except OSError:
            continue
    pytest.skip("no three consecutive free ports found")


async def test_subset_of_units(world: World) -> None:
    units = [world.add_wall_connector() for _ in range(3)]
    async with serve_wall_connectors(world, units=units[1:]) as servers:
        assert [s.unit for s in servers] == units[1:]


async def test_offline_refuses_then_comes_back_on_the_same_port(world: World) -> None:
    unit = world.add_wall_connector()
    async with serve_wall_connectors(world) as servers:
        server = servers[0]
        url = f"{server.url}/api/1/vitals"
        async with _session() as session:
            assert (await _get(session, url))[0] == 200  # leaves a keep-alive connection
            unit.offline = True
            with pytest.raises(aiohttp.ClientConnectionError):
                await _get(session, url)
        async with _session() as fresh:
            with pytest.raises(aiohttp.ClientConnectorError):
                await _get(fresh, url)
            unit.offline = False
            assert (await _get(fresh, url))[0] == 200
            unit.offline = True
            unit.offline = False  # flapping does not break the listener
            assert (await _get(fresh, url))[0] == 200
        assert server.running


@pytest.mark.parametrize("turns", [0, 1, 2, 3])
async def test_dropping_out_while_the_listener_is_being_attached(world: World, turns: int) -> None:
    """Back online, then offline again `turns` event-loop turns later: at 1 turn the listener used to
    be closed behind the loop's back, and the rebound port was never polled again (clients hung
    until their timeout: aiohttp's default is five minutes)."""
    unit = world.add_wall_connector()
    async with serve_wall_connectors(world) as servers, _session() as session:
        url = f"{servers[0].url}/api/1/vitals"
        for _ in range(3):
            unit.offline = True
            unit.offline = False
            for _ in range(turns):
                await asyncio.sleep(0)
            unit.offline = True
            unit.offline = False
            assert (await _get(session, url))[0] == 200
        unit.offline = True
        with pytest.raises(aiohttp.ClientConnectorError):
            await _get(session, url)


async def test_cancelled_start_leaves_nothing_behind(world: World) -> None:
    """A start() cancelled while attaching its listener closes it properly: the port is free, and
    the next socket to reuse its file descriptor number is polled as usual."""
    unit = world.add_wall_connector()
    server = WallConnectorServer(unit)
    starting = asyncio.create_task(server.start())
    for _ in range(10):
        await asyncio.sleep(0)
        if server.port:
            break
    starting.cancel()
    with pytest.raises(asyncio.CancelledError):
        await starting
    assert not server.running
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", server.port))  # free again
    async with serve_wall_connectors(world) as servers, _session() as session:
        assert (await _get(session, f"{servers[0].url}/api/1/vitals"))[0] == 200


async def test_unit_offline_before_start(world: World) -> None:
    unit = world.add_wall_connector()
    unit.offline = True
    async with serve_wall_connectors(world) as servers, _session() as session:
        url = f"{servers[0].url}/api/1/vitals"
        with pytest.raises(aiohttp.ClientConnectorError):
            await _get(session, url)
        unit.offline = False
        assert (await _get(session, url))[0] == 200


async def test_slow_first_byte_connection_accepted_at_once(world: World) -> None:
    """The connection is accepted long before the slow first byte (a relation between two times,
    with a margin of a second for a loopback connect: no bound on speed alone)."""
    slow_s = 2.0
    world.add_wall_connector(quirks=Quirks(slow_first_byte_s=slow_s))
    async with asyncio.timeout(10 * slow_s), serve_wall_connectors(world) as servers:
        server = servers[0]
        began = time.perf_counter()
        reader, writer = await asyncio.open_connection(server.host, server.port)
        connected = time.perf_counter() - began
        writer.write(b"GET /api/1/vitals HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        await writer.drain()
        sent = time.perf_counter()
        first = await reader.read(1)
        first_byte = time.perf_counter() - sent
        rest = await reader.read()
        writer.close()
        await writer.wait_closed()
    assert connected < slow_s / 2
    assert first_byte >= slow_s - 0.01
    assert (first + rest).startswith(b"HTTP/1.1 200 OK")


async def test_concurrent_request_stalls(world: World) -> None:
    """A request sent while another is in flight waits the stall; one alone does not. Ordered by
    the unit's own in-flight count, not by a sleep; each answer is held 0.3 s so the second
    request surely arrives during the first however loaded the machine is."""
    stall_s = 2.0
    world.add_wall_connector(quirks=Quirks(stall_on_concurrent=True, stall_s=stall_s, slow_first_byte_s=0.3))
    async with serve_wall_connectors(world) as servers, _session(timeout_s=10 * stall_s) as session:
        url = f"{servers[0].url}/api/1/vitals"
        handler = servers[0].handler

        async def timed() -> float:
            began = time.perf_counter()
            status, _, _ = await _get(session, url, timeout_s=10 * stall_s)
            assert status == 200
            return time.perf_counter() - began

        alone = await timed()
        first = asyncio.create_task(timed())
        await _until(lambda: handler.in_flight == 1)
        second = asyncio.create_task(timed())
        first_s, second_s = await asyncio.gather(first, second)
    assert alone < stall_s  # not stalled (a stall alone takes stall_s)
    assert first_s < stall_s
    assert second_s >= stall_s


async def test_one_request_at_a_time_never_stalls(world: World) -> None:
    """A stall (60 s) would outlast the session's 5 s timeout: every answer coming back is the proof."""
    world.add_wall_connector(quirks=Quirks(stall_on_concurrent=True, stall_s=60))
    async with serve_wall_connectors(world) as servers, _session() as session:
        for _ in range(5):
            assert (await _get(session, f"{servers[0].url}/api/1/vitals"))[0] == 200


async def test_stop_does_not_wait_for_a_stalled_answer(world: World) -> None:
    world.add_wall_connector(quirks=Quirks(slow_first_byte_s=30))
    async with _session() as session:
        server = WallConnectorServer(world.wall_connectors[0])
        await server.start()
        pending = asyncio.create_task(_get(session, f"{server.url}/api/1/vitals"))
        await _until(lambda: server.handler.in_flight == 1)  # the answer is stalled, not yet sent
        async with asyncio.timeout(15):  # half the stall: stop() did not wait for the answer
            await server.stop()
        assert not server.running
        with pytest.raises(aiohttp.ClientError):
            await pending


async def test_drops(world: World) -> None:
    world.add_wall_connector(quirks=Quirks(drop_rate=1.0))
    world.add_wall_connector(quirks=Quirks(drop_rate=0.5))
    async with serve_wall_connectors(world) as servers:
        connector = aiohttp.TCPConnector(force_close=True)
        async with _session(connector=connector) as session:
            with pytest.raises(aiohttp.ServerDisconnectedError):
                await _get(session, f"{servers[0].url}/api/1/vitals")
            outcomes = []
            for _ in range(40):
                try:
                    outcomes.append((await _get(session, f"{servers[1].url}/api/1/vitals"))[0])
                except aiohttp.ServerDisconnectedError:
                    outcomes.append(0)
    assert 8 <= outcomes.count(0) <= 32
    assert outcomes.count(200) == 40 - outcomes.count(0)


async def test_missing_brace_over_http(world: World) -> None:
    unit = world.add_wall_connector(quirks=Quirks(missing_brace=True, missing_brace_rate=1.0))
    unit.plug_in(32.0)
    world.advance(30)
    async with serve_wall_connectors(world) as servers, _session() as session:
        status, body, _ = await _get(session, f"{servers[0].url}/api/1/lifetime")
    assert status == 200
    assert body.endswith(b"\n\n")
    assert decode_object(body)["charge_starts"] == unit.lifetime()["charge_starts"]


async def test_many_units_concurrently() -> None:
    world = World(seed=2, speed=60.0)
    units = [world.add_wall_connector(wiring=w) for w in ("split_phase", "three_phase", "single_phase") * 10]
    for unit in units[::2]:
        unit.plug_in(16.0)
    async with serve_wall_connectors(world) as servers, _session() as session:
        results = await asyncio.gather(*(_get(session, f"{s.url}/api/1/vitals") for s in servers * 3))
    assert all(status == 200 for status, _, _ in results)
    assert len({s.port for s in servers}) == 30


async def test_peer_client_works_unchanged(world: World) -> None:
    from tesla_wall_connector import WallConnector

    unit = world.add_wall_connector(
        firmware=OLD_FW, quirks=Quirks(nan_in_lifetime=True, missing_brace=True, missing_brace_rate=1.0)
    )
    unit.plug_in(32.0)
    world.advance(120)
    async with serve_wall_connectors(world) as servers, _session() as session:
        peer = WallConnector(f"127.0.0.1:{servers[0].port}", session=session)
        vitals = await peer.async_get_vitals()
        lifetime = await peer.async_get_lifetime()
        version = await peer.async_get_version()
        wifi = await peer.async_get_wifi_status()
    assert vitals.evse_state == 11
    assert vitals.contactor_closed is True
    assert vitals.vehicle_current_a == pytest.approx(32.0, abs=0.5)
    assert lifetime.avg_startup_temp is None
    assert lifetime.energy_wh == unit.lifetime()["energy_wh"]
    assert version.serial_number == unit.serial
    assert wifi.wifi_connected is True


async def test_busy_port_raises_and_server_is_not_running(world: World) -> None:
    unit = world.add_wall_connector()
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        server = WallConnectorServer(unit, port=taken.getsockname()[1])
        with pytest.raises(OSError, match="in use"):
            await server.start()
    assert not server.running
    await server.stop()  # harmless


async def test_servers_stop_when_the_body_raises(world: World) -> None:
    world.add_wall_connector()
    started: list[WallConnectorServer] = []

    async def crash() -> None:
        async with serve_wall_connectors(world) as servers:
            started.extend(servers)
            raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        await crash()
    assert started
    assert not started[0].running
    async with _session() as session:
        with pytest.raises(aiohttp.ClientConnectorError):
            await _get(session, f"{started[0].url}/api/1/vitals")
