"""The aiohttp side of the transport seam (`teslalink.transport`): requests and websockets.

Why here: session ownership, timeouts and the translation of aiohttp's exceptions into
`teslalink.errors` live in exactly one place (`_translate`), for every request (the cloud, the
SSO's forms and redirects, a Wall Connector behind a caller's session or https) and every
websocket (the streaming server). A caller may hand in its own `aiohttp.ClientSession` (Home
Assistant does); we never close a session we did not open. aiohttp is imported on first use.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from yarl import URL

from . import errors
from ._json import dumps
from .transport import Closing, Response, Timeouts, retry_after

if TYPE_CHECKING:
    import aiohttp  # imported on first use: the Wall Connector's lean transport never needs it

__all__ = ["MAX_BODY", "Response", "Timeouts", "Transport", "WebSocket", "receive_callback", "retry_after"]

# Our choice: the largest body any Tesla answer may have. The biggest real ones (a year of energy
# history, a full vehicle_data) are a few hundred KB; the Wall Connector passes its own, smaller cap.
MAX_BODY = 32 * 1024 * 1024


def _client_timeout(timeouts: Timeouts) -> aiohttp.ClientTimeout:
    import aiohttp  # noqa: PLC0415 - see the module's imports

    # aiohttp cannot say when its connection opened, so the read deadline is held as a total
    # (our choice): the request in all within connect_s + read_s, as on the lean transport.
    return aiohttp.ClientTimeout(
        total=timeouts.total_s,
        connect=timeouts.connect_s,
        sock_connect=timeouts.connect_s,
        sock_read=timeouts.read_s,
    )


def _translate(exc: Exception, where: str, timeouts: Timeouts, *, handshake: bool = False) -> Exception:
    """The teslalink error for what aiohttp (or the socket under it) raised; anything else as it is.

    `handshake`: a websocket's opening, bounded as a whole by `connect_s`.
    """
    import aiohttp  # noqa: PLC0415 - see the module's imports

    if isinstance(exc, errors.TeslalinkError):
        return exc
    if isinstance(exc, aiohttp.WSServerHandshakeError):
        if exc.status == 429:
            wait = retry_after(exc.headers)
            return errors.RateLimited(429, f"{where}: rate limited", retry_after=wait)
        return errors.ApiError(exc.status, "websocket refused", where)
    if isinstance(exc, aiohttp.ConnectionTimeoutError):  # a free connection, then opening one: nothing sent
        return errors.NotSent(f"{where}: not sent: no connection within {timeouts.connect_s:g} s")
    if handshake and isinstance(exc, TimeoutError):
        return errors.TimeoutError(f"{where}: no connection within {timeouts.connect_s:g} s")
    if isinstance(exc, TimeoutError):  # aiohttp's socket and server timeouts are TimeoutErrors too
        return errors.TimeoutError(f"{where}: no answer within {timeouts.total_s:g} s")
    if isinstance(exc, aiohttp.InvalidURL):
        return errors.ConfigError(f"invalid URL {exc}")
    if isinstance(exc, aiohttp.ClientConnectorError):
        return errors.NotSent(f"{where}: cannot connect ({exc.os_error.strerror or exc})")
    if isinstance(exc, aiohttp.ServerDisconnectedError):
        return errors.ConnectionError(f"{where}: the connection was closed before an answer")
    if isinstance(exc, aiohttp.ClientPayloadError):
        return errors.ConnectionError(f"{where}: the answer was cut off")
    if isinstance(exc, (aiohttp.ClientError, OSError)):
        return errors.ConnectionError(f"{where}: {type(exc).__name__}: {exc}")
    return exc


class Transport(Closing):
    """Owns (or borrows) an aiohttp session and turns its failures into teslalink errors.

    `cookies`: the session we open keeps cookies (the SSO binds a form login to its cookie); by
    default it keeps none. A borrowed session keeps what its owner chose.
    """

    def __init__(
        self,
        session: aiohttp.ClientSession | None = None,
        *,
        timeouts: Timeouts | None = None,
        limit_per_host: int = 0,
        max_body: int = MAX_BODY,
        cookies: bool = False,
    ) -> None:
        self._session = session
        self.max_body = max_body
        self._owns_session = session is None
        self._limit_per_host = limit_per_host
        self._cookies = cookies
        self.timeouts = timeouts or Timeouts()
        self._client_timeout = _client_timeout(self.timeouts)

    @property
    def borrowed(self) -> bool:
        """The session is the caller's (its settings are the caller's choice, kept as they are)."""
        return not self._owns_session

    @property
    def session(self) -> aiohttp.ClientSession:
        """The session in use; one is opened on first use when the caller gave none."""
        import aiohttp  # noqa: PLC0415 - see the module's imports

        if self._session is None or (self._owns_session and self._session.closed):
            connector = aiohttp.TCPConnector(limit=0, limit_per_host=self._limit_per_host)
            # unsafe: keep the cookies of a host given by its IP address (the twin, a proxy)
            jar = aiohttp.CookieJar(unsafe=True) if self._cookies else aiohttp.DummyCookieJar()
            self._session = aiohttp.ClientSession(
                connector=connector, timeout=self._client_timeout, cookie_jar=jar
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
        json_at_send: Callable[[], Any] | None = None,
    ) -> Response:
        """Send one request and read the whole answer; transport failures become teslalink errors.

        `json_at_send()` builds the JSON body at the last moment we have (our choice: just before
        aiohttp takes the request; it opens the connection after that, within `connect_s`).
        A failure to connect is `errors.NotSent`: nothing was written.
        """
        where = _where(url)
        if json_at_send is not None:
            json_body = json_at_send()
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
        except Exception as exc:
            ours = _translate(exc, where, self.timeouts)
            if ours is exc:
                raise
            raise ours from None

    async def websocket(self, url: str, *, where: str, heartbeat_s: float | None) -> WebSocket:
        """Open a websocket; the handshake as a whole within `timeouts.connect_s`.

        A refused handshake is `ApiError` (`RateLimited` with the server's Retry-After for a 429).
        """
        import asyncio  # noqa: PLC0415 - only websockets need it here

        import aiohttp  # noqa: PLC0415 - see the module's imports

        try:
            async with asyncio.timeout(self.timeouts.connect_s):
                ws = await self.session.ws_connect(
                    url,
                    timeout=aiohttp.ClientWSTimeout(ws_receive=None, ws_close=5.0),
                    heartbeat=heartbeat_s,
                    autoping=True,
                )
        except Exception as exc:
            ours = _translate(exc, where, self.timeouts, handshake=True)
            if ours is exc:
                raise
            raise ours from None
        return WebSocket(ws, where)

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


class WebSocket:
    """An open websocket: frames in and out, its failures teslalink errors (`ConnectionError`)."""

    def __init__(self, ws: aiohttp.ClientWebSocketResponse, where: str) -> None:
        self._ws = ws
        self._where = where

    async def receive(self) -> str | bytes | None:
        """The next text or binary frame; None once the connection is closing or closed."""
        import aiohttp  # noqa: PLC0415 - see the module's imports

        while True:
            try:
                msg = await self._ws.receive()
            except (TimeoutError, aiohttp.ClientError, OSError, RuntimeError) as exc:
                raise errors.ConnectionError(
                    f"{self._where}: the stream broke ({type(exc).__name__})"
                ) from None
            if msg.type is aiohttp.WSMsgType.TEXT or msg.type is aiohttp.WSMsgType.BINARY:
                data: str | bytes = msg.data
                return data
            if msg.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSING, aiohttp.WSMsgType.CLOSED):
                return None
            if msg.type is aiohttp.WSMsgType.ERROR:
                raise errors.ConnectionError(f"{self._where}: the stream broke ({msg.data!r})")
            # pings and pongs are aiohttp's (autoping): wait for the next frame

    async def send_json(self, value: Any, *, purpose: str = "send") -> None:
        """Send `value` as a JSON text frame; `purpose` names it in the error ("could not subscribe")."""
        import aiohttp  # noqa: PLC0415 - see the module's imports

        try:
            await self._ws.send_str(dumps(value).decode())
        except (aiohttp.ClientError, OSError, RuntimeError) as exc:
            raise errors.ConnectionError(
                f"{self._where}: could not {purpose} ({type(exc).__name__})"
            ) from None

    @property
    def closed(self) -> bool:
        return self._ws.closed

    async def close(self) -> None:
        await self._ws.close()


# --- the one server: where a browser sign-in comes back -----------------------------------------

CallbackAnswer = Callable[[Mapping[str, str]], tuple[int, str]]
"""The query of the callback request -> (status, HTML page shown in the browser)."""


async def receive_callback(
    host: str,
    port: int,
    path: str,
    answer: CallbackAnswer,
    *,
    timeout_s: float,
    listening: Callable[[], object] | None = None,
) -> dict[str, str]:
    """Listen on `host:port` until one GET of `path` arrives; answer it and return its query.

    Why here: an OAuth redirect to a loopback URI is the one time the client serves a request,
    and aiohttp (with its errors) belongs to this module. Only the first request to `path` is
    taken (each query key once, its first value); other paths (a browser's favicon) get a 404 and
    the wait goes on. `errors.TimeoutError` after `timeout_s`; a port that cannot be bound is a
    `ConfigError` saying so. `listening()` is called once the port is open (e.g. to show the
    sign-in URL). The listener is closed on return, on error and on cancellation.
    """
    import asyncio  # noqa: PLC0415 - only the callback needs it here

    from aiohttp import web  # noqa: PLC0415 - see the module's imports

    arrived: asyncio.Future[dict[str, str]] = asyncio.get_running_loop().create_future()

    async def handle(request: web.Request) -> web.Response:
        if request.method != "GET" or request.path != path or arrived.done():
            return web.Response(status=404, text="Not found", headers={"Connection": "close"})
        query = {key: request.query.getone(key) for key in request.query}
        status, page = answer(query)
        arrived.set_result(query)
        headers = {"Cache-Control": "no-store", "Connection": "close"}
        return web.Response(status=status, text=page, content_type="text/html", headers=headers)

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", handle)
    runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
    await runner.setup()
    try:
        try:
            await web.TCPSite(runner, host, port).start()
        except OSError as exc:
            raise errors.ConfigError(
                f"cannot listen on {host}:{port} for the sign-in callback ({exc.strerror or exc})"
            ) from None
        if listening is not None:
            listening()
        try:
            async with asyncio.timeout(timeout_s):
                return await arrived
        except TimeoutError:
            raise errors.TimeoutError(
                f"no sign-in came back to http://{host}:{port}{path} within {timeout_s:g} s"
            ) from None
    finally:
        await runner.cleanup()


def _where(url: URL) -> str:
    """A request's place in a message: host and port, never a user or password the URL holds."""
    if url.host is None:
        return str(url.with_user(None)) if url.is_absolute() else str(url)
    port = f":{url.explicit_port}" if url.explicit_port is not None else ""
    host = f"[{url.host}]" if ":" in url.host else url.host
    return host + port
