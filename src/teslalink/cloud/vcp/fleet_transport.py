"""The Fleet API's `signed_command` as a `dispatch.Transport`: RoutableMessage bytes to one car and back.

`FleetTransport(http, base_url, vin, tokens)` is called with `dispatch.send_command`'s `sign`; it
takes the token (a refresh may happen then), and the HTTP transport calls `sign()` once it holds a
connection, so the command's expiry starts there. It POSTs `{"routable_message": <std base64>}`
to `{base_url}api/1/vehicles/{vin}/signed_command` and returns the bytes of the 200's `response`
(research/fleet.md 2.10). A 200 means the car answered, not that it obeyed: its verdict is
inside, for `messages` to read.

Every other status is the Fleet API's own, given before the car saw anything (research/fleet.md
1.8), and becomes a typed teslalink error:

    401                 the token is reported to the `TokenProvider` and the POST sent once more
                        (nothing ran); a second 401 is `TokenExpired`
    403                 `MissingScopes` (the token lacks the action's scope, named), or `ApiError`
    408                 `VehicleUnavailable`: asleep or offline; never woken here
    412                 `NotRegistered`: the app is not registered in this region
    421                 `OutOfRegion`, with the base URL the body or Alt-Svc names
    422                 `SignedCommandsNotSupported`: the car takes REST commands (pre-2021 S/X)
                        (these four: `teslalink.cloud.fleet.refusals`, shared with FleetApi)
    429                 `RateLimited`, with the wait (Retry-After, else RateLimit-Reset)
    5xx                 `ServiceUnavailable`
    other               `ApiError`

`dispatch` lets the 4xx refusals and `errors.NotSent` (the POST never left) through as they are
(the command did not reach the car), and turns anything else a command's POST raises, a 5xx or a
connection lost after sending included, into `OutcomeUnknown`: the car may have run it. Nothing
here retries or wakes.
"""

from __future__ import annotations

import binascii
import functools
from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import Any, Protocol

from yarl import URL

from teslalink import errors
from teslalink._json import loads
from teslalink.cloud.api import _error_fields
from teslalink.cloud.fleet.refusals import fleet_refusal
from teslalink.cloud.provider import TokenProvider
from teslalink.errors import MissingScopes, OutOfRegion, SignedCommandsNotSupported
from teslalink.transport import Response, rate_limit_wait

__all__ = ["FleetTransport", "JsonHttp", "MissingScopes", "OutOfRegion", "SignedCommandsNotSupported"]

_USER_AGENT = "teslalink"
_JSON = "application/json"


class JsonHttp(Protocol):
    """What the signed path needs of an HTTP transport: a request with headers and a JSON body built
    by `json_at_send()` as late as the transport can (the pool: once a connection is held).

    Both `teslalink._http.Transport` (aiohttp) and `teslalink._pool_http.PoolTransport` have it.
    """

    async def request(
        self,
        method: str,
        url: URL,
        *,
        headers: Mapping[str, str] | None = ...,
        json_at_send: Callable[[], Any] | None = ...,
    ) -> Response: ...


@functools.lru_cache(maxsize=4096)
def signed_command_url(base_url: str | URL, vin: str) -> URL:
    """`{base_url}api/1/vehicles/{vin}/signed_command`, built once per host and car (yarl's join is
    costly next to a command, and a transport is made per command; a URL is taken as it is, its
    hash is kept, so a hit does not even render it as text)."""
    return URL(str(base_url).rstrip("/") + "/").join(URL(f"api/1/vehicles/{vin}/signed_command"))


@functools.lru_cache(maxsize=8)
def _headers(token: str) -> Mapping[str, str]:
    """The POST's headers for `token`, made once per token (a few kept, in memory only): the same
    strings every time, so the pool finds the header lines it checked for them without scanning
    or even hashing the token again."""
    return MappingProxyType({"Authorization": f"Bearer {token}", "User-Agent": _USER_AGENT, "Accept": _JSON})


class FleetTransport:
    """A `dispatch.Transport` for one car over the Fleet API's `signed_command` endpoint.

    `http` is shared by every car and owned by the caller (FleetApi's pool, or the caller's own
    aiohttp session). The token
    comes from `tokens` before each POST, as `TeslaApi` takes it; it never reaches an error or a
    repr. `on_status(status)` hears the status of every POST that got an answer, handshakes and
    the retry after a 401 included, so a ledger can count what Tesla bills (research/fleet.md 1.9).
    """

    def __init__(
        self,
        http: JsonHttp,
        base_url: str | URL,
        vin: str,
        tokens: TokenProvider,
        *,
        on_status: Callable[[int], object] | None = None,
    ) -> None:
        self.vin = vin
        self.url = signed_command_url(base_url, vin)
        self._http = http
        self._tokens = tokens
        self._on_status = on_status

    def __repr__(self) -> str:
        return f"FleetTransport({str(self.url)!r})"

    async def __call__(self, sign: Callable[[], bytes]) -> bytes:
        """POST the RoutableMessage `sign()` builds and return the car's answer; raise the typed
        errors above. After a 401 it is signed again (a fresh expiry) with the renewed token."""

        def body() -> dict[str, str]:
            # binascii itself, not base64.b64encode's wrapper: one Python call fewer per command
            return {"routable_message": binascii.b2a_base64(sign(), newline=False).decode("ascii")}

        token = await self._tokens.access_token()
        response = await self._post(token, body)
        if response.status == 401:  # nothing ran: safe to send once more with a renewed token
            response = await self._post(await self._tokens.token_rejected(token), body)
            if response.status == 401:
                raise errors.TokenExpired(f"{self._where}: the renewed token was rejected too")
        if response.status != 200:
            raise self._error(response)
        return self._car_answer(response)

    @property
    def _where(self) -> str:
        return f"POST {self.url.path}"

    async def _post(self, token: str, body: Callable[[], dict[str, str]]) -> Response:
        response = await self._http.request("POST", self.url, headers=_headers(token), json_at_send=body)
        if self._on_status is not None:
            self._on_status(response.status)
        return response

    def _car_answer(self, response: Response) -> bytes:
        """The bytes inside `{"response": b64}`; anything else is a DecodeError (the car may have acted)."""
        try:
            encoded = loads(response.body)["response"]
            if not isinstance(encoded, str):
                raise TypeError(encoded)
            # strict: only the alphabet, padding only at the end (as b64decode(validate=True), without
            # its Python wrapper); a non-ASCII string is a ValueError
            return binascii.a2b_base64(encoded, strict_mode=True)
        except (errors.DecodeError, KeyError, TypeError, ValueError):
            raise errors.DecodeError(
                f"{self._where}: a 200 without a base64 `response`", response.body[:200]
            ) from None

    def _error(self, response: Response) -> errors.ApiError:
        status = response.status
        error, description = _error_fields(response.body)
        detail = f"{self._where}: {error}" if error else self._where
        if status == 408:
            return errors.VehicleUnavailable(408, detail, description)
        refused = fleet_refusal(status, detail, error, description, response.headers, signed=True)
        if refused is not None:
            return refused
        if status == 429:
            wait = rate_limit_wait(response.headers)
            return errors.RateLimited(429, f"{self._where}: {error or 'rate limited'}", retry_after=wait)
        if status >= 500:
            # our choice: a 503 "vehicle is not available" (research/fleet.md 1.8) stays a
            # ServiceUnavailable too, which dispatch reports as OutcomeUnknown: a 504 or a 500
            # may come after the car acted, and no source says which 5xx never reached it.
            return errors.ServiceUnavailable(status, detail, description)
        return errors.ApiError(status, detail, description)
