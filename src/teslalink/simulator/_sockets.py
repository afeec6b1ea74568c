"""Listening sockets for the twin's servers.

Why bind ourselves instead of letting aiohttp do it: a server that knows its port before it starts
can tell the others (the SSO regions redirect to each other), and a Wall Connector that goes
offline and comes back must get the same port again.
"""

from __future__ import annotations

import socket

__all__ = ["bind_listener"]


def bind_listener(host: str, port: int, backlog: int = 128) -> socket.socket:
    """A non-blocking listening TCP socket on host:port (port 0: an ephemeral one)."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    family, kind, proto, _, address = infos[0]
    sock = socket.socket(family, kind, proto)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
        sock.listen(backlog)
        sock.setblocking(False)
    except BaseException:
        sock.close()
        raise
    return sock
