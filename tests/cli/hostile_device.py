"""A Wall Connector that misbehaves on purpose: a loopback HTTP server answering canned bytes per path.

It runs on its own thread (CLI commands call `asyncio.run`), speaks keep-alive like a real unit,
counts the requests it was sent, and answers a path it was not given with a 404. Each answer is
the whole HTTP response, so a test can send anything: a broken header, a status line a unit
would never send, a body of any size.
"""

from __future__ import annotations

import socket
import socketserver
import threading
from collections.abc import Mapping
from pathlib import Path
from types import TracebackType

FIXTURES = Path(__file__).parent.parent / "fixtures" / "wall_connector"
VITALS_FIXTURE = FIXTURES / "vitals_eu_idle_fw21.json"


def http_answer(body: bytes, *, status: str = "200 OK", headers: Mapping[str, str] | None = None) -> bytes:
    """A well-formed HTTP/1.1 answer with a JSON body (extra or overriding headers allowed)."""
    fields = {"Content-Type": "application/json", "Content-Length": str(len(body))}
    fields.update(headers or {})
    head = "".join(f"{name}: {value}\r\n" for name, value in fields.items())
    return f"HTTP/1.1 {status}\r\n{head}\r\n".encode("latin-1") + body  # header bytes are latin-1


NOT_FOUND = http_answer(b'{"error": "not found"}', status="404 Not Found")


class HostileDevice:
    """`with HostileDevice({"/api/1/vitals": answer}) as device:` then use `device.host`."""

    def __init__(self, answers: Mapping[str, bytes]) -> None:
        self.answers = dict(answers)
        self.requests: list[str] = []
        device = self

        class Handler(socketserver.StreamRequestHandler):
            def handle(self) -> None:
                for _ in range(1000):  # bounded: no test sends this many on one connection
                    request_line = self.rfile.readline(8192)
                    if not request_line:
                        return
                    while self.rfile.readline(8192) not in (b"\r\n", b"\n", b""):
                        pass  # the unit ignores request headers, so do we
                    path = request_line.split()[1].decode() if len(request_line.split()) > 1 else ""
                    device.requests.append(path)
                    self.wfile.write(device.answers.get(path, NOT_FOUND))
                    self.wfile.flush()

        self._server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True)

    @property
    def host(self) -> str:
        address = self._server.server_address
        return f"127.0.0.1:{address[1]}"

    def __enter__(self) -> HostileDevice:
        self._thread.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(10)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port
