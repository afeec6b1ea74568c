"""The streaming twin over real websockets on loopback: hello, subscribe, updates, errors, endings.

The world's clock is frozen (speed 0): a test moves it with `world.advance()` and the server's
pacing loop, polling every few milliseconds, pushes what became due. "Nothing arrives" is checked
by waiting a short real time for a frame that must not come.
"""

from __future__ import annotations

import asyncio
import base64
import itertools
import json
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

import aiohttp
import pytest

from teslalink.simulator import World
from teslalink.simulator.accounting import BillingCategory
from teslalink.simulator.streaming import StreamingPolicy, StreamingServer, serve_streaming
from teslalink.simulator.vehicle.car import Car

from .helpers import START

# The three messages of the shared fixture owner_api/streaming_messages.jsonl, verbatim.
FIXTURE_HELLO = '{"msg_type":"control:hello","connection_timeout":0}'
FIXTURE_ASLEEP = (
    '{"msg_type":"data:error","tag":"1234567890","value":"disconnected","error_type":"vehicle_disconnected"}'
)
FIXTURE_LOCATION = '{"msg_type":"vehicle_data:location","latitude":45.377188,"longitude":-73.60919}'

COLUMNS = "speed,odometer,soc,elevation,est_heading,est_lat,est_lng,power,shift_state,range,est_range,heading"
EMAIL = "owner@example.com"
FAST = StreamingPolicy(poll_real_s=0.005, max_updates_per_real_s=1000.0)
QUIET_S = 0.15  # real seconds in which a frame that is not due must not arrive
WAIT_S = 10.0  # for a frame that must come: a hang guard only (it comes in milliseconds)


@dataclass
class Twin:
    world: World
    car: Car
    token: str
    server: StreamingServer

    @property
    def tag(self) -> str:
        return str(self.car.vehicle_id)

    def subscribe(
        self, value: str = COLUMNS, *, car: Car | None = None, token: str | None = None
    ) -> dict[str, str]:
        return oauth(self.token if token is None else token, car or self.car, value)


def oauth(token: str, car: Car, value: str) -> dict[str, str]:
    return {"msg_type": "data:subscribe_oauth", "token": token, "value": value, "tag": str(car.vehicle_id)}


@pytest.fixture
async def twin() -> AsyncIterator[Twin]:
    world = World(seed=7, speed=0.0, start=START)
    account = world.add_account(EMAIL, "secret")
    car = world.add_vehicle(account, battery_level=60.0)
    token = world.auth.issue(account)["access_token"]
    async with serve_streaming(world, policy=FAST) as server:
        yield Twin(world, car, token, server)


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


async def receive(ws: aiohttp.ClientWebSocketResponse) -> dict[str, Any]:
    """The next message; the server sends JSON in binary frames, as Tesla's did."""
    frame = await ws.receive(timeout=WAIT_S)
    assert frame.type is aiohttp.WSMsgType.BINARY, frame
    message: dict[str, Any] = json.loads(frame.data)
    return message


async def assert_quiet(ws: aiohttp.ClientWebSocketResponse) -> None:
    with pytest.raises(asyncio.TimeoutError):
        await ws.receive(timeout=QUIET_S)


async def assert_closed(ws: aiohttp.ClientWebSocketResponse) -> None:
    frame = await ws.receive(timeout=WAIT_S)
    assert frame.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED), frame


async def connect(http: aiohttp.ClientSession, twin: Twin) -> aiohttp.ClientWebSocketResponse:
    ws = await http.ws_connect(twin.server.url)
    assert await receive(ws) == json.loads(FIXTURE_HELLO)
    return ws


async def until(condition: Callable[[], bool], timeout_s: float = WAIT_S) -> None:
    """Wait on the loop (the server runs on it) until `condition()` holds; a hang fails."""
    async with asyncio.timeout(timeout_s):
        while not condition():  # noqa: ASYNC110 - polling the server's state, which has no event
            await asyncio.sleep(0.005)


def fields(message: dict[str, Any], columns: str = COLUMNS) -> dict[str, str]:
    assert message["msg_type"] == "data:update"
    values = message["value"].split(",")
    names = ["timestamp", *columns.split(",")]
    assert len(values) == len(names)
    return dict(zip(names, values, strict=True))


