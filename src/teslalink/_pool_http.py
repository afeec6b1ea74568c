"""A lean keep-alive HTTP/1.1 client for the Fleet API's signed commands: POST/GET, http or https.

Why not aiohttp here: a signed command is one small JSON POST and one small JSON answer, and
aiohttp's client machinery (request and response objects, cookies, redirects, proxies, traces,
its connector) costs about 400 µs of CPU per call on this project's machine, more than signing,
checking and decrypting the command together (bench/fleet.py). This client sends the request
bytes it built itself on a kept-alive connection and reads the answer with the LAN transport's
reader (`_lan_http.AnswerReader`: the same framing rules, caps and errors), at a fraction of that.

What it does: HTTP/1.1 with keep-alive; https through `ssl.create_default_context()` (certificate
and host name verified, the system's trust store or SSL_CERT_FILE) or a context the caller gives;
a small pool per host (`max_per_host` connections, our choice 32: concurrent commands to many cars
share them, further ones wait for a free one); idle connections dropped after `IDLE_S`. What it
does not: proxies (neither does our aiohttp session: a caller behind one passes its own aiohttp
session, which the signed path then uses), redirects (the answer is returned as it is),
compression, cookies, HTTP/2. Bodies are JSON (`json_body`) or bytes.

Errors are the seam's: a request that never left (no connection free or opened within the connect
budget, a TLS certificate that does not verify) is `errors.NotSent`, which says nothing ran; a
connection that breaks after the request was written is `errors.ConnectionError`, an answer late
past the read budget `errors.TimeoutError`, a hostile answer `errors.ConnectionError` naming what
was refused.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import ssl
import time
from collections.abc import Callable, Mapping
from typing import Any

from yarl import URL

from . import errors
from ._json import dumps
from ._lan_http import AnswerReader, _Answer, _Closed
from .transport import Closing, Response, Timeouts

__all__ = ["IDLE_S", "MAX_HEADER_BLOCKS", "MAX_PER_HOST", "MAX_URLS", "PoolTransport"]

MAX_PER_HOST = 32
"""Our choice: connections open at once to one host (aiohttp's default is 100 for all hosts)."""
IDLE_S = 15.0
"""Our choice, as aiohttp's keep-alive timeout: an idle connection older than this is closed, not
reused (a server or load balancer may have dropped it; a POST must not find that out mid-command)."""
MAX_HEADER_BLOCKS = 64
"""Our choice: distinct sets of request headers whose checked, encoded lines are kept."""
MAX_URLS = 4096
"""Our choice: URLs whose origin is kept (one per car and host for signed commands)."""
_Head = tuple[str, bytes, frozenset[str]]
"""A request's method, its head's bytes up to the content headers, and its header names."""
_IDEMPOTENT = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})
_METHODS = {m: m for m in ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS")}


class _Slots:
    """At most `size` requests to one host at once; the others wait their turn, first come first
    served, each one handed the slot the one before it gives back.

    Our own, not asyncio.Semaphore: taking a free slot is one check, no coroutine and no scan of
    the waiters, and it happens for every request.
    """

    __slots__ = ("free", "waiting")

    def __init__(self, size: int) -> None:
        self.free = size
        self.waiting: collections.deque[asyncio.Future[None]] = collections.deque()

    def take(self) -> bool:
        """Take a free slot if there is one and nobody is waiting for it."""
        if self.free and not self.waiting:
            self.free -= 1
            return True
        return False

    async def wait(self) -> None:
        """Wait until `release` hands us a slot. Cancelled (a timeout), a slot handed over in the
        meantime goes on to the next in line."""
        waiter = asyncio.get_running_loop().create_future()
        self.waiting.append(waiter)
        try:
            await waiter
        except BaseException:
            if waiter.done() and not waiter.cancelled():
                self.release()
            else:
                with contextlib.suppress(ValueError):
                    self.waiting.remove(waiter)
            raise

    def release(self) -> None:
        """Give a slot back: to the first one still waiting, else to the free ones."""
        while self.waiting:
            waiter = self.waiting.popleft()
            if not waiter.done():
                waiter.set_result(None)
                return
        self.free += 1


class _Origin(AnswerReader):
    """The connections of one scheme://host:port: the idle ones (newest last) and a bound on all.

    It reads the answers of its connections too, so an error names its own host whatever else
    the pool is doing at the time.
    """

    _peer = "the server"

    def __init__(self, url: URL, max_per_host: int, timeouts: Timeouts) -> None:
        self.host = url.raw_host or ""
        self.port = url.port or (443 if url.scheme == "https" else 80)
        self.tls = url.scheme == "https"
        self.authority = url.raw_authority
        self._where = url.authority
        self.timeouts = timeouts
        self.idle: list[tuple[_Answer, float]] = []  # (connection, when it became idle)
        self.slots = _Slots(max_per_host)
        self.open = True


class PoolTransport(Closing):
    """Kept-alive HTTP/1.1 connections to a few hosts; one request per connection at a time.

    `request(method, url, headers=, json_body=, data=)` has the call shape of `_http.Transport`'s
    for what the signed-command path sends. `ssl_context`: for https (default: the system's trust,
    verified; built on first use). Bodies are capped by the reader (`_lan_http.MAX_BODY`).
    """

    def __init__(
        self,
        *,
        timeouts: Timeouts | None = None,
        max_per_host: int = MAX_PER_HOST,
        ssl_context: ssl.SSLContext | None = None,
        user_agent: str = "teslalink",
    ) -> None:
        if max_per_host < 1:
            raise errors.ConfigError("a connection pool needs at least one connection per host")
        self.timeouts = timeouts or Timeouts()
        self._max_per_host = max_per_host
        self._ssl = ssl_context
        self._origins: dict[tuple[str, str, int | None], _Origin] = {}
        self._blocks: dict[tuple[tuple[str, str], ...], tuple[bytes, frozenset[str]]] = {}
        self._by_url: dict[URL, _Origin] = {}  # each URL's origin, found without parsing it again
        _check_headers(["", f"User-Agent: {user_agent}\r\n"], {"user-agent"})
        self._user_agent = user_agent

    def __repr__(self) -> str:
        return f"PoolTransport({len(self._origins)} hosts)"

    async def request(
        self,
        method: str,
        url: URL,
        *,
        headers: Mapping[str, str] | None = None,
        json_body: Any = None,
        data: bytes | None = None,
        json_at_send: Callable[[], Any] | None = None,
    ) -> Response:
        """Send one request and read the whole answer; transport failures are teslalink errors.

        Budgets, as aiohttp's: `connect_s` for getting a connection (the wait for a free one of
        the host's `max_per_host` included, then opening it), `read_s` from the moment the bytes
        are written. A request that has no connection when its connect budget is spent is never
        written: `errors.NotSent`. `json_at_send()`, if given, builds the JSON body only then (a
        signed command's expiry starts when it can leave, not while it queues).

        A reused connection found closed before any answer is tried once more on a new one, only
        for an idempotent method: a POST's outcome is then unknown (`ConnectionError`), as on aiohttp.
        """
        origin = self._origin(url)
        head = self._head(method, url, origin, headers)
        loop = asyncio.get_running_loop()
        connect_by = loop.time() + self.timeouts.connect_s
        if not origin.slots.take():  # a free connection is taken at once, no timer or coroutine
            await self._slot(origin, connect_by)
        try:
            conn = self._idle(origin)  # a kept-alive one is taken without a coroutine
            reused = conn is not None
            if conn is None:
                conn = await self._connect(origin, connect_by)
            try:
                body = json_body if json_at_send is None else json_at_send()
                request = self._request_bytes(head, body, data)
            except BaseException:
                self._keep(origin, conn)  # nothing was written: the connection is as good as before
                raise
            deadline = loop.time() + self.timeouts.read_s
            try:
                return await self._exchange(origin, conn, request, deadline)
            except _Closed:
                if not (reused and method.upper() in _IDEMPOTENT):
                    raise _closed(origin) from None
            # once more within the same read deadline: one attempt never takes more than its budgets
            conn = await self._connect(origin, deadline)
            try:
                return await self._exchange(origin, conn, request, deadline)
            except _Closed:
                raise _closed(origin) from None
        finally:
            origin.slots.release()

    async def _slot(self, origin: _Origin, by: float) -> None:
        """Wait for one of the host's connections until `by` at most (else `NotSent`)."""
        try:
            async with asyncio.timeout_at(by):
                await origin.slots.wait()
        except TimeoutError:
            raise errors.NotSent(
                f"{origin.authority}: not sent: all {self._max_per_host} connections stayed busy "
                f"for {self.timeouts.connect_s:g} s"
            ) from None

    async def _exchange(self, origin: _Origin, conn: _Answer, request: bytes, deadline: float) -> Response:
        try:
            response, keep_alive = await origin._round_trip(conn, request, deadline)
        except BaseException:
            _close(conn)  # a half-read answer (an error, a cancelled call) must not meet the next request
            raise
        if keep_alive:
            self._keep(origin, conn)
        else:
            _close(conn)
        return response

    @staticmethod
    def _keep(origin: _Origin, conn: _Answer) -> None:
        if origin.open and not conn.closed:
            origin.idle.append((conn, time.monotonic()))
        else:
            _close(conn)

    def _origin(self, url: URL) -> _Origin:
        known = self._by_url.get(url)  # the common case: a URL this pool has sent to before
        if known is not None and known.open:
            return known
        if url.raw_user is not None or url.raw_password is not None:
            # never echoed: the user part may be a password, and it would travel in the Host header
            raise errors.ConfigError(f"{url.raw_host}: a URL with a user name or password is refused")
        key = (url.scheme, url.raw_host or "", url.port)
        found = self._origins.get(key)
        if found is None:
            if url.scheme not in ("http", "https") or not url.raw_host:
                raise errors.ConfigError(f"invalid URL {url}: the pool speaks http and https only")
            found = self._origins[key] = _Origin(url, self._max_per_host, self.timeouts)
        if len(self._by_url) >= MAX_URLS:
            self._by_url.clear()
        self._by_url[url] = found
        return found

    def _head(self, method: str, url: URL, origin: _Origin, headers: Mapping[str, str] | None) -> _Head:
        """The method, the head's bytes so far and the header names of a request, checked before
        any wait."""
        verb = _METHODS.get(method) or _method(method, origin)
        block, names = self._header_block(headers)
        start = f"{verb} {url.raw_path_qs or '/'} HTTP/1.1\r\nHost: {origin.authority}\r\n"
        try:
            return verb, start.encode("latin-1") + block, names
        except UnicodeEncodeError:
            raise errors.ConfigError(f"{origin.authority}: a request line is not latin-1") from None

    def _header_block(self, headers: Mapping[str, str] | None) -> tuple[bytes, frozenset[str]]:
        """`headers` as checked, encoded header lines (our User-Agent added unless one is given),
        and their lower-case names.

        Kept per distinct set of headers (our choice: up to MAX_HEADER_BLOCKS, in memory only): a
        signed command's carry a token of a kilobyte or more that every check would scan again,
        and a caller sends the same few sets over and over.
        """
        key = tuple(headers.items()) if headers else ()
        found = self._blocks.get(key)
        if found is not None:
            return found
        lines = [""]  # _check_headers skips the first line (the request line)
        names = set()
        for name, value in key:
            lines.append(f"{name}: {value}\r\n")
            names.add(name.lower())
        _check_headers(lines, names)
        if "user-agent" not in names:
            lines.append(f"User-Agent: {self._user_agent}\r\n")
        try:
            block = "".join(lines).encode("latin-1")
        except UnicodeEncodeError:
            raise errors.ConfigError("a request header is not latin-1") from None
        if len(self._blocks) >= MAX_HEADER_BLOCKS:
            self._blocks.clear()
        found = self._blocks[key] = (block, frozenset(names))
        return found

    @staticmethod
    def _request_bytes(head: _Head, json_body: Any, data: bytes | None) -> bytes:
        verb, start, names = head
        body = b""
        content_type = b""
        if json_body is not None:
            body = dumps(json_body)
            if "content-type" not in names:
                content_type = b"Content-Type: application/json\r\n"
        elif data is not None:
            body = bytes(data)
        length = b"Content-Length: %d\r\n" % len(body) if body or verb in ("POST", "PUT", "PATCH") else b""
        return b"".join((start, content_type, length, b"\r\n", body))

    @staticmethod
    def _idle(origin: _Origin) -> _Answer | None:
        """The newest idle kept-alive connection that is still open and young (older ones are
        closed on the way), or None."""
        now = time.monotonic()
        while origin.idle:
            conn, since = origin.idle.pop()
            if not conn.closed and now - since < IDLE_S:
                return conn
            _close(conn)
        return None

    async def _connect(self, origin: _Origin, by: float) -> _Answer:
        """A new connection; every failure is `NotSent` (nothing of the request was written)."""
        loop = asyncio.get_running_loop()
        tls = self._context() if origin.tls else None
        try:
            async with asyncio.timeout_at(by):
                _, conn = await loop.create_connection(
                    _Answer, origin.host, origin.port, ssl=tls, server_hostname=origin.host if tls else None
                )
        except TimeoutError:
            raise errors.NotSent(
                f"{origin.authority}: not sent: no connection within {self.timeouts.connect_s:g} s"
            ) from None
        except ssl.SSLCertVerificationError as exc:
            raise errors.NotSent(
                f"{origin.authority}: the server's certificate does not verify ({exc.verify_message})"
            ) from None
        except (OSError, ssl.SSLError) as exc:
            reason = getattr(exc, "strerror", None) or getattr(exc, "reason", None) or type(exc).__name__
            raise errors.NotSent(f"{origin.authority}: cannot connect ({reason})") from None
        return conn

    def _context(self) -> ssl.SSLContext:
        if self._ssl is None:
            self._ssl = ssl.create_default_context()  # verifies the certificate and the host name
        return self._ssl

    async def close(self) -> None:
        """Close every connection; the pool can be used again afterwards (it opens new ones)."""
        for origin in self._origins.values():
            origin.open = False
            while origin.idle:
                _close(origin.idle.pop()[0])
        self._origins.clear()
        self._blocks.clear()
        self._by_url.clear()


def _closed(origin: _Origin) -> errors.ConnectionError:
    return errors.ConnectionError(f"{origin.authority}: the connection was closed before an answer")


def _close(conn: _Answer) -> None:
    if conn.transport is not None:
        conn.transport.close()


def _method(method: str, origin: _Origin) -> str:
    if not method.isascii() or not method.isalpha():
        raise errors.ConfigError(f"{origin.authority}: {method[:20]!r} is not an HTTP method")
    return method.upper()


def _check_headers(lines: list[str], names: set[str]) -> None:
    """Refuse a header that would split or bend the request: a CR, LF or NUL anywhere, a name
    with a colon or white space (values are never shown: one may be a token).

    One pass over the joined text (each line must hold exactly its own CRLF), not one per header:
    this runs for every signed command.
    """
    text = "".join(lines[1:])
    count = len(lines) - 1
    if text.count("\n") != count or text.count("\r") != count or "\0" in text:
        raise errors.ConfigError("a request header holds a line break")
    for name in names:
        if not name or ":" in name or " " in name or "\t" in name:
            raise errors.ConfigError(f"{name[:40]!r} is not an HTTP header name")
