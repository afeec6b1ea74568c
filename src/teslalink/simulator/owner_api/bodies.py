"""The Owner API's answers on the wire: the `{"response": ...}` wrapper and the error bodies.

Strings marked "seen" are what clients logged from the real service; the others are our choice
where no public source shows the real one (kept in the same shape, so a client's error handling
is exercised the same way):

==================================  ======  ======================================================
case                                status  body
==================================  ======  ======================================================
no/malformed Authorization          401     empty; ``WWW-Authenticate: Bearer realm="Doorkeeper"``
                                            ("sometimes no body", docs/reference.md §2.2)
invalid or revoked token            401     ``{"error": "invalid bearer token"}`` (seen), with a
                                            Doorkeeper ``WWW-Authenticate`` naming the cause
expired token                       401     ``{"error": "token expired (401)"}`` (seen)
GET api/1/vehicles                  412     "Endpoint is only available on fleetapi. Visit
                                            https://developer.tesla.com/docs for more info" (seen)
unknown id, another account's car,  404     ``not_found`` (what the car model documents)
unknown command, unknown path
car asleep/offline                  408     the exact body of docs/reference.md §2.2 (seen)
in service                          405     "vehicle is currently in service" (seen)
mobile access off                   405     ``mobile_access_disabled`` (seen)
unsigned command, signing required  403     "Tesla Vehicle Command Protocol required, please refer
                                            to the documentation here: <url>" (seen; developer.
                                            tesla.cn for cn accounts)
malformed JSON or form body         400     "invalid request body" (ours)
account locked (`OwnerApi.lock`)    423     ``account_locked`` (ours; docs/reference.md §2.2: status only)
rate limited                        429     text/plain "Retry in N seconds" + Retry-After (seen)
==================================  ======  ======================================================

Every JSON error body is ``{"response": null, "error": "...", "error_description": ""}`` except
the 401s, which Doorkeeper (the OAuth layer in front of the API) writes itself. The refusals of
the car, the site and the lookups are `Refusal`s that carry their status and text
(`vehicle.errors`, `site.errors`, `refusal.NotFound`, `context.BadBody`); the strings are
re-exported here so that this table stays the one place to read them all.
"""

from __future__ import annotations

from typing import Any, Final

import orjson
from aiohttp import web

from ..refusal import NOT_FOUND
from ..vehicle.errors import IN_SERVICE, MOBILE_ACCESS_DISABLED, SIGNING_REQUIRED, VEHICLE_UNAVAILABLE
from .context import BAD_BODY

__all__ = [
    "ACCOUNT_LOCKED",
    "BAD_BODY",
    "FLEET_ONLY",
    "IN_SERVICE",
    "MOBILE_ACCESS_DISABLED",
    "NOT_FOUND",
    "SIGNING_REQUIRED",
    "VEHICLE_UNAVAILABLE",
    "error_response",
    "json_response",
    "ok",
    "unauthorized",
]

FLEET_ONLY: Final = (
    "Endpoint is only available on fleetapi. Visit https://developer.tesla.com/docs for more info"
)
ACCOUNT_LOCKED: Final = "account_locked"
_REALM: Final = 'Bearer realm="Doorkeeper"'
_TOKEN_ERRORS: Final = {
    "invalid": ("invalid bearer token", "The access token is invalid"),
    "revoked": ("invalid bearer token", "The access token was revoked"),
    "expired": ("token expired (401)", "The access token expired"),
}


def json_response(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
    """`body` as JSON with the content type Tesla sends (application/json; charset=utf-8)."""
    return web.Response(
        status=status,
        body=orjson.dumps(body),
        content_type="application/json",
        charset="utf-8",
        headers=headers,
    )


def ok(response: Any, **extra: Any) -> web.Response:
    """200 with `{"response": response, **extra}` (products add "count")."""
    return json_response({"response": response, **extra})


def error_response(status: int, error: str) -> web.Response:
    return json_response({"response": None, "error": error, "error_description": ""}, status=status)


def unauthorized(reason: str | None) -> web.Response:
    """401: no body without credentials, else Doorkeeper's JSON for invalid/revoked/expired."""
    if reason is None:
        return web.Response(status=401, headers={"WWW-Authenticate": _REALM})
    error, description = _TOKEN_ERRORS.get(reason, _TOKEN_ERRORS["invalid"])
    challenge = f'{_REALM}, error="invalid_token", error_description="{description}"'
    return json_response({"error": error}, status=401, headers={"WWW-Authenticate": challenge})
