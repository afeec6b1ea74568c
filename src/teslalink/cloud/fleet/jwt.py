"""What a Fleet access token says about itself: region, scopes, subject, audience, expiry.

Tesla's Fleet tokens are RS256 JWTs. Clients read their claims without checking the signature
(Tesla's Go client and Home Assistant do the same, research/fleet.md 1.5): only Tesla can check
it, and the token came straight from Tesla's token endpoint over TLS. What we read:

* `ou_code` ("NA", "EU", "CN") -> the account's region, which picks the Fleet API host;
* `scp` -> the scopes the user granted (the token answer's own `scope` field may be empty);
* `sub` -> the account's stable id, `aud` -> the hosts the token is good for, `exp` -> expiry.

A token that is not a JWT is a clear `AuthError`; no message ever carries the token or a part of it.
"""

from __future__ import annotations

import base64
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

from ..._json import loads
from ...errors import AuthError

__all__ = ["FleetClaims", "read_claims", "read_payload"]

_REGIONS: Final = ("na", "eu", "cn")
_MAX_TOKEN: Final = 16384
"""Our choice: a real Fleet token is about 1.5 KB; anything this long is not one."""


@dataclass(frozen=True, slots=True)
class FleetClaims:
    """The claims of a Fleet access token we act on (the rest is in `raw`)."""

    subject: str | None
    region: str | None
    """`ou_code` lowered ("na", "eu", "cn"), or None when the token does not say or says something else."""
    scopes: tuple[str, ...]
    audience: tuple[str, ...]
    expires_at: float | None
    issued_at: float | None
    client_id: str | None
    """`azp`: the app the token was issued to."""
    raw: Mapping[str, Any]

    def __repr__(self) -> str:
        return (
            f"FleetClaims(subject={self.subject!r}, region={self.region!r}, scopes={self.scopes!r}, "
            f"expires_at={self.expires_at!r}, client_id={self.client_id!r})"
        )


def read_payload(token: str, what: str = "the Fleet access token") -> dict[str, Any]:
    """The JSON payload of a JWT, unverified; `AuthError` naming `what` if it is not a JWT."""
    if not isinstance(token, str) or not token.isascii() or len(token) > _MAX_TOKEN:
        raise AuthError(f"{what} is not a JWT")
    parts = token.split(".")
    if len(parts) != 3 or not all(parts[:2]):
        raise AuthError(f"{what} is not a JWT (it does not have three dot-separated parts)")
    try:
        payload = loads(_b64url_decode(parts[1]))
    except ValueError:  # binascii.Error and DecodeError are ValueErrors
        raise AuthError(f"{what} is not a JWT (its payload is not base64url JSON)") from None
    if not isinstance(payload, dict):
        raise AuthError(f"{what} is not a JWT (its payload is not a JSON object)")
    return payload


def read_claims(token: str) -> FleetClaims:
    """The claims of a Fleet access token (see the module docstring); nothing is verified."""
    payload = read_payload(token)
    ou_code = payload.get("ou_code")
    region = ou_code.lower() if isinstance(ou_code, str) and ou_code.lower() in _REGIONS else None
    return FleetClaims(
        subject=_text(payload.get("sub")),
        region=region,
        scopes=_words(payload.get("scp")),
        audience=_words(payload.get("aud")),
        expires_at=_time(payload.get("exp")),
        issued_at=_time(payload.get("iat")),
        client_id=_text(payload.get("azp")),
        raw=payload,
    )


def _b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _words(value: Any) -> tuple[str, ...]:
    """A list of strings, or one space-separated string (`scp` and `aud` come both ways in JWTs)."""
    if isinstance(value, str):
        return tuple(value.split())
    if isinstance(value, list):
        return tuple(item for item in value if isinstance(item, str) and item)
    return ()


def _time(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        return None
    return float(value)