# --- hello and authentication --------------------------------------------------------------------


async def test_hello_to_anyone_byte_for_byte(twin: Twin, http: aiohttp.ClientSession) -> None:
    assert twin.server.url.startswith("ws://127.0.0.1:")
    assert twin.server.url.endswith("/streaming/")
    async with http.ws_connect(twin.server.url) as ws:
        frame = await ws.receive(timeout=WAIT_S)
        assert frame.type is aiohttp.WSMsgType.BINARY
        assert frame.data == FIXTURE_HELLO.encode()
        await assert_quiet(ws)  # no subscription, nothing more, and no timeout either


async def test_invalid_token_is_a_client_error_then_close(twin: Twin, http: aiohttp.ClientSession) -> None:
    ws = await connect(http, twin)
    await ws.send_json(twin.subscribe(token="not-a-token"))
    assert await receive(ws) == {
        "msg_type": "data:error",
        "tag": twin.tag,
        "value": "Can't validate token. ",
        "error_type": "client_error",
    }
    await assert_closed(ws)


async def test_expired_or_revoked_token_and_foreign_car_are_client_errors(
    twin: Twin, http: aiohttp.ClientSession
) -> None:
    other = twin.world.add_account("neighbour@example.com", "secret")
    their_car = twin.world.add_vehicle(other)
    ws = await connect(http, twin)
    await ws.send_json(twin.subscribe(car=their_car))
    error = await receive(ws)
    assert (error["tag"], error["error_type"]) == (str(their_car.vehicle_id), "client_error")
    await assert_closed(ws)

    twin.world.advance(twin.world.auth.access_lifetime_s + 1)
    ws = await connect(http, twin)
    await ws.send_json(twin.subscribe())
    assert (await receive(ws))["value"] == "Can't validate token. "


async def test_the_tag_is_vehicle_id_not_id(twin: Twin, http: aiohttp.ClientSession) -> None:
    ws = await connect(http, twin)
    message = twin.subscribe()
    message["tag"] = str(twin.car.id)
    await ws.send_json(message)
    assert (await receive(ws))["error_type"] == "client_error"


# --- the car's state ---------------------------------------------------------------------------


async def test_asleep_car_is_disconnected_and_stays_asleep(twin: Twin, http: aiohttp.ClientSession) -> None:
    account = twin.world.account(EMAIL)
    sleeper = twin.world.add_vehicle(account, asleep=True)
    wakes = sleeper.wake_count
    ws = await connect(http, twin)
    await ws.send_json(twin.subscribe(car=sleeper))
    expected = json.loads(FIXTURE_ASLEEP) | {"tag": str(sleeper.vehicle_id)}
    assert await receive(ws) == expected
    await assert_closed(ws)
    twin.world.advance(60)
    assert sleeper.state == "asleep"
    assert sleeper.wake_count == wakes
    assert twin.world.accounting.totals[BillingCategory.STREAMING_SIGNAL] == 0


async def test_offline_car_is_a_vehicle_error(twin: Twin, http: aiohttp.ClientSession) -> None:
    twin.car.go_offline()
    ws = await connect(http, twin)
    await ws.send_json(twin.subscribe())
    assert await receive(ws) == {
        "msg_type": "data:error",
        "tag": twin.tag,
        "value": "Vehicle is offline",
        "error_type": "vehicle_error",
    }
    await assert_closed(ws)


# --- updates --------------------------------------------------------------------------------------


async def test_drive_streams_updates_in_column_order_timestamp_first(
    twin: Twin, http: aiohttp.ClientSession
) -> None:
    world, car = twin.world, twin.car
    car.drive("loop_10km", speed_kph=72.0)
    world.advance(30)
    ws = await connect(http, twin)
    await ws.send_json(twin.subscribe())
    snapshot = fields(await receive(ws))
    assert snapshot["timestamp"] == str(int(world.now() * 1000))
    seen = [snapshot]
    for _ in range(5):
        world.advance(1)
        seen.append(fields(await receive(ws)))
    for row in seen:
        assert row["shift_state"] == "D"
        assert row["speed"] == str(round(72 / 1.609344))  # integers stay integers
        assert row["soc"].isdigit()
        assert len(row["est_lat"].split(".")[1]) <= 6
        assert row["heading"] == row["est_heading"]
    stamps = [int(row["timestamp"]) for row in seen]
    assert [b - a for a, b in itertools.pairwise(stamps)] == [1000] * 5
    latitudes = [float(row["est_lat"]) for row in seen]  # the loop's first leg runs north
    assert latitudes == sorted(set(latitudes))
    sample = car.telemetry()
    assert seen[-1]["est_lat"] == repr(sample["est_lat"])
    assert seen[-1]["power"] == str(sample["power"])


