"""The transport seam: every HTTP request teslalink makes goes through `Transport`.

Why one seam: session ownership, timeouts and the translation of aiohttp's exceptions into
`teslalink.errors` live in exactly one place. A caller may hand in its own `aiohttp.ClientSession`
(Home Assistant does); we never close a session we did not open.
"""

from __future__ import annotations

import email.utils
import time
from collections.abc import Mapping
from dataclasses import dataclass
from types import TracebackType
from typing import TYPE_CHECKING, Any, Self

from yarl import URL

from . import errors

if TYPE_CHECKING:
    import aiohttp  # imported on first use: the Wall Connector's lean transport never needs it

__all__ = ["MAX_BODY", "Response", "Timeouts", "Transport", "retry_after"]

# Our choice: the largest body any Tesla answer may have. The biggest real ones (a year of energy
# history, a full vehicle_data) are a few hundred KB; the Wall Connector passes its own, smaller cap.
MAX_BODY = 32 * 1024 * 1024


def retry_after(headers: Mapping[str, str] | None, now: float | None = None) -> float | None:
    """Retry-After in seconds: a number, or an HTTP date (counted from `now`, epoch; default: now).

    None when absent or unreadable: the caller picks its own wait then.
    """
    value = headers.get("Retry-After") if headers else None
    if value is None:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        moment = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, moment.timestamp() - (time.time() if now is None else now))


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

    def to_aiohttp(self) -> aiohttp.ClientTimeout:
        import aiohttp  # noqa: PLC0415 - see the module's imports

        # aiohttp cannot say when its connection opened, so the read deadline is held as a total
        # (our choice): the request in all within connect_s + read_s, as on the lean transport.
        return aiohttp.ClientTimeout(
            total=self.total_s, connect=self.connect_s, sock_connect=self.connect_s, sock_read=self.read_s
        )


@dataclass(frozen=True, slots=True)
class Response:
    """What a request produced: status, headers and the whole body as bytes."""

    status: int
    headers: Mapping[str, str]
    body: bytes


class Transport:
    """Owns (or borrows) an aiohttp session and turns its failures into teslalink errors."""

    def __init__(
        self,
        session: aiohttp.ClientSession | None = None,
        *,
        timeouts: Timeouts | None = None,
        limit_per_host: int = 0,
        max_body: int = MAX_BODY,
    ) -> None:
        self._session = session
        self.max_body = max_body
        self._owns_session = session is None
        self._limit_per_host = limit_per_host
        self.timeouts = timeouts or Timeouts()
        self._client_timeout = self.timeouts.to_aiohttp()

    @property
    def session(self) -> aiohttp.ClientSession:
        """The session in use; one is opened on first use when the caller gave none."""
        import aiohttp  # noqa: PLC0415 - see the module's imports

        if self._session is None or (self._owns_session and self._session.closed):
            connector = aiohttp.TCPConnector(limit=0, limit_per_host=self._limit_per_host)
            self._session = aiohttp.ClientSession(
                connector=connector,
                timeout=self._client_timeout,
                cookie_jar=aiohttp.DummyCookieJar(),
            )
            self._owns_session = True
        return self._session

    async def request(
        self,
        method: str,
        url: URL,
        *,
        headers: Mapping[str, str] | None = None,
        data: Any = None,
        json_body: Any = None,
        allow_redirects: bool = True,
    ) -> Response:
        """Send one request and read the whole answer; transport failures become teslalink errors."""
        import aiohttp  # noqa: PLC0415 - see the module's imports

        where = url.authority or str(url)
        try:
            async with self.session.request(
                method,
                url,
                headers=headers,
                data=data,
                json=json_body,
                timeout=self._client_timeout,
                allow_redirects=allow_redirects,
            ) as resp:
                body = await self._read_body(resp, where)
                return Response(resp.status, resp.headers, body)
        except errors.TeslalinkError:
            raise
        except aiohttp.ConnectionTimeoutError:
            raise errors.TimeoutError(
                f"{where}: no connection within {self.timeouts.connect_s:g} s"
            ) from None
        except (TimeoutError, aiohttp.SocketTimeoutError, aiohttp.ServerTimeoutError):
            raise errors.TimeoutError(f"{where}: no answer within {self.timeouts.total_s:g} s") from None
        except aiohttp.InvalidURL as exc:
            raise errors.ConfigError(f"invalid URL {exc}") from None
        except aiohttp.ClientConnectorError as exc:
            raise errors.ConnectionError(
                f"{where}: cannot connect ({exc.os_error.strerror or exc})"
            ) from None
        except aiohttp.ServerDisconnectedError:
            raise errors.ConnectionError(f"{where}: the connection was closed before an answer") from None
        except aiohttp.ClientPayloadError:
            raise errors.ConnectionError(f"{where}: the answer was cut off") from None
        except (aiohttp.ClientError, OSError) as exc:
            raise errors.ConnectionError(f"{where}: {type(exc).__name__}: {exc}") from None

    async def _read_body(self, resp: aiohttp.ClientResponse, where: str) -> bytes:
        """The whole body, refused as soon as it is known to pass `max_body` (never read whole)."""
        too_big = f"{where}: the server sent an answer over {self.max_body / 2**20:g} MiB"
        if resp.content_length is not None and resp.content_length > self.max_body:
            raise errors.ConnectionError(too_big)
        body = bytearray()
        async for chunk in resp.content.iter_any():
            body += chunk
            if len(body) > self.max_body:
                raise errors.ConnectionError(too_big)
        return bytes(body)

    async def close(self) -> None:
        """Close the session if we opened it; a borrowed session stays open."""
        if self._owns_session and self._session is not None and not self._session.closed:
            await self._session.close()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()
