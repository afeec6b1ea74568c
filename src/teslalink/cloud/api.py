"""The Owner API client: one request path for every call, Tesla's statuses mapped to teslalink.errors.

How it treats the service, and why (docs/reference.md §2.2):

* the token comes from a `TokenProvider` before each request; a 401 is reported to it
  (`token_rejected`) and the request is sent ONCE more with the token it returns; a second 401
  is `TokenExpired`. A 401 means nothing ran, so this retry is safe for commands too;
* only idempotent reads are retried, on transport failures and 5xx, with bounded backoff and
  jitter (`RetryPolicy`). A command is never retried: the car may have acted before the answer
  was lost, and doing it twice (honk, trunk, valet) is worse than an error;
* a 429 is never retried. It raises `RateLimited(retry_after)` and starts a cooldown for that
  host: every further call raises `RateLimited` at once, without sending, until Retry-After has
  passed. Clients that keep knocking get their account blocked for hours;
* nothing here wakes a car: `wake_up` is only sent when a caller asks for it.

Tokens never reach logs, reprs or errors.
"""

from __future__ import annotations

import asyncio
import logging
import math
import re
import time
from collections.abc import Mapping
from types import TracebackType
from typing import TYPE_CHECKING, Any, Self

from yarl import URL

from .. import errors
from .._http import Transport
from .._json import loads
from ..transport import NO_RETRY, Clock, Response, RetryPolicy, Sleep, Timeouts, rate_limit_wait
from .config import CloudUrls
from .endpoints import endpoint
from .provider import TokenProvider

if TYPE_CHECKING:
    import aiohttp  # a caller's own session; opened on first use otherwise (see teslalink._http)

    from .energy import EnergySite
    from .vehicle import Vehicle

__all__ = ["DEFAULT_COOLDOWN_S", "Clock", "RetryPolicy", "Sleep", "TeslaApi", "Timeouts"]

_LOG = logging.getLogger(__name__)

DEFAULT_COOLDOWN_S = 60.0
"""How long to stay away after a 429 that did not say (Tesla always sends Retry-After; a proxy may not)."""

_SIGNING_MARK = "vehicle command protocol"
_USER_AGENT = "teslalink"


def _error_fields(body: bytes) -> tuple[str, str]:
    """(error, error_description) from an error body; a non-JSON body becomes a short excerpt."""
    if not body.strip():
        return "", ""
    try:
        data = loads(body)
    except errors.DecodeError:
        return body[:200].decode("utf-8", "replace").strip(), ""
    if isinstance(data, dict):
        return _plain(str(data.get("error") or "")), _plain(str(data.get("error_description") or ""))
    return "", ""


_RUBY_HASH = re.compile(r"\s*\{:\w+=>.*\}\s*$")


def _plain(text: str) -> str:
    """Tesla's text without the Ruby hash some answers carry.

    A 408 reads `vehicle unavailable: {:error=>"vehicle unavailable:"}`: the hash repeats the
    words in a server language's syntax, so people are shown `vehicle unavailable`.
    """
    return _RUBY_HASH.sub("", text).rstrip(": ").strip() if "=>" in text else text


