"""The streaming twin (streaming.vn.teslamotors.com): the Owner API's telemetry websocket.

    app = create_streaming_app(world)                  # websocket at /streaming/
    async with serve_streaming(world) as server:       # on a loopback port
        print(server.url)                              # ws://127.0.0.1:<port>/streaming/

Modules: `protocol` (the messages, pure functions), `session` (one connection's subscriptions
and the rules: when to push, when a stream ends, what it costs), `app` (aiohttp handlers, pacing
in real time, faults), `server` (serving on a port).
"""

from __future__ import annotations

from .app import (
    LOCATION_PATH,
    STREAMING_PATH,
    DropHook,
    FaultDecision,
    StreamingFaults,
    StreamingHub,
    SurfaceFaults,
    create_streaming_app,
)
from .protocol import DISCONNECTED, HELLO, KNOWN_COLUMNS, TOKEN_ERROR, VEHICLE_OFFLINE, ErrorType, MsgType
from .server import StreamingServer, serve_streaming
from .session import LocationFeed, Session, StreamingPolicy, Subscription

__all__ = [
    "DISCONNECTED",
    "HELLO",
    "KNOWN_COLUMNS",
    "LOCATION_PATH",
    "STREAMING_PATH",
    "TOKEN_ERROR",
    "VEHICLE_OFFLINE",
    "DropHook",
    "ErrorType",
    "FaultDecision",
    "LocationFeed",
    "MsgType",
    "Session",
    "StreamingFaults",
    "StreamingHub",
    "StreamingPolicy",
    "StreamingServer",
    "Subscription",
    "SurfaceFaults",
    "create_streaming_app",
    "serve_streaming",
]
