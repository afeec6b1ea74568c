"""`teslalink fleet`: from zero to a registered app and a paired car on Tesla's Fleet API.

    teslalink fleet key create [--force]         the app's P-256 private key, owner-only (0600)
    teslalink fleet key show [--pem | --json]    its public PEM for /.well-known/..., and the point hex
    teslalink fleet register --domain D          registration in every region, and Tesla's key checked
    teslalink fleet pair [--vehicle VIN]         the tesla.com/_ak link and a QR code; waits until paired
    teslalink fleet setup                        the checklist: credentials, domain, key, registration,
                                                 login, pairing (asks before acting on a terminal)
    teslalink fleet login                        (cli/fleet_login.py, when it is installed)

Settings come from the options, else the environment: TESLALINK_FLEET_CLIENT_ID,
TESLALINK_FLEET_CLIENT_SECRET, TESLALINK_FLEET_DOMAIN, TESLALINK_FLEET_KEY_FILE (default
$XDG_CONFIG_HOME/teslalink/fleet-key.pem), TESLALINK_FLEET_ACCESS_TOKEN (a Fleet user token,
e.g. one of `teslalink sim all --json --print-tokens`), TESLALINK_FLEET_PAIRING_URL (instead of
https://tesla.com/_ak/), and the hosts of `FleetHosts.from_env` (TESLALINK_FLEET_AUTH_URL,
TESLALINK_FLEET_API_URL_NA/_EU/_CN). The secret and the token are never printed.
"""

from __future__ import annotations

import contextlib
import importlib
import importlib.util
import io
import os
import sys
import time
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final, TypeVar

import click

from ..errors import TeslalinkError
from ._common import echo, echo_json, run

if TYPE_CHECKING:
    from ..cloud.fleet.hosts import FleetHosts
    from ..cloud.fleet.pairing import FleetStatus
    from ..cloud.fleet.partner import RegionResult
    from ..cloud.vcp.keys import PartnerKey

__all__ = ["fleet"]

F = TypeVar("F", bound=Callable[..., Any])

REGIONS: Final = ("na", "eu", "cn")
WELL_KNOWN_PATH: Final = "/.well-known/appspecific/com.tesla.3p.public-key.pem"
_PAIRING_NOTES: Final = (
    "Open the link on the phone signed in to the car owner's Tesla account and approve: only the "
    "owner account can pair a key (a driver's cannot), and the car must be near that phone.",
    "The key works over the internet (the Fleet API) only: app keys do not work over Bluetooth (BLE).",
)
_LOGIN_MODULE: Final = "teslalink.cli.fleet_login"


# --- settings ----------------------------------------------------------------------------------


def default_key_path() -> Path:
    """$XDG_CONFIG_HOME/teslalink/fleet-key.pem, else ~/.config/teslalink/fleet-key.pem (our choice,
    beside the token file; helper fleet-oauth's FleetApp uses the same default)."""
    base = os.environ.get("XDG_CONFIG_HOME")
    root = Path(base).expanduser() if base else Path.home() / ".config"
    return root / "teslalink" / "fleet-key.pem"


@dataclass(frozen=True)
class AppSettings:
    """The app's settings of one invocation; empty strings where none was given."""

    client_id: str = ""
    client_secret: str = field(default="", repr=False)
    domain: str = ""
    key_file: Path = field(default_factory=default_key_path)

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
        return self.domain.strip().lower()


