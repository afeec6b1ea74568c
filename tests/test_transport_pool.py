"""The lean keep-alive pool (`teslalink._pool_http.PoolTransport`): the signed path's HTTP client.

It must answer a call as aiohttp's transport does (same `Response`, headers read in any case),
keep connections alive and bounded per host, refuse hostile answers with the LAN reader's caps
and errors, never resend a POST whose connection died, verify certificates and host names over
TLS, and carry a signed command to the twin over plain HTTP and over TLS. FleetApi takes it for
signed commands unless a proxy is configured or the caller brought an aiohttp session.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import ssl
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web
from yarl import URL

from teslalink import errors
from teslalink._http import Transport
from teslalink._lan_http import MAX_BODY, MAX_HEAD
from teslalink._pool_http import PoolTransport
from teslalink.cloud.fleet.api import FleetApi
from teslalink.cloud.fleet.hosts import FleetHosts
from teslalink.cloud.provider import StaticToken
from teslalink.transport import Response, Timeouts

HANG_GUARD_S = 10.0
BUDGET = Timeouts(connect_s=0.5, read_s=0.3)
OK_HEAD = b"HTTP/1.1 200 OK\r\n"


@contextlib.asynccontextmanager
async def app_serving(app: web.Application, ssl_context: ssl.SSLContext | None = None) -> AsyncIterator[int]:
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0, ssl_context=ssl_context)
    await site.start()
    try:
        yield runner.addresses[0][1]
    finally:
        await runner.cleanup()


def echo_app(seen: list[object]) -> web.Application:
    """POST/GET /echo: the body and headers it got, and the connection it came on."""

    async def echo(request: web.Request) -> web.Response:
        assert request.transport is not None
        seen.append(request.transport.get_extra_info("peername"))
        body = await request.read()
        await asyncio.sleep(0.01 if request.query.get("slow") else 0)
        return web.json_response(
            {
                "method": request.method,
                "json": json.loads(body) if body else None,
                "type": request.content_type,
            },
            headers={"Retry-After": "7", "X-Echo": request.headers.get("X-Test", "")},
        )

    app = web.Application()
    app.router.add_route("*", "/echo", echo)
    return app


async def test_a_post_is_answered_as_aiohttp_answers_it() -> None:
    seen: list[object] = []
    async with app_serving(echo_app(seen)) as port:
        url = URL(f"http://127.0.0.1:{port}/echo")
        got = []
        for transport in (PoolTransport(), Transport()):
            async with transport:
                response = await asyncio.wait_for(
                    transport.request("POST", url, headers={"X-Test": "one"}, json_body={"a": 1}),
                    HANG_GUARD_S,
                )
                headers = response.headers
                got.append(
                    (
                        response.status,
                        json.loads(response.body),
                        headers.get("retry-after"),
                        headers.get("Retry-After"),
                        headers.get("x-echo"),
                    )
                )
    assert got[0] == got[1]
    assert got[0] == (200, {"method": "POST", "json": {"a": 1}, "type": "application/json"}, "7", "7", "one")


async def test_connections_are_kept_alive_and_bounded_per_host() -> None:
    seen: list[object] = []
    async with app_serving(echo_app(seen)) as port, PoolTransport(max_per_host=3) as pool:
        url = URL(f"http://127.0.0.1:{port}/echo")
        for _ in range(3):
            assert (await asyncio.wait_for(pool.request("GET", url), HANG_GUARD_S)).status == 200
        assert len(set(seen)) == 1  # one kept-alive connection for requests one after another
        seen.clear()
        slow = url.with_query(slow="1")
        answers = await asyncio.wait_for(
            asyncio.gather(*(pool.request("POST", slow, json_body={"n": n}) for n in range(12))), HANG_GUARD_S
        )
        assert [a.status for a in answers] == [200] * 12
        assert 1 <= len(set(seen)) <= 3  # never more connections than the pool allows


async def test_a_hosts_connections_go_in_turn_and_a_cancelled_wait_passes_its_turn_on() -> None:
    """The pool's per-host bound (`_pool_http._Slots`): first come first served; a waiter cancelled
    after it was handed a slot hands it to the next; one cancelled before its turn leaves the line."""
    from teslalink._pool_http import _Slots

    slots = _Slots(1)
    assert slots.take()
    assert not slots.take()
    got: list[int] = []

    async def wait(n: int) -> None:
        await slots.wait()
        got.append(n)

    tasks = [asyncio.create_task(wait(n)) for n in range(3)]
    await asyncio.sleep(0)  # all three in line
    slots.release()  # handed to the first...
    tasks[0].cancel()  # ...which is cancelled before it runs: the second gets it
    for _ in range(3):
        await asyncio.sleep(0)
    assert got == [1]
    assert tasks[0].cancelled()
    tasks[2].cancel()
    await asyncio.sleep(0)
    assert not slots.waiting
    slots.release()  # the second one's turn is over: nobody waits, so the slot is free again
    assert slots.take()
    assert not slots.take()


Behaviour = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


class RawServer:
    """A loopback server running `behaviour` per connection; counts the requests it read."""

    def __init__(self, behaviour: Behaviour) -> None:
        self.behaviour = behaviour
        self.requests = 0
        self._tasks: set[asyncio.Task[None]] = set()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        try:
            await self.behaviour(reader, writer)
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.close()

    async def read_request(self, reader: asyncio.StreamReader) -> None:
        head = await reader.readuntil(b"\r\n\r\n")
        self.requests += 1
        for line in head.split(b"\r\n"):
            if line.lower().startswith(b"content-length:"):
                await reader.readexactly(int(line.split(b":")[1]))

    @contextlib.asynccontextmanager
    async def serve(self) -> AsyncIterator[URL]:
        server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        try:
            yield URL(f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}/api/1/x")
        finally:
            server.close()
            for task in self._tasks:
                task.cancel()
            await asyncio.gather(*self._tasks, return_exceptions=True)


def answering(raw: bytes) -> Callable[[RawServer], Behaviour]:
    def make(server: RawServer) -> Behaviour:
        async def behaviour(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            await server.read_request(reader)
            writer.write(raw)
            await writer.drain()

        return behaviour

    return make


async def one_post(make: Callable[[RawServer], Behaviour]) -> tuple[RawServer, BaseException | None]:
    server = RawServer(lambda r, w: asyncio.sleep(0))
    server.behaviour = make(server)
    async with server.serve() as url, PoolTransport(timeouts=BUDGET) as pool:
        try:
            await asyncio.wait_for(pool.request("POST", url, json_body={}), HANG_GUARD_S)
        except errors.TeslalinkError as exc:
            return server, exc
    return server, None


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (OK_HEAD + b"Content-Length: " + str(MAX_BODY + 1).encode() + b"\r\n\r\n", "a bad Content-Length"),
        (OK_HEAD + "Content-Length: ²\r\n\r\n{}".encode("latin-1"), "a bad Content-Length"),
        (OK_HEAD + b"X: " + b"a" * (MAX_HEAD + 10) + b"\r\n\r\n", "a response head over"),
        (b"SMTP ready\r\n\r\n", "not an HTTP answer"),
        (OK_HEAD + b"Transfer-Encoding: chunked\r\n\r\n-2\r\n{}\r\n0\r\n\r\n", "a bad chunk size"),
        (OK_HEAD + b"Content-Length: 10\r\n\r\n{}", "cut off"),
    ],
    ids=["length-over-the-cap", "superscript-length", "huge-head", "not-http", "negative-chunk", "cut-off"],
)
async def test_a_hostile_answer_is_a_connection_error_naming_it(raw: bytes, message: str) -> None:
    _, error = await one_post(answering(raw))
    assert isinstance(error, errors.ConnectionError)
    assert message in str(error)
    assert "127.0.0.1" in str(error)


async def test_a_server_that_never_answers_costs_the_budget_then_a_timeout() -> None:
    def make(server: RawServer) -> Behaviour:
        async def behaviour(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            await server.read_request(reader)
            await asyncio.sleep(HANG_GUARD_S)

        return behaviour

    _, error = await one_post(make)
    assert isinstance(error, errors.TimeoutError)


async def test_a_post_whose_connection_dies_is_not_sent_again_but_a_get_is() -> None:
    """The server answers once, keeps the connection, then reads the next request and hangs up."""

    def make(server: RawServer) -> Behaviour:
        async def behaviour(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            await server.read_request(reader)
            writer.write(OK_HEAD + b"Content-Length: 2\r\n\r\n{}")
            await writer.drain()
            await server.read_request(reader)  # then the connection closes without an answer

        return behaviour

    for method, resent in (("POST", False), ("GET", True)):
        server = RawServer(lambda r, w: asyncio.sleep(0))
        server.behaviour = make(server)
        async with server.serve() as url, PoolTransport(timeouts=BUDGET) as pool:
            assert (await asyncio.wait_for(pool.request(method, url), HANG_GUARD_S)).body == b"{}"
            if resent:
                assert (await asyncio.wait_for(pool.request(method, url), HANG_GUARD_S)).body == b"{}"
                assert server.requests == 3  # the lost one, then once more on a new connection
            else:
                with pytest.raises(errors.ConnectionError, match="closed before an answer"):
                    await asyncio.wait_for(pool.request(method, url, json_body={}), HANG_GUARD_S)
                assert server.requests == 2  # sent once, never again


async def test_nothing_is_sent_to_a_closed_port_and_the_error_is_ours() -> None:
    server = await asyncio.start_server(lambda r, w: None, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    server.close()
    await server.wait_closed()
    async with PoolTransport(timeouts=BUDGET) as pool:
        with pytest.raises(errors.NotSent, match="cannot connect"):
            await asyncio.wait_for(pool.request("GET", URL(f"http://127.0.0.1:{port}/")), HANG_GUARD_S)


async def test_a_header_that_would_split_the_request_is_refused_without_showing_it() -> None:
    async with PoolTransport() as pool:
        for headers in ({"Authorization": "Bearer secret\r\nX-Evil: 1"}, {"X: Y": "1"}, {"A": "nul\0"}):
            with pytest.raises(errors.ConfigError) as refused:
                await pool.request("POST", URL("http://127.0.0.1:9/x"), headers=headers)
            assert "secret" not in str(refused.value)
            assert "Evil" not in str(refused.value)
        with pytest.raises(errors.ConfigError, match="http and https only"):
            await pool.request("GET", URL("ftp://127.0.0.1/x"))


# --- TLS: certificates and host names verified ---------------------------------------------------


@pytest.fixture
def localhost_tls(tmp_path: Path) -> tuple[ssl.SSLContext, ssl.SSLContext]:
    """(server context for "localhost", client context trusting only the throwaway CA)."""
    from teslalink.simulator.fleet.tls import issue_certificates, server_context

    ca_file, cert_file, key_file = issue_certificates(["localhost"]).write(tmp_path)
    return server_context(cert_file, key_file), ssl.create_default_context(cafile=str(ca_file))


async def test_https_verifies_the_certificate_and_the_host_name(
    localhost_tls: tuple[ssl.SSLContext, ssl.SSLContext],
) -> None:
    server_side, trusting = localhost_tls
    seen: list[object] = []
    async with app_serving(echo_app(seen), server_side) as port:
        async with PoolTransport(ssl_context=trusting) as pool:
            url = URL(f"https://localhost:{port}/echo")
            answer = await asyncio.wait_for(pool.request("POST", url, json_body={"x": 1}), HANG_GUARD_S)
            assert answer.status == 200
            assert json.loads(answer.body)["json"] == {"x": 1}
            with pytest.raises(errors.ConnectionError, match="does not verify"):  # another name
                await asyncio.wait_for(
                    pool.request("GET", URL(f"https://127.0.0.1:{port}/echo")), HANG_GUARD_S
                )
        async with PoolTransport() as default:  # the system's trust: the twin CA is not in it
            with pytest.raises(errors.ConnectionError, match="does not verify"):
                await asyncio.wait_for(
                    default.request("GET", URL(f"https://localhost:{port}/echo")), HANG_GUARD_S
                )


# --- who uses it ---------------------------------------------------------------------------------


async def test_fleet_api_signs_over_the_pool_unless_the_caller_brought_an_aiohttp_session(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A proxy variable changes nothing: neither our aiohttp session nor the pool reads it (a caller
    behind a proxy brings a session with trust_env=True, which the signed path then uses)."""
    hosts = FleetHosts(api={"na": "https://fleet.example.com/"}, auth="https://auth.example.com/")
    for proxy in ("", "http://127.0.0.1:3128"):
        monkeypatch.setenv("HTTPS_PROXY", proxy)
        async with FleetApi(hosts, StaticToken("t")) as api:
            assert isinstance(api.http, PoolTransport)
            assert api.http is api.http  # one pool for every car
    async with aiohttp.ClientSession() as session, FleetApi(hosts, StaticToken("t"), session=session) as api:
        assert isinstance(api.http, Transport)
        assert api.http.session is session


