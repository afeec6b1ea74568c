"""What every cloud command shares: where the cloud is, whose tokens, which car, k=v arguments.

Why one place: `--email`, the three URLs and `--token-file` mean the same on every command, and
the account and the car are chosen the same way (the only one, or the one named), so a script
can rely on one set of rules.
"""

from __future__ import annotations

import contextlib
import functools
import sys
import time
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import click
import orjson

from ..errors import ConfigError
from ._common import shown_unless_secret

F = TypeVar("F", bound=Callable[..., Any])

json_option = click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")


@dataclass(frozen=True)
class CloudTarget:
    """The account options of one invocation (nothing is opened until `session()`)."""

    email: str | None
    api_url: str | None
    sso_url: str | None
    streaming_url: str | None
    token_file: Path | None

    def urls(self) -> Any:
        from ..cloud.config import CloudUrls  # noqa: PLC0415 - keep `--help` fast

        return CloudUrls.from_env(api=self.api_url, sso=self.sso_url, streaming=self.streaming_url)

    def store(self) -> Any:
        from ..cloud.tokens import TokenStore  # noqa: PLC0415

        return TokenStore(self.token_file)

    def identity(self, store: Any) -> str:
        """--email (or TESLALINK_EMAIL), else the only account in the token store."""
        if self.email:
            return self.email
        known: list[str] = store.identities()
        if len(known) == 1:
            return known[0]
        if not known:
            raise ConfigError("no account is logged in: run `teslalink login --email EMAIL` first")
        raise ConfigError(f"{len(known)} accounts are logged in ({', '.join(known)}): pass --email")

    @contextlib.asynccontextmanager
    async def auth(self) -> AsyncIterator[Any]:
        """The account's `Auth` (closed afterwards), with the SSO's cooldowns of earlier commands.

        An SSO 429's cooldown outlives the process like the API's (`Cooldowns`).
        """
        from ..cloud.auth import Auth  # noqa: PLC0415

        store = self.store()
        auth = Auth(self.identity(store), urls=self.urls(), store=store)
        async with auth, Cooldowns.beside(store.target).kept(auth):
            yield auth

    @contextlib.asynccontextmanager
    async def api(self) -> AsyncIterator[Any]:
        """An Owner API session for the chosen account (Auth and TeslaApi closed afterwards).

        A 429's cooldown outlives the process (`Cooldowns`): a shell loop of commands must not
        knock again before Retry-After has passed, any more than one process may. Every command
        goes through here, `stream` included (its handshake keeps its cooldown in this session).
        """
        from ..cloud.api import TeslaApi  # noqa: PLC0415

        async with (
            self.auth() as auth,
            TeslaApi(auth.urls, auth) as api,
            Cooldowns.beside(auth.store.target).kept(api),
        ):
            yield api


@dataclass(frozen=True)
class Cooldowns:
    """Cooldowns after a 429, per API host, in a small JSON file beside the token file.

    The file is a cache: unreadable means none (never an error), and it is written atomically.
    A keeper is anything with `cooldowns()` (seconds left per host) and `cool_down(seconds, host)`:
    the `TeslaApi` (API and streaming hosts) and the `Auth` (SSO hosts).
    """

    path: Path | None

    @classmethod
    def beside(cls, token_path: Path | None) -> Cooldowns:
        return cls(None if token_path is None else token_path.with_name("cooldowns.json"))

    def _read(self) -> dict[str, float]:
        if self.path is None:
            return {}
        from ..cloud.tokens import read_regular_file  # noqa: PLC0415

        try:
            found = orjson.loads(read_regular_file(self.path, "the cooldown file"))
        except (OSError, ConfigError, orjson.JSONDecodeError):
            return {}
        if not isinstance(found, dict):
            return {}
        return {str(k): float(v) for k, v in found.items() if isinstance(v, int | float)}

    @contextlib.asynccontextmanager
    async def kept(self, keeper: Any) -> AsyncIterator[None]:
        """`apply` before the block, `keep` after it (errors included: a 429 is one)."""
        self.apply(keeper)
        try:
            yield
        finally:
            self.keep(keeper)

    def apply(self, keeper: Any) -> None:
        """Start the cooldowns earlier commands left (every host: a keeper asks only its own)."""
        now = time.time()
        for host, until in self._read().items():
            if until > now:
                keeper.cool_down(until - now, host)

    def keep(self, keeper: Any) -> None:
        """Remember the keeper's cooldowns (or forget finished ones) for the next command."""
        if self.path is None:
            return
        from .._files import atomic_write_bytes  # noqa: PLC0415

        now = time.time()
        stored = self._read()
        known = {host: until for host, until in stored.items() if until > now}
        for host, left in keeper.cooldowns().items():
            if now + left > known.get(host, 0.0) + 1.0:  # new or longer (not the one applied)
                known[host] = now + left
        if known == stored:
            return  # nothing to remember or forget: no write
        with contextlib.suppress(OSError):  # a cache: failing to write it must not fail the command
            atomic_write_bytes(self.path, orjson.dumps(known))