def _settings(
    client_id: str | None, client_secret: str | None, domain: str | None, key_file: Path | None
) -> AppSettings:
    return AppSettings(
        client_id=(client_id or "").strip(),
        client_secret=(client_secret or "").strip(),
        domain=(domain or "").strip().lower(),
        key_file=key_file or default_key_path(),
    )


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
_credential_options = [
    click.option("--client-id", envvar="TESLALINK_FLEET_CLIENT_ID", default=None,
                 help="The app's client id (env TESLALINK_FLEET_CLIENT_ID)."),
    click.option("--client-secret", envvar="TESLALINK_FLEET_CLIENT_SECRET", default=None,
                 help="The app's client secret (prefer env TESLALINK_FLEET_CLIENT_SECRET: a command "
                      "line is visible to other users)."),
]  # fmt: skip
_token_options = [
    click.option("--access-token", envvar="TESLALINK_FLEET_ACCESS_TOKEN", default=None,
                 help="A Fleet user token of the car's owner (prefer env TESLALINK_FLEET_ACCESS_TOKEN)."),
    click.option("--region", type=click.Choice(REGIONS), default=None,
                 help="The account's Fleet region (default: the token's own)."),
]  # fmt: skip
_json_option = click.option("--json", "as_json", is_flag=True, help="Print JSON.")


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


def _hosts() -> FleetHosts:
    from ..cloud.fleet.hosts import FleetHosts  # noqa: PLC0415

    with _one_line():
        return FleetHosts.from_env()


def _pairing_base() -> str:
    from ..cloud.fleet.pairing import PAIRING_URL  # noqa: PLC0415

    return os.environ.get("TESLALINK_FLEET_PAIRING_URL") or PAIRING_URL


def _well_known(domain: str) -> str:
    return f"https://{domain or '<your domain>'}{WELL_KNOWN_PATH}"


# --- the group ---------------------------------------------------------------------------------


class _FleetGroup(click.Group):
    """The fleet commands, and `login` from cli/fleet_login.py when that module is installed."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        names = set(super().list_commands(ctx))
        if importlib.util.find_spec(_LOGIN_MODULE) is not None:
            names.add("login")
        return sorted(names)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        command = super().get_command(ctx, cmd_name)
        if command is not None or cmd_name != "login" or importlib.util.find_spec(_LOGIN_MODULE) is None:
            return command
        module = importlib.import_module(_LOGIN_MODULE)
        found = getattr(module, "login", None) or getattr(module, "fleet_login", None)
        return found if isinstance(found, click.Command) else None


@click.group(cls=_FleetGroup)
def fleet() -> None:
    """Tesla's Fleet API: the app's key, registration in every region, pairing a car."""


# --- key -----------------------------------------------------------------------------------------


@fleet.group()
def key() -> None:
    """The app's P-256 key: create it once, publish its public half on the app's domain."""


@key.command("create")
@_key_file_option
@click.option(
    "--force", is_flag=True, help="Replace an existing key (every car paired with it must pair again)."
)
def key_create(key_file: Path | None, force: bool) -> None:
    """Create the app's private key (owner-only, 0600), never over an existing one unless --force."""
    partner_key = _keys()
    path = key_file or default_key_path()
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
        f"next: serve `teslalink fleet key show --pem` at {_well_known('')}, then `teslalink fleet register`"
    )


@key.command("show")
@_key_file_option
@_domain_option
@click.option("--pem", "only_pem", is_flag=True, help="Print only the PEM (the .well-known file's content).")
@_json_option
def key_show(key_file: Path | None, domain: str | None, only_pem: bool, as_json: bool) -> None:
    """Print the public key: the PEM to serve at /.well-known/appspecific/com.tesla.3p.public-key.pem."""
    partner_key = _keys()
    path = key_file or default_key_path()
    with _one_line():
        loaded = partner_key.load(path)
    url = _well_known((domain or "").strip().lower())
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
@_with(_credential_options)
@_domain_option
@_key_file_option
@click.option("--region", "regions", type=click.Choice(REGIONS), multiple=True,
              help="Only this region (repeatable; default: every region).")  # fmt: skip
