"""The transport seam: what every client of teslalink sends through, and how it tries again.

Both HTTP transports satisfy `HttpTransport` (one call shape, one `Response`, the same errors):
`teslalink._lan_http.LanTransport`, the lean kept-alive GET of one LAN device, and
`teslalink._http.Transport`, aiohttp (the cloud, https, a caller's own session). Third-party
exceptions (aiohttp's, orjson's) are translated into `teslalink.errors` in those private modules
and `teslalink._json` only; nothing above them names a third-party exception.

`RetryPolicy.run` is the one attempt loop of the project: the Wall Connector client and the
Owner API client both retry through it. `Timeouts` and `RetryPolicy` appear in their public
signatures, so they are public here (and re-exported by `teslalink.wallconnector` and
`teslalink.cloud`).

This module imports neither aiohttp nor orjson: the Wall Connector's commands never load aiohttp.
"""

from __future__ import annotations

import asyncio
import email.utils
import math
import random
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from types import TracebackType
from typing import Protocol, Self

from yarl import URL

from . import errors

__all__ = [
    "NO_RETRY",
    "Clock",
    "Closing",
    "HttpTransport",
    "Response",
    "RetryPolicy",
    "Sleep",
    "Timeouts",
    "rate_limit_wait",
    "retry_after",
]

Sleep = Callable[[float], Awaitable[object]]
"""How a retry waits (default `asyncio.sleep`; a test passes one that advances its own clock)."""
Clock = Callable[[], float]
"""Monotonic seconds (default `time.monotonic`), paired with `Sleep`."""


@dataclass(frozen=True, slots=True)
class Timeouts:
    """Separate budgets: opening the connection, and receiving the whole answer.

    `read_s` is a deadline for the whole answer (from the request sent to its last byte), not a
    timer per chunk: a device that trickles a byte at a time fails at the deadline all the same.
    The Wall Connector accepts a connection at once but can take seconds before the first byte,
    so the read budget is the larger one by default.
    """

    connect_s: float = 5.0
    read_s: float = 15.0

    @property
    def total_s(self) -> float:
        """The most one attempt can take: the connect budget, then the read budget."""
        return self.connect_s + self.read_s


@dataclass(frozen=True, slots=True)
class Response:
    """What a request produced: status, headers and the whole body as bytes."""

    status: int
    headers: Mapping[str, str]
    body: bytes


class HttpTransport(Protocol):
    """The one call shape of both HTTP transports.

    `request` sends one request and reads the whole answer; a failure to connect or to read is
    `errors.ConnectionError` or `errors.TimeoutError`, whatever library is underneath.
    """

    @property
    def timeouts(self) -> Timeouts: ...

    async def request(self, method: str, url: URL) -> Response: ...

    async def close(self) -> None: ...


class Closing:
    """`async with` closes it: the clients and transports that hold a connection or a session."""

    __slots__ = ()

    async def close(self) -> None:
        raise NotImplementedError

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()


MAX_RETRY_AFTER_S = 86_400.0
"""The longest wait a Retry-After may ask for (our choice: a day; a cooldown is kept across
processes, so `inf` or a date years ahead must not silence a host for ever)."""


def retry_after(headers: Mapping[str, str] | None, now: float | None = None) -> float | None:
    """Retry-After in seconds: a number, or an HTTP date (counted from `now`, epoch; default: now).

    None when absent or unreadable (`nan` and `inf` too): the caller picks its own wait then.
    At most `MAX_RETRY_AFTER_S`.
    """
    value = headers.get("Retry-After") if headers else None
    if value is None:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        try:
            moment = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        seconds = moment.timestamp() - (time.time() if now is None else now)
    if not math.isfinite(seconds):
        return None
    return min(MAX_RETRY_AFTER_S, max(0.0, seconds))


def rate_limit_wait(headers: Mapping[str, str] | None, now: float | None = None) -> float | None:
    """How long a 429 asks us to stay away: Retry-After, else RateLimit-Reset (the seconds until the
    window resets; research/fleet.md 1.8). The one reader of a 429's wait for every client.

    None when neither is readable (`nan`, `inf`, text): the caller's default applies. At most
    `MAX_RETRY_AFTER_S`, as a cooldown is kept across processes. Our choice: Retry-After wins when
    both are given, it is the server's explicit word.
    """
    wait = retry_after(headers, now)
    if wait is not None or not headers:
        return wait
    try:
        reset = float((headers.get("RateLimit-Reset") or "").strip())
    except ValueError:
        return None
    if not math.isfinite(reset):
        return None
    return min(MAX_RETRY_AFTER_S, max(0.0, reset))


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How often to try again after a transport failure, and how long to wait between tries.

    Only connection failures and timeouts are retried, and answers the caller names (the cloud:
    a 5xx to a read); whoever sends a command passes `NO_RETRY`, because the other side may have
    acted before the answer was lost. An answer that cannot be decoded is not retried either:
    asking again at once rarely helps.

    With a budget (the Wall Connector's: `Timeouts.total_s`, connect then read) all tries share
    it: no try starts, and none runs, past it (our choice). So a unit that drops a connection is
    asked again at once, while a unit that does not answer costs the budget once, not 1 + retries
    times: with the CLI's `--timeout 1`, at most 3 tries and 4 s in all.
    """

    retries: int = 2
    backoff_s: float = 0.5
    max_backoff_s: float = 4.0

    def delay(self, attempt: int) -> float:
        """Exponential backoff with jitter, so many clients retrying together do not retry in step."""
        base = min(self.max_backoff_s, self.backoff_s * (2.0**attempt))
        return base * (0.5 + random.random() / 2)

    async def run(
        self,
        send: Callable[[], Awaitable[Response]],
        *,
        again: Callable[[Response], bool] | None = None,
        budget_s: float | None = None,
        where: str = "",
        sleep: Sleep = asyncio.sleep,
        clock: Clock = time.monotonic,
    ) -> Response:
        """`send()` until it gives an answer, at most 1 + `retries` times; the last answer is returned.

        `again(response)`: is this answer worth another try (its Retry-After is honoured, and one
        asking for longer than `max_backoff_s` is returned at once). `budget_s`: the time all tries
        share (`where` names the host in the error of a try cut by it).
        """
        deadline = None if budget_s is None else clock() + budget_s
        attempt = 0
        while True:
            try:
                if attempt == 0 or deadline is None:
                    response = await send()  # bounded by its own budgets: no timer scope on the common path
                else:
                    response = await _cut(
                        send, deadline, clock, f"{where}: no answer within {budget_s:g} s in all"
                    )
            except (errors.ConnectionError, errors.TimeoutError):
                delay = self.delay(attempt)
                if attempt >= self.retries or (deadline is not None and clock() + delay >= deadline):
                    raise
            else:
                if again is None or attempt >= self.retries or not again(response):
                    return response
                delay = self.delay(attempt)
                wait = retry_after(response.headers)
                if wait is not None:
                    if wait > self.max_backoff_s:
                        return response  # the server wants longer than we would wait: its answer stands
                    delay = max(delay, wait)
                if deadline is not None and clock() + delay >= deadline:
                    return response  # no try starts past the budget
            await sleep(delay)
            attempt += 1


async def _cut(
    send: Callable[[], Awaitable[Response]], deadline: float, clock: Clock, message: str
) -> Response:
    """A retry, cut at the shared deadline."""
    try:
        async with asyncio.timeout(deadline - clock()):
            return await send()
    except errors.TimeoutError:
        raise
    except TimeoutError:
        raise errors.TimeoutError(message) from None


NO_RETRY = RetryPolicy(retries=0)
"""One try: for commands, and for anything that must not be sent twice."""
