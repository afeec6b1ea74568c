"""A stored Fleet API login opened as a ready `FleetApi`: `open_fleet`.

    async with open_fleet(TokenStore(), "me@example.com") as api:
        car = await api.vehicle("5YJ3...")
        await car.set_charging_amps(12)

What "ready" means, each part from the files `teslalink fleet setup` and `fleet login` left:

* the app (`FleetApp.load`: fleet.json, the environment winning) and the login (`FleetAuth`, the
  `TokenProvider`; `identity` None: the only account with a Fleet login);
* the region of the stored login; when a 421 or `discover_region()` moves the account,
  `FleetAuth.set_region` stores the new one, so the next process goes straight there;
* the budget ledger beside the token file, billed to the account;
* signed commands when the app's key file exists and the `fleet` extra is installed (a
  `VcpSigner` with the account's session cache, so a new process does not handshake again);
  else REST commands, said once at debug. A key file that is there but unusable (corrupt, not
  P-256) is a `ConfigError` at once: our choice, as the ledger's check, the user's configuration
  is said before anything is sent and billed;
* TESLALINK_FLEET_COMMAND_PROXY: a user's tesla-http-proxy base URL; REST commands go there
  (the proxy signs them with its own key, so ours is not used: our choice);
* the 429 cooldowns of earlier processes (`cloud.cooldowns`, the file the Owner API's commands
  use), applied before the first request and kept afterwards.

`api` says how commands go (our choice, the contract named the argument only): "auto" (signed
when a key is there, else REST), "signed" (a missing key or extra is a `ConfigError` with the
fix), "rest" (never signed: a pre-2021 Model S/X, or the proxy).
"""

from __future__ import annotations

import contextlib
import logging
import os
import time
from collections.abc import AsyncIterator, Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Final, Literal

from ...errors import ConfigError, TokenExpired
from ..cooldowns import Cooldowns
from ..tokens import TokenStore
from .api import FleetApi
from .app import FleetApp
from .ledger import BudgetLedger
from .oauth import FleetAuth, fleet_identity

if TYPE_CHECKING:
    from .signer import VcpSigner

__all__ = ["COMMAND_PROXY_ENV", "CommandMode", "open_fleet"]

_LOG = logging.getLogger(__name__)

COMMAND_PROXY_ENV: Final = "TESLALINK_FLEET_COMMAND_PROXY"
CommandMode = Literal["auto", "signed", "rest"]
_MODES: Final = ("auto", "signed", "rest")
_said_rest_only: set[str] = set()


@contextlib.asynccontextmanager
async def open_fleet(
    store: TokenStore,
    identity: str | None = None,
    *,
    app: FleetApp | None = None,
    environ: Mapping[str, str] | None = None,
    api: str = "auto",
    clock: Callable[[], float] = time.time,
) -> AsyncIterator[FleetApi]:
    """A `FleetApi` for `identity`'s stored Fleet login (module docstring); closed afterwards.

    `clock`: epoch seconds for the token's expiry (a twin's world clock in tests).
    Errors before anything is sent: `ConfigError` (no app, no Fleet login for several accounts,
    a bad key file, ledger or proxy URL), `TokenExpired` (the account has no Fleet login).
    """
    if api not in _MODES:
        raise ConfigError(f"unknown command mode {api!r} (known: {', '.join(_MODES)})")
    env = os.environ if environ is None else environ
    chosen_app = app if app is not None else FleetApp.load(environ=env)
    who = fleet_identity(store, identity)
    auth = FleetAuth(chosen_app, store, who, clock=clock)
    token = auth.token
    if token is None:
        raise TokenExpired(f"{who}: no Fleet API login is stored; run `teslalink fleet login`")
    proxy = (env.get(COMMAND_PROXY_ENV) or "").strip() or None
    if proxy and api == "signed":
        raise ConfigError(
            f"{COMMAND_PROXY_ENV} is set: commands go to that tesla-http-proxy, which signs them "
            "with its own key; unset it to sign here"
        )
    target = store.target
    signer = (
        None if api == "rest" or proxy else _signer(chosen_app, who, env, target, required=api == "signed")
    )
    fleet = FleetApi(
        chosen_app.hosts,
        auth,
        region=token.region,
        ledger=None if target is None else BudgetLedger.beside(target),
        account=who,
        signer=signer,
        command_proxy=proxy,
        on_region=auth.set_region,
    )
    async with auth, fleet, Cooldowns.beside(target).kept(fleet):
        yield fleet


def _signer(
    app: FleetApp, account: str, env: Mapping[str, str], token_path: Path | None, *, required: bool
) -> VcpSigner | None:
    """The app key's signer with the account's session cache beside the token file (where the
    ledger and the cooldowns are too), or None (REST commands)."""
    path = app.key_path
    if not path.exists() and not path.is_symlink():
        if required:
            raise ConfigError(f"no key file at {path}: create one with `teslalink fleet key create`")
        _rest_only_once(account, f"no key file at {path}")
        return None
    try:
        from ..vcp.keys import PartnerKey  # noqa: PLC0415 - the fleet extra (cryptography, protobuf)
        from .signer import VcpSigner  # noqa: PLC0415
    except ImportError:
        if required:
            raise ConfigError(
                "signed commands need the fleet extra: pip install 'teslalink[fleet]'"
            ) from None
        _rest_only_once(account, "the fleet extra is not installed")
        return None
    key = PartnerKey.load(path)  # a corrupt or foreign file: one ConfigError line, nothing sent
    # without a domain the pairing link cannot be built (NotPaired then says to set it); the key signs
    return VcpSigner.for_account(
        key, account, app_domain=app.domain or "", environ=env, token_path=token_path
    )


def _rest_only_once(account: str, why: str) -> None:
    if account not in _said_rest_only:
        _said_rest_only.add(account)
        _LOG.debug("%s: Fleet commands go as REST calls (%s)", account, why)