@_json_option
def register(
    client_id: str | None,
    client_secret: str | None,
    domain: str | None,
    key_file: Path | None,
    regions: tuple[str, ...],
    as_json: bool,
) -> None:
    """Register the app's domain in every region and check Tesla holds our key in each."""
    settings = _settings(client_id, client_secret, domain, key_file)
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
    from ..cloud.fleet.partner import PartnerClient  # noqa: PLC0415

    client = PartnerClient(_hosts(), settings.client_id, settings.client_secret)
    try:
        return await client.onboard(domain, public_hex, regions)
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


# --- pair --------------------------------------------------------------------------------------


@fleet.command()
@click.option("--vehicle", "vin", default=None, help="The car's VIN (default: the account's only car).")
@_domain_option
@_with(_token_options)
@click.option("--timeout", type=click.FloatRange(min=0), default=600.0, show_default=True,
              help="Seconds to wait for the owner's approval (0: check once).")  # fmt: skip
def pair(
    vin: str | None, domain: str | None, access_token: str | None, region: str | None, timeout: float
) -> None:
    """Print the tesla.com/_ak link (and a QR code) and wait until Tesla lists the car as paired."""
    wanted = _settings(None, None, domain, None).need_domain()
    token = _need_token(access_token)
    run(_pair(wanted, vin, token, region, timeout))


def _need_token(access_token: str | None) -> str:
    token = (access_token or "").strip()
    if not token:
        raise click.ClickException(
            "no Fleet user token: set TESLALINK_FLEET_ACCESS_TOKEN (or pass --access-token) "
            "to a token of the car owner's"
        )
    return token


@contextlib.asynccontextmanager
async def _status(token: str, region: str | None, domain: str | None) -> AsyncIterator[FleetStatus]:
    from .._http import Transport  # noqa: PLC0415
    from ..cloud.fleet.pairing import FleetStatus, token_region  # noqa: PLC0415

    http = Transport()
    try:
        yield FleetStatus(http, _hosts(), token, region or token_region(token) or "na", domain)
    finally:
        await http.close()


async def _pair(domain: str, vin: str | None, token: str, region: str | None, wait_s: float) -> None:
    from ..cloud.fleet.pairing import pairing_link  # noqa: PLC0415

    async with _status(token, region, domain) as status:
        chosen = vin or _only_car(await status.vins())
        state = await status.pairing([chosen])
        if chosen not in state:
            raise click.ClickException(
                f"{chosen} is not a car of this account (fleet_status does not list it)"
            )
        if state[chosen]:
            echo(f"{chosen} is already paired with the key of {domain}")
            return
        _show_link(pairing_link(domain, chosen, _pairing_base()))
        if wait_s > 0:
            echo(f"waiting up to {wait_s:g} s for the approval (Ctrl-C stops waiting)...")
        if not await _wait_for(status, chosen, wait_s):
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
    token: str
    region: str | None
    interactive: bool
    steps: list[Step] = field(default_factory=list)

    def add(self, name: str, done: bool, message: str) -> bool:
        self.steps.append(Step(name, done, message))
        echo(f"[{'done' if done else 'missing'}] {name}: {message}")
        return done


@fleet.command()
@_with(_credential_options)
@_domain_option
@_key_file_option
@_with(_token_options)
@click.option("--interactive/--no-interactive", default=None,
              help="Ask before creating the key, registering, waiting for the pairing "
                   "(default: on a terminal).")  # fmt: skip
def setup(
    client_id: str | None,
    client_secret: str | None,
    domain: str | None,
    key_file: Path | None,
    access_token: str | None,
    region: str | None,
    interactive: bool | None,
) -> None:
    """The checklist from zero to a paired car; each step says what it did and what is missing."""
    if interactive is None:
        interactive = sys.stdin.isatty() and sys.stdout.isatty()
    state = _Setup(
        _settings(client_id, client_secret, domain, key_file),
        (access_token or "").strip(),
        region,
        interactive,
    )
    credentials = _step_credentials(state)
    has_domain = _step_domain(state)
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
    if settings.client_id and settings.client_secret:
        return state.add("app credentials", True, f"client id {settings.client_id} and its secret are set")
    return state.add(
        "app credentials",
        False,
        "create an app at developer.tesla.com, then set TESLALINK_FLEET_CLIENT_ID and "
        "TESLALINK_FLEET_CLIENT_SECRET",
    )


