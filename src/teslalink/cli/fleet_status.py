"""`teslalink fleet status`: is everything in place for signed commands, and what has this month cost?

Five parts, each read on its own, so one that cannot be read (said in one line: why) leaves the
others printed:

* app: client id, whether the secret is set, redirect URI, domain, the key file and its public
  point, fleet.json (there or not);
* regions: the account's region and host (`users/region`, unbilled; else the stored login's), and
  the app's registration in each region (partner calls: they need the client secret, and are
  skipped, said so, without it);
* login: account, region, scopes (the access token's claims), expiry, the scopes teslalink's
  commands need that it lacks;
* cars: each car of the account paired with the app's key or not (`fleet_status`, unbilled), with
  the tesla.com/_ak link for those that are not;
* budget: this month's billable calls by category and their cost at Tesla's prices, as
  teslalink's ledger counted them (`BudgetLedger`), Tesla's $10 monthly discount shown apart.

Ready for signed commands (exit 0; our choice of what that takes): the app's client id, domain
and a loadable key; a login for this app that has not lapsed and grants vehicle_cmds; the app
registered with our key in the account's region (when the secret lets us look); at least one car,
every one paired. Otherwise exit 1, after the report, with one `Error: not ready for signed
commands: ...` line naming what is missing. No secret or token is printed.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import click

from ..errors import NotRegistered, TeslalinkError
from ._common import echo, echo_json, run
from .fleet import (
    SCOPE_USES,
    SIGNED_COMMAND_SCOPES,
    AppSettings,
    LoginSettings,
    LoginView,
    _json_option,
    _keys,
    _pairing_link,
    account_vins,
    app_options,
    expiry_words,
    fleet_session,
    login_options,
    login_view,
    missing_scopes,
    not_registered_line,
    registration_check,
)

if TYPE_CHECKING:
    from ..cloud.fleet.api import FleetApi

__all__ = ["status"]


@dataclass
class Part:
    """One part of the report: its lines, its JSON, why it could not be read, what it lacks."""

    name: str
    title: str = ""
    """The heading when it says more than `name` (the JSON key)."""
    lines: list[str] = field(default_factory=list)
    data: dict[str, Any] = field(default_factory=dict)
    error: str = ""
    missing: list[str] = field(default_factory=list)

    def failed(self, why: str, missing: str | None = None) -> None:
        self.error = why
        if missing:
            self.missing.append(missing)

    def line(self, label: str, value: str) -> None:
        self.lines.append(f"  {label}: {value}")

    def show(self) -> None:
        if self.error:
            echo(f"{self.name}: cannot be read: {self.error}")
            return
        echo(self.title or self.name)
        for line in self.lines:
            echo(line)

    def json(self) -> dict[str, Any]:
        return {**self.data, "error": self.error or None}


@dataclass
class Report:
    app: Part = field(default_factory=lambda: Part("app"))
    regions: Part = field(default_factory=lambda: Part("regions"))
    login: Part = field(default_factory=lambda: Part("login"))
    cars: Part = field(default_factory=lambda: Part("cars"))
    budget: Part = field(default_factory=lambda: Part("budget"))

    @property
    def parts(self) -> tuple[Part, ...]:
        return (self.app, self.regions, self.login, self.cars, self.budget)

    @property
    def missing(self) -> list[str]:
        return [what for part in self.parts for what in part.missing]


@click.command("status")
@app_options
@login_options
@_json_option
def status(settings: AppSettings, login: LoginSettings, as_json: bool) -> None:
    """The app, the regions, the login, the paired cars and this month's billable calls.

    Exit status: 0 when everything signed commands need is in place (the app's client id, domain
    and key; a login for the app, not lapsed, with vehicle_cmds; the app registered with our key
    in the account's region; every car paired); 1 otherwise, naming what is missing.
    """
    report = run(_gather(settings, login))
    missing = report.missing
    if as_json:
        echo_json({"ready": not missing, "missing": missing, **{p.name: p.json() for p in report.parts}})
    else:
        for part in report.parts:
            part.show()
    if missing:
        raise click.ClickException(f"not ready for signed commands: {', '.join(missing)}")
    if not as_json:
        echo("ready for signed commands")


async def _gather(settings: AppSettings, login: LoginSettings) -> Report:
    report = Report()
    public_hex = _app_part(settings, report.app)
    view = _read_login(login, report.login)
    if view is None:
        report.regions.data.update(user_region=None, user_host=None, user_region_from=None)
        report.regions.line("your region", "unknown without a Fleet login")
        report.cars.failed("needs a Fleet login", None)
    else:
        await _account_parts(settings, login, view, report)
    await _registration_part(settings, public_hex, report.regions)
    if view is not None:
        view = _read_login(login, Part("login")) or view  # as it is now: the session may have renewed it
        _login_part(settings, login, view, report.login)
    _budget_part(login, view, report.budget)
    return report


# --- app -----------------------------------------------------------------------------------------


def _app_part(settings: AppSettings, part: Part) -> str | None:
    """The app's settings and its key; returns the key's point hex when the key loads."""
    part.data.update(
        client_id=settings.client_id or None,
        client_secret_set=bool(settings.client_secret),
        redirect_uri=settings.redirect_uri or None,
        domain=settings.domain or None,
        key_file=str(settings.key_file),
        public_key_hex=None,
        app_file=str(settings.app_file),
        app_file_exists=settings.app_file.exists(),
    )
    part.line("client id", settings.client_id or "not set (TESLALINK_FLEET_CLIENT_ID, or fleet setup)")
    if not settings.client_id:
        part.missing.append("the app's client id")
    part.line(
        "client secret", "set" if settings.client_secret else "not set (partner calls and the login need it)"
    )
    part.line("redirect URI", settings.redirect_uri or "not set (fleet login needs it)")
    part.line("domain", settings.domain or "not set (TESLALINK_FLEET_DOMAIN, or fleet setup)")
    if not settings.domain:
        part.missing.append("the app's domain")
    public_hex = _key_line(settings, part)
    there = "there" if settings.app_file.exists() else "not there: the settings come from the environment"
    if settings.app_file.exists() and settings.problem:
        there = f"there, but {settings.problem}"
    part.line("fleet.json", f"{settings.app_file} ({there})")
    return public_hex


def _key_line(settings: AppSettings, part: Part) -> str | None:
    try:
        loaded = _keys().load(settings.key_file)
    except (TeslalinkError, click.ClickException) as exc:
        why = exc.format_message() if isinstance(exc, click.ClickException) else str(exc)
        part.line("key file", why)
        part.missing.append("the app's key")
        return None
    public_hex = loaded.public_hex()
    part.data["public_key_hex"] = public_hex
    part.line("key file", f"{settings.key_file} (public key {public_hex})")
    return public_hex


# --- login -------------------------------------------------------------------------------------


def _read_login(login: LoginSettings, part: Part) -> LoginView | None:
    try:
        return login_view(login)
    except TeslalinkError as exc:
        part.failed(str(exc), "a Fleet login")
        return None


def _login_part(settings: AppSettings, login: LoginSettings, view: LoginView, part: Part) -> None:
    now = time.time()
    lacking = missing_scopes(view.scopes)
    part.data.update(
        account=view.account,
        given_token=bool(login.access_token),
        client_id=view.client_id,
        region=view.region,
        scopes=list(view.scopes),
        expires_at=view.expires_at,
        renewable=view.renewable,
        missing_scopes={scope: SCOPE_USES[scope] for scope in lacking},
    )
    who = view.account or "unknown"
    part.line("account", f"{who} (the token given)" if login.access_token else who)
    part.line("region", view.region or "unknown")
    part.line("scopes", ", ".join(view.scopes) or "none in the token")
    part.line("expiry", expiry_words(view, now))
    if lacking:
        part.line("missing scopes", "; ".join(f"{scope} ({SCOPE_USES[scope]})" for scope in lacking))
    if view.client_id and settings.client_id and view.client_id != settings.client_id:
        part.line("app", f"the login is for app {view.client_id}, not {settings.client_id}: log in again")
        part.missing.append("a login for this app")
    if view.lapsed(now):
        part.missing.append("a Fleet login that has not expired")
    part.missing += [f"the {scope} scope" for scope in SIGNED_COMMAND_SCOPES if scope not in view.scopes]


# --- regions and cars (the account's calls) ------------------------------------------------------


async def _account_parts(
    settings: AppSettings, login: LoginSettings, view: LoginView, report: Report
) -> None:
    """The account's region and its cars, in one Fleet API session."""
    try:
        async with fleet_session(settings, login) as api:
            await _user_region(api, settings, view, report.regions)
            await _cars_part(api, settings, report.cars)
    except (TeslalinkError, click.ClickException) as exc:  # the session could not be opened
        why = exc.format_message() if isinstance(exc, click.ClickException) else str(exc)
        report.regions.line("your region", f"{view.region or 'unknown'} (the stored login's; {why})")
        report.cars.failed(why, "the cars' pairing")


async def _user_region(api: FleetApi, settings: AppSettings, view: LoginView, part: Part) -> None:
    try:
        region, source = await api.discover_region(), "users/region"
    except TeslalinkError as exc:
        region, source = (
            api.region or view.region or "na",
            f"the login's; users/region: {_why(exc, api, settings)}",
        )
    part.data.update(user_region=region, user_host=str(api.base_url), user_region_from=source)
    part.line("your region", f"{region} at {api.base_url} ({source})")


async def _cars_part(api: FleetApi, settings: AppSettings, part: Part) -> None:
    try:
        vins = await account_vins(api)
        # our choice: one fleet_status call for every car (unbilled); Tesla advises one VIN a call
        # only for `discounted_device_data`, which status does not show
        state = await api.fleet_status(vins) if vins else None
    except TeslalinkError as exc:
        part.failed(_why(exc, api, settings), "the cars' pairing")
        return
    cars: list[dict[str, Any]] = []
    part.data["vehicles"] = cars
    if state is None:
        part.line("none", "the account has no car")
        part.missing.append("a car")
        return
    for vin in vins:
        info = state.vehicles.get(vin)
        paired = state.is_paired(vin)
        listed = paired or vin in state.unpaired
        link = None if paired or not settings.domain else _pairing_link(settings.domain, vin)
        cars.append(
            {
                "vin": vin,
                "paired": paired if listed else None,
                "pairing_link": link,
                "firmware_version": info.firmware_version if info else None,
                "vehicle_command_protocol_required": info.vehicle_command_protocol_required if info else None,
            }
        )
        part.line(vin, _car_words(paired, listed, link, info.firmware_version if info else None))
        if not paired:
            part.missing.append(f"the pairing of {vin}")


def _car_words(paired: bool, listed: bool, link: str | None, firmware: str | None) -> str:
    if paired:
        return "paired" + (f" (firmware {firmware})" if firmware else "")
    if not listed:
        return "not listed by fleet_status"
    return f"not paired: open {link}" if link else "not paired (set the app's domain for the pairing link)"


def _why(exc: TeslalinkError, api: FleetApi, settings: AppSettings) -> str:
    """One line for a failed call; a 412 names the region and the command that registers the app."""
    return not_registered_line(api, settings.domain) if isinstance(exc, NotRegistered) else str(exc)


async def _registration_part(settings: AppSettings, public_hex: str | None, part: Part) -> None:
    """The app's registration in every region (partner calls: they need the client secret)."""
    part.data["registration"] = None
    if not (settings.client_id and settings.client_secret):
        part.line("registration", "not checked: the client secret is not set (a partner token needs it)")
        return
    if not settings.domain:
        part.line("registration", "not checked: the app's domain is not set")
        return
    try:
        results = await registration_check(settings, public_hex)
    except TeslalinkError as exc:
        part.line("registration", f"not checked: {exc}")
        return
    part.data["registration"] = {r.region: {"status": r.status.value, "detail": r.detail} for r in results}
    for result in results:
        part.line(f"registration {result.region}", result.detail.removeprefix(f"{result.region}: "))
    home = part.data.get("user_region")
    if any(r.region == home and not r.ok for r in results):
        part.missing.append(f"the app's registration with our key in {home}")


# --- budget --------------------------------------------------------------------------------------


def _budget_part(login: LoginSettings, view: LoginView | None, part: Part) -> None:
    """This month's billable calls from teslalink's ledger, beside the token file, for the account."""
    from ..cloud.fleet.ledger import CATEGORIES, MONTHLY_DISCOUNT_USD, BudgetLedger  # noqa: PLC0415

    target = login.store().target
    if login.access_token or view is None or not view.account or target is None:
        part.failed("kept per stored login (`teslalink fleet login`); none is in use")
        return
    try:
        usage = BudgetLedger.beside(target).month(view.account)
    except TeslalinkError as exc:
        part.failed(str(exc))
        return
    costs = {c: usage.category_cost_usd(c) for c in CATEGORIES}
    part.data.update(
        month=usage.month,
        counts={c: usage.count(c) for c in CATEGORIES},
        cost_usd=costs,
        total_usd=usage.cost_usd,
        monthly_discount_usd=MONTHLY_DISCOUNT_USD,
        discount_used_usd=usage.discount_usd,
        due_usd=usage.due_usd,
    )
    part.title = f"budget {usage.month} (UTC; the calls teslalink counted for {view.account})"
    for category in CATEGORIES:
        part.line(category, f"{usage.count(category)} calls, {_usd(costs[category])}")
    part.line("cost", f"{_usd(usage.cost_usd)} at Tesla's prices, before the discount")
    part.line(
        "discount",
        f"Tesla's {_usd(MONTHLY_DISCOUNT_USD)} a month covers {_usd(usage.discount_usd)}; "
        f"due after it: {_usd(usage.due_usd)}",
    )


def _usd(amount: float) -> str:
    return f"${amount:,.2f}" if amount >= 1 or amount == 0 else f"${amount:.4f}"
