"""A lean HTTP/1.1 GET transport for one device on the LAN (the Wall Connector).

Why not aiohttp here: a recorder polls hundreds of units every few seconds, and aiohttp's client
machinery costs about 120 µs of CPU per request, most of it for features a device poll never uses
(cookies, redirects, proxies, compression, tracing, connection pools). The unit wants the opposite
of a pool anyway: exactly one connection, one request at a time. This transport keeps one
keep-alive connection per unit, sends a fixed GET, and reads the answer framed by Content-Length,
chunked encoding or the connection's end, at about a third of the CPU (see bench/).

It does only that. Everything else (the cloud, a caller's own aiohttp session) goes through
`teslalink._http.Transport`; both have the call shape of `teslalink.transport.HttpTransport`,
return the same `Response` and raise the same errors.
"""

from __future__ import annotations

import asyncio
import re

from multidict import CIMultiDict
from yarl import URL

from . import errors
from .transport import Closing, Response, Timeouts

__all__ = ["AnswerReader", "LanTransport"]

# What one answer may be, as bytes from the device. A Wall Connector answer is 1-2 KB; these caps
# (our choice) leave room for any firmware while keeping a hostile device from growing our memory.
MAX_HEAD = 16 * 1024  # the status line and every header together
MAX_HEADERS = 64  # header lines, and again trailer lines after a chunked body
MAX_LINE = 8 * 1024  # one chunk-size line or one trailer line
MAX_BODY = 4 * 1024 * 1024  # the body, after chunked framing is removed
MAX_ANSWER = MAX_BODY + 1024 * 1024  # everything received for one answer, framing included
READ_CHUNK = 64 * 1024  # our choice: what one read of a connection takes at most (kept per connection)

_STATUS_LINE = re.compile(r"HTTP/1\.([0-9]) ([0-9]{3})(?: |$)")  # ASCII digits only, never "²00"
_DECIMAL = re.compile(r"[0-9]{1,10}")  # a Content-Length: ten digits is already beyond MAX_BODY
_HEX = re.compile(rb"[0-9A-Fa-f]{1,8}")  # a chunk size; no sign, no 0x, no underscore


class _Answer(asyncio.BufferedProtocol):
    """Collects one response at a time from a kept-alive connection.

    The read budget is a deadline for the whole answer: once its timer fired, every later wait
    fails, however often the device sends (a byte per loop turn must not keep a read alive).

    A buffered protocol: the loop reads into one chunk kept per connection (`get_buffer`). For a
    plain protocol the loop allocates a new 256 KiB bytes for every read and shrinks it to what
    came; depending on the allocator's state that is an mmap, page faults and a munmap per read
    (seen in a process holding two clients: 15-20 % of a signed command's CPU).
    """

    def __init__(self) -> None:
        # The loop the connection lives on, looked up once: on Python 3.11 every
        # asyncio.get_running_loop() is a getpid() system call, and an answer needed three.
        self.loop = asyncio.get_running_loop()
        self.transport: asyncio.Transport | None = None
        self.buffer = bytearray()
        self.waiter: asyncio.Future[None] | None = None
        self.closed = False
        self.expired = False
        self.received = 0
        self.overflow = False
        self.deadline = 0.0  # loop time by which the answer in progress must be whole
        self.reading = False  # an answer is in progress (the deadline applies)
        self._timer: asyncio.TimerHandle | None = None
        self._timer_at = 0.0  # when `_timer` fires (loop time), kept to skip its when() call
        self._chunk: memoryview | None = None  # what the loop reads into (`get_buffer`)

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def start(self) -> None:
        """A new request: nothing from an earlier answer may leak into this one."""
        self.buffer.clear()
        self.received = 0
        self.expired = False

    def get_buffer(self, sizehint: int) -> memoryview:
        """Where the loop writes what it reads: the connection's chunk (made on first use)."""
        chunk = self._chunk
        if chunk is None:
            chunk = self._chunk = memoryview(bytearray(READ_CHUNK))
        return chunk

    def buffer_updated(self, nbytes: int) -> None:
        """The loop read `nbytes` into the chunk."""
        assert self._chunk is not None
        self.data_received(self._chunk[:nbytes])

    def data_received(self, data: bytes | memoryview) -> None:
        self.received += len(data)
        if self.received > MAX_ANSWER:
            # Keep nothing more and read nothing more: memory stays bounded while we give up.
            self.overflow = True
            if self.transport is not None:
                self.transport.pause_reading()
        else:
            self.buffer += data
        waiter = self.waiter  # _wake(), inlined: this runs for every chunk received
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    def eof_received(self) -> bool:
        self.closed = True
        self._wake()
        return False

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self._wake()

    def arm(self, deadline: float) -> None:
        """The read budget of a new answer: `expire()` at `deadline` (loop time) unless `disarm()`ed.

        One timer per connection, moved on lazily (our choice): a timer that fires before the
        current deadline (set for an earlier answer) re-schedules itself, so a busy connection
        costs one timer per budget period, not a schedule and a cancel per request; one set for a
        later deadline than this one is moved earlier at once.
        """
        self.deadline = deadline
        self.reading = True
        timer = self._timer
        if timer is not None and self._timer_at > deadline:  # set for a later deadline: it would fire late
            timer.cancel()
            timer = None
        if timer is None:
            self._timer = self.loop.call_at(deadline, self._due)
            self._timer_at = deadline

    def disarm(self) -> None:
        """The answer is complete (or abandoned): the deadline no longer applies."""
        self.reading = False

    def _due(self) -> None:
        self._timer = None
        if not self.reading or self.closed:
            return
        if self.loop.time() < self.deadline:
            self._timer = self.loop.call_at(self.deadline, self._due)
            self._timer_at = self.deadline
        else:
            self.expire()

    def _wake(self) -> None:
        if self.waiter is not None and not self.waiter.done():
            self.waiter.set_result(None)

    def expire(self) -> None:
        """The read budget ran out: fail the wait in progress and every later one (a plain timer,
        cheaper than a per-request `asyncio.timeout` scope on a path taken hundreds of times a second)."""
        self.expired = True
        if self.waiter is not None and not self.waiter.done():
            self.waiter.set_exception(_Expired())

    async def more(self) -> None:
        """Wait until more bytes arrive or the connection ends; fail past the deadline or the cap."""
        if self.expired or self.overflow:
            self._check()
        if self.closed:
            raise _Closed
        self.waiter = self.loop.create_future()
        try:
            await self.waiter
        finally:
            self.waiter = None
        if self.expired or self.overflow:  # _check() only when it will raise (once per chunk)
            self._check()
        if self.closed and not self.buffer:
            raise _Closed

    def _check(self) -> None:
        if self.expired:
            raise _Expired
        if self.overflow:
            raise _TooBig


