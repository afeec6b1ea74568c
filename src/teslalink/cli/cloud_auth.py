"""`teslalink login` and `teslalink logout`: tokens of a Tesla account in the token file.

Secrets stay secret: the password is read hidden (or from --password), tokens are never printed,
and without a terminal nothing is prompted for: a missing input is one clear error line.

A captcha (the SSO shows one after failed passwords) is an SVG image a terminal cannot draw: it is
written to a private temporary file for the user to open, and removed once they have answered.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import click

from ._cloud import CloudTarget, cloud_options, is_interactive, json_option
from ._common import echo_json, run, safe_console

if TYPE_CHECKING:
    from rich.status import Status

    from ..cloud.tokens import Token


def _need(what: str, option: str) -> click.ClickException:
    return click.ClickException(f"{what} is needed: pass {option} (no terminal to ask on)")


class _Spinner:
    """A spinner on a terminal while the SSO is asked, paused while the user is asked something."""

    def __init__(self) -> None:
        self._status: Status | None = None

    @contextlib.contextmanager
    def showing(self, message: str) -> Iterator[None]:
        if not is_interactive():  # without a terminal: nothing (the result line follows)
            yield
            return
        with safe_console(stderr=True).status(message) as self._status:
            yield
        self._status = None

    @contextlib.contextmanager
    def paused(self) -> Iterator[None]:
        status = self._status
        if status is not None:
            status.stop()
        try:
            yield
        finally:
            if status is not None:
                status.start()


@contextlib.contextmanager
def _image_file(svg: bytes) -> Iterator[Path]:
    """The captcha as a file only its owner can read, deleted when the block ends (errors included)."""
    fd, name = tempfile.mkstemp(prefix="teslalink-captcha-", suffix=".svg")  # mode 0600
    path = Path(name)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(svg)
        yield path
    finally:
        path.unlink(missing_ok=True)


def _solve_captcha(svg: bytes) -> str:
    """Ask the person at the terminal for the captcha's characters."""
    if not is_interactive():
        raise click.ClickException(
            "the sign-in page asks for a captcha: run `teslalink login` on a terminal, or use --browser"
        )
    with _image_file(svg) as path:
        click.echo(f"The sign-in page asks for a captcha. Open {path} (a web browser shows it).")
        return str(click.prompt("Characters in the image"))


@click.command("login")
@json_option
@click.option("--password", default=None, help="The account's password (prompted, hidden, if left out).")
@click.option("--passcode", default=None, help="The current TOTP passcode, for accounts with MFA.")
@click.option("--browser", is_flag=True, help="Sign in in a web browser (Tesla's captcha-proof way).")
@click.option(
    "--refresh-token", "refresh_token", default=None, help="Start from a refresh token got elsewhere."
)
@cloud_options
def login(
    target: CloudTarget,
    as_json: bool,
    password: str | None,
    passcode: str | None,
    browser: bool,
    refresh_token: str | None,
) -> None:
    """Sign in to a Tesla account and keep its tokens in the token file."""
    email = target.email
    if not email:
        if not is_interactive():
            raise _need("the account's email", "--email or set TESLALINK_EMAIL")
        email = click.prompt("Email")
    target = CloudTarget(
        email, target.api_url, target.sso_url, target.streaming_url, target.token_file, target.api_mode
    )
    if not browser and refresh_token is None and password is None:
        if not is_interactive():
            raise _need("the password", "--password, --browser or --refresh-token")
        password = click.prompt("Password", hide_input=True)

    spinner = _Spinner()

    asked: list[str] = []

    def get_passcode() -> str:
        """--passcode once (a typo sent again would count towards the lock), then ask on a terminal."""
        if passcode is not None and not asked:
            asked.append(passcode)
            return passcode
        if not is_interactive():
            if asked:
                raise click.ClickException(
                    "the passcode was refused: pass the current one from your authenticator app"
                )
            raise _need("a passcode (this account uses MFA)", "--passcode")
        question = "Passcode refused. Current passcode" if asked else "Passcode from your authenticator app"
        with spinner.paused():
            answer = str(click.prompt(question, hide_input=False))
        asked.append(answer)
        return answer

    def solve_captcha(svg: bytes) -> str:
        with spinner.paused():
            return _solve_captcha(svg)

    def get_redirect(url: str) -> str:
        if not is_interactive():
            raise _need("a terminal for the browser login", "--password or --refresh-token")
        click.echo(f"Open this URL to sign in:\n{url}")
        return str(click.prompt("Paste the URL the browser ended on"))

    async def go() -> Token:
        async with target.auth() as auth:
            if refresh_token is not None:
                return await auth.login_with_refresh_token(refresh_token)
            if browser:
                return await auth.login_browser(get_redirect)
            assert password is not None
            with spinner.showing(f"Signing in as {email}..."):
                return await auth.login_headless(password, passcode=get_passcode, solve_captcha=solve_captcha)

    token = run(go())
    if as_json:
        echo_json(
            {"email": email, "logged_in": True, "sso_url": token.sso_url, "expires_at": token.expires_at}
        )
    else:
        click.echo(f"Logged in as {email}.")


@click.command("logout")
@json_option
@click.option("--keep-session", is_flag=True, help="Forget the tokens here only (do not end them at Tesla).")
@cloud_options
def logout(target: CloudTarget, as_json: bool, keep_session: bool) -> None:
    """Forget the account's tokens (and end its session at Tesla)."""

    async def go() -> str:
        async with target.auth() as auth:
            if not await auth.logout(revoke=not keep_session):
                raise click.ClickException(f"{auth.identity} is not logged in here (no tokens to forget)")
            return str(auth.identity)

    email = run(go())
    if as_json:
        echo_json({"email": email, "logged_out": True})
    else:
        click.echo(f"Logged out {email}.")
