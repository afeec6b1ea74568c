"""A notification receiver on loopback: what a webhook endpoint or an ntfy server sees of us.

It records every request (path, query, headers, body) and answers as its script says: a status,
a body and headers per request, or a hang until the receiver is closed; once the script is used
up it answers 200. Real HTTP on 127.0.0.1, so the notifier's whole path (aiohttp, the seam,
status handling) is what the tests exercise.
"""

from __future__ import annotations

import asyncio
import base64
import email.header
import json
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web


@dataclass(frozen=True)
class Answer:
    status: int = 200
    body: str = '{"ok": true}'
    headers: dict[str, str] = field(default_factory=dict)
    hang: bool = False  # never answer (until the receiver closes)
    echo: bool = False  # the error body repeats what it was sent: the path, query and credentials


@dataclass(frozen=True)
class Received:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)

    @property
    def text(self) -> str:
        return self.body.decode("utf-8")

    def basic_auth(self) -> tuple[str, str] | None:
        value = self.headers.get("Authorization", "")
        if not value.startswith("Basic "):
            return None
        user, _, password = base64.b64decode(value[6:]).decode().partition(":")
        return user, password

    def header_text(self, name: str) -> str:
        """A header as a person reads it: RFC 2047 encoded words decoded (ntfy does so)."""
        parts = email.header.decode_header(self.headers[name])
        return "".join(p.decode(c or "ascii") if isinstance(p, bytes) else p for p, c in parts)


class Receiver:
    """`async with Receiver() as r:` r.url("/hook") to post to; r.requests what came."""

    def __init__(self) -> None:
        self.requests: list[Received] = []
        self.script: list[Answer] = []
        self.default = Answer()
        self.arrived = asyncio.Event()
        self._release = asyncio.Event()
        self._runner: web.AppRunner | None = None
        self.port = 0

    def answer(self, *answers: Answer) -> None:
        self.script.extend(answers)

    def url(self, path: str = "/hook", *, userinfo: str = "", query: str = "", scheme: str = "http") -> str:
        user = f"{userinfo}@" if userinfo else ""
        tail = f"?{query}" if query else ""
        return f"{scheme}://{user}127.0.0.1:{self.port}{path}{tail}"

    def at(self, path: str) -> list[Received]:
        return [r for r in self.requests if r.path == path]

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        self.requests.append(
            Received(
                request.method,
                request.path,
                dict(request.query),
                dict(request.headers),
                await request.read(),
            )
        )
        self.arrived.set()
        answer = self.script.pop(0) if self.script else self.default
        if answer.hang:
            await self._release.wait()
        body = answer.body
        if answer.echo:
            auth = self.requests[-1].basic_auth()
            said = f"unauthorized for {request.path_qs} as {':'.join(auth) if auth else 'nobody'}"
            body = json.dumps({"error": said})
        return web.Response(
            status=answer.status, text=body, headers=answer.headers, content_type="application/json"
        )

    async def __aenter__(self) -> Receiver:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._handle)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        server = site._server
        assert server is not None
        self.port = server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        return self

    async def __aexit__(self, *exc: object) -> None:
        self._release.set()
        assert self._runner is not None
        await self._runner.cleanup()
