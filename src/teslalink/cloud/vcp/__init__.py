"""The client's side of Tesla's Vehicle Command Protocol (VCP): keys, signing, sessions, messages.

Since 2024 nearly every car refuses unsigned REST commands; a command must travel as a signed
`UniversalMessage.RoutableMessage` (Tesla's `pkg/protocol/protocol.md`, summarised in
shared/research/fleet.md section 2). This package builds and checks those messages and keeps the
per-car, per-domain session state. Only `fleet_transport` does HTTP: it posts the bytes to the
Fleet API's `signed_command` and hands the reply back (any other transport may stand in for it).

Our own implementation, on `cryptography` (P-256, ECDH, AES-GCM) and the standard library (SHA-1,
HMAC-SHA256). For the protobuf messages we depend on `tesla-protocol==4.0.1` rather than running
protoc on Tesla's .proto files: they are ready-made Apache-2.0 bindings of exactly those protos (a
superset; the wire format is Tesla's), with .pyi stubs, and pinning the version pins the generated
code. Both come with the `fleet` extra (`pip install teslalink[fleet]`); nothing outside
`teslalink.cloud.vcp` imports them, so `import teslalink` stays lean.

    keys      the partner P-256 key pair (generate, load, save 0600; public PEM and point)
    crypto    ECDH + SHA-1 KDF, subkeys, metadata TLV, HMAC and AES-GCM signing, response decryption
    session   one session per (VIN, domain): epoch, counter, clock offset; the session-info check;
              the on-disk session cache; the per-VIN-per-domain asyncio lock
    messages  handshake and signed-command RoutableMessages; reply parsing into typed results
    actions   every vehicle command (catalogue name + REST parameters) -> its signed payload;
              `supports(name)` is False for the REST-only ones
    faults    typed errors for the protocol's MessageFault_E codes
    dispatch  one signed command over a caller's transport: handshake when needed, bounded
              resync/busy retries, and "may have executed" when a reply is lost
    fleet_transport  that transport over the Fleet API's `signed_command` (over the caller's HTTP
              transport: FleetApi's pool, `teslalink._pool_http`, or an aiohttp session),
              its refusals typed: 408, 421 (with the base URL), 422 (use REST), 403, 429, 5xx;
              `on_status` hears every POST's status (handshakes too) for the budget ledger
"""

from __future__ import annotations

import importlib.util

from teslalink.errors import ConfigError

__all__ = ["MissingFleetExtra"]


class MissingFleetExtra(ConfigError, ImportError):
    """The `fleet` extra is not installed; an ImportError too, so optional-import code still works."""


_NEEDED = ("cryptography", "tesla_protocol")
_missing = [name for name in _NEEDED if importlib.util.find_spec(name) is None]
if _missing:
    raise MissingFleetExtra(f"signed commands need {' and '.join(_missing)}: pip install 'teslalink[fleet]'")
