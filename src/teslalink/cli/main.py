"""The `teslalink` command: one group, one module per command group, each imported on use.

Why lazily: the command groups pull in aiohttp, rich and the simulator, and `teslalink --help`
should answer at once (290 ms with eager imports, about 50 ms lazily, measured here).
"""

from __future__ import annotations

import contextlib
import importlib
import re
import sys
from collections.abc import Iterator
from typing import IO, Any

import click

from ._text import printable, shown_unless_secret

# name -> (module:attribute, one-line help shown by `teslalink --help` without importing it)
COMMANDS = {
    "wallconnector": ("teslalink.cli.wallconnector:wallconnector", "Read a Tesla Wall Connector Gen 3."),
    "demo": ("teslalink.cli.demo:demo", "The whole twin (cars, Wall Connector, Powerwall) live."),
    "dashboard": ("teslalink.cli.dashboard:dashboard", "Live panels: car, Wall Connector, site; keys act."),
    "sim": ("teslalink.cli.sim:sim", "Run the digital twin on loopback ports."),
    "login": ("teslalink.cli.cloud_auth:login", "Sign in to a Tesla account (tokens kept locally)."),
    "logout": ("teslalink.cli.cloud_auth:logout", "Forget an account's tokens."),
    "vehicles": ("teslalink.cli.vehicles:vehicles", "List the account's cars."),
    "vehicle": ("teslalink.cli.vehicles:vehicle", "Read one car (vehicle data)."),
    "wake": ("teslalink.cli.vehicles:wake", "Wake a car and wait until it is online."),
    "command": ("teslalink.cli.vehicles:command", "Send any named command to a car (NAME key=value...)."),
    "charge": ("teslalink.cli.vehicles:charge", "Start or stop charging, set the limit or the current."),
    "climate": ("teslalink.cli.vehicles:climate", "Climate on or off, set the temperatures."),
    "lock": ("teslalink.cli.vehicles:lock", "Lock a car."),
    "unlock": ("teslalink.cli.vehicles:unlock", "Unlock a car (asks first)."),
    "speed-limit": ("teslalink.cli.vehicles:speed_limit", "Speed Limit Mode: set, activate, deactivate."),
    "energy": ("teslalink.cli.energy:energy", "A Powerwall or solar site: status, history, reserve, mode."),
    "stream": ("teslalink.cli.stream:stream", "Follow a car's live stream (speed, power, position)."),
    "api": ("teslalink.cli.cloud_api:api", "Call any named Owner API endpoint (NAME key=value...)."),
    "fleet": ("teslalink.cli.fleet:fleet", "Fleet API: the app's key, registration, pairing a car."),
    "serve": ("teslalink.cli.serve:serve", "Run the home service: watch, record, notify (Ctrl-C stops)."),
    "config": ("teslalink.cli.config:config", "The service's configuration file: init, check, path."),
    "status": ("teslalink.cli.status:status", "Ask a running `teslalink serve` what it watches and costs."),
    "notify": ("teslalink.cli.notify:notify", "Send a test notification (webhook, ntfy, apprise)."),
    "history": ("teslalink.cli.history:history", "What teslalink serve recorded: charges, drives, events."),
}


def one_line(message: str) -> str:
    """An error message as one clean line: what a device sent may hold newlines and escapes."""
    return " ".join(printable(message).split())


class RuntimeFailure(click.ClickException):
    """A command that failed: `Error: ...` on one line, exit code 1."""

    def show(self, file: IO[Any] | None = None) -> None:
        click.echo(f"Error: {one_line(self.format_message())}", err=True)


class UsageFailure(click.UsageError):
    """A command line that does not parse: `Error: ...` and the help hint, two lines, exit code 2.

    Our choice: exit 2 for usage errors, as click and most Unix tools do (the README's "Exit
    codes" says so); click's own three-line form repeats the usage line, which the hint replaces.
    """

    def show(self, file: IO[Any] | None = None) -> None:
        command = self.ctx.command_path if self.ctx is not None else "teslalink"
        click.echo(f"Error: {one_line(self.format_message())}", err=True)
        click.echo(f"Try '{command} --help' for help.", err=True)


def _context_of(exc: click.UsageError) -> click.Context | None:
    """The context of the command whose line did not parse, for the hint.

    click's parser raises some errors without one (a missing option value: BadOptionUsage); it is
    then the context `Command.make_context` was filling in when the error was raised.
    """
    found = exc.ctx
    frame_of = exc.__traceback__
    while found is None and frame_of is not None:
        if frame_of.tb_frame.f_code is click.Command.make_context.__code__:
            candidate = frame_of.tb_frame.f_locals.get("ctx")
            found = candidate if isinstance(candidate, click.Context) else None
        frame_of = frame_of.tb_next
    return found


def _without_extra_arguments(message: str) -> str:
    """click names the arguments it did not expect; one may be a password or PIN typed one place
    off. Plain words (`lock now`) are named, as `shown_unless_secret` decides for each."""
    extra = re.fullmatch(r"(Got unexpected extra arguments?) \((.*)\)", message, re.DOTALL)
    if extra is None:
        return message
    shown = [shown_unless_secret(word) for word in extra.group(2).split(" ")]
    if all(word.startswith("'") for word in shown):
        return f"{extra.group(1)}: {', '.join(shown)}."
    return f"{extra.group(1)} (not shown: one may be a password or PIN)."


# Ours, and (click 8.2+) a group run without a subcommand, whose help is the answer: kept as they are
_ALREADY_REPORTED: tuple[type[Exception], ...] = (
    RuntimeFailure,
    UsageFailure,
    *[getattr(click.exceptions, name) for name in ["NoArgsIsHelpError"] if hasattr(click.exceptions, name)],
)


@contextlib.contextmanager
def reported_in_one_line() -> Iterator[None]:
    """Every click error raised inside, reported our way; Ctrl-C at a prompt is exit code 130."""
    try:
        yield
    except _ALREADY_REPORTED:
        raise
    except click.UsageError as exc:
        raise UsageFailure(_without_extra_arguments(exc.format_message()), _context_of(exc)) from None
    except click.ClickException as exc:
        raise RuntimeFailure(exc.format_message()) from None
    except click.Abort as exc:
        # click turns Ctrl-C at a prompt into Abort ("from None": the interrupt is the context)
        if isinstance(exc.__context__, KeyboardInterrupt):
            click.echo("Aborted!", err=True)
            sys.exit(130)
        raise
    except KeyboardInterrupt:
        sys.exit(130)


class LazyGroup(click.Group):
    """A group whose subcommands are imported only when they run (or their own help is asked).

    It also owns how errors look: every click error raised while parsing or running any
    subcommand passes through `reported_in_one_line`.
    """

    def make_context(
        self, info_name: str | None, args: list[str], parent: click.Context | None = None, **extra: Any
    ) -> click.Context:
        with reported_in_one_line():
            return super().make_context(info_name, args, parent, **extra)

    def invoke(self, ctx: click.Context) -> Any:
        with reported_in_one_line():
            return super().invoke(ctx)

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        target = COMMANDS.get(cmd_name)
        if target is None:
            return None
        module_name, _, attribute = target[0].partition(":")
        command = getattr(importlib.import_module(module_name), attribute)
        assert isinstance(command, click.Command)
        return command

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        with formatter.section("Commands"):
            formatter.write_dl([(name, COMMANDS[name][1]) for name in self.list_commands(ctx)])


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="teslalink")
def cli() -> None:
    """Monitor and control Tesla Wall Connectors, cars and energy sites."""


def main() -> None:
    cli()
