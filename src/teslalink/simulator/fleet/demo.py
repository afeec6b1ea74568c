"""The Fleet side of the demo world: a partner app, its domain's key, registrations, home regions.

    populate_demo(world); populate_fleet_demo(world)
    DEMO_APP.client_id, DEMO_APP.client_secret, DEMO_APP.domain, DEMO_APP.redirect_uris[0]

The app's key pair is derived from the world seed (`demo_private_key`), so a script or test can
sign as the app; its public PEM is what the world knows for the app's domain. The app is
registered in all three regions (our choice: so `sim all --print-tokens` tokens work at once;
registering again is harmless). demo2 lives in the eu region for the Fleet API (our choice: so
every region has an account; its Owner API login is unchanged).
"""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING, Final

from .regions import FLEET_REGIONS
from .registration import register
from .state import PartnerApp, fleet_state

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.ec import EllipticCurvePrivateKey

    from ..world import World

__all__ = ["DEMO_APP", "demo_private_key", "populate_fleet_demo"]

DEMO_APP: Final = PartnerApp(
    client_id="7c6a8f4e-teslalink-demo-app",
    client_secret="ta-secret.teslalink-demo",
    domain="app.teslalink.test",
    redirect_uris=("http://127.0.0.1:8765/callback",),
    name="teslalink demo",
)
_P256_ORDER: Final = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551


def demo_private_key(world: World) -> EllipticCurvePrivateKey:
    """The demo app's P-256 private key, derived from the world seed (a demo: never a real key)."""
    from cryptography.hazmat.primitives.asymmetric import ec  # noqa: PLC0415 - the fleet extra

    digest = hashlib.sha256(f"teslalink:fleet:demo-app-key:{world.seed}".encode()).digest()
    return ec.derive_private_key(int.from_bytes(digest, "big") % (_P256_ORDER - 1) + 1, ec.SECP256R1())


def populate_fleet_demo(world: World, *, register_app: bool = True) -> PartnerApp:
    """Add the demo app (its domain's key known to the world), registered in every region."""
    from cryptography.hazmat.primitives import serialization  # noqa: PLC0415

    state = fleet_state(world)
    if DEMO_APP.client_id not in state.apps:
        state.add_app(DEMO_APP)
    pem = (
        demo_private_key(world)
        .public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    )
    state.know_domain_key(DEMO_APP.domain, pem)
    if register_app:
        for region in FLEET_REGIONS:
            register(state, region, DEMO_APP.client_id, DEMO_APP.domain)
    for account in world.accounts:
        if account.email.lower().startswith("demo2@"):
            state.set_home_region(account, "eu")
    return DEMO_APP
