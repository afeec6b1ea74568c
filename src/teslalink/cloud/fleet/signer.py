"""Signed commands over the Fleet API, in the REST command's shape: `VcpSigner`.

    signer = VcpSigner.for_account(PartnerKey.load(path), "me@example.com", app_domain="app.example")
    answer = await signer.send(http, base_url, vin, tokens, "CHARGING_AMPS", {"charging_amps": 16})
    answer == {"result": True, "reason": ""}

One command, start to finish: its payload from `teslalink.cloud.vcp.actions` (the catalogue name
and the REST parameters), the session of the car's domain from `Sessions` (on disk per account, so
a new process signs without a handshake: handshakes are billed), `vcp.dispatch.send_command` over
a `FleetTransport`, and the car's verdict as the REST call's `{"result", "reason"}`, so `Vehicle`
reads both the same way. `on_status(status)` hears every POST's status, handshakes included, for
the budget ledger.

Errors: `NotPaired` when the car does not know our key (KEY_NOT_ON_WHITELIST, fault 3), with the
pairing link; the FleetTransport's refusals (408 asleep: never woken here, 421, 422, 403, 429);
the protocol's faults once the bounded retries are spent; `OutcomeUnknown` when a reply is lost
(the car may have run the command: it is not resent). A key file that is not the key registered
for the domain is also "not paired" to the car: pairing through the link adds the registered key.

Needs the `fleet` extra (it imports teslalink.cloud.vcp); `teslalink.cloud.fleet.routing` does not.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from typing import Any

from yarl import URL

from teslalink.cloud.fleet.pairing import pairing_link
from teslalink.cloud.provider import TokenProvider
from teslalink.cloud.vcp import actions
from teslalink.cloud.vcp.dispatch import send_command
from teslalink.cloud.vcp.faults import KeyNotPaired
from teslalink.cloud.vcp.fleet_transport import FleetTransport, JsonHttp
from teslalink.cloud.vcp.keys import PartnerKey
from teslalink.cloud.vcp.session import SessionCache, Sessions, default_session_cache_path
from teslalink.errors import ConfigError, NotPaired

__all__ = ["NotPaired", "VcpSigner"]


class VcpSigner:
    """Signs and sends vehicle commands for one partner key (one app domain).

    `sessions`: a `Sessions` of the same key (used as it is), a `SessionCache` (sessions are kept
    there), or None (in memory only: every new process handshakes again).
    """

    def __init__(
        self, key: PartnerKey, sessions: Sessions | SessionCache | None = None, *, app_domain: str
    ) -> None:
        if isinstance(sessions, Sessions):
            if sessions.key != key:
                raise ConfigError("the sessions were made with another key than the signer's")
            self.sessions = sessions
        else:
            self.sessions = Sessions(key, sessions, app_domain=app_domain)
        self.key = key
        self.app_domain = app_domain

    @classmethod
    def for_account(
        cls,
        key: PartnerKey,
        account: str,
        *,
        app_domain: str,
        environ: Mapping[str, str] | None = None,
        token_path: str | os.PathLike[str] | None = None,
    ) -> VcpSigner:
        """A signer whose sessions live in the account's cache file (0600, atomic): beside the
        token file when `token_path` is given (`SessionCache.beside`), else the default one."""
        if token_path is not None:
            return cls(key, SessionCache.beside(token_path, account), app_domain=app_domain)
        return cls(key, SessionCache(default_session_cache_path(account, environ)), app_domain=app_domain)

    @classmethod
    def from_files(
        cls, key_path: str | os.PathLike[str], cache_path: str | os.PathLike[str], *, app_domain: str
    ) -> VcpSigner:
        """A signer with the key and the session cache at these paths."""
        return cls(PartnerKey.load(key_path), SessionCache(cache_path), app_domain=app_domain)

    def __repr__(self) -> str:
        return f"VcpSigner({self.key!r}, app_domain={self.app_domain!r})"

    def supports(self, name: str) -> bool:
        """Whether the catalogue command `name` can be signed (else it is a REST call)."""
        return actions.supports(name)

    async def send(
        self,
        http: JsonHttp,
        base_url: str | URL,
        vin: str,
        tokens: TokenProvider,
        name: str,
        params: Mapping[str, Any] | None = None,
        *,
        on_status: Callable[[int], object] | None = None,
    ) -> dict[str, Any]:
        """Sign command `name` with the REST call's `params`, send it to car `vin`, return its verdict.

        `{"result": True, "reason": ""}` when the car ran it, `{"result": False, "reason": ...}`
        when it refused (the REST twin's reasons; the real car's texts are unverified).
        """
        command = actions.build(name, params)
        session = self.sessions.session(vin, command.domain)
        transport = FleetTransport(http, base_url, vin, tokens, on_status=on_status)
        try:
            result = await send_command(session, command, transport)
        except KeyNotPaired as exc:
            link = pairing_link(self.app_domain, vin) if self.app_domain else ""
            raise NotPaired(vin, link, detail=command.name) from exc
        return {"result": result.ok, "reason": result.reason}
