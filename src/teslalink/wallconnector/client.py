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
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

from yarl import URL

from .. import errors
from .._http import Transport
from .._json import decode_object
from .._lan_http import MAX_BODY, LanTransport
from ..transport import Clock, Closing, HttpTransport, RetryPolicy, Sleep, Timeouts
from .models import Lifetime, Version, Vitals, WifiStatus
from .power import ElectricalService, PowerCalculator, PowerReading

if TYPE_CHECKING:
    import aiohttp  # only a caller's own session is one; the lean transport never imports it

__all__ = ["RetryPolicy", "Timeouts", "WallConnector", "parse_host"]

_T = TypeVar("_T")
ENDPOINTS = ("vitals", "lifetime", "version", "wifi_status")


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


class WallConnector(Closing):
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
        sleep: Sleep = asyncio.sleep,
        clock: Clock = time.monotonic,
    ) -> None:
        self.base_url = parse_host(host)
        self.host = self.base_url.authority
        self._urls = {name: self.base_url.with_path(f"/api/1/{name}") for name in ENDPOINTS}
        # Our own lean keep-alive connection unless the caller shares an aiohttp session (or wants
        # https, which no unit speaks today): see teslalink._lan_http for why.
        self._transport: HttpTransport
        if session is None and self.base_url.scheme == "http":
            self._transport = LanTransport(self.base_url, timeouts=timeouts)
        else:
            self._transport = Transport(session, timeouts=timeouts, limit_per_host=1, max_body=MAX_BODY)
        self._retry = retry or RetryPolicy()
        self._sleep = sleep  # the waits between retries and the clock of their budget (a test's own)
        self._clock = clock
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
        if endpoint not in self._urls:
            raise errors.ConfigError(f"unknown endpoint {endpoint!r}; use one of: {', '.join(ENDPOINTS)}")
        return await self._get(endpoint, dict)

    async def _get(self, endpoint: str, build: Callable[[dict[str, Any]], _T]) -> _T:
        url = self._urls[endpoint]
        transport = self._transport
        async with self._one_at_a_time:
            response = await self._retry.run(
                lambda: transport.request("GET", url),
                budget_s=transport.timeouts.total_s,  # every try within one budget: see RetryPolicy
                where=self.host,
                sleep=self._sleep,
                clock=self._clock,
            )
        if response.status != 200:
            raise errors.ApiError(response.status, f"{self.host} /api/1/{endpoint}")
        try:
            return build(decode_object(response.body))
        except errors.DecodeError as exc:
            raise errors.DecodeError(f"{self.host} /api/1/{endpoint}: {exc}", exc.raw) from None

    async def close(self) -> None:
        await self._transport.close()
