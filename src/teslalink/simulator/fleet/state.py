"""What the Fleet side of a world knows, kept beside the `World` (one `FleetState` per world).

Partner apps (client_id, secret, domain, redirect URIs), the public keys the world knows per
domain, registrations per region, each account's home region, consents, and the pairing of
public keys to cars (`pairing`). It lives outside `World` so the Owner API twin does not grow a
Fleet dependency; `fleet_state(world)` creates it on first use.

Our choice: the twin cannot fetch ``https://<domain>/.well-known/appspecific/com.tesla.3p.public-key.pem``,
so `domain_keys` is the world's stand-in for those hosted files: set by `know_domain_key` (the
demo population, the admin endpoint `POST /_twin/fleet/domain_key`, a test), read by partner
registration.

Home regions: an account's Fleet home region is its own region ("na" or "cn") unless
`set_home_region` says otherwise (our choice: `Account.region` has no "eu", and the Owner API's
SSO only knows na and cn; a Fleet-only "eu" account keeps logging in at auth.tesla.com).
"""

from __future__ import annotations

import weakref
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from .regions import FLEET_REGIONS, FleetRegion

if TYPE_CHECKING:
    from ..accounts import Account
    from ..world import World
    from .tokens import FleetAuthority

__all__ = ["FleetState", "PartnerApp", "Registration", "fleet_state"]


@dataclass(frozen=True)
class PartnerApp:
    """An app registered at developer.tesla.com: its credentials, domain and redirect URIs."""

    client_id: str
    client_secret: str = field(repr=False)
    domain: str
    redirect_uris: tuple[str, ...]
    name: str = "Partner app"


@dataclass(frozen=True)
class Registration:
    """A partner account in one region: the domain and its public key (uncompressed P-256 point)."""

    client_id: str
    domain: str
    public_key: bytes


@dataclass(eq=False)
class FleetState:
    """The Fleet API's records of one world (see the module docstring)."""

    apps: dict[str, PartnerApp] = field(default_factory=dict)
    domain_keys: dict[str, bytes] = field(default_factory=dict, repr=False)
    registrations: dict[FleetRegion, dict[str, Registration]] = field(
        default_factory=lambda: {region: {} for region in FLEET_REGIONS}
    )
    home_regions: dict[str, FleetRegion] = field(default_factory=dict)
    consents: dict[tuple[str, str], tuple[str, ...]] = field(default_factory=dict)
    _authority: FleetAuthority | None = field(default=None, repr=False)

    def add_app(self, app: PartnerApp) -> PartnerApp:
        """Register a partner app (what creating an app at developer.tesla.com does)."""
        if app.client_id in self.apps:
            raise ValueError(f"an app with client_id {app.client_id!r} already exists")
        self.apps[app.client_id] = app
        return app

    def know_domain_key(self, domain: str, pem: bytes | str) -> None:
        """The PEM that ``https://<domain>/.well-known/...`` serves, as far as the world knows."""
        self.domain_keys[domain.strip().lower()] = pem.encode() if isinstance(pem, str) else bytes(pem)

    def home_region(self, account: Account) -> FleetRegion:
        return self.home_regions.get(account.email.strip().lower(), account.region)

    def set_home_region(self, account: Account, region: FleetRegion) -> None:
        if region not in FLEET_REGIONS:
            raise ValueError(f"region must be one of {', '.join(FLEET_REGIONS)}, got {region!r}")
        self.home_regions[account.email.strip().lower()] = region

    def registration(self, region: FleetRegion, client_id: str) -> Registration | None:
        return self.registrations[region].get(client_id)


_STATES: weakref.WeakKeyDictionary[World, FleetState] = weakref.WeakKeyDictionary()


def fleet_state(world: World) -> FleetState:
    """The world's Fleet records, created empty on first use."""
    state = _STATES.get(world)
    if state is None:
        state = _STATES[world] = FleetState()
    return state


def authority_of(world: World) -> FleetAuthority:
    """The world's Fleet token authority (fleet-auth), created on first use."""
    state = fleet_state(world)
    if state._authority is None:
        from .tokens import FleetAuthority  # noqa: PLC0415 - tokens imports this module

        state._authority = FleetAuthority(world, state)
    return state._authority
