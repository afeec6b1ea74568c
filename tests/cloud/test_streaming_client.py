"""VehicleStream against the streaming twin over real loopback websockets.

The world's clock is frozen (speed 0) and moved by a background task calling `world.advance()`;
the stream's waits go through an injected sleep that records the asked delay and sleeps only a
few real milliseconds, so backoff and vehicle waits are checked without waiting them out.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from teslalink.cloud import CloudUrls, StaticToken
from teslalink.cloud.stream_models import DEFAULT_COLUMNS, StreamUpdate
from teslalink.cloud.streaming import Backoff, StreamState, VehicleStream
from teslalink.errors import ConfigError, RateLimited, ServiceUnavailable, TokenExpired
from teslalink.errors import ConnectionError as TeslalinkConnectionError
from teslalink.simulator import World
from teslalink.simulator.accounts import Account
from teslalink.simulator.serve import serve_cloud
from teslalink.simulator.streaming import StreamingPolicy, serve_streaming
from teslalink.simulator.vehicle.car import Car

START = 1_700_000_000.0
FAST = StreamingPolicy(poll_real_s=0.005, max_updates_per_real_s=1000.0)
DEADLINE_S = 30.0  # a hang guard only: what it bounds takes milliseconds


@dataclass
class Sleeps:
    """The injected sleep: records every asked delay, sleeps `real_s` of real time."""

    real_s: float = 0.005
    asked: list[float] = field(default_factory=list)

    async def __call__(self, seconds: float) -> None:
        self.asked.append(seconds)
        await asyncio.sleep(self.real_s)


@dataclass
class Twin:
    world: World
    account: Account
    car: Car
    token: str
    urls: CloudUrls
    sleeps: Sleeps = field(default_factory=Sleeps)

    def stream(self, tokens: object | None = None, **options: object) -> VehicleStream:
        options.setdefault("sleep", self.sleeps)
        return VehicleStream(
            self.urls,
            tokens if tokens is not None else StaticToken(self.token),  # type: ignore[arg-type]
            self.car.vehicle_id,
            **options,  # type: ignore[arg-type]
        )


def make_world(*, asleep: bool = False) -> tuple[World, Account, Car, str]:
    world = World(seed=7, speed=0.0, start=START)
    account = world.add_account("owner@example.com", "secret")
    car = world.add_vehicle(account, battery_level=60.0, asleep=asleep)
    return world, account, car, world.auth.issue(account)["access_token"]


@contextlib.asynccontextmanager
async def twin_of(asleep: bool = False) -> AsyncIterator[Twin]:
    world, account, car, token = make_world(asleep=asleep)
    async with serve_streaming(world, policy=FAST) as server:
        yield Twin(world, account, car, token, CloudUrls(streaming=server.url))


@pytest.fixture
async def twin() -> AsyncIterator[Twin]:
    async with twin_of() as made:
        yield made


@contextlib.asynccontextmanager
async def clock(world: World, step_s: float = 1.0, real_s: float = 0.01) -> AsyncIterator[None]:
    """Move the frozen world `step_s` every `real_s` of real time while the block runs."""

    async def tick() -> None:
        while True:
            await asyncio.sleep(real_s)
            world.advance(step_s)

    task = asyncio.create_task(tick())
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def take(stream: VehicleStream, n: int) -> list[StreamUpdate]:
    out: list[StreamUpdate] = []
    async with asyncio.timeout(DEADLINE_S):
        async for update in stream:
            out.append(update)
            if len(out) == n:
                break
    return out


async def until(condition: Callable[[], bool], deadline_s: float = DEADLINE_S) -> None:
    async with asyncio.timeout(deadline_s):
        while not condition():  # noqa: ASYNC110 - polling state another task changes, on purpose
            await asyncio.sleep(0.005)


async def no_other_tasks() -> bool:
    """No task but this test's is left (the server's handlers get a moment to see the close)."""
    with contextlib.suppress(TimeoutError):
        await until(lambda: asyncio.all_tasks() == {asyncio.current_task()}, 1.0)
    return asyncio.all_tasks() == {asyncio.current_task()}


# --- updates ---------------------------------------------------------------------------------------


async def test_driving_car_streams_typed_updates_in_order(twin: Twin) -> None:
    twin.car.drive("loop_10km")
    stream = twin.stream()
    async with clock(twin.world), stream:
        updates = await take(stream, 6)
    assert [u.vehicle_id for u in updates] == [str(twin.car.vehicle_id)] * 6
    stamps = [u.timestamp_ms for u in updates]
    assert stamps == sorted(stamps)
    assert len(set(stamps)) == 6
    odometers = [u.odometer_mi for u in updates]
    assert all(isinstance(o, float) for o in odometers)
    assert odometers == sorted(odometers)  # type: ignore[type-var]
    last = updates[-1]
    assert last.shift_state == "D"
    assert last.speed_mph is not None
    assert last.speed_mph > 0
    assert last.latitude is not None
    assert last.longitude is not None
    assert last.soc is not None
    assert 0 < last.soc <= 100
    assert stream.stats.updates == 6
    assert stream.stats.connects == 1
    assert stream.stats.reconnects == 0
    assert stream.stats.state is StreamState.STOPPED
    assert await no_other_tasks()


async def test_callback_api_sync_and_async(twin: Twin) -> None:
    twin.car.drive("loop_10km")
    seen: list[StreamUpdate] = []
    stream = twin.stream()

    async def on_update(update: StreamUpdate) -> None:
        seen.append(update)
        if len(seen) == 3:
            await stream.stop()  # from inside the callback

    async with clock(twin.world):
        await asyncio.wait_for(stream.run(on_update), DEADLINE_S)
    assert len(seen) == 3
    assert stream.stats.state is StreamState.STOPPED

    plain: list[StreamUpdate] = []
    second = twin.stream()
    async with clock(twin.world):
        task = asyncio.create_task(second.run(plain.append))
        await until(lambda: len(plain) >= 2)
        await second.stop()  # from another task
        await asyncio.wait_for(task, DEADLINE_S)
    assert task.exception() is None
    assert await no_other_tasks()


async def test_custom_columns(twin: Twin) -> None:
    twin.car.drive("loop_10km")
    stream = twin.stream(columns=("soc", "shift_state", "native_type"))
    async with clock(twin.world), stream:
        (update,) = await take(stream, 1)
    assert update.soc is not None
    assert update.get("native_type") == "wgs"
    assert update.speed_mph is None  # not subscribed


# --- a sleeping car ------------------------------------------------------------------------------


async def test_sleeping_car_is_never_woken_and_streams_once_it_drives() -> None:
    async with twin_of(asleep=True) as twin:
        wakes = twin.car.wake_count
        stream = twin.stream(disconnected_retry_s=30.0)
        updates: list[StreamUpdate] = []
        task = asyncio.create_task(stream.run(updates.append))
        await until(lambda: stream.stats.vehicle_waits >= 3)
        assert twin.car.state == "asleep"
        assert twin.car.wake_count == wakes
        assert updates == []
        assert stream.stats.connects >= 3
        assert stream.stats.reconnects == stream.stats.connects - 1
        assert set(twin.sleeps.asked) == {30.0}  # the vehicle wait, never a backoff delay
        assert stream.stats.last_error is not None
        assert "not waking" in stream.stats.last_error
        twin.car.drive("loop_10km")  # the owner drives: the car wakes by itself
        async with clock(twin.world):
            await until(lambda: len(updates) >= 2)
        await stream.stop()
        await asyncio.wait_for(task, DEADLINE_S)
        assert updates[-1].shift_state == "D"
        assert stream.stats.failures == 0
    assert await no_other_tasks()


async def test_parked_car_goes_idle_and_the_stream_waits() -> None:
    async with twin_of() as twin:
        twin.car.drive("loop_10km")
        stream = twin.stream(disconnected_retry_s=30.0)
        updates: list[StreamUpdate] = []
        task = asyncio.create_task(stream.run(updates.append))
        async with clock(twin.world):
            await until(lambda: len(updates) >= 2)
            twin.car.park()
            await until(lambda: stream.stats.vehicle_waits >= 1)  # idle for 10 s: vehicle_disconnected
        await stream.stop()
        await asyncio.wait_for(task, DEADLINE_S)
        assert 30.0 in twin.sleeps.asked
        assert stream.stats.state is StreamState.STOPPED


# --- tokens --------------------------------------------------------------------------------------


class RefreshingProvider:
    """First hands out `first`; on rejection answers with `fresh` (None: cannot refresh)."""

    def __init__(self, first: str, fresh: str | None) -> None:
        self.current = first
        self.fresh = fresh
        self.rejected: list[str] = []

    async def access_token(self) -> str:
        return self.current

    async def token_rejected(self, token: str) -> str:
        self.rejected.append(token)
        if self.fresh is None:
            raise TokenExpired("no refresh token")
        self.current = self.fresh
        return self.fresh


async def test_client_error_refreshes_the_token_once_and_recovers(twin: Twin) -> None:
    twin.car.drive("loop_10km")
    provider = RefreshingProvider("not-a-token", twin.token)
    stream = twin.stream(provider)
    async with clock(twin.world), stream:
        updates = await take(stream, 2)
    assert len(updates) == 2
    assert provider.rejected == ["not-a-token"]
    assert stream.stats.token_refreshes == 1
    assert stream.stats.connects == 2
    assert twin.sleeps.asked == []  # a fresh token is used at once, no backoff


async def test_client_error_without_refresh_fails_clearly(twin: Twin) -> None:
    stream = twin.stream(StaticToken("not-a-token"))
    with pytest.raises(TokenExpired, match="could not be refreshed: the access token was rejected"):
        await take(stream, 1)
    assert stream.stats.state is StreamState.FAILED
    assert stream.stats.last_error is not None
    assert "Can't validate token" in stream.stats.last_error
    assert "not-a-token" not in stream.stats.last_error
    assert await no_other_tasks()


class FlakySsoProvider(RefreshingProvider):
    """Its SSO fails (5xx) or is busy (429) on the first refreshes, then refreshes."""

    def __init__(self, first: str, fresh: str, failures: list[Exception]) -> None:
        super().__init__(first, fresh)
        self.failures = failures

    async def token_rejected(self, token: str) -> str:
        if self.failures:
            self.rejected.append(token)
            raise self.failures.pop(0)
        return await super().token_rejected(token)


async def test_a_failing_sso_is_waited_out_not_taken_for_a_bad_token(twin: Twin) -> None:
    twin.car.drive("loop_10km")
    failures: list[Exception] = [
        ServiceUnavailable(503, "refreshing the token: the SSO failed"),
        RateLimited(429, "refreshing the token: rate limited", retry_after=45.0),
    ]
    provider = FlakySsoProvider("not-a-token", twin.token, failures)
    stream = twin.stream(provider)
    async with clock(twin.world), stream:
        updates = await take(stream, 2)
    assert len(updates) == 2
    assert provider.rejected == ["not-a-token"] * 3  # each try is rejected once, then refreshed
    assert stream.stats.token_refreshes == 1
    assert len(twin.sleeps.asked) == 2  # backed off twice, the second time as long as the SSO asked
    assert twin.sleeps.asked[1] >= 45.0


async def test_second_client_error_in_a_row_fails_clearly(twin: Twin) -> None:
    provider = RefreshingProvider("not-a-token", "still-not-a-token")
    stream = twin.stream(provider)
    with pytest.raises(TokenExpired, match="again after a refresh"):
        await take(stream, 1)
    assert provider.rejected == ["not-a-token"]


# --- dropped connections -------------------------------------------------------------------------


async def test_dropped_websockets_reconnect_with_capped_jittered_backoff() -> None:
    world, _account, car, token = make_world()
    car.drive("loop_10km")
    sleeps = Sleeps()
    backoff = Backoff(initial_s=1.0, max_s=8.0, multiplier=2.0, jitter=0.5)
    async with serve_cloud(world) as cloud:
        cloud.faults.set("streaming", "drop=1")
        stream = VehicleStream(
            CloudUrls(streaming=cloud.streaming),
            StaticToken(token),
            car.vehicle_id,
            sleep=sleeps,
            backoff=backoff,
            rng=random.Random(3),
        )
        updates: list[StreamUpdate] = []
        task = asyncio.create_task(stream.run(updates.append))
        await until(lambda: len(sleeps.asked) >= 8)
        assert updates == []
        assert stream.stats.failures >= 8
        assert stream.stats.state is StreamState.BACKING_OFF
        assert stream.stats.last_error is not None
        cloud.faults.clear()
        async with clock(world):
            await until(lambda: len(updates) >= 2)
        await stream.stop()
        await asyncio.wait_for(task, DEADLINE_S)
    delays = sleeps.asked[:8]
    for n, delay in enumerate(delays, start=1):
        ceiling = min(8.0, 2.0 ** (n - 1))
        assert ceiling * 0.5 <= delay <= ceiling
    assert max(delays) <= 8.0
    assert len({round(d, 6) for d in delays[4:]}) > 1  # capped but jittered, not one fixed value
    assert stream.stats.failures == 0  # reset by the updates
    assert stream.stats.connects >= 1
    assert await no_other_tasks()


async def test_max_failures_gives_up_with_the_transport_error() -> None:
    world, _account, car, token = make_world()
    async with serve_cloud(world) as cloud:
        cloud.faults.set("streaming", "drop=1")
        stream = VehicleStream(
            CloudUrls(streaming=cloud.streaming),
            StaticToken(token),
            car.vehicle_id,
            sleep=Sleeps(),
            max_failures=3,
        )
        with pytest.raises(TeslalinkConnectionError, match=r"streaming 127\.0\.0\.1"):
            await take(stream, 1)
    assert stream.stats.failures == 3
    assert stream.stats.state is StreamState.FAILED
    await stream.stop()  # as `async with` would: stopping a failed stream keeps it marked failed
    assert stream.stats.state is StreamState.FAILED


async def test_unreachable_server_backs_off() -> None:
    world, _account, car, token = make_world()
    async with serve_streaming(world) as server:
        url = server.url
    sleeps = Sleeps()
    stream = VehicleStream(CloudUrls(streaming=url), StaticToken(token), car.vehicle_id, sleep=sleeps)
    task = asyncio.create_task(stream.run(lambda update: None))
    await until(lambda: len(sleeps.asked) >= 2)
    assert stream.stats.last_error is not None
    assert "cannot connect" in stream.stats.last_error
    await stream.stop()
    await asyncio.wait_for(task, DEADLINE_S)
    assert await no_other_tasks()


# --- stopping ------------------------------------------------------------------------------------


async def test_stop_during_a_long_wait_ends_at_once() -> None:
    async with twin_of(asleep=True) as twin:
        stream = twin.stream(sleep=asyncio.sleep, disconnected_retry_s=3600.0)
        task = asyncio.create_task(stream.run(lambda update: None))
        await until(lambda: stream.stats.state is StreamState.WAITING_FOR_VEHICLE)
        await stream.stop()
        await asyncio.wait_for(task, DEADLINE_S)  # not the 3600-s wait
        assert stream.stats.state is StreamState.STOPPED
    assert await no_other_tasks()


async def test_stop_before_start_and_twice(twin: Twin) -> None:
    stream = twin.stream()
    await stream.stop()
    await stream.stop()
    assert stream.stats.state is StreamState.STOPPED
    assert await take(stream, 1) == []


async def test_borrowed_session_stays_open(twin: Twin) -> None:
    twin.car.drive("loop_10km")
    async with aiohttp.ClientSession() as session:
        stream = twin.stream(session=session)
        async with clock(twin.world), stream:
            await take(stream, 1)
        assert not session.closed
    assert await no_other_tasks()


async def test_iterating_twice_is_refused(twin: Twin) -> None:
    stream = twin.stream()
    stream.__aiter__()
    with pytest.raises(RuntimeError, match="iterated once"):
        stream.__aiter__()
    await stream.stop()


def test_backoff_validates() -> None:
    with pytest.raises(ConfigError):
        Backoff(initial_s=0)
    with pytest.raises(ConfigError):
        Backoff(jitter=2)
    assert Backoff(jitter=0).delay(100, random.Random()) == 60.0


async def test_refused_handshakes_back_off_and_honour_retry_after() -> None:
    world, _account, car, token = make_world()
    sleeps = Sleeps()
    async with serve_cloud(world) as cloud:
        cloud.faults.set("streaming", "429=1,retry_after=7")
        stream = VehicleStream(
            CloudUrls(streaming=cloud.streaming), StaticToken(token), car.vehicle_id, sleep=sleeps
        )
        task = asyncio.create_task(stream.run(lambda update: None))
        await until(lambda: len(sleeps.asked) >= 3)
        assert min(sleeps.asked[:3]) >= 7.0
        assert stream.stats.last_error is not None
        assert "HTTP 429" in stream.stats.last_error
        cloud.faults.set("streaming", "5xx=1")
        await until(lambda: "HTTP 5" in (stream.stats.last_error or ""))
        await stream.stop()
        await asyncio.wait_for(task, DEADLINE_S)
    assert stream.stats.connects == 0
    assert await no_other_tasks()


async def test_junk_frames_are_skipped_and_counted() -> None:
    """A hand-written server: frames the twin never sends (garbage, other tags, bad CSV)."""
    subscribed: list[dict[str, object]] = []

    async def handler(request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        await ws.send_str('{"msg_type":"control:hello","connection_timeout":0}')
        message = await ws.receive_json()
        subscribed.append(message)
        good = "1700000000000,10,1.5,50,0,0,1.0,2.0,3,D,100,90,0"
        for frame in (
            "not json",
            "[1, 2]",
            '{"msg_type":"vehicle_data:location","latitude":1,"longitude":2}',
            json.dumps({"msg_type": "data:update", "tag": "999", "value": good}),
            json.dumps({"msg_type": "data:update", "tag": "7", "value": "1,2,3"}),
            json.dumps({"msg_type": "data:update", "tag": "7", "value": good}),
        ):
            await ws.send_str(frame)
        await ws.receive()  # until the client closes
        return ws

    app = web.Application()
    app.router.add_get("/streaming/", handler)
    async with TestServer(app) as server:
        url = str(server.make_url("/streaming/")).replace("http://", "ws://")
        stream = VehicleStream(CloudUrls(streaming=url), StaticToken("t0ken"), 7, sleep=Sleeps())
        async with stream:
            (update,) = await take(stream, 1)
    assert subscribed == [
        {
            "msg_type": "data:subscribe_oauth",
            "token": "t0ken",
            "value": ",".join(DEFAULT_COLUMNS),
            "tag": "7",
        }
    ]
    assert update.vehicle_id == "7"
    assert update.speed_mph == 10
    assert stream.stats.skipped == 1
    assert stream.stats.last_error is not None
    assert "has 3 fields" in stream.stats.last_error
    assert await no_other_tasks()


class WorldProvider:
    """A provider like cloud.tokens would be: refreshes by asking the world's SSO for a new token."""

    def __init__(self, world: World, account: Account) -> None:
        self.world = world
        self.account = account
        self.token: str = world.auth.issue(account)["access_token"]
        self.rejected: list[str] = []

    async def access_token(self) -> str:
        return self.token

    async def token_rejected(self, token: str) -> str:
        self.rejected.append(token)
        self.token = self.world.auth.issue(self.account)["access_token"]
        return self.token