# --- budgets: the wait for a connection, then the answer -----------------------------------------


def answering_after(delay_s: float) -> Callable[[RawServer], Behaviour]:
    """Every request on a connection is answered `delay_s` after it was read."""

    def make(server: RawServer) -> Behaviour:
        async def behaviour(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            for _ in range(100):
                await server.read_request(reader)
                await asyncio.sleep(delay_s)
                writer.write(OK_HEAD + b"Content-Length: 2\r\n\r\n{}")
                await writer.drain()

        return behaviour

    return make


async def test_a_request_that_never_got_a_connection_is_not_sent_and_says_so() -> None:
    """One connection, answers 0.3 s apart, a connect budget (the wait included) of 0.2 s: the
    queued requests are never written. Each one is answered or `NotSent`, never a timeout of a
    request the server read (which a caller would have to report as "may have run")."""
    server = RawServer(lambda r, w: asyncio.sleep(0))
    server.behaviour = answering_after(0.3)(server)
    budget = Timeouts(connect_s=0.2, read_s=1.0)
    async with server.serve() as url, PoolTransport(timeouts=budget, max_per_host=1) as pool:
        outcomes = await asyncio.wait_for(
            asyncio.gather(
                *(pool.request("POST", url, json_body={"n": n}) for n in range(6)), return_exceptions=True
            ),
            HANG_GUARD_S,
        )
    answered = [o for o in outcomes if isinstance(o, Response)]
    not_sent = [o for o in outcomes if isinstance(o, errors.NotSent)]
    assert len(answered) + len(not_sent) == 6, outcomes
    assert answered
    assert not_sent
    assert server.requests == len(answered)  # what the server read is exactly what was answered
    assert "not sent" in str(not_sent[0])
    assert "127.0.0.1" in str(not_sent[0])


async def test_the_body_is_built_once_a_connection_is_held_and_the_read_budget_starts_at_the_write() -> None:
    """A second request waits 0.3 s for the only connection: its body is built after the first
    answer, and it gets its whole read budget (0.4 s) though it was called 0.3 s earlier."""
    server = RawServer(lambda r, w: asyncio.sleep(0))
    server.behaviour = answering_after(0.3)(server)
    events: list[str] = []
    budget = Timeouts(connect_s=1.0, read_s=0.4)
    async with server.serve() as url, PoolTransport(timeouts=budget, max_per_host=1) as pool:

        async def first() -> Response:
            answer = await pool.request("POST", url, json_body={"n": 1})
            events.append("first answered")
            return answer

        def second_body() -> dict[str, int]:
            events.append("second built")
            return {"n": 2}

        answers = await asyncio.wait_for(
            asyncio.gather(first(), pool.request("POST", url, json_at_send=second_body)), HANG_GUARD_S
        )
    assert [a.status for a in answers] == [200, 200]
    assert events == ["first answered", "second built"]


async def test_a_url_with_a_user_or_password_is_refused_without_showing_them() -> None:
    async with PoolTransport() as pool:
        for url in ("http://me:hunter2@127.0.0.1:9/x", "http://hunter2@127.0.0.1:9/x"):
            with pytest.raises(errors.ConfigError) as refused:
                await pool.request("POST", URL(url), json_body={})
            assert "hunter2" not in str(refused.value)
            assert "127.0.0.1" in str(refused.value)


async def test_aiohttp_says_not_sent_when_it_cannot_connect() -> None:
    server = await asyncio.start_server(lambda r, w: None, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    server.close()
    await server.wait_closed()
    async with Transport(timeouts=BUDGET) as http:
        with pytest.raises(errors.NotSent, match="cannot connect"):
            await asyncio.wait_for(
                http.request("POST", URL(f"http://127.0.0.1:{port}/"), json_body={}), HANG_GUARD_S
            )


async def test_a_connections_timer_set_for_a_later_deadline_is_moved_to_an_earlier_one() -> None:
    """The lazily moved read timer of a kept-alive connection (`_lan_http._Answer`): an answer
    whose deadline is earlier than the one the timer was set for still fails at its own."""
    from teslalink._lan_http import _Answer, _Expired

    loop = asyncio.get_running_loop()
    conn = _Answer()
    conn.arm(loop.time() + 60.0)  # an earlier answer's budget
    conn.disarm()
    conn.arm(loop.time() + 0.05)
    with pytest.raises(_Expired):
        await asyncio.wait_for(conn.more(), HANG_GUARD_S)
    conn.connection_lost(None)