def _step_domain(state: _Setup) -> bool:
    domain = state.settings.domain
    if domain:
        return state.add("domain", True, f"{domain} (the root of the app's allowed origins)")
    return state.add("domain", False, "set TESLALINK_FLEET_DOMAIN (or --domain) to the app's domain")


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
    results = run(_registration_check(state.settings, public_hex))
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


async def _registration_check(settings: AppSettings, public_hex: str) -> list[RegionResult]:
    """What each region holds for the domain, read only (`GET partner_accounts/public_key`)."""
    from ..cloud.fleet.partner import PartnerClient, RegionResult, RegistrationStatus  # noqa: PLC0415

    client = PartnerClient(_hosts(), settings.client_id, settings.client_secret)
    results = []
    try:
        for region in client.hosts.api:
            base_url = client.hosts.base_url(region)
            try:
                held = await client.registered_key(region, settings.domain)
            except TeslalinkError as exc:
                results.append(RegionResult(region, base_url, RegistrationStatus.FAILED, f"{region}: {exc}"))
                continue
            if held is None:
                status, detail = RegistrationStatus.FAILED, f"{region}: not registered"
            elif held != public_hex.lower():
                status, detail = RegistrationStatus.KEY_MISMATCH, f"{region}: registered with another key"
            else:
                status, detail = RegistrationStatus.REGISTERED, f"{region}: registered with our key"
            results.append(RegionResult(region, base_url, status, detail, held))
    finally:
        await client.close()
    return results


def _step_login(state: _Setup) -> bool:
    from ..cloud.fleet.pairing import token_claims  # noqa: PLC0415

    if not state.token:
        return state.add(
            "login", False, "no Fleet user token: set TESLALINK_FLEET_ACCESS_TOKEN (the car owner's login)"
        )
    claims = token_claims(state.token)
    expires = claims.get("exp")
    if isinstance(expires, int | float) and expires <= time.time():
        return state.add("login", False, "the Fleet user token has expired: log in again")
    region = state.region or str(claims.get("ou_code", "")).lower() or "na"
    scopes = claims.get("scp")
    granted = " ".join(str(s) for s in scopes) if isinstance(scopes, list) else "unknown"
    return state.add("login", True, f"a Fleet user token of region {region}, scopes: {granted}")


async def _step_pairing(state: _Setup) -> None:
    from ..cloud.fleet.pairing import pairing_link  # noqa: PLC0415

    domain = state.settings.domain
    async with _status(state.token, state.region, domain) as status:
        vins = await status.vins()
        if not vins:
            state.add("pairing", False, "the account has no car")
            return
        paired = await status.paired(vins)
        for vin in [v for v in vins if v not in paired]:
            link = pairing_link(domain, vin, _pairing_base())
            if state.interactive:
                _show_link(link)
                if click.confirm(f"Wait until {vin} is paired?", default=True) and await _wait_for(
                    status, vin
                ):
                    paired.add(vin)
        unpaired = [v for v in vins if v not in paired]
        if unpaired:
            links = ", ".join(pairing_link(domain, v, _pairing_base()) for v in unpaired)
            state.add(
                "pairing",
                False,
                f"not paired: {', '.join(unpaired)}; open {links} (or `teslalink fleet pair`)",
            )
        else:
            state.add("pairing", True, f"paired: {', '.join(vins)}")


async def _wait_for(status: FleetStatus, vin: str, timeout_s: float = 600.0) -> bool:
    from ..cloud.fleet.pairing import wait_until_paired  # noqa: PLC0415

    async def paired() -> bool:
        return vin in await status.paired([vin])

    return await wait_until_paired(paired, timeout_s=timeout_s)