class _Closed(Exception):
    """The peer closed the connection before a complete answer."""

    deadline = 0.0  # the read deadline of the exchange it ended, kept for a reconnect


class _Expired(Exception):
    """The answer did not complete within the read budget."""


class _TooBig(Exception):
    """The device sent more than MAX_ANSWER bytes for one answer."""


class AnswerReader:
    """Reads one HTTP/1.1 answer from an `_Answer` connection, within the caps above.

    Shared by `LanTransport` and `teslalink._pool_http.PoolTransport`: the same framing rules, the
    same caps and the same errors for a device on the LAN and for a cloud host. `_where` names the
    host in errors; `_peer` says who sent what was refused ("the device", "the server").
    """

    _where = ""
    _peer = "the device"
    timeouts: Timeouts

    async def _round_trip(self, conn: _Answer, request: bytes, deadline: float) -> tuple[Response, bool]:
        """Send `request` and read its answer before `deadline` (loop time); (answer, keep-alive).

        `_Closed` (the peer closed before answering) is raised as it is, for the caller to decide;
        on any error the connection is in an unknown state and the caller must drop it.
        """
        assert conn.transport is not None
        if conn.loop.time() >= deadline:
            # the budget went on getting a connection: never write what would be timed out unread
            raise errors.NotSent(f"{self._where}: not sent: its budget ran out before it could be written")
        conn.start()
        conn.arm(deadline)
        try:
            conn.transport.write(request)
            return await self._read_response(conn)
        except _Expired:
            raise errors.TimeoutError(f"{self._where}: no answer within {self.timeouts.read_s:g} s") from None
        except _TooBig:
            raise self._bad(f"an answer over {MAX_ANSWER // 2**20} MiB") from None
        finally:
            conn.disarm()

    async def _read_response(self, conn: _Answer) -> tuple[Response, bool]:
        buffer = conn.buffer
        scanned = 0
        while (end := buffer.find(b"\r\n\r\n", scanned)) < 0:
            if len(buffer) > MAX_HEAD:
                raise self._bad(f"a response head over {MAX_HEAD // 1024} KiB")
            scanned = max(0, len(buffer) - 3)  # a trickle must not cost a rescan per byte
            await conn.more()
        if end > MAX_HEAD:
            raise self._bad(f"a response head over {MAX_HEAD // 1024} KiB")
        head = buffer[:end].decode("latin-1")
        del buffer[: end + 4]
        status_line, *header_lines = head.split("\r\n")
        status = _STATUS_LINE.match(status_line)
        if status is None:
            raise self._bad(f"not an HTTP answer ({status_line[:40]!r})")
        if len(header_lines) > MAX_HEADERS:
            raise self._bad(f"more than {MAX_HEADERS} headers")
        # case-insensitive, as aiohttp's: callers ask for "Retry-After" or "retry-after" alike
        headers: CIMultiDict[str] = CIMultiDict()
        for line in header_lines:
            name, sep, value = line.partition(":")
            if sep:
                headers[name.strip()] = value.strip()  # the last of a repeated header wins
        connection = headers.get("connection", "").lower()
        keep_alive = "close" not in connection and (status[1] != "0" or "keep-alive" in connection)
        if "chunked" in headers.get("transfer-encoding", "").lower():
            body = await self._read_chunked(conn)
        elif (length := headers.get("content-length")) is not None:
            if not _DECIMAL.fullmatch(length) or int(length) > MAX_BODY:
                raise self._bad(f"a bad Content-Length {length[:20]!r}")
            size = int(length)
            if len(buffer) >= size:  # the common case: the whole body came with the head
                body = bytes(buffer[:size])
                del buffer[:size]
            else:
                body = await self._read_exactly(conn, size)
        else:
            body = await self._read_to_close(conn)
            keep_alive = False
        return Response(int(status[2]), headers, body), keep_alive

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
            if len(conn.buffer) > MAX_BODY:
                raise self._bad(f"an answer over {MAX_BODY // 2**20} MiB")
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
            if not _HEX.fullmatch(size_text):
                raise self._bad(f"a bad chunk size {size_text[:20]!r}")
            size = int(size_text, 16)
            if size == 0:
                await self._skip_trailers(conn)
                return bytes(body)
            if len(body) + size > MAX_BODY:
                raise self._bad(f"an answer over {MAX_BODY // 2**20} MiB")
            body += await self._read_exactly(conn, size)
            if await self._read_exactly(conn, 2) != b"\r\n":
                raise self._bad("a chunk longer than its size")

    async def _skip_trailers(self, conn: _Answer) -> None:
        """Trailers up to the empty line; nobody reads them, but they are capped like headers."""
        for _ in range(MAX_HEADERS + 1):
            if not await self._read_line(conn):
                return
        raise self._bad(f"more than {MAX_HEADERS} trailers")

    async def _read_line(self, conn: _Answer) -> bytes:
        """One CRLF-ended line of at most MAX_LINE bytes (a chunk size or a trailer)."""
        scanned = 0
        while (end := conn.buffer.find(b"\r\n", scanned)) < 0:
            if len(conn.buffer) > MAX_LINE:
                raise self._bad(f"a line over {MAX_LINE // 1024} KiB")
            if conn.closed:
                raise errors.ConnectionError(f"{self._where}: the answer was cut off")
            scanned = max(0, len(conn.buffer) - 1)
            await conn.more()
        if end > MAX_LINE:
            raise self._bad(f"a line over {MAX_LINE // 1024} KiB")
        line = bytes(conn.buffer[:end])
        del conn.buffer[: end + 2]
        return line

    def _bad(self, what: str) -> errors.ConnectionError:
        return errors.ConnectionError(f"{self._where}: {self._peer} sent {what}")


