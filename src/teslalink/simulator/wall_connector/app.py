"""The HTTP face of a simulated Wall Connector: routing and writing bytes, nothing else.

What the unit answers (and whether it drops, truncates or prints `nan`) is decided by the model,
`WallConnectorUnit`. This layer adds only what happens on the wire: the delay before the first
byte, the stall of a request that arrives while another is in flight, and closing a connection
without an answer. It is an aiohttp low-level handler (no router, no middleware) because a
benchmark polls hundreds of units and the twin must never be the bottleneck.
"""

from __future__ import annotations

import asyncio

from aiohttp import web

from .unit import ENDPOINTS, WallConnectorUnit

__all__ = ["CONTENT_TYPE", "STALL_BUSY_S", "WallConnectorHandler"]

CONTENT_TYPE = "application/json"

STALL_BUSY_S = 0.05
"""With the stall quirk a unit is busy at least this long per answer (real seconds): a request
arriving in that window is one the firmware would have to handle concurrently, and stalls."""

_ROUTES = {f"/api/1/{name}": name for name in ENDPOINTS}
_METHODS = frozenset({"GET", "HEAD"})


class WallConnectorHandler:
    """An aiohttp request handler (`web.Server(handler)`) serving one unit's local API."""

    __slots__ = ("_in_flight", "unit")

    def __init__(self, unit: WallConnectorUnit) -> None:
        self.unit = unit
        self._in_flight = 0

    @property
    def in_flight(self) -> int:
        """Requests being answered right now."""
        return self._in_flight

    async def __call__(self, request: web.BaseRequest) -> web.StreamResponse:
        unit = self.unit
        if unit.offline or unit.should_drop():
            return _drop(request)
        endpoint = _ROUTES.get(request.path)
        if endpoint is None:
            return web.Response(status=404, text="404: Not Found")
        if request.method not in _METHODS:
            return web.Response(status=405, text="405: Method Not Allowed", headers={"Allow": "GET"})
        quirks = unit.quirks
        if not (quirks.stall_on_concurrent or quirks.slow_first_byte_s > 0):
            return web.Response(body=unit.render(endpoint), content_type=CONTENT_TYPE)
        busy_s = quirks.slow_first_byte_s
        if quirks.stall_on_concurrent:
            busy_s = max(busy_s, STALL_BUSY_S)
        self._in_flight += 1
        try:
            if quirks.stall_on_concurrent and self._in_flight > 1:
                await asyncio.sleep(quirks.stall_s)
            await asyncio.sleep(busy_s)
            if unit.offline:
                return _drop(request)
            body = unit.render(endpoint)
        finally:
            self._in_flight -= 1
        return web.Response(body=body, content_type=CONTENT_TYPE)


def _drop(request: web.BaseRequest) -> web.StreamResponse:
    """Close the connection without a byte of answer (the client sees a disconnect)."""
    request.protocol.force_close()
    return web.Response()
