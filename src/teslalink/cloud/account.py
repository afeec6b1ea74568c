"""Which account, and which of Tesla's APIs it uses: one rule for the CLI and the service.

    async with open_account(TokenStore(), "me@example.com") as api:   # TeslaApi or FleetApi
        for car in await api.vehicles():
            ...

`api`: "fleet" or "owner" forces one; "auto" uses the Fleet API for an account with a Fleet login
in the token file (`teslalink fleet login`), else the Owner API. Our choice: a Fleet login wins in
"auto", because since 2024 only pre-2021 Model S/X take the Owner API's commands, and an owner
who set up the Fleet API did it for that.

The account: the one named, else the only one in the token file (an Owner API token, or unless
"owner" is forced, a Fleet login); none or several is a `ConfigError` saying what to do.
Both sessions carry the 429 cooldowns of earlier processes (`Cooldowns`, beside the token file),
so a restarted service or a shell loop never knocks again before Retry-After has passed.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any, Final, Literal

from ..errors import ConfigError

if TYPE_CHECKING:
    from .api import TeslaApi
    from .config import CloudUrls
    from .tokens import TokenStore

__all__ = ["API_MODES", "ApiMode", "account_identity", "open_account", "uses_fleet"]

ApiMode = Literal["auto", "fleet", "owner"]
API_MODES: Final = ("auto", "fleet", "owner")


def _fleet_section() -> str:
    from .fleet.tokens import SECTION  # noqa: PLC0415 - `import teslalink.cloud` stays light

    return SECTION


def account_identity(store: TokenStore, email: str | None = None, api: str = "auto") -> str:
    """`email`, else the only account of the token file (see the module's docstring)."""
    if email:
        return email
    known = store.identities()
    if api != "owner":
        known = sorted({*known, *store.section_identities(_fleet_section())})
    if len(known) == 1:
        return known[0]
    if not known:
        how = "teslalink fleet login" if api == "fleet" else "teslalink login --email EMAIL"
        raise ConfigError(f"no account is logged in: run `{how}` first")
    raise ConfigError(f"{len(known)} accounts are logged in ({', '.join(known)}): pass --email")


def uses_fleet(store: TokenStore, email: str | None = None, api: str = "auto") -> bool:
    """Whether `api` for this account means the Fleet API ("auto": the account has a Fleet login)."""
    if api not in API_MODES:
        raise ConfigError(f"api must be one of {', '.join(API_MODES)}, not {api!r}")
    if api == "owner":
        return False
    if api == "fleet":
        return True
    return store.load_section(account_identity(store, email, api), _fleet_section()) is not None


@contextlib.asynccontextmanager
async def open_account(
    store: TokenStore,
    email: str | None = None,
    *,
    api: str = "auto",
    urls: CloudUrls | None = None,
    **fleet_options: Any,
) -> AsyncIterator[TeslaApi]:
    """The account's session, closed afterwards: a `FleetApi` (`fleet.account.open_fleet`: the
    stored login, its region, the app's key, the ledger; `fleet_options` go to it) or the Owner
    API's `TeslaApi` (`Auth` from the token file; `urls`, default `CloudUrls.from_env()`)."""
    identity = account_identity(store, email, api)
    if uses_fleet(store, identity, api):
        from .fleet.account import open_fleet  # noqa: PLC0415

        async with open_fleet(store, identity, **fleet_options) as fleet:
            yield fleet
        return
    from .api import TeslaApi  # noqa: PLC0415
    from .auth import Auth  # noqa: PLC0415
    from .config import CloudUrls  # noqa: PLC0415
    from .cooldowns import Cooldowns  # noqa: PLC0415

    auth = Auth(identity, urls=urls or CloudUrls.from_env(), store=store)
    async with (
        auth,
        Cooldowns.beside(store.target).kept(auth),
        TeslaApi(auth.urls, auth) as owner,
        Cooldowns.beside(store.target).kept(owner),
    ):
        yield owner
