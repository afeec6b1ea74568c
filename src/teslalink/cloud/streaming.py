"""The streaming websocket of one car (docs/reference.md §2.5): typed updates, as an iterator or callbacks.

    stream = VehicleStream(urls, tokens, vehicle_id)
    async for update in stream:            # or: await stream.run(callback)
        print(update.speed_mph, update.latitude, update.longitude)
    ...
    await stream.stop()                    # from anywhere: closes the socket, ends the iterator

What the stream does for you, and why:

* **Subscribing**: on the server's `control:hello` it sends `data:subscribe_oauth` with the
  provider's current access token and the car's `vehicle_id` as the tag.
* **A sleeping or parked car** (`vehicle_disconnected`, and `vehicle_error` for a car without
  connectivity): the server has nothing to stream. The stream waits `disconnected_retry_s` and
  subscribes again. It never calls wake_up or any REST endpoint: a logger must let a car sleep.
* **A rejected token** (`client_error`): the provider is told (`token_rejected`) once and the
  stream subscribes again with the fresh token; a second rejection in a row raises
  `TokenExpired`, as does a provider whose SSO refuses the refresh. An SSO that is unreachable,
  busy (429) or failing (5xx) is not a verdict on the token: the stream backs off and retries.
* **A dropped or refused connection**: reconnect after a capped exponential backoff with jitter
  (`Backoff`), reset by the next update. `max_failures` (None: for ever) gives up after that many
  failed connections in a row, raising the last transport error.
* **A 429 on the handshake**: `cooldowns` (the account's `TeslaApi`, or anything with
  `cooldown_remaining(host)` and `cool_down(seconds, host)`) keeps it, so that no handshake is
  sent to that host before Retry-After has passed, by this stream or any other path sharing it.
* **Counters for a UI** in `stream.stats`: connects, reconnects, updates, token refreshes, the
  current state and the last error.

The websocket goes through the transport seam (`teslalink._http.Transport.websocket`): a borrowed
aiohttp session stays open, one we opened is closed on stop, and transport failures arrive as
`teslalink.errors`, so `stats.last_error` and any raised error speak the project's language.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import inspect
import math
import random
import time
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable, Coroutine, Iterable
from dataclasses import dataclass, field
from types import TracebackType
from typing import TYPE_CHECKING, Any, Final, Protocol, Self, TypeVar

from yarl import URL

from .. import errors
from .._http import Transport, WebSocket
from .._json import loads
from ..transport import Timeouts
from .config import CloudUrls
from .provider import TokenProvider
from .stream_models import DEFAULT_COLUMNS, StreamUpdate, UpdateParser, compile_parser

if TYPE_CHECKING:
    import aiohttp  # a caller's own session; opened on first use otherwise (see teslalink._http)

__all__ = ["Backoff", "Cooldowns", "StreamState", "StreamStats", "VehicleStream"]

DEFAULT_COOLDOWN_S: Final = 60.0
"""After a handshake 429 without Retry-After (the Owner API client's default too)."""


class Cooldowns(Protocol):
    """Where 429 cooldowns per host are kept (`TeslaApi` is one)."""

    def cooldown_remaining(self, host: str | None = None) -> float: ...
    def cool_down(self, seconds: float, host: str | None = None) -> None: ...


_TRANSIENT = (errors.ConnectionError, errors.TimeoutError, errors.RateLimited, errors.ServiceUnavailable)
"""Failures of the moment (the SSO unreachable, busy or failing): back off and try again."""

_T = TypeVar("_T")

HELLO: Final = "control:hello"
SUBSCRIBE_OAUTH: Final = "data:subscribe_oauth"
UPDATE: Final = "data:update"
ERROR: Final = "data:error"
VEHICLE_DISCONNECTED: Final = "vehicle_disconnected"
VEHICLE_ERROR: Final = "vehicle_error"
CLIENT_ERROR: Final = "client_error"


@dataclass(frozen=True, slots=True)
class Backoff:
    """Delays between failed connections: `initial_s * multiplier**n`, capped at `max_s`.

    Jitter spreads many clients that lost the same server: the delay is drawn uniformly from
    [(1 - jitter) * d, d], so it never exceeds the cap and never drops below (1 - jitter) of it.
    """

    initial_s: float = 1.0
    max_s: float = 60.0
    multiplier: float = 2.0
    jitter: float = 0.5

    def __post_init__(self) -> None:
        if not (0 < self.initial_s <= self.max_s):
            raise errors.ConfigError(
                f"backoff needs 0 < initial_s <= max_s, got {self.initial_s}, {self.max_s}"
            )
        if self.multiplier < 1:
            raise errors.ConfigError(f"backoff multiplier must be >= 1, got {self.multiplier}")
        if not (0 <= self.jitter <= 1):
            raise errors.ConfigError(f"backoff jitter must be within [0, 1], got {self.jitter}")

    def delay(self, failures: int, rng: random.Random) -> float:
        """The delay before the next attempt after `failures` (>= 1) failures in a row."""
        exponent = max(0, failures - 1)
        capped = self.max_s if exponent >= 64 else min(self.max_s, self.initial_s * self.multiplier**exponent)
        return capped * (1.0 - self.jitter * rng.random())


class StreamState(enum.StrEnum):
    """Where the stream is, for a UI."""

    IDLE = "idle"  # not started
    CONNECTING = "connecting"
    SUBSCRIBING = "subscribing"  # connected, waiting for hello or the first update
    STREAMING = "streaming"  # updates are arriving
    WAITING_FOR_VEHICLE = "waiting_for_vehicle"  # asleep, parked or offline: retrying later
    BACKING_OFF = "backing_off"  # the connection failed: retrying after a delay
    STOPPED = "stopped"
    FAILED = "failed"  # gave up: `last_error` says why


@dataclass(slots=True)
class StreamStats:
    """Counters and the last error, updated live (read them from any task)."""

    state: StreamState = StreamState.IDLE
    connects: int = 0  # websocket connections opened
    reconnects: int = 0  # connections opened after the first
    updates: int = 0  # updates delivered
    skipped: int = 0  # malformed updates dropped (last_error says why)
    failures: int = 0  # failed connections in a row (0 after an update)
    token_refreshes: int = 0  # fresh tokens asked for after a client_error
    vehicle_waits: int = 0  # waits for a sleeping, parked or offline car
    last_error: str | None = None
    last_error_at: float | None = None  # time.time()
    last_update_at: float | None = None  # time.time()
    delays: list[float] = field(default_factory=list)  # every backoff delay, last 100

    def _error(self, message: str) -> None:
        self.last_error = message
        self.last_error_at = time.time()


class _Outcome(enum.Enum):
    STOPPED = enum.auto()
    VEHICLE_AWAY = enum.auto()  # vehicle_disconnected / vehicle_error: wait, then subscribe again
    TOKEN_REFRESHED = enum.auto()  # client_error answered with a fresh token: subscribe again now
    FAILED = enum.auto()  # dropped, closed, refused: back off


Callback = Callable[[StreamUpdate], object]


class VehicleStream:
    """One car's stream; see the module docstring. Iterate it once, or `run()` it once."""

    def __init__(
        self,
        urls: CloudUrls,
        tokens: TokenProvider,
        vehicle_id: int | str,
        *,
        columns: Iterable[str] = DEFAULT_COLUMNS,
        session: aiohttp.ClientSession | None = None,
        backoff: Backoff | None = None,
        sleep: Callable[[float], Awaitable[object]] = asyncio.sleep,
        disconnected_retry_s: float = 30.0,
        max_failures: int | None = None,
        connect_timeout_s: float = 10.0,
        heartbeat_s: float | None = 30.0,
        rng: random.Random | None = None,
        cooldowns: Cooldowns | None = None,
    ) -> None:
        if not disconnected_retry_s >= 0:
            raise errors.ConfigError(f"disconnected_retry_s must be >= 0, got {disconnected_retry_s!r}")
        self.urls = urls
        self.vehicle_id = str(vehicle_id)
        self.backoff = backoff if backoff is not None else Backoff()
        self.disconnected_retry_s = float(disconnected_retry_s)
        self.max_failures = max_failures
        self.stats = StreamStats()
        self._parser: UpdateParser = compile_parser(columns)
        self._tokens = tokens
        # Our choice: the handshake's read budget is its connect budget (it is bounded by that in all).
        self._transport = Transport(session, timeouts=Timeouts(connect_timeout_s, connect_timeout_s))
        self._sleep = sleep
        self._heartbeat_s = heartbeat_s
        self._rng = rng if rng is not None else random.Random()
        self._cooldowns = cooldowns
        self._stop = asyncio.Event()
        self._ws: WebSocket | None = None
        self._gen: AsyncGenerator[StreamUpdate, None] | None = None
        self._fresh_token: str | None = None  # from token_rejected, used by the next subscribe
        self._client_errors = 0  # client_errors in a row (reset by an update or a vehicle error)
        self._outcome = _Outcome.FAILED  # how the last connection ended
        self._last_exc: errors.TeslalinkError | None = None  # the last transport or refusal error

    def __repr__(self) -> str:
        return (
            f"VehicleStream(vehicle_id={self.vehicle_id!r}, state={self.stats.state.value!r}, "
            f"updates={self.stats.updates})"
        )

    @property
    def columns(self) -> tuple[str, ...]:
        return self._parser.columns

    @property
    def stopped(self) -> bool:
        return self._stop.is_set()

    # --- the two APIs ------------------------------------------------------------------------------

    def __aiter__(self) -> AsyncIterator[StreamUpdate]:
        if self._gen is not None:
            raise RuntimeError("a VehicleStream can be iterated once; make a new one to stream again")
        self._gen = self._stream()
        return self._gen

    async def run(self, callback: Callback) -> None:
        """Call `callback(update)` for every update (awaited if it returns an awaitable) until stop()."""
        async for update in self:
            result = callback(update)
            if inspect.isawaitable(result):
                await result

    async def stop(self) -> None:
        """End the stream: close the websocket, end the iterator (or `run`), release the session.

        Safe from any task, from inside the loop body, and more than once.
        """
        self._stop.set()
        ws = self._ws
        if ws is not None and not ws.closed:
            with contextlib.suppress(Exception):
                await ws.close()
        gen = self._gen
        if gen is not None and not _running(gen):
            await gen.aclose()  # suspended at a yield (or never started): finish it here
        if gen is None or not _running(gen):
            await self._release()
            if self.stats.state is not StreamState.FAILED:  # a UI must still see that it failed
                self.stats.state = StreamState.STOPPED

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.stop()

    # --- the loop ----------------------------------------------------------------------------------

    async def _stream(self) -> AsyncGenerator[StreamUpdate, None]:
        stats = self.stats
        failed = False
        try:
            first = True
            while not self._stop.is_set():
                stats.state = StreamState.CONNECTING
                ws = await self._connect()
                if ws is None:
                    if self._stop.is_set():
                        break
                    outcome = _Outcome.FAILED
                else:
                    stats.connects += 1
                    if not first:
                        stats.reconnects += 1
                    first = False
                    self._ws = ws
                    outcome = _Outcome.FAILED
                    try:
                        stats.state = StreamState.SUBSCRIBING
                        async with contextlib.aclosing(self._session_updates(ws)) as updates:
                            async for update in updates:
                                yield update
                        outcome = self._outcome
                    finally:
                        self._ws = None
                        with contextlib.suppress(Exception):
                            await ws.close()
                if self._stop.is_set() or outcome is _Outcome.STOPPED:
                    break
                if outcome is _Outcome.TOKEN_REFRESHED:
                    continue
                if outcome is _Outcome.VEHICLE_AWAY:
                    stats.vehicle_waits += 1
                    stats.state = StreamState.WAITING_FOR_VEHICLE
                    await self._pause(self.disconnected_retry_s)
                    continue
                stats.failures += 1
                if self.max_failures is not None and stats.failures >= self.max_failures:
                    raise self._last_exc or errors.ConnectionError(
                        f"{self._where}: gave up after {stats.failures} failed connections"
                    )
                delay = self.backoff.delay(stats.failures, self._rng)
                if isinstance(self._last_exc, errors.RateLimited) and self._last_exc.retry_after:
                    delay = max(delay, self._last_exc.retry_after)  # the server's word wins
                stats.delays.append(delay)
                del stats.delays[:-100]
                stats.state = StreamState.BACKING_OFF
                await self._pause(delay)
        except BaseException as exc:
            failed = not isinstance(exc, (GeneratorExit, asyncio.CancelledError))
            if failed:
                stats._error(str(exc))
            raise
        finally:
            self._stop.set()
            await self._release()
            stats.state = StreamState.FAILED if failed else StreamState.STOPPED

    async def _session_updates(self, ws: WebSocket) -> AsyncGenerator[StreamUpdate, None]:
        """The updates of one connection; sets `_outcome` when it ends."""
        stats = self.stats
        parse = self._parser
        tag = self.vehicle_id
        self._outcome = _Outcome.FAILED
        token = ""
        while True:
            try:
                frame = await ws.receive()
            except errors.ConnectionError as exc:
                self._failure(exc)
                return
            if frame is not None:
                try:
                    message = loads(frame)
                except errors.DecodeError:
                    continue  # not ours to understand; the next frame may be
                if not isinstance(message, dict):
                    continue
                kind = message.get("msg_type")
                if kind == UPDATE:
                    if message.get("tag") != tag:
                        continue
                    value = message.get("value")
                    try:
                        update = parse(value, tag)  # type: ignore[arg-type]
                    except errors.DecodeError as exc:
                        stats.skipped += 1
                        stats._error(f"{self._where}: skipped an update: {exc}")
                        continue
                    stats.updates += 1
                    stats.failures = 0
                    self._client_errors = 0
                    stats.last_update_at = time.time()
                    stats.state = StreamState.STREAMING
                    yield update
                    if self._stop.is_set():
                        self._outcome = _Outcome.STOPPED
                        return
                elif kind == HELLO:
                    try:
                        token = await self._token()
                    except _TRANSIENT as exc:
                        self._failure(exc)  # the SSO is unreachable or busy: back off like any failure
                        return
                    subscribe = {
                        "msg_type": SUBSCRIBE_OAUTH,
                        "token": token,
                        "value": ",".join(self._parser.columns),
                        "tag": tag,
                    }
                    try:
                        await ws.send_json(subscribe, purpose="subscribe")
                    except errors.ConnectionError as exc:
                        self._failure(exc)
                        return
                elif kind == ERROR and message.get("tag", tag) == tag:
                    self._outcome = await self._on_error(message, token)
                    return
            else:  # the connection is closing or closed
                if self._stop.is_set():
                    self._outcome = _Outcome.STOPPED
                else:
                    self._failure(errors.ConnectionError(f"{self._where}: the server closed the stream"))
                return

    async def _on_error(self, message: dict[str, Any], token: str) -> _Outcome:
        error_type = message.get("error_type")
        value = message.get("value")
        if error_type in (VEHICLE_DISCONNECTED, VEHICLE_ERROR):
            self._client_errors = 0
            self.stats._error(
                f"vehicle {self.vehicle_id}: {value or error_type} (not waking it; retrying later)"
            )
            return _Outcome.VEHICLE_AWAY
        if error_type == CLIENT_ERROR:
            self._client_errors += 1
            if self._client_errors > 1:
                raise errors.TokenExpired(
                    f"{self._where}: the streaming server rejected the token for vehicle {self.vehicle_id} "
                    f"again after a refresh ({value!r}); log in again"
                )
            try:
                self._fresh_token = await self._tokens.token_rejected(token)
            except errors.TokenExpired as exc:
                raise errors.TokenExpired(
                    f"{self._where}: the streaming server rejected the token for vehicle {self.vehicle_id} "
                    f"({value!r}) and it could not be refreshed: {exc}"
                ) from None
            except _TRANSIENT as exc:
                # The refresh itself failed for now: not a verdict on the token, so it does not
                # count as the one refresh; back off and try the whole thing again.
                self._client_errors -= 1
                self._failure(exc)
                return _Outcome.FAILED
            self.stats.token_refreshes += 1
            self.stats._error(f"{self._where}: token rejected ({value!r}); subscribing with a fresh one")
            return _Outcome.TOKEN_REFRESHED
        self._failure(errors.ApiError(200, str(error_type or "error"), str(value or "")))
        return _Outcome.FAILED

    # --- helpers -----------------------------------------------------------------------------------

    @property
    def _where(self) -> str:
        return f"streaming {self.urls.streaming.partition('://')[2].partition('/')[0]}"

    def _failure(self, exc: errors.TeslalinkError) -> None:
        self._last_exc = exc
        self.stats._error(str(exc))

    async def _token(self) -> str:
        if self._fresh_token is not None:
            token, self._fresh_token = self._fresh_token, None
            return token
        return await self._tokens.access_token()

    @property
    def session(self) -> aiohttp.ClientSession:
        """The aiohttp session in use: the caller's, or one opened on first use (closed on stop)."""
        return self._transport.session

    async def _connect(self) -> WebSocket | None:
        """Open the websocket (None: failed, recorded in stats, or stopped meanwhile)."""
        where = self._where
        host = URL(self.urls.streaming).authority
        left = 0.0 if self._cooldowns is None else self._cooldowns.cooldown_remaining(host)
        if left > 0:  # nothing sent: the loop waits at least `left` (Retry-After wins the backoff)
            self._failure(
                errors.RateLimited(
                    429,
                    f"{where}: not sent, cooling down after a 429; retry in {math.ceil(left)} s",
                    retry_after=left,
                )
            )
            return None
        opening = self._transport.websocket(self.urls.streaming, where=where, heartbeat_s=self._heartbeat_s)
        try:
            return await self._until_stopped(opening)
        except errors.RateLimited as exc:
            cooldown = DEFAULT_COOLDOWN_S if exc.retry_after is None else exc.retry_after
            if self._cooldowns is not None:
                self._cooldowns.cool_down(cooldown, host)
            self._failure(
                errors.RateLimited(
                    429, f"{where}: rate limited; retry in {math.ceil(cooldown)} s", retry_after=cooldown
                )
            )
        except (errors.ConnectionError, errors.TimeoutError, errors.ApiError) as exc:
            self._failure(exc)
        return None

    async def _until_stopped(self, coro: Coroutine[Any, Any, _T]) -> _T | None:
        """Await `coro` unless stop() comes first (then cancel it and return None)."""
        task: asyncio.Task[_T] = asyncio.ensure_future(coro)
        stopper = asyncio.ensure_future(self._stop.wait())
        try:
            await asyncio.wait({task, stopper}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            stopper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await stopper
        if task.done():
            result = task.result()
            if self._stop.is_set() and isinstance(result, WebSocket):
                await result.close()
                return None
            return result
        task.cancel()
        with contextlib.suppress(BaseException):
            await task
        return None

    async def _pause(self, seconds: float) -> None:
        """Sleep with the injected `sleep`, cut short by stop()."""
        if seconds <= 0:
            await asyncio.sleep(0)
            return
        sleeper = asyncio.ensure_future(self._sleep(seconds))
        stopper = asyncio.ensure_future(self._stop.wait())
        try:
            await asyncio.wait({sleeper, stopper}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in (sleeper, stopper):
                if not task.done():
                    task.cancel()
                with contextlib.suppress(BaseException):
                    await task

    async def _release(self) -> None:
        await self._transport.close()


def _running(gen: AsyncGenerator[Any, None]) -> bool:
    """Is the generator executing now (awaiting inside), rather than suspended at a yield?"""
    return bool(getattr(gen, "ag_running", False))