async def test_requested_order_derived_and_unknown_columns(twin: Twin, http: aiohttp.ClientSession) -> None:
    columns = "shift_state,power,native_type,native_location_supported,native_latitude,bogus,soc"
    ws = await connect(http, twin)
    await ws.send_json(twin.subscribe(columns))
    row = fields(await receive(ws), columns)
    sample = twin.car.telemetry()
    assert row == {
        "timestamp": str(sample["timestamp"]),
        "shift_state": "",  # parked: empty, not "None"
        "power": "0",
        "native_type": "wgs",
        "native_location_supported": "1",
        "native_latitude": repr(sample["est_lat"]),
        "bogus": "",
        "soc": str(sample["soc"]),
    }


async def test_about_once_a_world_second_and_only_on_change(twin: Twin, http: aiohttp.ClientSession) -> None:
    twin.car.drive("commute")
    ws = await connect(http, twin)
    await ws.send_json(twin.subscribe())
    await receive(ws)
    twin.world.advance(0.5)
    await assert_quiet(ws)
    twin.world.advance(0.5)
    await receive(ws)
    twin.world.advance(7.0)  # one update for a jump, not seven
    await receive(ws)
    await assert_quiet(ws)


async def test_idle_ten_world_seconds_ends_the_stream(twin: Twin, http: aiohttp.ClientSession) -> None:
    ws = await connect(http, twin)
    await ws.send_json(twin.subscribe())
    assert fields(await receive(ws))["speed"] == ""  # parked: the snapshot, then nothing changes
    twin.world.advance(5)
    await assert_quiet(ws)
    twin.world.advance(5)
    assert await receive(ws) == json.loads(FIXTURE_ASLEEP) | {"tag": twin.tag}
    await assert_closed(ws)
    assert twin.car.state == "online"


async def test_a_drive_ends_with_the_parked_row_then_disconnected(
    twin: Twin, http: aiohttp.ClientSession
) -> None:
    world, car = twin.world, twin.car
    car.drive([(37.4935, -121.9447)], speed_kph=36.0)  # ~110 m, about 15 s
    ws = await connect(http, twin)
    await ws.send_json(twin.subscribe())
    rows = [fields(await receive(ws))]
    while car.is_driving:
        world.advance(1)
        rows.append(fields(await receive(ws)))
    assert rows[-1]["shift_state"] == "P"
    assert rows[-1]["speed"] == ""
    world.advance(10)
    assert (await receive(ws))["error_type"] == "vehicle_disconnected"
    await assert_closed(ws)


async def test_unsubscribe_ends_a_subscription_not_the_connection(
    twin: Twin, http: aiohttp.ClientSession
) -> None:
    twin.car.drive("commute")
    ws = await connect(http, twin)
    await ws.send_json(twin.subscribe())
    await receive(ws)
    await ws.send_json({"msg_type": "data:unsubscribe", "tag": twin.tag})
    await until(lambda: twin.server.hub.subscriptions == 0)  # the server took it, then the clock moves
    twin.world.advance(3)
    await assert_quiet(ws)
    assert not ws.closed
    await ws.send_json(twin.subscribe("soc"))
    assert fields(await receive(ws), "soc")["soc"] == str(twin.car.telemetry()["soc"])