async def test_token_expires_mid_stream_then_the_reconnect_resubscribes_with_a_fresh_one() -> None:
    world, account, car, _token = make_world()
    world.auth.access_lifetime_s = 20.0
    provider = WorldProvider(world, account)
    first = provider.token
    car.drive("loop_10km")
    sleeps = Sleeps()
    async with serve_cloud(world) as cloud:
        stream = VehicleStream(CloudUrls(streaming=cloud.streaming), provider, car.vehicle_id, sleep=sleeps)
        updates: list[StreamUpdate] = []
        task = asyncio.create_task(stream.run(updates.append))
        async with clock(world, step_s=2.0):
            await until(lambda: len(updates) >= 15)  # 30 world seconds: the token expired meanwhile
            assert provider.rejected == []  # a subscription outlives its token
            cloud.faults.set("streaming", "drop=1")
            await until(lambda: stream.stats.failures >= 2)
            cloud.faults.clear()
            seen = len(updates)
            await until(lambda: len(updates) >= seen + 3)
        await stream.stop()
        await asyncio.wait_for(task, DEADLINE_S)
    assert provider.rejected == [first]
    assert stream.stats.token_refreshes == 1
    assert stream.stats.reconnects >= 2
    stamps = [u.timestamp_ms for u in updates]
    assert stamps == sorted(stamps)
    assert await no_other_tasks()


class UnreachableSso(RefreshingProvider):
    """Refreshing fails in transit `failures` times, then works."""

    def __init__(self, first: str, fresh: str, failures: int) -> None:
        super().__init__(first, fresh)
        self.failures = failures

    async def token_rejected(self, token: str) -> str:
        if self.failures:
            self.failures -= 1
            self.rejected.append(token)
            raise TeslalinkConnectionError("auth.tesla.com: cannot connect")
        return await super().token_rejected(token)


async def test_a_refresh_lost_in_transit_backs_off_and_does_not_count(twin: Twin) -> None:
    twin.car.drive("loop_10km")
    provider = UnreachableSso("not-a-token", twin.token, failures=2)
    stream = twin.stream(provider)
    async with clock(twin.world), stream:
        (update,) = await take(stream, 1)
    assert update.shift_state == "D"
    assert provider.rejected == ["not-a-token"] * 3
    assert stream.stats.token_refreshes == 1
    assert len(twin.sleeps.asked) == 2  # two backoffs, one per failed refresh
