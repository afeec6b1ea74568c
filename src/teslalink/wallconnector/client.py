"""Async client for the Wall Connector Gen 3 local HTTP API.

How it treats the unit, and why:

* one request in flight at a time: the unit stalls or drops requests under concurrent polling;
* separate connect and read budgets: it accepts a connection at once but may take seconds to
  send the first byte;
* bounded retries with backoff, one after another on a single connection slot: one library's
  3x retry on parallel sockets once exhausted Home Assistant's file descriptors;
* tolerant decoding (`teslalink._json`) for `nan`, a missing final brace and trailing garbage.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Callable
from dataclasses import dataclass
from types import TracebackType
from typing import TYPE_CHECKING, Any, Self, TypeVar

from yarl import URL

from .. import errors
from .._http import Response, Timeouts, Transport
from .._json import decode_object
from .._lan_http import MAX_BODY, LanTransport
from .models import Lifetime, Version, Vitals, WifiStatus
from .power import ElectricalService, PowerCalculator, PowerReading

if TYPE_CHECKING:
    import aiohttp  # only a caller's own session is one; the lean transport never imports it

__all__ = ["RetryPolicy", "WallConnector", "parse_host"]

_T = TypeVar("_T")
ENDPOINTS = ("vitals", "lifetime", "version", "wifi_status")


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How often to try again after a transport failure, and how long to wait between tries.

    Only connection failures and timeouts are retried (all four endpoints are idempotent GETs);
    an answer that cannot be decoded is not, because asking again at once rarely helps.

    All tries share one budget, that of a single try (`Timeouts.total_s`: connect, then read):
    no try starts, and none runs, past it (our choice). So a unit that drops a connection is
    asked again at once, while a unit that does not answer costs the budget once, not 1 + retries
    times: with the CLI's `--timeout 1`, at most 3 tries and 4 s in all.
    """

    retries: int = 2
    backoff_s: float = 0.5
    max_backoff_s: float = 4.0

    def delay(self, attempt: int) -> float:
        """Exponential backoff with jitter, so many units polled together do not retry in step."""
        base = min(self.max_backoff_s, self.backoff_s * (2.0**attempt))
        return base * (0.5 + random.random() / 2)


NO_RETRY = RetryPolicy(retries=0)


def parse_host(host: str) -> URL:
    """Accept `192.168.1.50`, `host:port`, `[::1]:8080` or an http(s) URL; return the base URL."""
    text = host.strip()
    if not text:
        raise errors.ConfigError("no Wall Connector host given")
    try:
        url = URL(text if "://" in text else f"http://{text}")
        port = url.port  # yarl validates the port lazily
        (url.raw_host or "").encode("idna")  # what connecting would do, later and as a traceback
    except UnicodeError:
        raise errors.ConfigError(
            f"invalid Wall Connector host {host!r}: each part of a name has 1 to 63 characters"
        ) from None
    except ValueError as exc:
        raise errors.ConfigError(f"invalid Wall Connector host {host!r}: {exc}") from None
    if url.scheme not in ("http", "https") or not url.host or port is None:
        raise errors.ConfigError(
            f"invalid Wall Connector host {host!r}: expected an address, host:port or URL"
        )
    if url.path not in ("", "/") or url.query_string or url.fragment:
        raise errors.ConfigError(f"invalid Wall Connector host {host!r}: give the address without a path")
    return url.with_path("/")


class WallConnector:
    """One Wall Connector Gen 3 on the LAN.

    Use as an async context manager, or call `close()`. Pass `session` to share your own
    aiohttp session (it is never closed by us).
    """

    def __init__(
        self,
        host: str,
        *,
        session: aiohttp.ClientSession | None = None,
        service: ElectricalService | str = ElectricalService.AUTO,
        timeouts: Timeouts | None = None,
        retry: RetryPolicy | None = None,
    ) -> None:
        self.base_url = parse_host(host)
        self.host = self.base_url.authority
        self._paths = {name: f"/api/1/{name}" for name in ENDPOINTS}
        # Our own lean keep-alive connection unless the caller shares an aiohttp session (or wants
        # https, which no unit speaks today): see teslalink._lan_http for why.
        self._transport: LanTransport | Transport
        if session is None and self.base_url.scheme == "http":
            self._transport = LanTransport(self.base_url, timeouts=timeouts)
        else:
            self._transport = Transport(session, timeouts=timeouts, limit_per_host=1, max_body=MAX_BODY)
        self._retry = retry or RetryPolicy()
        self._one_at_a_time = asyncio.Lock()
        self.power_calculator = PowerCalculator(service)

    def __repr__(self) -> str:
        return f"WallConnector({self.host!r}, service={self.power_calculator.service.value!r})"

    async def vitals(self) -> Vitals:
        """Live readings; `power(vitals)` turns them into watts for this unit's wiring."""
        return await self._get("vitals", Vitals.from_raw)

    async def lifetime(self) -> Lifetime:
        return await self._get("lifetime", Lifetime.from_raw)

    async def version(self) -> Version:
        return await self._get("version", Version.from_raw)

    async def wifi_status(self) -> WifiStatus:
        return await self._get("wifi_status", WifiStatus.from_raw)

    def power(self, vitals: Vitals) -> PowerReading:
        """Power for these vitals, with this unit's configured or detected wiring."""
        return self.power_calculator.power(vitals)

    async def get_raw(self, endpoint: str) -> dict[str, Any]:
        """The decoded (repaired) answer of one endpoint as a plain dict."""
        if endpoint not in self._paths:
            raise errors.ConfigError(f"unknown endpoint {endpoint!r}; use one of: {', '.join(ENDPOINTS)}")
        return await self._get(endpoint, dict)

    async def _get(self, endpoint: str, build: Callable[[dict[str, Any]], _T]) -> _T:
        path = self._paths[endpoint]
        attempt = 0
        loop = asyncio.get_running_loop()
        async with self._one_at_a_time:
            deadline = loop.time() + self._transport.timeouts.total_s  # see RetryPolicy
            while True:
                try:
                    response = await self._attempt(path, deadline if attempt else None)
                except (errors.ConnectionError, errors.TimeoutError):
                    delay = self._retry.delay(attempt)
                    if attempt >= self._retry.retries or loop.time() + delay >= deadline:
                        raise
                    await asyncio.sleep(delay)
                    attempt += 1
                    continue
                if response.status != 200:
                    raise errors.ApiError(response.status, f"{self.host} /api/1/{endpoint}")
                try:
                    return build(decode_object(response.body))
                except errors.DecodeError as exc:
                    raise errors.DecodeError(f"{self.host} /api/1/{endpoint}: {exc}", exc.raw) from None

    async def _attempt(self, path: str, deadline: float | None) -> Response:
        """One try; a retry is cut at the shared deadline (the first try is bounded by its own
        budgets, which keeps a timer scope off the common path)."""
        if deadline is None:
            return await self._send(path)
        try:
            async with asyncio.timeout_at(deadline):
                return await self._send(path)
        except errors.TimeoutError:
            raise
        except TimeoutError:
            total = self._transport.timeouts.total_s
            raise errors.TimeoutError(f"{self.host}: no answer within {total:g} s in all") from None

    async def _send(self, path: str) -> Response:
        if isinstance(self._transport, LanTransport):
            return await self._transport.get(path)
        return await self._transport.request("GET", self.base_url.with_path(path))

    async def close(self) -> None:
        await self._transport.close()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()
