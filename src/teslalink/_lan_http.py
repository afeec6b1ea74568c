"""A lean HTTP/1.1 GET transport for one device on the LAN (the Wall Connector).

Why not aiohttp here: a recorder polls hundreds of units every few seconds, and aiohttp's client
machinery costs about 120 µs of CPU per request, most of it for features a device poll never uses
(cookies, redirects, proxies, compression, tracing, connection pools). The unit wants the opposite
of a pool anyway: exactly one connection, one request at a time. This transport keeps one
keep-alive connection per unit, sends a fixed GET, and reads the answer framed by Content-Length,
chunked encoding or the connection's end, at about a third of the CPU (see bench/).

It does only that. Everything else (the cloud, a caller's own aiohttp session) goes through
`teslalink._http.Transport`; both return the same `Response` and raise the same errors.
"""

from __future__ import annotations

import asyncio
from types import TracebackType
from typing import Self

from yarl import URL

from . import errors
from ._http import Response, Timeouts

__all__ = ["LanTransport"]

_MAX_HEAD = 16 * 1024
_MAX_BODY = 4 * 1024 * 1024


class _Answer(asyncio.Protocol):
    """Collects one response at a time from a kept-alive connection."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.buffer = bytearray()
        self.waiter: asyncio.Future[None] | None = None
        self.closed = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        self._wake()

    def eof_received(self) -> bool:
        self.closed = True
        self._wake()
        return False

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self._wake()

    def _wake(self) -> None:
        if self.waiter is not None and not self.waiter.done():
            self.waiter.set_result(None)

    def expire(self) -> None:
        """The read budget ran out: fail the wait in progress (a plain timer, cheaper than a
        per-request `asyncio.timeout` scope on a path taken hundreds of times a second)."""
        if self.waiter is not None and not self.waiter.done():
            self.waiter.set_exception(_Expired())

    async def more(self) -> None:
        """Wait until more bytes arrive or the connection ends."""
        if self.closed:
            raise _Closed
        self.waiter = asyncio.get_running_loop().create_future()
        try:
            await self.waiter
        finally:
            self.waiter = None
        if self.closed and not self.buffer:
            raise _Closed


class _Closed(Exception):
    """The peer closed the connection before a complete answer."""


class _Expired(Exception):
    """The answer did not complete within the read budget."""


class LanTransport:
    """One kept-alive HTTP/1.1 connection to one device; GET only, one request at a time.

    The caller serialises requests (the Wall Connector client holds a lock); this class assumes it.
    """

    def __init__(self, base_url: URL, *, timeouts: Timeouts | None = None) -> None:
        if base_url.scheme != "http":
            raise errors.ConfigError(f"{base_url}: the lean LAN transport speaks plain http only")
        self.timeouts = timeouts or Timeouts()
        self._where = base_url.authority
        self._host = base_url.raw_host or ""
        self._port = base_url.port or 80
        self._host_header = base_url.raw_authority.encode("ascii")
        self._conn: _Answer | None = None
        self._requests: dict[str, bytes] = {}

    async def get(self, path: str) -> Response:
        """GET `path`; reconnects once at once if a kept-alive connection turned out to be dead."""
        request = self._requests.get(path)
        if request is None:
            request = b"GET %s HTTP/1.1\r\nHost: %s\r\nAccept: application/json\r\n\r\n" % (
                path.encode("ascii"),
                self._host_header,
            )
            self._requests[path] = request
        reused = self._conn is not None and not self._conn.closed
        try:
            return await self._exchange(request)
        except _Closed:
            if not reused:
                raise errors.ConnectionError(
                    f"{self._where}: the connection was closed before an answer"
                ) from None
        # The unit dropped the idle connection between polls: that is no failure, ask again.
        try:
            return await self._exchange(request)
        except _Closed:
            raise errors.ConnectionError(
                f"{self._where}: the connection was closed before an answer"
            ) from None

    async def _exchange(self, request: bytes) -> Response:
        conn = await self._connection()
        assert conn.transport is not None
        timer = asyncio.get_running_loop().call_later(self.timeouts.read_s, conn.expire)
        try:
            conn.buffer.clear()  # nothing from an earlier answer may leak into this one
            conn.transport.write(request)
            response, keep_alive = await self._read_response(conn)
        except _Expired:
            self._drop()
            raise errors.TimeoutError(f"{self._where}: no answer within {self.timeouts.read_s:g} s") from None
        except (_Closed, errors.TeslalinkError):
            self._drop()
            raise
        finally:
            timer.cancel()
        if not keep_alive:
            self._drop()
        return response

    async def _connection(self) -> _Answer:
        if self._conn is not None and not self._conn.closed:
            return self._conn
        self._drop()
        loop = asyncio.get_running_loop()
        try:
            async with asyncio.timeout(self.timeouts.connect_s):
                _, conn = await loop.create_connection(_Answer, self._host, self._port)
        except TimeoutError:
            raise errors.TimeoutError(
                f"{self._where}: no connection within {self.timeouts.connect_s:g} s"
            ) from None
        except OSError as exc:
            reason = exc.strerror or type(exc).__name__
            raise errors.ConnectionError(f"{self._where}: cannot connect ({reason})") from None
        self._conn = conn
        return conn

    async def _read_response(self, conn: _Answer) -> tuple[Response, bool]:
        buffer = conn.buffer
        while (end := buffer.find(b"\r\n\r\n")) < 0:
            if len(buffer) > _MAX_HEAD:
                raise self._bad("a response head over 16 KiB")
            await conn.more()
        head = bytes(buffer[:end]).decode("latin-1")
        del buffer[: end + 4]
        status_line, _, header_text = head.partition("\r\n")
        version, _, rest = status_line.partition(" ")
        status_text = rest[:3]
        if not version.startswith("HTTP/1.") or not status_text.isdigit():
            raise self._bad(f"not an HTTP answer ({status_line[:40]!r})")
        headers: dict[str, str] = {}
        for line in header_text.split("\r\n"):
            name, sep, value = line.partition(":")
            if sep:
                headers[name.strip().lower()] = value.strip()
        connection = headers.get("connection", "").lower()
        keep_alive = "close" not in connection and (version != "HTTP/1.0" or "keep-alive" in connection)
        if "chunked" in headers.get("transfer-encoding", "").lower():
            body = await self._read_chunked(conn)
        elif (length := headers.get("content-length")) is not None:
            if not length.isdigit() or int(length) > _MAX_BODY:
                raise self._bad(f"a bad Content-Length {length!r}")
            body = await self._read_exactly(conn, int(length))
        else:
            body = await self._read_to_close(conn)
            keep_alive = False
        return Response(int(status_text), headers, body), keep_alive

    async def _read_exactly(self, conn: _Answer, size: int) -> bytes:
        while len(conn.buffer) < size:
            if conn.closed:
                raise errors.ConnectionError(f"{self._where}: the answer was cut off")
            await conn.more()
        body = bytes(conn.buffer[:size])
        del conn.buffer[:size]
        return body

    async def _read_to_close(self, conn: _Answer) -> bytes:
        while not conn.closed:
            if len(conn.buffer) > _MAX_BODY:
                raise self._bad("an answer over 4 MiB")
            try:
                await conn.more()
            except _Closed:
                break
        body = bytes(conn.buffer)
        conn.buffer.clear()
        return body

    async def _read_chunked(self, conn: _Answer) -> bytes:
        body = bytearray()
        while True:
            line = await self._read_line(conn)
            size_text = line.split(b";", 1)[0].strip()
            try:
                size = int(size_text, 16)
            except ValueError:
                raise self._bad(f"a bad chunk size {size_text[:20]!r}") from None
            if size == 0:
                while await self._read_line(conn):  # trailers, up to the empty line
                    pass
                return bytes(body)
            if len(body) + size > _MAX_BODY:
                raise self._bad("an answer over 4 MiB")
            body += await self._read_exactly(conn, size)
            await self._read_exactly(conn, 2)  # the CRLF after each chunk

    async def _read_line(self, conn: _Answer) -> bytes:
        while (end := conn.buffer.find(b"\r\n")) < 0:
            if conn.closed:
                raise errors.ConnectionError(f"{self._where}: the answer was cut off")
            await conn.more()
        line = bytes(conn.buffer[:end])
        del conn.buffer[: end + 2]
        return line

    def _bad(self, what: str) -> errors.ConnectionError:
        return errors.ConnectionError(f"{self._where}: the device sent {what}")

    def _drop(self) -> None:
        if self._conn is not None:
            if self._conn.transport is not None:
                self._conn.transport.close()
            self._conn = None

    async def close(self) -> None:
        self._drop()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()