class TeslaApi:
    """An Owner API session for one account. Use as an async context manager, or call `close()`.

    `session`: share your aiohttp session (never closed by us). `retry`: how reads are retried.
    `sleep` and `clock` are the waits and the monotonic clock (injectable for tests).
    """

    location_by_default: bool = True
    """Whether `Vehicle.vehicle_data()` without `endpoints` asks for `location_data` too (the
    Owner API: yes, as it always did; the Fleet API: no, see `FleetApi`)."""

    streaming_refused: str | None = None
    """Why `Vehicle.stream()` cannot work with this API's tokens (None: it can)."""

    def __init__(
        self,
        urls: CloudUrls,
        tokens: TokenProvider,
        *,
        session: aiohttp.ClientSession | None = None,
        retry: RetryPolicy | None = None,
        timeouts: Timeouts | None = None,
        sleep: Sleep = asyncio.sleep,
        clock: Clock = time.monotonic,
    ) -> None:
        self.urls = urls
        self.base_url = URL(urls.api)
        self._tokens = tokens
        self._transport = Transport(session, timeouts=timeouts)
        self.retry = retry or RetryPolicy()
        self.sleep = sleep
        self.clock = clock
        self._cooldown_until: dict[str, float] = {}

    def __repr__(self) -> str:
        return f"TeslaApi({self.urls.api!r})"

    # --- the one request path ------------------------------------------------------------------

    @property
    def tokens(self) -> TokenProvider:
        """Where the access tokens come from (shared with streams opened for this account)."""
        return self._tokens

    def cooldown_remaining(self, host: str | None = None) -> float:
        """Seconds left before `host` (default: the API's) may be called again after a 429 (0: none)."""
        until = self._cooldown_until.get(host or self.base_url.authority, 0.0)
        return max(0.0, until - self.clock())

    def cool_down(self, seconds: float, host: str | None = None) -> None:
        """Send nothing to `host` (default: the API's) for `seconds` (e.g. another process's 429).

        Other hosts of the account's cloud (the streaming server) keep their cooldowns here too,
        so that every path of a session, and the file the CLI keeps them in, shares one set.
        """
        key = host or self.base_url.authority
        self._cooldown_until[key] = max(self._cooldown_until.get(key, 0.0), self.clock() + seconds)

    def cooldowns(self) -> dict[str, float]:
        """Seconds left per host (host:port) still cooling down."""
        now = self.clock()
        return {host: until - now for host, until in self._cooldown_until.items() if until > now}

    async def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        idempotent: bool,
        base: URL | str | None = None,
    ) -> Any:
        """Send one call and return the unwrapped `response` (the body itself if not wrapped).

        `idempotent` allows retries on transport failures and 5xx; it only counts for GET.
        `base`: send it there instead of the API's base URL (a user's tesla-http-proxy); the
        cooldowns follow the host the call goes to.
        """
        method = method.upper()
        url = (self.base_url if base is None else URL(str(base))).join(URL(path.lstrip("/")))
        if params:
            url = url.with_query({k: _query_value(v) for k, v in params.items() if v is not None})
        where = f"{method} {url.path}"
        # Reads are retried (transport failures, 5xx); a command never: see the module docstring.
        policy = self.retry if idempotent and method == "GET" else NO_RETRY
        token = await self._tokens.access_token()
        renewed = False

        async def attempt() -> Response:
            """One try: sent with the current token, and once more with a renewed one after a 401."""
            nonlocal token, renewed
            response = await self._send_unless_cooling(where, method, url, token, json)
            if response.status == 401 and not renewed:
                token = await self._tokens.token_rejected(token)
                renewed = True
                response = await self._send_unless_cooling(where, method, url, token, json)
            if response.status == 401:
                raise errors.TokenExpired(f"{where}: the renewed token was rejected too")
            return response

        response = await policy.run(attempt, again=_server_failed, sleep=self.sleep, clock=self.clock)
        if response.status >= 400 or response.status < 200:
            raise self._error(where, response, url.authority)
        return self._unwrap(where, response)

    async def _send_unless_cooling(
        self, where: str, method: str, url: URL, token: str, json: Any
    ) -> Response:
        """Nothing is sent while the host cools down after a 429 (`RateLimited` at once)."""
        self._check_cooldown(where, url.authority)
        response = await self._send(method, url, token, json)
        _LOG.debug("%s -> %s", where, response.status)
        return response

    async def _send(self, method: str, url: URL, token: str, json: Any) -> Response:
        headers = {
            "Authorization": f"Bearer {token}",
            "User-Agent": _USER_AGENT,
            "Accept": "application/json",
        }
        return await self._transport.request(method, url, headers=headers, json_body=json)

    def _check_cooldown(self, where: str, host: str | None = None) -> None:
        remaining = self.cooldown_remaining(host)
        if remaining > 0:
            raise errors.RateLimited(
                429,
                f"{where}: not sent, cooling down after a 429; retry in {math.ceil(remaining)} s",
                retry_after=remaining,
            )

    def _error(self, where: str, response: Response, host: str | None = None) -> errors.ApiError:
        """The typed error for an answer that is not a success; a 429 starts `host`'s cooldown."""
        status = response.status
        error, description = _error_fields(response.body)
        if status == 429:
            wait = rate_limit_wait(response.headers)  # Retry-After, else RateLimit-Reset
            cooldown = DEFAULT_COOLDOWN_S if wait is None else wait
            self._cooldown_until[host or self.base_url.authority] = self.clock() + cooldown
            _LOG.warning("%s: rate limited; staying away for %.0f s", where, cooldown)
            return errors.RateLimited(429, f"{where}: {error or 'rate limited'}", retry_after=wait)
        detail = f"{where}: {error}" if error else where
        if status == 408:
            return errors.VehicleUnavailable(408, detail, description)
        if status == 403 and _SIGNING_MARK in error.lower():
            return errors.CommandSigningRequired(403, detail, description)
        if status >= 500:
            return errors.ServiceUnavailable(status, detail, description)
        return errors.ApiError(status, detail, description)

    @staticmethod
    def _unwrap(where: str, response: Response) -> Any:
        if not response.body.strip():
            return None
        try:
            data = loads(response.body)
        except errors.DecodeError as exc:
            raise errors.DecodeError(f"{where}: {exc}", exc.raw) from None
        if isinstance(data, dict) and "response" in data:
            return data["response"]
        return data

    # --- named endpoints -------------------------------------------------------------------------

    async def api(self, name: str, *, path_vars: Mapping[str, object] | None = None, **params: Any) -> Any:
        """Call a named endpoint of the catalogue (`endpoints.json`): query for GET, JSON body otherwise.

        Nothing is checked about the car's state: an `online` endpoint on a sleeping car is a
        `VehicleUnavailable`, never a silent wake.
        """
        found = endpoint(name)
        path = found.format_path(path_vars or {})
        if found.method == "GET":
            return await self.request("GET", path, params=params or None, idempotent=found.idempotent)
        body = {k: v for k, v in params.items() if v is not None}
        return await self.request(found.method, path, json=body or None, idempotent=found.idempotent)

    async def vehicle_command(
        self, vehicle: Vehicle, name: str, params: Mapping[str, Any]
    ) -> Mapping[str, Any]:
        """Send the command `name` (a catalogue name: "CHARGING_AMPS") to `vehicle` as a REST call.

        The seam every `Vehicle` command goes through, so another API (`FleetApi`: signed
        commands, a tesla-http-proxy) can carry it; the answer is REST-shaped,
        `{"result": bool, "reason": str}`. Never retried (see the module docstring).
        """
        found = await self.api(name, path_vars={"vehicle_id": vehicle.id_s}, **params)
        return found if isinstance(found, Mapping) else {}

    # --- account level ---------------------------------------------------------------------------

    async def products(self) -> list[dict[str, Any]]:
        """Every product of the account (cars, energy sites, Wall Connectors); wakes no car."""
        found = await self.api("PRODUCT_LIST")
        return [p for p in found if isinstance(p, dict)] if isinstance(found, list) else []

    async def vehicles(self) -> list[Vehicle]:
        """The account's cars, from the products list (GET api/1/vehicles is Fleet-API-only, 412)."""
        from .vehicle import Vehicle  # noqa: PLC0415 - vehicle.py imports this module

        return [Vehicle(self, p) for p in await self.products() if "vehicle_id" in p]

    async def vehicle(self, name_or_vin_or_id: str | None = None) -> Vehicle:
        """The account's car named by display name, VIN, id or vehicle_id (any case); None: the first.

        One products read, which wakes no car. ConfigError when the account has no car or none
        matches (the message lists the cars there are, so a typo is easy to see).
        """
        from .selection import pick_vehicle  # noqa: PLC0415 - beside vehicles(), which imports lazily too

        return pick_vehicle(await self.vehicles(), name_or_vin_or_id)

    async def energy_sites(self) -> list[EnergySite]:
        """The account's Powerwall and solar sites (Wall Connector products are left out)."""
        from .energy import EnergySite  # noqa: PLC0415

        return [
            EnergySite(self, p)
            for p in await self.products()
            if "energy_site_id" in p and p.get("resource_type") in ("battery", "solar")
        ]

    async def close(self) -> None:
        await self._transport.close()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()


def _server_failed(response: Response) -> bool:
    """A 5xx to a read is worth another try (within the policy, honouring Retry-After)."""
    return response.status >= 500


def _query_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list | tuple):
        return ";".join(str(v) for v in value)
    return str(value)
