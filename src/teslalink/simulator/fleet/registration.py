"""Partner registration per region (fleet.md §1.4): the public-key check and the 412 rule.

`POST /api/1/partner_accounts {domain}` with a partner token registers the app in the host's
region. The domain must be the app's own (our wording for a mismatch, 412). The key is what
``https://<domain>/.well-known/appspecific/com.tesla.3p.public-key.pem`` serves: the twin takes
it from the world's `domain_keys` (our choice: it cannot fetch the URL) and requires a P-256
public key in SubjectPublicKeyInfo PEM. The answer carries it as the hex of the uncompressed
point, which clients compare case-insensitively with their own.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Final

from ..refusal import Refusal
from .regions import FLEET_BASE_URLS, FleetRegion
from .state import Registration

if TYPE_CHECKING:
    from .state import FleetState

__all__ = ["NotRegistered", "RegistrationRefused", "public_point", "register", "well_known_url"]

WELL_KNOWN_PATH: Final = "/.well-known/appspecific/com.tesla.3p.public-key.pem"
REGISTER_DOCS: Final = "https://developer.tesla.com/docs/fleet-api/endpoints/partner-endpoints#register"


def well_known_url(domain: str) -> str:
    return f"https://{domain}{WELL_KNOWN_PATH}"


class RegistrationRefused(Refusal):
    """The domain or its key is not acceptable (412; the wording is ours)."""

    status = 412


class NotRegistered(Refusal):
    """A user call for an app not registered in this region (412, the text seen by clients)."""

    status = 412

    def __init__(self, client_id: str, region: FleetRegion) -> None:
        super().__init__(
            f"Account {client_id} must be registered in the current region {FLEET_BASE_URLS[region]}/, "
            f"please see {REGISTER_DOCS}"
        )


def public_point(pem: bytes) -> bytes:
    """The uncompressed point (65 bytes) of a P-256 SubjectPublicKeyInfo PEM; ValueError otherwise."""
    from cryptography.hazmat.primitives import serialization  # noqa: PLC0415 - the fleet extra
    from cryptography.hazmat.primitives.asymmetric import ec  # noqa: PLC0415

    if b"-----BEGIN PUBLIC KEY-----" not in pem:
        raise ValueError("not a SubjectPublicKeyInfo PEM (-----BEGIN PUBLIC KEY-----)")
    try:
        key = serialization.load_pem_public_key(pem)
    except (ValueError, TypeError):
        raise ValueError("not a readable public key PEM") from None
    if not isinstance(key, ec.EllipticCurvePublicKey) or not isinstance(key.curve, ec.SECP256R1):
        raise ValueError("not a P-256 (prime256v1) EC public key")
    return key.public_bytes(serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)


def register(state: FleetState, region: FleetRegion, client_id: str, domain: Any) -> Registration:
    """Register `client_id` in `region` for `domain`, checking the domain's hosted key."""
    app = state.apps[client_id]
    if not isinstance(domain, str) or not domain.strip():
        raise RegistrationRefused("domain is required", 400)
    wanted = domain.strip().lower()
    if wanted != app.domain.lower():
        raise RegistrationRefused(f"domain {wanted} does not match the root of the app's allowed origins")
    pem = state.domain_keys.get(wanted)
    if pem is None:
        raise RegistrationRefused(f"public key not found at {well_known_url(wanted)}")
    try:
        point = public_point(pem)
    except ValueError as exc:
        raise RegistrationRefused(f"public key at {well_known_url(wanted)} is invalid: {exc}") from None
    registration = Registration(client_id=client_id, domain=wanted, public_key=point)
    state.registrations[region][client_id] = registration
    return registration