async def test_several_tags_on_one_connection(twin: Twin, http: aiohttp.ClientSession) -> None:
    account = twin.world.account(EMAIL)
    second = twin.world.add_vehicle(account)
    sleeper = twin.world.add_vehicle(account, asleep=True)
    twin.car.drive("commute")
    second.drive("loop_10km")
    ws = await connect(http, twin)
    await ws.send_json(twin.subscribe("speed"))
    await ws.send_json(twin.subscribe("speed", car=second))
    assert {(await receive(ws))["tag"] for _ in range(2)} == {twin.tag, str(second.vehicle_id)}
    await ws.send_json(twin.subscribe("speed", car=sleeper))
    assert (await receive(ws))["error_type"] == "vehicle_disconnected"
    twin.world.advance(1)  # the other two go on
    assert {(await receive(ws))["tag"] for _ in range(2)} == {twin.tag, str(second.vehicle_id)}
    assert not ws.closed


async def test_resubscribing_a_tag_replaces_it(twin: Twin, http: aiohttp.ClientSession) -> None:
    twin.car.drive("commute")
    ws = await connect(http, twin)
    await ws.send_json(twin.subscribe("speed"))
    await receive(ws)
    await ws.send_json(twin.subscribe("est_lat,est_lng"))
    fields(await receive(ws), "est_lat,est_lng")
    twin.world.advance(1)
    fields(await receive(ws), "est_lat,est_lng")
    await assert_quiet(ws)  # one update per world second, not one per subscription made


async def test_legacy_subscribe_with_email_and_vehicle_token(twin: Twin, http: aiohttp.ClientSession) -> None:
    twin.car.drive("commute")
    ws = await connect(http, twin)
    for raw in (f"{EMAIL}:{twin.car.tokens[0]}", f"{EMAIL.upper()}:{twin.car.tokens[1]}:"):
        await ws.send_json(
            {
                "msg_type": "data:subscribe",
                "token": base64.b64encode(raw.encode()).decode(),
                "value": "speed,odometer",
                "tag": twin.tag,
            }
        )
        fields(await receive(ws), "speed,odometer")
    bad = base64.b64encode(f"{EMAIL}:0000000000000000".encode()).decode()
    await ws.send_json({"msg_type": "data:subscribe", "token": bad, "value": "speed", "tag": twin.tag})
    assert (await receive(ws))["value"] == "Can't validate token. "


async def test_garbage_and_unknown_messages_are_ignored(twin: Twin, http: aiohttp.ClientSession) -> None:
    ws = await connect(http, twin)
    await ws.send_str("not json")
    await ws.send_bytes(b"[1,2]")
    await ws.send_json({"msg_type": "control:ping", "timestamp": 1})
    await assert_quiet(ws)
    await ws.send_json(twin.subscribe("soc"))
    fields(await receive(ws), "soc")


# --- costs and keeping awake ---------------------------------------------------------------------


async def test_each_pushed_value_is_one_streaming_signal(twin: Twin, http: aiohttp.ClientSession) -> None:
    twin.car.drive("commute")
    ws = await connect(http, twin)
    await ws.send_json(twin.subscribe())
    rows = [fields(await receive(ws))]
    for _ in range(3):
        twin.world.advance(1)
        rows.append(fields(await receive(ws)))
    expected = sum(1 for row in rows for name, value in row.items() if name != "timestamp" and value)
    assert expected >= 4 * 12 - 4  # only the snapshot's speed may be missing
    accounting = twin.world.accounting
    assert accounting.totals[BillingCategory.STREAMING_SIGNAL] == expected
    assert accounting.by_vehicle[twin.car.id][BillingCategory.STREAMING_SIGNAL] == expected
    assert twin.server.hub.updates_sent == 4


async def test_a_subscription_alone_does_not_keep_a_parked_car_awake(
    twin: Twin, http: aiohttp.ClientSession
) -> None:
    world, car = twin.world, twin.car
    world.advance(car.idle_sleep_s - 40)
    ws = await connect(http, twin)
    for _ in range(3):  # a logger resubscribing every 10 s, as TeslaMate does to a parked car
        await ws.send_json(twin.subscribe())
        await receive(ws)
        world.advance(10)
        assert (await receive(ws))["error_type"] == "vehicle_disconnected"
        await assert_closed(ws)
        ws = await connect(http, twin)
    assert car.state == "online"
    world.advance(11)
    assert car.state == "asleep"