def cloud_options(command: F) -> F:
    """--email, --api-url/--sso-url/--streaming-url and --token-file, gathered into `target`."""

    options = [
        click.option("--email", envvar="TESLALINK_EMAIL", default=None,
                     help="The account (env TESLALINK_EMAIL; default: the only one logged in)."),
        click.option("--api-url", default=None, help="Owner API base URL (env TESLALINK_API_URL)."),
        click.option("--sso-url", default=None, help="SSO base URL (env TESLALINK_SSO_URL)."),
        click.option("--streaming-url", default=None, help="Streaming URL (env TESLALINK_STREAMING_URL)."),
        click.option("--token-file", type=click.Path(dir_okay=False, path_type=Path), default=None,
                     help="Token file (env TESLALINK_TOKEN_FILE; default ~/.config/teslalink/tokens.json)."),
    ]  # fmt: skip

    @functools.wraps(command)
    def wrapper(**kwargs: Any) -> Any:
        kwargs["target"] = CloudTarget(
            email=kwargs.pop("email"),
            api_url=kwargs.pop("api_url"),
            sso_url=kwargs.pop("sso_url"),
            streaming_url=kwargs.pop("streaming_url"),
            token_file=kwargs.pop("token_file"),
        )
        return command(**kwargs)

    result: Any = wrapper
    for option in reversed(options):
        result = option(result)
    return result  # type: ignore[no-any-return]


vehicle_option = click.option(
    "--vehicle", "vehicle_key", default=None, help="The car: display name, VIN or id (default: the first)."
)


def pick_vehicle(vehicles: list[Any], key: str | None) -> Any:
    """The car named by `key` (display name, VIN, id or vehicle_id), or the first one."""
    if not vehicles:
        raise ConfigError("this account has no car")
    if key is None:
        return vehicles[0]
    wanted = key.strip().lower()
    for vehicle in vehicles:
        keys = {vehicle.display_name.lower(), vehicle.vin.lower(), vehicle.id_s, str(vehicle.vehicle_id)}
        if wanted in keys:
            return vehicle
    names = ", ".join(v.display_name or v.vin for v in vehicles)
    raise ConfigError(f"no car {key!r} in this account (there is {names})")


def parse_params(pairs: tuple[str, ...]) -> dict[str, Any]:
    """k=v arguments; a value that reads as JSON (numbers, true/false, null, lists) is that value."""
    params: dict[str, Any] = {}
    for pair in pairs:
        key, sep, text = pair.partition("=")
        if not sep or not key:
            raise click.ClickException(f"arguments are key=value, got {shown_unless_secret(pair)}")
        try:
            params[key] = orjson.loads(text)
        except orjson.JSONDecodeError:
            params[key] = text
    return params


def is_interactive() -> bool:
    return sys.stdin.isatty() and sys.stdout.isatty()


RISKY_COMMANDS = {
    "UNLOCK": "unlock the car",
    "REMOTE_START": "allow keyless driving",
    "TRIGGER_HOMELINK": "open or close the garage door",
}
"""Named commands (catalogue names) that ask first, with what they do, in words."""


def risky_action(name: str, params: Mapping[str, Any]) -> str | None:
    """What a named command would do that needs confirmation, or None.

    Valet mode counts as turned off unless `on` clearly says on: `on=0`, `on=off` or a missing
    `on` must not slip through.
    """
    upper = name.upper()
    if upper == "SET_VALET_MODE" and params.get("on") not in (True, 1, "on", "yes"):
        return "turn valet mode off"
    return RISKY_COMMANDS.get(upper)


def confirm_risky(what: str, yes: bool) -> None:
    """Ask before a risky command; without a terminal, refuse unless --yes was given."""
    if yes:
        return
    if not is_interactive():
        raise click.ClickException(f"{what} needs confirmation: pass --yes (no terminal to ask on)")
    if not click.confirm(f"Really {what}?", default=False):
        raise click.ClickException(f"{what}: cancelled")


yes_option = click.option("--yes", "-y", is_flag=True, help="Do not ask for confirmation.")
