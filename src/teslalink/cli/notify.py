"""`teslalink notify test`: send one test notification to each target and say how it went.

A target is `KIND:URL` (webhook, ntfy or apprise), as in the config's `[[notify.target]]`;
without `--target`, the config file's targets are tried. The URL is never printed (it may hold a
token): each target is shown by its kind, scheme and host.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path
from typing import cast

import click

from ..service.events import EVENT_KINDS, EventKind
from ..service.notify import TARGET_KINDS, try_targets
from ..service.settings import TargetKind, TargetSettings
from ._common import echo, run
from .config import config_option, settings_or_exit

_TARGET_HELP = (
    "Where to send it: KIND:URL, KIND one of webhook, ntfy, apprise "
    "(e.g. ntfy:https://ntfy.sh/my-topic). Repeat for more targets."
)


def parse_target(value: str) -> TargetSettings:
    """`KIND:URL` -> the target; the value is never repeated in the error (it may hold a token)."""
    kind, _, url = value.partition(":")
    kind = kind.strip().lower()
    if kind not in TARGET_KINDS or not url.strip():
        raise click.BadParameter(
            f"expected KIND:URL with KIND one of {', '.join(TARGET_KINDS)} (the value is not shown: "
            "it may hold a token)",
            param_hint="'--target'",
        )
    return TargetSettings(kind=cast(TargetKind, kind), url=url.strip())  # the kind checked above


def _targets(ctx: click.Context, param: click.Parameter, values: Sequence[str]) -> list[TargetSettings]:
    return [parse_target(value) for value in values]


def report(targets: Sequence[TargetSettings], kind: EventKind) -> bool:
    """Send the test to every target, print one line per target; True when all took it."""
    results = run(try_targets(targets, kind))
    for result in results:
        echo(f"{result.name}: ok" if result.ok else f"{result.name}: failed: {result.error}")
    return all(result.ok for result in results)


def _configured_targets(config_path: Path | None) -> list[TargetSettings]:
    from ..service.config import default_config_path  # noqa: PLC0415

    hint = "give --target KIND:URL or add a [[notify.target]] to the service's config"
    if config_path is None and not default_config_path().exists():
        raise click.UsageError(f"no target: {hint}")
    targets = list(settings_or_exit(config_path).notify.targets)
    if not targets:
        raise click.UsageError(f"the config has no target: {hint}")
    return targets


@click.group()
def notify() -> None:
    """Notifications: try the targets the service would deliver to."""


@notify.command("test")
@config_option
@click.option("--target", "targets", multiple=True, metavar="KIND:URL", callback=_targets, help=_TARGET_HELP)
@click.option(
    "--event",
    "kind",
    type=click.Choice(sorted(EVENT_KINDS)),
    default=EventKind.PLUGGED_IN.value,
    show_default=True,
    help="The kind of event the test looks like.",
)
def notify_test(config_path: Path | None, targets: list[TargetSettings], kind: str) -> None:
    """Send one test notification (clearly marked as a test) to each target: those given with
    --target, else the config file's.

    Prints "ok" or the reason for each target; exits 1 when any target failed.
    Example: `teslalink notify test --target webhook:http://127.0.0.1:8080/hook`
    """
    if not targets:
        targets = _configured_targets(config_path)
    if not report(targets, EventKind(kind)):
        sys.exit(1)
