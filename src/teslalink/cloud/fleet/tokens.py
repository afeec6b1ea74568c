"""A Fleet API login as stored: the ``"fleet"`` part of the account's entry in the token file.

    {"owner@example.com": {"url": ..., "sso": {...Owner API, TeslaPy's...},
                           "fleet": {"access_token": ..., "refresh_token": "NA_...", "id_token": ...,
                                     "expires_at": 1767225600.0, "token_type": "Bearer",
                                     "region": "na", "scopes": ["openid", ...],
                                     "client_id": "...", "subject": "..."}}}

Why beside the Owner API's token rather than in a file of its own: one account, one entry, one
lock. The file lock `TokenStore.locked()` that keeps two processes from forking the Owner API's
refresh chain keeps them from forking the Fleet API's too, and an account can use both APIs.
`client_id` is kept because a refresh token is good only for the app it was issued to.
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final, TypeGuard

from ...errors import ConfigError

__all__ = ["SECTION", "FleetToken"]

SECTION: Final = "fleet"
"""The key of the Fleet login in an account's entry of the token file."""


@dataclass(frozen=True, slots=True)
class FleetToken:
    """One Fleet API login: the tokens, the account's region, the scopes granted, the app."""

    access_token: str = field(repr=False)
    refresh_token: str | None = field(repr=False)
    expires_at: float
    region: str
    scopes: tuple[str, ...]
    client_id: str
    id_token: str | None = field(default=None, repr=False)
    token_type: str = "Bearer"
    subject: str | None = None

    def __repr__(self) -> str:
        shown = "<redacted>" if self.refresh_token else "<none>"
        return (
            f"FleetToken(access_token=<redacted>, refresh_token={shown}, expires_at={self.expires_at!r}, "
            f"region={self.region!r}, scopes={self.scopes!r}, client_id={self.client_id!r})"
        )

    def expires_in(self, now: float | None = None) -> float:
        """Seconds until the access token expires (negative once it has)."""
        return self.expires_at - (time.time() if now is None else now)

    def to_entry(self) -> dict[str, Any]:
        entry: dict[str, Any] = {"access_token": self.access_token}
        if self.refresh_token is not None:
            entry["refresh_token"] = self.refresh_token
        if self.id_token is not None:
            entry["id_token"] = self.id_token
        entry.update(
            expires_at=self.expires_at,
            token_type=self.token_type,
            region=self.region,
            scopes=list(self.scopes),
            client_id=self.client_id,
        )
        if self.subject is not None:
            entry["subject"] = self.subject
        return entry

    @classmethod
    def from_entry(cls, entry: Mapping[str, Any], *, where: str, identity: str) -> FleetToken:
        """Read the stored part; a field of the wrong type is a `ConfigError` naming the file."""

        def bad(name: str) -> ConfigError:
            return ConfigError(f"{where}: the Fleet login of {identity!r} has a bad or missing {name!r}")

        access, refresh, id_token = (entry.get(k) for k in ("access_token", "refresh_token", "id_token"))
        expires_at, region, scopes = entry.get("expires_at"), entry.get("region"), entry.get("scopes", [])
        client_id, token_type, subject = entry.get("client_id"), entry.get("token_type"), entry.get("subject")
        if not isinstance(access, str) or not access:
            raise bad("access_token")
        if not isinstance(refresh, str | None) or not isinstance(id_token, str | None):
            raise bad("refresh_token")
        if not _finite_number(expires_at):
            raise bad("expires_at")
        if not isinstance(region, str) or not region:
            raise bad("region")
        if not isinstance(scopes, list) or not all(isinstance(s, str) for s in scopes):
            raise bad("scopes")
        if not isinstance(client_id, str) or not client_id:
            raise bad("client_id")
        if not isinstance(token_type, str | None) or not isinstance(subject, str | None):
            raise bad("token_type")
        return cls(
            access_token=access,
            refresh_token=refresh or None,
            expires_at=float(expires_at),
            region=region.lower(),
            scopes=tuple(scopes),
            client_id=client_id,
            id_token=id_token or None,
            token_type=token_type or "Bearer",
            subject=subject or None,
        )


def _finite_number(value: Any) -> TypeGuard[float]:
    return not isinstance(value, bool) and isinstance(value, int | float) and math.isfinite(value)
