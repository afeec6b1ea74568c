"""`teslalink config`: the service's configuration file (what `teslalink serve` runs from).

    teslalink config init [--path FILE] [--force]   write the commented starter file
    teslalink config check [--config FILE]          every problem with its line, or what it watches
    teslalink config path                           where the file is looked for

`check_lines` is the check itself, shared with `teslalink serve --check`: all is well (then "FILE:
ok", a line saying what the service would watch, and any warnings), or every problem, one line
each. The command prints them on stdout when all is well, else on stderr with exit code 1.
"""

from __future__ import annotations

import os
from pathlib import Path

import click

from .._files import atomic_write_bytes
from ..errors import ConfigError
from ..service.config import STARTER_TEXT, ConfigFileError, default_config_path, load_config
from ..service.settings import ServiceSettings
from ._text import plural, printable

__all__ = ["check_lines", "config", "config_option", "login_warnings", "settings_or_exit", "summary"]

config_option = click.option(
    "--config",
    "config_path",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="The service's TOML file (default: $TESLALINK_CONFIG or ~/.config/teslalink/service.toml).",
)
"""`--config FILE` of every command that reads the service's file (serve, status, history, notify)."""


def settings_or_exit(path: Path | None) -> ServiceSettings:
    """The file's settings; else every problem on stderr, one `Error:` line each, and exit 1."""
    source = path.expanduser() if path is not None else default_config_path()
    try:
        return load_config(source)
    except ConfigFileError as exc:
        for line in exc.problems:
            click.echo(f"Error: {printable(line)}", err=True)
        raise SystemExit(1) from None


def check_lines(path: str | os.PathLike[str] | None = None) -> tuple[bool, list[str]]:
    """(ok, lines) for the file at `path` (default: `default_config_path()`).

    ok: ["FILE: ok", what it watches, warnings...]; else every problem, then the warnings.
    """
    source = Path(path).expanduser() if path is not None else default_config_path()
    try:
        settings = load_config(source)
    except ConfigFileError as exc:
        return False, [*exc.problems, *exc.warnings]
    return True, [f"{source}: ok", summary(settings), *settings.warnings, *login_warnings(settings, source)]


def summary(settings: ServiceSettings) -> str:
    """One line: what the service would watch, where it records, whom it tells, where it listens."""
    watched = []
    if settings.accounts:
        emails = ", ".join(account.email for account in settings.accounts)
        watched.append(f"{plural(len(settings.accounts), 'account', 'accounts')} ({emails})")
    if settings.wallconnectors:
        names = ", ".join(unit.name for unit in settings.wallconnectors)
        watched.append(
            f"{plural(len(settings.wallconnectors), 'Wall Connector', 'Wall Connectors')} ({names})"
        )
    what = " and ".join(watched) if watched else "nothing yet (add an [[account]] or a [[wallconnector]])"
    storage = settings.storage
    where = (
        "PostgreSQL (the dsn is not shown)"
        if storage.backend == "postgres"
        else f"SQLite {settings.database_path}"
    )
    targets = settings.notify.targets
    told = (
        f"notifies {plural(len(targets), 'target', 'targets')} ({', '.join(t.kind for t in targets)})"
        if targets
        else "notifies no one (no [[notify.target]])"
    )
    listen = settings.listen
    host = f"[{listen.host}]" if ":" in listen.host else listen.host
    listens = f"listens on http://{host}:{listen.port}" if listen.enabled else "no HTTP listener"
    return f"watches {what}; records to {where}; {told}; {listens}"


def login_warnings(settings: ServiceSettings, source: Path) -> list[str]:
    """A warning for each account the token file has no login for (the service could not read it)."""
    if not settings.accounts:
        return []
    from ..cloud.fleet.tokens import SECTION  # noqa: PLC0415 - the token file only when accounts are named
    from ..cloud.tokens import TokenStore  # noqa: PLC0415

    store = TokenStore()
    try:
        owner = {name.casefold() for name in store.identities()}
        fleet = {name.casefold() for name in store.section_identities(SECTION)}
    except ConfigError as exc:
        return [f"{source}: warning: the accounts' logins cannot be checked: {exc}"]
    found = []
    for account in settings.accounts:
        email = account.email.casefold()
        has = {"owner": email in owner, "fleet": email in fleet, "auto": email in owner or email in fleet}
        if not has[account.api]:
            how = {
                "owner": f"`teslalink login --email {account.email}`",
                "fleet": "`teslalink fleet login`",
                "auto": f"`teslalink login --email {account.email}` or `teslalink fleet login`",
            }[account.api]
            found.append(f"{source}: warning: {account.email} has no login in {store.path}; run {how}")
    return found


@click.group()
def config() -> None:
    """The service's configuration file (TOML): write a starter, check it, say where it is.

    \b
    `teslalink config init` writes a commented starter file
    `teslalink config check` lists every problem with its line
    `teslalink config path` prints where the file is looked for
    """


@config.command("init")
@click.option(
    "--path",
    "path",
    type=click.Path(path_type=Path),
    default=None,
    help="Where to write it (default: `teslalink config path`).",
)
@click.option("--force", is_flag=True, help="Replace a file that is already there.")
def init(path: Path | None, force: bool) -> None:
    """Write the commented starter file.

    It is private (mode 0600): it may later hold a dsn or a notification URL with a token.
    """
    target = path.expanduser() if path is not None else default_config_path()
    shown = printable(str(target))
    if target.is_dir():
        raise click.ClickException(f"{shown} is a folder; give the path of a file")
    if (target.exists() or target.is_symlink()) and not force:
        raise click.ClickException(
            f"{shown} exists; `teslalink config check` checks it, --force replaces it with the starter"
        )
    try:
        target.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        atomic_write_bytes(target, STARTER_TEXT.encode("utf-8"), mode=0o600)
    except OSError as exc:
        raise click.ClickException(f"{shown}: cannot write it: {exc.strerror or exc}") from None
    click.echo(shown)


@config.command("check")
@click.option(
    "--config",
    "config_path",
    type=click.Path(path_type=Path),
    default=None,
    help="The file to check (default: `teslalink config path`).",
)
@click.pass_context
def check(ctx: click.Context, config_path: Path | None) -> None:
    """Check the file, line by line.

    Every problem is one line "FILE:LINE: what is wrong" on stderr, exit code 1; a good file
    gives "FILE: ok" and what the service would watch.
    """
    ok, lines = check_lines(config_path)
    for line in lines:
        click.echo(printable(line), err=not ok)
    if not ok:
        ctx.exit(1)


@config.command("path")
def path_command() -> None:
    """Print where the file is looked for.

    $TESLALINK_CONFIG, else $XDG_CONFIG_HOME/teslalink/service.toml, else
    ~/.config/teslalink/service.toml.
    """
    click.echo(printable(str(default_config_path())))
