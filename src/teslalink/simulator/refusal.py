"""The one error type of the twin's HTTP surfaces: a refusal that renders its own status and body.

The rule that refuses (the car, the energy site, the SSO's login desk, a lookup) raises a
`Refusal` subclass that knows its HTTP status, its body and its headers; the HTTP layer answers
`exc.response()` in one place (the Owner API's outermost middleware, the SSO's handlers) and never
maps exception classes to statuses itself.

The default body is the Owner API's ``{"response": null, "error": "...", "error_description": ""}``;
the SSO's errors override `body()` with their own shapes. These are the twin's (server-side)
errors, not `teslalink.errors`: a client sees them only as the HTTP answers they become.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Any, ClassVar, Final

import orjson
from aiohttp import web

__all__ = ["NOT_FOUND", "NO_STORE", "NotFound", "Refusal"]

NOT_FOUND: Final = "not_found"
NO_STORE: Final[Mapping[str, str]] = MappingProxyType({"Cache-Control": "no-store", "Pragma": "no-cache"})
"""The headers of every OAuth answer (RFC 6749 section 5.1), the SSO's errors included."""


class Refusal(Exception):
    """A request refused: `status`, the body's `error` text, and `headers` to send with it."""

    status: int = 500
    default_error: ClassVar[str] = "server error"
    headers: Mapping[str, str] = MappingProxyType({})

    def __init__(
        self, error: str | None = None, status: int | None = None, *, detail: str | None = None
    ) -> None:
        """`error` is the body's text (the class default if None); `detail` is for logs and reprs only."""
        self.error = self.default_error if error is None else error
        if status is not None:
            self.status = status
        super().__init__(self.error if detail is None else detail)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(status={self.status!r}, error={self.error!r})"

    def body(self) -> Any:
        """The JSON body answered (the Owner API's shape unless a subclass has its own)."""
        return {"response": None, "error": self.error, "error_description": ""}

    def response(self) -> web.Response:
        """The whole answer: status, JSON body (application/json; charset=utf-8), headers."""
        return web.Response(
            status=self.status,
            body=orjson.dumps(self.body()),
            content_type="application/json",
            charset="utf-8",
            headers=dict(self.headers) or None,
        )


class NotFound(Refusal):
    """Nothing of that id for this account, or no such thing at all (404 ``not_found``)."""

    status = 404
    default_error = NOT_FOUND