async def test_streaming_a_drive_touches_the_car(twin: Twin, http: aiohttp.ClientSession) -> None:
    touched: list[float] = []
    original = twin.car.touch

    def touch() -> bool:
        touched.append(twin.world.now())
        return original()

    twin.car.touch = touch  # type: ignore[method-assign]
    twin.car.drive("commute")
    ws = await connect(http, twin)
    await ws.send_json(twin.subscribe())
    await receive(ws)
    assert touched == []  # the snapshot is no activity
    for _ in range(3):
        twin.world.advance(1)
        await receive(ws)
    assert touched == [START + 1, START + 2, START + 3]


# --- faults and shutdown -------------------------------------------------------------------------


class DropAfter:
    """Drops the websocket at the n-th frame the server sends."""

    def __init__(self, n: int) -> None:
        self.n = n
        self.asked = 0

    def drop_websocket(self) -> bool:
        self.asked += 1
        return self.asked >= self.n

    def latency_s(self) -> float:
        return 0.0


async def test_a_dropped_websocket_is_cut_without_a_close_frame(http: aiohttp.ClientSession) -> None:
    world = World(seed=7, speed=0.0, start=START)
    account = world.add_account(EMAIL, "secret")
    car = world.add_vehicle(account)
    car.drive("commute")
    token = world.auth.issue(account)["access_token"]
    faults = DropAfter(3)
    async with serve_streaming(world, policy=FAST, faults=faults) as server:
        ws = await http.ws_connect(server.url)
        await receive(ws)  # hello
        await ws.send_json(oauth(token, car, "speed"))
        await receive(ws)  # snapshot
        world.advance(1)
        frame = await ws.receive(timeout=WAIT_S)
        assert frame.type in (aiohttp.WSMsgType.CLOSED, aiohttp.WSMsgType.ERROR, aiohttp.WSMsgType.CLOSE)
        assert server.hub.dropped == 1
        await until(lambda: not server.hub.connections)


async def test_server_shutdown_closes_open_streams(http: aiohttp.ClientSession) -> None:
    world = World(seed=7, speed=0.0, start=START)
    async with serve_streaming(world, policy=FAST) as server:
        ws = await http.ws_connect(server.url)
        await receive(ws)
    frame = await ws.receive(timeout=WAIT_S)
    assert frame.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED)


# --- pacing with a running clock -------------------------------------------------------------------


async def test_accelerated_world_is_capped_per_real_second(http: aiohttp.ClientSession) -> None:
    world = World(seed=7, speed=0.0, start=START)
    account = world.add_account(EMAIL, "secret")
    car = world.add_vehicle(account)
    car.drive("commute")
    token = world.auth.issue(account)["access_token"]
    policy = StreamingPolicy(max_updates_per_real_s=20.0)
    async with serve_streaming(world, policy=policy) as server:
        ws = await http.ws_connect(server.url)
        await receive(ws)
        world.speed = 60.0
        await ws.send_json(oauth(token, car, "est_lat,est_lng"))
        stamps = [int((await receive(ws))["value"].split(",")[0]) for _ in range(8)]
        await ws.close()
    # At 60x, 20 updates per real second at most are 3 world seconds apart at least; uncapped they
    # would come every world second. World stamps prove the cap: a loaded machine only slows the
    # updates (no count per real time here: that would be a bound on speed).
    gaps = [b - a for a, b in itertools.pairwise(stamps)]
    assert min(gaps) >= 2_500


# --- the location-only stream ----------------------------------------------------------------------