class LanTransport(AnswerReader, Closing):
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
        self._requests: dict[URL, bytes] = {}  # the bytes of each request, built once per URL

    def _request_bytes(self, method: str, url: URL) -> bytes:
        if method != "GET":
            raise errors.ConfigError(f"{self._where}: the lean LAN transport sends GET only, not {method}")
        if url.raw_authority != self._host_header.decode("ascii"):
            raise errors.ConfigError(f"{url}: the lean LAN transport speaks to {self._where} only")
        return b"GET %s HTTP/1.1\r\nHost: %s\r\nAccept: application/json\r\n\r\n" % (
            url.raw_path_qs.encode("ascii"),
            self._host_header,
        )

    async def request(self, method: str, url: URL) -> Response:
        """GET `url` (on this device); reconnects once at once if a kept-alive connection turned out dead."""
        request = self._requests.get(url)
        if request is None or method != "GET":
            request = self._requests[url] = self._request_bytes(method, url)
        reused = self._conn is not None and not self._conn.closed
        try:
            return await self._exchange(request)
        except _Closed as closed:
            if not reused:
                raise errors.ConnectionError(
                    f"{self._where}: the connection was closed before an answer"
                ) from None
            deadline = closed.deadline
        # The unit dropped the idle connection between polls: that is no failure, ask again, but
        # within the same read deadline (one attempt never takes more than its budgets).
        try:
            return await self._exchange(request, deadline)
        except _Closed:
            raise errors.ConnectionError(
                f"{self._where}: the connection was closed before an answer"
            ) from None

    async def _exchange(self, request: bytes, deadline: float | None = None) -> Response:
        conn = await self._connection()
        if deadline is None:
            deadline = asyncio.get_running_loop().time() + self.timeouts.read_s
        try:
            response, keep_alive = await self._round_trip(conn, request, deadline)
        except _Closed as closed:
            self._drop()
            closed.deadline = deadline
            raise
        except BaseException:
            self._drop()  # a half-read answer (an error, a cancelled call) must not meet the next request
            raise
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

    def _drop(self) -> None:
        if self._conn is not None:
            if self._conn.transport is not None:
                self._conn.transport.close()
            self._conn = None

    async def close(self) -> None:
        self._drop()
