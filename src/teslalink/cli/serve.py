"""`teslalink serve`: the home service in the foreground (docs/service.md).

Logs go to stderr, one line each (journald keeps them under systemd); SIGINT and SIGTERM stop it
cleanly: the steps in flight finish, the state files are written, the recorder commits its last
batch and the notifier delivers what it can within a few seconds. `--check` only validates the
configuration and says what is wrong, with line numbers.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

from ._common import run
from .config import config_option

if TYPE_CHECKING:
    from ..service.settings import ServiceSettings


@click.command()
@config_option
@click.option("--check", is_flag=True, help="Validate the file and exit (0 when it is valid).")
@click.option(
    "--token-file",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="The token store (default: $TESLALINK_TOKEN_FILE or ~/.config/teslalink/tokens.json).",
)
@click.option("--verbose", "-v", is_flag=True, help="Log each reading, not only events and problems.")
def serve(config_path: Path | None, check: bool, token_file: Path | None, verbose: bool) -> None:
    """Watch cars, Wall Connectors and energy sites; record them; notify (until Ctrl-C)."""
    from .config import check_lines, settings_or_exit  # noqa: PLC0415

    if check:
        ok, lines = check_lines(config_path)
        for line in lines:
            click.echo(line, err=not ok)
        sys.exit(0 if ok else 1)
    settings = settings_or_exit(config_path)
    _log_to_stderr(verbose)
    log = logging.getLogger("teslalink.service")
    for warning in settings.warnings:
        log.warning("%s", warning)
    run(_serve(settings, token_file))


async def _serve(settings: ServiceSettings, token_file: Path | None) -> None:
    from ..cloud.tokens import TokenStore  # noqa: PLC0415
    from ..service.runner import Service  # noqa: PLC0415

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    log = logging.getLogger("teslalink.service")
    async with Service(settings, store=TokenStore(token_file)) as service:
        where = f" on {service.listener.url}" if service.listener is not None else ""
        log.info("teslalink serve started%s; data in %s", where, settings.data_dir)
        await service.run(stop)
        log.info("stopping")
    log.info("stopped")


def _log_to_stderr(verbose: bool) -> None:
    """One line per record on stderr: time, level, what. Library chatter stays at warnings."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s", "%Y-%m-%d %H:%M:%S"))
    root = logging.getLogger()
    root.addHandler(handler)
    root.setLevel(logging.WARNING)
    logging.getLogger("teslalink.service").setLevel(logging.DEBUG if verbose else logging.INFO)