def basic(email: str, token: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{email}:{token}".encode()).decode()}


async def test_location_feed_at_low_rate_until_the_car_sleeps(
    twin: Twin, http: aiohttp.ClientSession
) -> None:
    world, car = twin.world, twin.car
    url = f"{twin.server.base_url}connect/{car.vehicle_id}"
    async with http.ws_connect(url, headers=basic(EMAIL, car.tokens[0])) as ws:
        first = await receive(ws)
        assert list(first) == list(json.loads(FIXTURE_LOCATION))
        assert (first["latitude"], first["longitude"]) == car.location
        world.advance(20)
        await assert_quiet(ws)
        world.advance(10)
        assert (await receive(ws))["msg_type"] == "vehicle_data:location"
        assert world.accounting.totals[BillingCategory.STREAMING_SIGNAL] == 4
        world.advance(car.idle_sleep_s)  # the feed never keeps the car awake
        assert await receive(ws) == json.loads(FIXTURE_ASLEEP) | {"tag": twin.tag}
        await assert_closed(ws)
    assert car.state == "asleep"


async def test_location_feed_needs_the_owner_and_a_vehicle_token(
    twin: Twin, http: aiohttp.ClientSession
) -> None:
    url = f"{twin.server.base_url}connect/{twin.car.vehicle_id}"
    for headers in (
        {},
        basic(EMAIL, "0000000000000000"),
        basic("someone@example.com", twin.car.tokens[0]),
        {"Authorization": "Bearer nope"},
    ):
        with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
            await http.ws_connect(url, headers=headers)
        assert refused.value.status == 401
    async with http.ws_connect(url, headers={"Authorization": f"Bearer {twin.token}"}) as ws:
        assert (await receive(ws))["msg_type"] == "vehicle_data:location"


# --- the shared fault injection -----------------------------------------------------------------------


async def test_shared_faults_refuse_drop_or_slow_the_streaming_surface(http: aiohttp.ClientSession) -> None:
    faults_module = pytest.importorskip("teslalink.simulator.faults")
    world = World(seed=7, speed=0.0, start=START)
    faults = faults_module.Faults(seed=1)
    async with serve_streaming(world, policy=FAST, faults=faults) as server:
        faults.set("streaming", "429=1,retry_after=30")
        with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
            await http.ws_connect(server.url)
        assert refused.value.status == 429
        assert refused.value.headers is not None
        assert refused.value.headers["Retry-After"] == "30"

        faults.set("streaming", "drop=1")
        with pytest.raises((aiohttp.ClientError, ConnectionError)):
            await http.ws_connect(server.url)
        assert server.hub.dropped >= 1  # aiohttp retries once when a pooled connection dies

        faults.set("owner_api", "drop=1")  # another surface's faults leave the stream alone
        faults.set("streaming", "latency=0.05")
        loop = asyncio.get_running_loop()
        start = loop.time()
        async with http.ws_connect(server.url) as ws:
            assert await receive(ws) == json.loads(FIXTURE_HELLO)
        assert loop.time() - start >= 0.1  # the handshake and the hello each waited


# --- the session without sockets ------------------------------------------------------------------------


def test_a_session_steps_with_the_world_clock() -> None:
    from teslalink.simulator.streaming import Session

    world = World(seed=3, speed=0.0, start=START)
    account = world.add_account(EMAIL, "secret")
    car = world.add_vehicle(account)
    token = world.auth.issue(account)["access_token"]
    car.drive("loop_10km")
    session = Session(world)
    [snapshot] = session.handle(oauth(token, car, "speed,shift_state"))
    assert snapshot["value"] == f"{int(START * 1000)},0,D"
    assert session.poll() == []
    world.advance(2)
    [update] = session.poll()
    assert update["value"].startswith(f"{int(START * 1000) + 2000},")
    assert session.due_in() == pytest.approx(1.0)
    car.park()
    world.advance(1)
    [parked] = session.poll()
    assert parked["value"].endswith(",,P")
    world.advance(1)
    assert session.poll() == []  # a quiet car: looked at once per interval, not at every tick
    assert session.poll() == []
    assert session.due_in() == pytest.approx(1.0)
    session.handle({"msg_type": "data:unsubscribe", "tag": str(car.vehicle_id)})
    assert session.subscriptions == {}
    assert session.due_in() is None
    assert not session.should_close


def test_policy_rejects_nonsense_and_caps_the_real_rate() -> None:
    with pytest.raises(ValueError, match="interval_s"):
        StreamingPolicy(interval_s=0)
    with pytest.raises(ValueError, match="poll_real_s"):
        StreamingPolicy(poll_real_s=float("nan"))
    policy = StreamingPolicy(max_updates_per_real_s=20.0, poll_real_s=0.05)
    assert policy.real_delay(0.0, 1.0) == 0.05  # frozen clock: poll
    assert policy.real_delay(1.0, 1.0) == 1.0  # real time: a second
    assert policy.real_delay(60.0, 1.0) == 0.05  # accelerated: capped at 20 per real second
    assert policy.real_delay(0.5, 1.0) == 1.0  # slow world: look again within a real second
