"""`teslalink fleet login`: a Tesla account's Fleet API login, kept in the token file.

How the code comes back (research/fleet.md 1.5):

* the app's redirect URI is `http://` on this machine (127.0.0.1 / localhost): the URL is
  printed (and opened in a browser on a terminal), and a one-request server on that port waits
  for the browser to come back, `--timeout` seconds at most;
* any other redirect URI, or `--paste`: the URL is printed and the URL the browser ended on is
  asked for;
* `--redirect-url URL` or `--code CODE`: a sign-in finished elsewhere, redeemed here (our choice:
  a URL the user brings is trusted without a state to compare, as no login was started here);
* `--email` with `--password` (or TESLALINK_FLEET_PASSWORD, or asked hidden on a terminal)
  and `--headless`: the sign-in form filled in directly, as the twin allows (Tesla's own page
  needs a browser).

Without a terminal nothing is asked: a missing input is one error line. The password, codes and
tokens are never printed and never part of an error.
"""

from __future__ import annotations

import contextlib
import os
import webbrowser
from collections.abc import AsyncIterator
from pathlib import Path
from typing import TYPE_CHECKING

import click

from ._cloud import is_interactive, json_option
from ._common import ask, echo, echo_json, run

if TYPE_CHECKING:
    from ..cloud.fleet.app import FleetApp
    from ..cloud.fleet.oauth import FleetAuth
    from ..cloud.fleet.tokens import FleetToken
    from ..cloud.tokens import TokenStore

__all__ = ["fleet_login", "sign_in"]

PASSWORD_ENV = "TESLALINK_FLEET_PASSWORD"


def _need(what: str, option: str) -> click.ClickException:
    return click.ClickException(f"{what} is needed: pass {option} (no terminal to ask on)")


def _show_url(url: str, open_browser: bool) -> None:
    click.echo(f"Open this URL to sign in to Tesla:\n{url}")
    if open_browser:
        webbrowser.open(url)


@click.command("login")
@json_option
@click.option("--email", envvar="TESLALINK_EMAIL", default=None, help="The account (env TESLALINK_EMAIL).")
@click.option(
    "--headless", is_flag=True, help="Fill in the sign-in form here (the twin; Tesla needs a browser)."
)
@click.option(
    "--password",
    default=None,
    help=f"With --headless; visible to other users on the command line: prefer env {PASSWORD_ENV}, "
    "or leave it out to be asked, hidden.",
)
@click.option("--passcode", default=None, help="With --headless: the current TOTP passcode, if MFA is on.")
@click.option("--code", default=None, help="An authorization code got elsewhere: redeem it.")
@click.option("--redirect-url", default=None, help="The URL a browser ended on after signing in.")
@click.option("--paste", is_flag=True, help="Paste the URL the browser ended on (no local callback).")
@click.option("--scope", "scopes", multiple=True, help="A scope to ask for (repeatable; default: all).")
@click.option("--no-browser", is_flag=True, help="Print the URL only; do not open a browser.")
@click.option(
    "--timeout",
    "timeout_s",
    type=click.FloatRange(min=1.0, max=3600.0),
    default=300.0,
    show_default=True,
    help="Seconds to wait for the browser to come back.",
)
@click.option(
    "--app-file",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="The Fleet app's configuration (default ~/.config/teslalink/fleet.json).",
)
@click.option(
    "--token-file",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Token file (env TESLALINK_TOKEN_FILE; default ~/.config/teslalink/tokens.json).",
)
def fleet_login(
    as_json: bool,
    email: str | None,
    headless: bool,
    password: str | None,
    passcode: str | None,
    code: str | None,
    redirect_url: str | None,
    paste: bool,
    scopes: tuple[str, ...],
    no_browser: bool,
    timeout_s: float,
    app_file: Path | None,
    token_file: Path | None,
) -> None:  # fmt: skip
    """Sign in to the Fleet API (Tesla's browser sign-in, or headless against the twin)."""
    if code is not None and redirect_url is not None:
        raise click.UsageError("give --code or --redirect-url, not both")
    credentials = _headless_inputs(email, password) if headless or password is not None else None
    if credentials is not None:
        email = credentials[0]
    elif code is None and redirect_url is None and not is_interactive():
        raise click.ClickException(
            "signing in needs a browser and a terminal: run `teslalink fleet login` on one, "
            "or pass --redirect-url URL or --code CODE (or --headless for the twin)"
        )

    async def go() -> tuple[str, FleetToken]:
        from ..cloud.auth import code_from_redirect  # noqa: PLC0415 - keep `--help` fast

        async with _fleet_auth(app_file, token_file, email, scopes) as auth:
            if credentials is not None:
                token = await auth.login_headless(*credentials, passcode=passcode)
            elif code is not None:
                token = await auth.exchange(code)
            elif redirect_url is not None:
                token = await auth.exchange(code_from_redirect(redirect_url, None))
            else:
                token = await _browser(auth, paste=paste, open_browser=not no_browser, timeout_s=timeout_s)
            return str(auth.identity), token

    who, token = run(go())
    if as_json:
        echo_json(
            {
                "email": who,
                "logged_in": True,
                "region": token.region,
                "scopes": list(token.scopes),
                "client_id": token.client_id,
                "expires_at": token.expires_at,
            }
        )
    else:
        echo(
            f"Logged in to the Fleet API as {who} (region {token.region}; scopes: {', '.join(token.scopes)})."
        )


