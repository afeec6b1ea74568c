"""The `teslalink` command."""

from __future__ import annotations

import click


@click.group()
@click.version_option(package_name="teslalink")
def cli() -> None:
    """Monitor and control Tesla Wall Connectors, cars and energy sites."""


def main() -> None:
    cli()
