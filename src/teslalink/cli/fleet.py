"""`teslalink fleet`: from zero to a registered app and a paired car on Tesla's Fleet API.

    teslalink fleet key create [--force]         the app's P-256 private key, owner-only (0600)
    teslalink fleet key show [--pem | --json]    its public PEM for /.well-known/..., and the point hex
    teslalink fleet register --domain D          registration in every region, and Tesla's key checked
    teslalink fleet login                        the Fleet login of an account (cli/fleet_login.py)
    teslalink fleet logout                       forget it (the account's Owner API login stays)
    teslalink fleet pair [--vehicle VIN]         the tesla.com/_ak link and a QR code; waits until paired
    teslalink fleet status                       app, regions, login, paired cars, this month's cost
                                                 (cli/fleet_status.py)
    teslalink fleet setup                        the checklist: credentials, domain, key, registration,
                                                 login, pairing (asks before acting on a terminal)

The app's settings: the options, else the environment (TESLALINK_FLEET_CLIENT_ID, _CLIENT_SECRET,
_REDIRECT_URI, _DOMAIN, _KEY_FILE), else fleet.json (`FleetApp`: $XDG_CONFIG_HOME/teslalink/
fleet.json, or --app-file), else the defaults (the key at ~/.config/teslalink/fleet-key.pem).
The hosts: fleet.json's under `FleetHosts.from_env` (TESLALINK_FLEET_AUTH_URL,
TESLALINK_FLEET_API_URL_NA/_EU/_CN); TESLALINK_FLEET_PAIRING_URL stands in for
https://tesla.com/_ak/. The user's side is the account's stored Fleet login (`fleet login`; --email
when several accounts have one); --access-token (or TESLALINK_FLEET_ACCESS_TOKEN, e.g. one of
`teslalink sim all --json --print-tokens`) overrides it. The secret and the tokens are never printed.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import importlib
import io
import os
import sys
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final, TypeVar, cast

import click

from ..errors import NotRegistered, TeslalinkError
from ._common import echo, echo_json, run

if TYPE_CHECKING:
    from ..cloud.fleet.api import FleetApi
    from ..cloud.fleet.app import FleetApp
    from ..cloud.fleet.hosts import FleetHosts
    from ..cloud.fleet.partner import PartnerClient, RegionResult
    from ..cloud.tokens import TokenStore
    from ..cloud.vcp.keys import PartnerKey

__all__ = ["fleet"]

F = TypeVar("F", bound=Callable[..., Any])

REGIONS: Final = ("na", "eu", "cn")
DEFAULT_REDIRECT_URI: Final = "http://127.0.0.1:8765/callback"
"""What setup offers as the redirect URI (our choice: a loopback callback `fleet login` can serve;
it must be one of the app's redirect URIs at developer.tesla.com)."""
_PAIRING_NOTES: Final = (
    "Open the link on the phone signed in to the car owner's Tesla account and approve: only the "
    "owner account can pair a key (a driver's cannot), and the car must be near that phone.",
    "The key works over the internet (the Fleet API) only: app keys do not work over Bluetooth (BLE).",
)
_LAZY_COMMANDS: Final = {
    "login": ("teslalink.cli.fleet_login", "fleet_login"),
    "status": ("teslalink.cli.fleet_status", "status"),
}
"""Commands in modules of their own, imported when named (their options and imports stay out of
the rest of the group's way)."""


# --- settings ----------------------------------------------------------------------------------


def default_key_path() -> Path:
    """The app's key file unless told otherwise (`teslalink.cloud.fleet.app.default_key_path`)."""
    from ..cloud.fleet.app import default_key_path as app_default  # noqa: PLC0415

    return app_default()


def default_app_path() -> Path:
    from ..cloud.fleet.app import default_app_path as app_default  # noqa: PLC0415

    return app_default()


@dataclass(frozen=True)
class AppSettings:
    """The app's settings of one invocation (module docstring: where each comes from); "" where
    none is known. `problem` says why no whole `FleetApp` could be read, "" when one was."""

    client_id: str = ""
    client_secret: str = field(default="", repr=False)
    domain: str = ""
    key_file: Path = field(default_factory=default_key_path)
    redirect_uri: str = ""
    app_file: Path = field(default_factory=default_app_path)
    hosts: FleetHosts | None = None
    problem: str = ""

    def need_credentials(self) -> None:
        if not self.client_id or not self.client_secret:
            raise click.UsageError(
                "the app's credentials are missing: set TESLALINK_FLEET_CLIENT_ID and "
                "TESLALINK_FLEET_CLIENT_SECRET (from developer.tesla.com), "
                "or pass --client-id/--client-secret"
            )

    def need_domain(self) -> str:
        if not self.domain:
            raise click.UsageError("the app's domain is missing: pass --domain or set TESLALINK_FLEET_DOMAIN")
        return self.domain

    def fleet_hosts(self) -> FleetHosts:
        if self.hosts is not None:
            return self.hosts
        from ..cloud.fleet.hosts import FleetHosts  # noqa: PLC0415

        with _one_line():
            return FleetHosts.from_env()

    def fleet_app(self) -> FleetApp:
        """The whole app a login needs (client id, secret, redirect URI), else one line saying why."""
        missing = [
            name
            for name, value in (
                ("client id", self.client_id),
                ("client secret", self.client_secret),
                ("redirect URI", self.redirect_uri),
            )
            if not value
        ]
        if missing:
            why = self.problem if self.app_file.exists() and self.problem else f"{', '.join(missing)} unknown"
            raise click.ClickException(
                f"no whole Fleet app is configured ({why}): run `teslalink fleet setup`, or set "
                "TESLALINK_FLEET_CLIENT_ID, TESLALINK_FLEET_CLIENT_SECRET and TESLALINK_FLEET_REDIRECT_URI"
            )
        from ..cloud.fleet.app import FleetApp  # noqa: PLC0415

        with _one_line():
            return FleetApp(
                client_id=self.client_id,
                client_secret=self.client_secret,
                redirect_uri=self.redirect_uri,
                domain=self.domain or None,
                key_path=self.key_file,
                hosts=self.fleet_hosts(),
            )


def _settings(
    client_id: str | None,
    client_secret: str | None,
    domain: str | None,
    key_file: Path | None,
    app_file: Path | None = None,
) -> AppSettings:
    """The options (click has put their environment variables in), else `FleetApp.load`'s app
    (the environment over fleet.json), else the environment alone (when no whole app is there)."""
    from ..cloud.fleet.app import ENV_FIELDS, FleetApp  # noqa: PLC0415

    path = app_file or default_app_path()
    app: FleetApp | None = None
    problem = ""
    try:
        app = FleetApp.load(path)
    except TeslalinkError as exc:
        problem = str(exc)

    def known(option: str | None, name: str) -> str:
        if option and option.strip():
            return option.strip()
        value = getattr(app, name) if app is not None else os.environ.get(ENV_FIELDS[name])
        return str(value or "").strip()

    return AppSettings(
        client_id=known(client_id, "client_id"),
        client_secret=known(client_secret, "client_secret"),
        domain=known(domain, "domain").lower(),
        key_file=key_file or (app.key_path if app is not None else None) or _env_key_file(),
        redirect_uri=known(None, "redirect_uri"),
        app_file=path,
        hosts=app.hosts if app is not None else None,
        problem=problem,
    )


def _env_key_file() -> Path:
    given = os.environ.get("TESLALINK_FLEET_KEY_FILE")
    return Path(given).expanduser() if given else default_key_path()


@dataclass(frozen=True)
class LoginSettings:
    """Whose Fleet login: the stored one of `email` (None: the only one) in `token_file`, or a
    given `access_token` (then `region` may name its region)."""

    email: str | None = None
    token_file: Path | None = None
    access_token: str = field(default="", repr=False)
    region: str | None = None

    def store(self) -> TokenStore:
        from ..cloud.tokens import TokenStore  # noqa: PLC0415

        return TokenStore(self.token_file)


_key_file_option = click.option(
    "--key-file",
    type=click.Path(dir_okay=False, path_type=Path),
    envvar="TESLALINK_FLEET_KEY_FILE",
    default=None,
    help="The app's private key (env TESLALINK_FLEET_KEY_FILE; default ~/.config/teslalink/fleet-key.pem).",
)
_domain_option = click.option(
    "--domain", envvar="TESLALINK_FLEET_DOMAIN", default=None,
    help="The app's domain, which serves its public key (env TESLALINK_FLEET_DOMAIN).",
)  # fmt: skip
_app_file_option = click.option(
    "--app-file", type=click.Path(dir_okay=False, path_type=Path), default=None,
    help="The Fleet app's configuration (default ~/.config/teslalink/fleet.json).",
)  # fmt: skip
_credential_options = [
    click.option("--client-id", envvar="TESLALINK_FLEET_CLIENT_ID", default=None,
                 help="The app's client id (env TESLALINK_FLEET_CLIENT_ID)."),
    click.option("--client-secret", envvar="TESLALINK_FLEET_CLIENT_SECRET", default=None,
                 help="The app's client secret (prefer env TESLALINK_FLEET_CLIENT_SECRET: a command "
                      "line is visible to other users)."),
]  # fmt: skip
_account_options = [
    click.option("--email", envvar="TESLALINK_EMAIL", default=None,
                 help="The account (env TESLALINK_EMAIL; default: the only one with a Fleet login)."),
    click.option("--token-file", type=click.Path(dir_okay=False, path_type=Path), default=None,
                 help="Token file (env TESLALINK_TOKEN_FILE; default ~/.config/teslalink/tokens.json)."),
]  # fmt: skip
_token_options = [
    *_account_options,
    click.option("--access-token", envvar="TESLALINK_FLEET_ACCESS_TOKEN", default=None,
                 help="A Fleet user token of the car's owner instead of the stored login "
                      "(prefer env TESLALINK_FLEET_ACCESS_TOKEN)."),
    click.option("--region", type=click.Choice(REGIONS), default=None,
                 help="With --access-token: the account's Fleet region (default: the token's own)."),
]  # fmt: skip
_json_option = click.option("--json", "as_json", is_flag=True, help="Print JSON.")


def _login(email: str | None, token_file: Path | None, access_token: str | None = None,
           region: str | None = None) -> LoginSettings:  # fmt: skip
    return LoginSettings(email or None, token_file, (access_token or "").strip(), region)


def app_options(command: F) -> F:
    """--client-id, --client-secret, --domain, --key-file and --app-file, gathered into `settings`
    (`_settings`: the options, else the environment, else fleet.json)."""

    @functools.wraps(command)
    def wrapper(**kwargs: Any) -> Any:
        names = ("client_id", "client_secret", "domain", "key_file", "app_file")
        kwargs["settings"] = _settings(*(kwargs.pop(name) for name in names))
        return command(**kwargs)

    options = [*_credential_options, _domain_option, _key_file_option, _app_file_option]
    return _with(options)(cast(F, wrapper))


def login_options(command: F) -> F:
    """--email, --token-file, --access-token and --region, gathered into `login`."""

    @functools.wraps(command)
    def wrapper(**kwargs: Any) -> Any:
        names = ("email", "token_file", "access_token", "region")
        kwargs["login"] = _login(*(kwargs.pop(name) for name in names))
        return command(**kwargs)

    return _with(_token_options)(cast(F, wrapper))


def _with(options: list[Callable[[F], F]]) -> Callable[[F], F]:
    """All of `options` as one decorator."""

    def apply(command: F) -> F:
        for option in reversed(options):
            command = option(command)
        return command

    return apply


@contextlib.contextmanager
def _one_line() -> Iterator[None]:
    """A teslalink error outside `run` (a key file, a setting) as one line and exit code 1."""
    try:
        yield
    except TeslalinkError as exc:
        raise click.ClickException(str(exc)) from None


def _keys() -> type[PartnerKey]:
    try:
        from ..cloud.vcp.keys import PartnerKey  # noqa: PLC0415 - cryptography: the fleet extra
    except ImportError:
        raise click.ClickException(
            "the app's key needs the fleet extra: pip install 'teslalink[fleet]'"
        ) from None
    return PartnerKey


def _pairing_link(domain: str, vin: str) -> str:
    from ..cloud.fleet.pairing import pairing_link  # noqa: PLC0415

    return pairing_link(domain, vin)


def _well_known(domain: str) -> str:
    from ..cloud.fleet.partner import well_known_url  # noqa: PLC0415

    return well_known_url(domain or "<your domain>")


# --- the account's Fleet API session -----------------------------------------------------------


@contextlib.asynccontextmanager
async def fleet_session(settings: AppSettings, login: LoginSettings) -> AsyncIterator[FleetApi]:
    """A `FleetApi` for the login: the stored Fleet login (`open_fleet`: refreshed as needed, its
    region kept, the account's ledger and cooldowns), or --access-token.

    A 412 on the way (the app is not registered in the account's region) is one line naming the
    region and the command that fixes it.
    """
    if login.access_token:
        session = _token_session(settings, login)
    else:
        from ..cloud.fleet.account import open_fleet  # noqa: PLC0415

        # REST: pairing and status send no vehicle command (status shows a bad key file itself)
        session = open_fleet(login.store(), login.email, app=settings.fleet_app(), api="rest")
    async with session as api:
        try:
            yield api
        except NotRegistered:
            raise click.ClickException(not_registered_line(api, settings.domain)) from None


def not_registered_line(api: FleetApi, domain: str) -> str:
    """What a 412 at the account's host means, and the command that fixes it."""
    from ..cloud.fleet.partner import not_registered_hint  # noqa: PLC0415

    region = api.region or "na"
    return f"the app is not registered in {region}: {not_registered_hint(region, domain)}"


@contextlib.asynccontextmanager
async def _token_session(settings: AppSettings, login: LoginSettings) -> AsyncIterator[FleetApi]:
    """A FleetApi on a given access token (nothing to refresh, no ledger: the account is unknown)."""
    from ..cloud.fleet.api import FleetApi  # noqa: PLC0415
    from ..cloud.fleet.jwt import read_claims  # noqa: PLC0415
    from ..cloud.provider import StaticToken  # noqa: PLC0415

    with _one_line():
        region = login.region or read_claims(login.access_token).region
    async with FleetApi(settings.fleet_hosts(), StaticToken(login.access_token), region=region) as api:
        yield api


async def account_vins(api: FleetApi) -> list[str]:
    """The VINs of the account's cars (`GET api/1/vehicles`, unbilled)."""
    return [car.vin for car in await api.vehicles() if car.vin]


# --- the group ---------------------------------------------------------------------------------


class _FleetGroup(click.Group):
    """The fleet commands; `login` and `status` from modules of their own, imported when named."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *_LAZY_COMMANDS})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        command = super().get_command(ctx, cmd_name)
        if command is not None or cmd_name not in _LAZY_COMMANDS:
            return command
        module_name, attribute = _LAZY_COMMANDS[cmd_name]
        found = getattr(importlib.import_module(module_name), attribute)
        assert isinstance(found, click.Command)
        return found


@click.group(cls=_FleetGroup)
def fleet() -> None:
    """Tesla's Fleet API: the app's key, registration in every region, login, pairing a car, status."""


# --- key -----------------------------------------------------------------------------------------


@fleet.group()
def key() -> None:
    """The app's P-256 key: create it once, publish its public half on the app's domain."""


@key.command("create")
@_key_file_option
@_app_file_option
@click.option(
    "--force", is_flag=True, help="Replace an existing key (every car paired with it must pair again)."
)
def key_create(key_file: Path | None, app_file: Path | None, force: bool) -> None:
    """Create the app's private key (owner-only, 0600), never over an existing one unless --force."""
    partner_key = _keys()
    settings = _settings(None, None, None, key_file, app_file)
    path = settings.key_file
    if (path.exists() or path.is_symlink()) and not force:
        raise click.ClickException(
            f"{path} exists: a new key would unpair every car paired with it; pass --force to replace it"
        )
    created = partner_key.generate()
    with _one_line():
        created.save(path)
    echo(f"created {path} (owner-only, 0600)")
    echo(f"public key (uncompressed point, hex): {created.public_hex()}")
    echo(
        f"next: serve `teslalink fleet key show --pem` at {_well_known(settings.domain)}, "
        "then `teslalink fleet register`"
    )


@key.command("show")
@_key_file_option
@_app_file_option
@_domain_option
@click.option("--pem", "only_pem", is_flag=True, help="Print only the PEM (the .well-known file's content).")
@_json_option
def key_show(
    key_file: Path | None, app_file: Path | None, domain: str | None, only_pem: bool, as_json: bool
) -> None:
    """Print the public key: the PEM to serve at /.well-known/appspecific/com.tesla.3p.public-key.pem."""
    partner_key = _keys()
    settings = _settings(None, None, domain, key_file, app_file)
    path = settings.key_file
    with _one_line():
        loaded = partner_key.load(path)
    url = _well_known(settings.domain)
    if as_json:
        echo_json(
            {
                "key_file": str(path),
                "public_pem": loaded.public_pem(),
                "public_key_hex": loaded.public_hex(),
                "well_known_url": url,
            }
        )
        return
    if only_pem:
        click.echo(loaded.public_pem(), nl=False)
        return
    echo(f"# serve this at {url}")
    click.echo(loaded.public_pem(), nl=False)
    echo(f"public key (uncompressed point, hex): {loaded.public_hex()}")


# --- register ----------------------------------------------------------------------------------


@fleet.command()
@app_options
@click.option("--region", "regions", type=click.Choice(REGIONS), multiple=True,
              help="Only this region (repeatable; default: every region).")  # fmt: skip
@_json_option
def register(settings: AppSettings, regions: tuple[str, ...], as_json: bool) -> None:
    """Register the app's domain in every region and check Tesla holds our key in each."""
    settings.need_credentials()
    wanted = settings.need_domain()
    partner_key = _keys()
    with _one_line():
        loaded = partner_key.load(settings.key_file)
    results = run(_onboard(settings, wanted, loaded.public_hex(), regions or None))
    if as_json:
        echo_json([_result_json(r) for r in results])
    else:
        for result in results:
            echo(("[done] " if result.ok else "[failed] ") + result.detail)
    failed = [r.region for r in results if not r.ok]
    if failed:
        # research/fleet.md 1.1: China has its own developer.tesla.cn apps (and hosts)
        china = "; China needs its own app at developer.tesla.cn" if "cn" in failed else ""
        raise click.ClickException(f"not registered with our key in {', '.join(failed)} (see above){china}")


async def _onboard(
    settings: AppSettings, domain: str, public_hex: str, regions: tuple[str, ...] | None
) -> list[RegionResult]:
    async with _partner(settings) as client:
        return await client.onboard(domain, public_hex, regions)


async def registration_check(settings: AppSettings, public_hex: str | None) -> list[RegionResult]:
    """What each region holds for the app's domain, read only (`GET partner_accounts/public_key`)."""
    async with _partner(settings) as client:
        return await client.check(settings.domain, public_hex)


@contextlib.asynccontextmanager
async def _partner(settings: AppSettings) -> AsyncIterator[PartnerClient]:
    from ..cloud.fleet.partner import PartnerClient  # noqa: PLC0415

    client = PartnerClient(settings.fleet_hosts(), settings.client_id, settings.client_secret)
    try:
        yield client
    finally:
        await client.close()


def _result_json(result: RegionResult) -> dict[str, Any]:
    return {
        "region": result.region,
        "base_url": result.base_url,
        "status": result.status.value,
        "public_key": result.public_key,
        "detail": result.detail,
    }


# --- the login ---------------------------------------------------------------------------------

SCOPE_USES: Final = {
    "vehicle_cmds": "vehicle commands",
    "vehicle_device_data": "vehicle data, wake_up and fleet_status (pairing)",
    "offline_access": "renewing the login without signing in again",
    "vehicle_location": "the car's location",
    "vehicle_charging_cmds": "charging commands (vehicle_cmds covers them)",
    "energy_device_data": "energy site data",
    "energy_cmds": "energy site settings",
    "user_data": "the account's email at login",
}
"""What each scope is for in teslalink (research/fleet.md 1.2; the twin's route table)."""
SIGNED_COMMAND_SCOPES: Final = ("vehicle_cmds",)
"""Our choice: what a login needs for signed commands. vehicle_charging_cmds alone allows only the
charging ones; vehicle_cmds allows them all."""


def missing_scopes(granted: tuple[str, ...]) -> list[str]:
    """The scopes of `SCOPE_USES` a login lacks (vehicle_charging_cmds not, when vehicle_cmds is there)."""
    covered = {"vehicle_charging_cmds"} if "vehicle_cmds" in granted else set()
    return [scope for scope in SCOPE_USES if scope not in granted and scope not in covered]


@dataclass(frozen=True)
class LoginView:
    """What a login says about itself: the account, the app, region, scopes (the token's claims),
    expiry, and whether it renews itself. No token in it."""

    account: str | None
    client_id: str | None
    region: str | None
    scopes: tuple[str, ...]
    expires_at: float | None
    renewable: bool

    def lapsed(self, now: float) -> bool:
        """Expired with nothing to renew it."""
        return not self.renewable and self.expires_at is not None and self.expires_at <= now


def login_view(login: LoginSettings) -> LoginView:
    """The login of `login` as it is stored (or given): a `TeslalinkError` saying why it cannot be read."""
    from ..cloud.fleet.jwt import read_claims  # noqa: PLC0415
    from ..cloud.fleet.oauth import fleet_identity  # noqa: PLC0415
    from ..cloud.fleet.tokens import SECTION, FleetToken  # noqa: PLC0415
    from ..errors import TokenExpired  # noqa: PLC0415

    if login.access_token:
        claims = read_claims(login.access_token)
        return LoginView(
            claims.subject, claims.client_id, login.region or claims.region, claims.scopes, claims.expires_at,
            renewable=False,
        )  # fmt: skip
    store = login.store()
    account = fleet_identity(store, login.email)
    entry = store.load_section(account, SECTION)
    if entry is None:
        raise TokenExpired(f"{account} has no Fleet login: run `teslalink fleet login`")
    token = FleetToken.from_entry(entry, where=str(store.path), identity=account)
    scopes = read_claims(token.access_token).scopes or token.scopes
    return LoginView(
        account, token.client_id, token.region, scopes, token.expires_at, renewable=bool(token.refresh_token)
    )


def expiry_words(view: LoginView, now: float) -> str:
    """ "expires 2026-12-04 12:00 UTC (in 7 h 59 min); renewed with its refresh token" and the like."""
    import datetime as dt  # noqa: PLC0415

    if view.expires_at is None:
        return "expiry unknown"
    moment = dt.datetime.fromtimestamp(view.expires_at, dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    left = view.expires_at - now
    when = f"in {_duration(left)}" if left > 0 else f"{_duration(-left)} ago"
    renew = "; renewed with its refresh token" if view.renewable else "; no refresh token: log in again then"
    return f"access token expires {moment} ({when}){renew}"


def _duration(seconds: float) -> str:
    minutes = int(seconds // 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes} min" if hours else f"{minutes} min"


# --- logout --------------------------------------------------------------------------------------


@fleet.command()
@_with(_account_options)
@_json_option
def logout(email: str | None, token_file: Path | None, as_json: bool) -> None:
    """Forget the account's Fleet login (its Owner API login, if any, stays)."""
    from ..cloud.fleet.oauth import fleet_identity  # noqa: PLC0415
    from ..cloud.fleet.tokens import SECTION  # noqa: PLC0415

    store = _login(email, token_file).store()
    with _one_line():
        account = fleet_identity(store, email)
        if store.load_section(account, SECTION) is None:
            raise click.ClickException(f"{account} has no Fleet login here (nothing to forget)")
        store.save_section(account, SECTION, None)
    if as_json:
        echo_json({"email": account, "logged_out": True})
        return
    echo(f"Forgot the Fleet login of {account}.")
    # our choice: no call to Tesla (no revocation endpoint is documented for Fleet tokens); the
    # consent page ends the app's access (research/fleet.md 1.5)
    echo(
        "Tesla still honours its access token until it expires (8 h at most); to end the app's access, "
        "revoke it at https://auth.tesla.com/user/revoke/consent"
    )


# --- pair --------------------------------------------------------------------------------------


@fleet.command()
@click.option("--vehicle", "vin", default=None, help="The car's VIN (default: the account's only car).")
@app_options
@login_options
@click.option("--timeout", type=click.FloatRange(min=0), default=600.0, show_default=True,
              help="Seconds to wait for the owner's approval (0: check once).")  # fmt: skip
def pair(vin: str | None, settings: AppSettings, login: LoginSettings, timeout: float) -> None:
    """Print the tesla.com/_ak link (and a QR code) and wait until Tesla lists the car as paired.

    Uses the account's Fleet login (`teslalink fleet login`), or --access-token.
    """
    run(_pair(settings, login, settings.need_domain(), vin, timeout))


async def _pair(
    settings: AppSettings, login: LoginSettings, domain: str, vin: str | None, wait_s: float
) -> None:
    async with fleet_session(settings, login) as api:
        chosen = vin.strip().upper() if vin else _only_car(await account_vins(api))
        state = await api.fleet_status([chosen])
        if chosen not in (*state.paired, *state.unpaired):
            raise click.ClickException(
                f"{chosen} is not a car of this account (fleet_status does not list it)"
            )
        if state.is_paired(chosen):
            echo(f"{chosen} is already paired with the key of {domain}")
            return
        _show_link(_pairing_link(domain, chosen))
        if wait_s > 0:
            echo(f"waiting up to {wait_s:g} s for the approval (Ctrl-C stops waiting)...")
        if wait_s <= 0 or not await _wait_for(api, chosen, wait_s):  # just asked: not again at once
            raise click.ClickException(
                f"{chosen} is not paired after {wait_s:g} s: approve the link on the owner's phone, "
                "then run `teslalink fleet pair` again"
            )
    echo(f"{chosen} is paired with the key of {domain}")


def _only_car(vins: list[str]) -> str:
    if len(vins) == 1:
        return vins[0]
    if not vins:
        raise click.ClickException("this account has no car to pair")
    raise click.UsageError(f"the account has {len(vins)} cars ({', '.join(vins)}): pass --vehicle VIN")


def _show_link(link: str) -> None:
    echo(f"pairing link: {link}")
    qr = _qr_code(link)
    if qr is None:
        echo("(for a QR code of the link here, install segno: pip install 'teslalink[fleet]')")
    else:
        click.echo(qr, nl=False)
    for note in _PAIRING_NOTES:
        echo(note)


def _qr_code(text: str) -> str | None:
    """`text` as a QR code of Unicode half blocks (no terminal escapes), or None without segno."""
    try:
        import segno  # noqa: PLC0415 - optional: the fleet extra
    except ImportError:
        return None
    out = io.StringIO()
    segno.make(text, error="m").terminal(out=out, compact=True)
    return out.getvalue()


async def _wait_for(api: FleetApi, vin: str, timeout_s: float = 600.0) -> bool:
    from ..cloud.fleet.pairing import wait_until_paired  # noqa: PLC0415

    async def paired() -> bool:
        return (await api.fleet_status([vin])).is_paired(vin)

    return await wait_until_paired(paired, timeout_s=timeout_s)


# --- setup ---------------------------------------------------------------------------------------


@dataclass
class Step:
    """One line of the checklist: done or not, and what was done or is missing."""

    name: str
    done: bool
    message: str


@dataclass
class _Setup:
    settings: AppSettings
    login: LoginSettings
    interactive: bool
    steps: list[Step] = field(default_factory=list)
    answered: bool = False
    """Whether the user typed in any of the app's settings (then fleet.json is offered)."""

    def add(self, name: str, done: bool, message: str) -> bool:
        self.steps.append(Step(name, done, message))
        echo(f"[{'done' if done else 'missing'}] {name}: {message}")
        return done

    def answer(self, **changes: str) -> None:
        self.settings = dataclasses.replace(self.settings, **changes)  # type: ignore[arg-type]
        self.answered = True


@fleet.command()
@app_options
@login_options
@click.option("--interactive/--no-interactive", default=None,
              help="Ask for what is missing and before creating the key, writing fleet.json, "
                   "registering, logging in, waiting for the pairing (default: on a terminal).")  # fmt: skip
def setup(settings: AppSettings, login: LoginSettings, interactive: bool | None) -> None:
    """The checklist from zero to a paired car; each step says what it did and what is missing."""
    if interactive is None:
        interactive = sys.stdin.isatty() and sys.stdout.isatty()
    state = _Setup(settings, login, interactive)
    credentials = _step_credentials(state)
    has_domain = _step_domain(state)
    _offer_app_file(state)
    public_hex = _step_key(state)
    registered = (
        credentials and has_domain and public_hex is not None and _step_registration(state, public_hex)
    )
    if not (credentials and has_domain and public_hex is not None):
        state.add("registration", False, "needs the credentials, the domain and the key first")
    logged_in = _step_login(state)
    if logged_in and registered:
        run(_step_pairing(state))
    else:
        state.add("pairing", False, "needs the registration and a login first")
    missing = [step.name for step in state.steps if not step.done]
    if missing:
        raise click.ClickException(f"setup incomplete: {', '.join(missing)}")
    echo("setup complete: every step is done")


def _step_credentials(state: _Setup) -> bool:
    settings = state.settings
    if state.interactive and not (settings.client_id and settings.client_secret):
        echo("The app's credentials are on its page at developer.tesla.com.")
        state.answer(
            client_id=settings.client_id or _ask("Client ID"),
            client_secret=settings.client_secret or _ask("Client secret", hide_input=True),
        )
    if state.interactive and not state.settings.redirect_uri:
        state.answer(redirect_uri=_ask("Redirect URI (one of the app's)", default=DEFAULT_REDIRECT_URI))
    settings = state.settings
    if settings.client_id and settings.client_secret:
        return state.add("app credentials", True, f"client id {settings.client_id} and its secret are set")
    return state.add(
        "app credentials",
        False,
        "create an app at developer.tesla.com, then set TESLALINK_FLEET_CLIENT_ID and "
        "TESLALINK_FLEET_CLIENT_SECRET (or run `teslalink fleet setup` on a terminal)",
    )


def _step_domain(state: _Setup) -> bool:
    if state.interactive and not state.settings.domain:
        state.answer(domain=_ask("The app's domain (the root of its allowed origins)").lower())
    domain = state.settings.domain
    if domain:
        return state.add("domain", True, f"{domain} (the root of the app's allowed origins)")
    return state.add("domain", False, "set TESLALINK_FLEET_DOMAIN (or --domain) to the app's domain")


def _ask(prompt: str, *, hide_input: bool = False, default: str | None = None) -> str:
    return str(click.prompt(prompt, hide_input=hide_input, default=default)).strip()


def _offer_app_file(state: _Setup) -> None:
    """On a terminal: write the app's settings to fleet.json (0600, atomic) when the user typed some
    in or there is no such file yet, so the next commands need no environment."""
    settings = state.settings
    if not state.interactive or not (state.answered or not settings.app_file.exists()):
        return
    if not (settings.client_id and settings.client_secret and settings.redirect_uri):
        return
    if not click.confirm(f"Write the app's settings to {settings.app_file} (owner-only)?", default=True):
        return
    app = settings.fleet_app()
    with _one_line():
        written = app.save(settings.app_file)
    echo(f"wrote {written} (owner-only, 0600; the client secret is in it)")


def _step_key(state: _Setup) -> str | None:
    """The key's point hex when the key is there (created here if the user agrees)."""
    path = state.settings.key_file
    partner_key = _keys()
    url = _well_known(state.settings.domain)
    if not (path.exists() or path.is_symlink()):
        if not (state.interactive and click.confirm(f"No key at {path}. Create one now?", default=True)):
            state.add("key", False, f"no key at {path}: run `teslalink fleet key create`")
            return None
        created = partner_key.generate()
        with _one_line():
            created.save(path)
        state.add("key", True, f"created {path} (0600); serve `teslalink fleet key show --pem` at {url}")
        return created.public_hex()
    try:
        loaded = partner_key.load(path)
    except TeslalinkError as exc:
        state.add("key", False, str(exc))
        return None
    state.add("key", True, f"{path}, public key {loaded.public_hex()[:10]}…; it must stay served at {url}")
    return loaded.public_hex()


def _step_registration(state: _Setup, public_hex: str) -> bool:
    results = run(registration_check(state.settings, public_hex))
    missing = [r for r in results if not r.ok]
    if missing and state.interactive:
        names = ", ".join(r.region for r in missing)
        if click.confirm(f"Register {state.settings.domain} in {names} now?", default=True):
            results = [r for r in results if r.ok] + run(
                _onboard(state.settings, state.settings.domain, public_hex, tuple(r.region for r in missing))
            )
            missing = [r for r in results if not r.ok]
    if not missing:
        regions = ", ".join(r.region for r in results)
        return state.add("registration", True, f"registered in {regions}, with our key")
    details = "; ".join(r.detail for r in missing)
    return state.add("registration", False, f"{details}; run `teslalink fleet register`")


def _step_login(state: _Setup) -> bool:
    """The Fleet login (stored, or --access-token); on a terminal, `fleet login`'s flow if there is none."""
    import time  # noqa: PLC0415

    try:
        view = login_view(state.login)
    except TeslalinkError as exc:
        if not (state.interactive and click.confirm("Log in to the Fleet API now?", default=True)):
            return state.add("login", False, str(exc))
        try:
            view = _sign_in(state)
        except (TeslalinkError, click.ClickException) as failed:
            message = failed.format_message() if isinstance(failed, click.ClickException) else str(failed)
            return state.add("login", False, f"{message}; run `teslalink fleet login`")
    if view.client_id and state.settings.client_id and view.client_id != state.settings.client_id:
        return state.add(
            "login", False, "the Fleet login belongs to another app: run `teslalink fleet login`"
        )
    if view.lapsed(time.time()):
        return state.add("login", False, "the Fleet login has expired: run `teslalink fleet login`")
    who = f"{view.account}, " if view.account and not state.login.access_token else ""
    granted = ", ".join(view.scopes) or "unknown"
    lacking = [s for s in SIGNED_COMMAND_SCOPES if s not in view.scopes]
    if lacking:
        return state.add(
            "login", False, f"{who}scopes: {granted}; lacks {', '.join(lacking)}: log in again granting it"
        )
    return state.add("login", True, f"{who}region {view.region or 'na'}, scopes: {granted}")


def _sign_in(state: _Setup) -> LoginView:
    """`teslalink fleet login`'s browser flow (callback or paste) for the app of the checklist."""
    from .fleet_login import sign_in  # noqa: PLC0415

    account = run(sign_in(state.settings.fleet_app(), state.login.store(), state.login.email))
    state.login = dataclasses.replace(state.login, email=account)
    return login_view(state.login)


async def _step_pairing(state: _Setup) -> None:
    domain = state.settings.domain
    async with fleet_session(state.settings, state.login) as api:
        vins = await account_vins(api)
        if not vins:
            state.add("pairing", False, "the account has no car")
            return
        paired = set((await api.fleet_status(vins)).paired)
        for vin in [v for v in vins if v not in paired]:
            if state.interactive:
                _show_link(_pairing_link(domain, vin))
                if click.confirm(f"Wait until {vin} is paired?", default=True) and await _wait_for(api, vin):
                    paired.add(vin)
        unpaired = [v for v in vins if v not in paired]
        if unpaired:
            links = ", ".join(_pairing_link(domain, v) for v in unpaired)
            state.add(
                "pairing",
                False,
                f"not paired: {', '.join(unpaired)}; open {links} (or `teslalink fleet pair`)",
            )
        else:
            state.add("pairing", True, f"paired: {', '.join(vins)}")