def _headless_inputs(email: str | None, password: str | None) -> tuple[str, str]:
    """The email and password of a headless sign-in: options, the environment, else asked on a terminal."""
    if not email:
        if not is_interactive():
            raise _need("the account's email", "--email or set TESLALINK_EMAIL")
        email = str(click.prompt("Email"))
    password = password if password is not None else os.environ.get(PASSWORD_ENV)
    if password is None:
        if not is_interactive():
            raise _need("the password", f"--password or set {PASSWORD_ENV}")
        password = str(click.prompt("Password", hide_input=True))
    return email, password


@contextlib.asynccontextmanager
async def _fleet_auth(
    app_file: Path | None, token_file: Path | None, email: str | None, scopes: tuple[str, ...]
) -> AsyncIterator[FleetAuth]:
    """The app's configuration and the token file, as a `FleetAuth` (closed afterwards)."""
    from ..cloud.fleet.app import FleetApp  # noqa: PLC0415 - keep `--help` fast
    from ..cloud.fleet.oauth import DEFAULT_SCOPES, FleetAuth  # noqa: PLC0415
    from ..cloud.tokens import TokenStore  # noqa: PLC0415

    app = FleetApp.load(app_file)
    async with FleetAuth(app, TokenStore(token_file), email, scopes=scopes or DEFAULT_SCOPES) as auth:
        yield auth


async def sign_in(app: FleetApp, store: TokenStore, email: str | None = None) -> str:
    """This command's browser flow on a terminal (callback, else paste) for `app`, every scope;
    the account signed in (`teslalink fleet setup`'s login step)."""
    from ..cloud.fleet.oauth import CALLBACK_TIMEOUT_S, FleetAuth  # noqa: PLC0415

    async with FleetAuth(app, store, email) as auth:
        await _browser(auth, paste=False, open_browser=True, timeout_s=CALLBACK_TIMEOUT_S)
        return str(auth.identity)


async def _browser(auth: FleetAuth, *, paste: bool, open_browser: bool, timeout_s: float) -> FleetToken:
    """Tesla's sign-in in a browser: back through the local callback, or the URL pasted."""
    from ..cloud.fleet.oauth import loopback_redirect, new_state  # noqa: PLC0415
    from ..errors import ConfigError  # noqa: PLC0415

    callback = not paste
    if callback:
        try:
            loopback_redirect(auth.app.redirect_uri)
        except ConfigError:
            callback = False  # the browser goes to the app's own site: paste what it shows
    if callback:
        click.echo(f"Waiting up to {timeout_s:g} s for the browser to come back (Ctrl-C to stop).")
        return await auth.login_callback(lambda url: _show_url(url, open_browser), timeout_s=timeout_s)
    state = new_state()
    _show_url(auth.authorize_url(state), open_browser)
    answer = await ask("Paste the URL the browser ended on")
    return await auth.complete(str(answer), state)
