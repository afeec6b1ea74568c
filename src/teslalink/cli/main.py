"""The `teslalink` command: one group, one module per command group."""

from __future__ import annotations

import click

from .demo import demo
from .sim import sim
from .wallconnector import wallconnector


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="teslalink")
def cli() -> None:
    """Monitor and control Tesla Wall Connectors, cars and energy sites."""


cli.add_command(wallconnector)
cli.add_command(demo)
cli.add_command(sim)


def main() -> None:
    cli()
