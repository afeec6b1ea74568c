"""What every cloud command shares: where the cloud is, whose tokens, which car, k=v arguments.

Why one place: `--email`, the three URLs, `--token-file` and `--api` mean the same on every
command, and the account and the car are chosen the same way (the only one, or the one named), so
a script can rely on one set of rules.

Which API (`--api`, env TESLALINK_API_MODE) and which account: `teslalink.cloud.account`, the one
rule the CLI and the service share (`auto`: a Fleet login wins).
"""

from __future__ import annotations

import contextlib
import functools
import math
import sys
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click
import orjson

from ..errors import ConfigError
from ._common import shown_unless_secret

if TYPE_CHECKING:
    from ..cloud.api import TeslaApi
    from ..cloud.auth import Auth
    from ..cloud.config import CloudUrls
    from ..cloud.fleet.api import FleetApi
    from ..cloud.tokens import TokenStore
    from ..errors import RateLimited

F = TypeVar("F", bound=Callable[..., Any])

json_option = click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")

API_MODES = ("auto", "fleet", "owner")
API_MODE_ENV = "TESLALINK_API_MODE"
"""Our choice of name: the environment's word for `--api` (a shell that always wants one API)."""


@dataclass(frozen=True)
class CloudTarget:
    """The account options of one invocation (nothing is opened until `session()`)."""

    email: str | None
    api_url: str | None
    sso_url: str | None
    streaming_url: str | None
    token_file: Path | None
    api_mode: str = "auto"

    def urls(self) -> CloudUrls:
        from ..cloud.config import CloudUrls  # noqa: PLC0415 - keep `--help` fast

        return CloudUrls.from_env(api=self.api_url, sso=self.sso_url, streaming=self.streaming_url)

    def store(self) -> TokenStore:
        from ..cloud.tokens import TokenStore  # noqa: PLC0415

        return TokenStore(self.token_file)

    def identity(self, store: TokenStore) -> str:
        """--email (or TESLALINK_EMAIL), else the only account in the token store
        (`cloud.account.account_identity`: the one rule the CLI and the service share)."""
        from ..cloud.account import account_identity  # noqa: PLC0415

        return account_identity(store, self.email, self.api_mode)

    def uses_fleet(self, store: TokenStore) -> bool:
        """Whether this invocation talks to the Fleet API (`--api`; auto: the account has a Fleet login)."""
        from ..cloud.account import uses_fleet  # noqa: PLC0415

        return uses_fleet(store, self.email, self.api_mode)

    @contextlib.asynccontextmanager
    async def auth(self) -> AsyncIterator[Auth]:
        """The account's `Auth` (closed afterwards), with the SSO's cooldowns of earlier commands.

        An SSO 429's cooldown outlives the process like the API's (`Cooldowns`).
        """
        from ..cloud.auth import Auth  # noqa: PLC0415
        from ..cloud.cooldowns import Cooldowns  # noqa: PLC0415

        if self.api_mode == "fleet":
            raise ConfigError(
                "login and logout are the Owner API's; the Fleet API's login is `teslalink fleet login`"
            )
        store = self.store()
        auth = Auth(self.identity(store), urls=self.urls(), store=store)
        async with auth, Cooldowns.beside(store.target).kept(auth):
            yield auth

    @contextlib.asynccontextmanager
    async def api(self) -> AsyncIterator[TeslaApi]:
        """A session for the chosen account (closed afterwards): a `FleetApi` over a Fleet login
        (`fleet_api`), else the Owner API's `TeslaApi`.

        A 429's cooldown outlives the process (`Cooldowns`): a shell loop of commands must not
        knock again before Retry-After has passed, any more than one process may. Every command
        goes through here, `stream` included (its handshake keeps its cooldown in this session).
        """
        from ..errors import RateLimited  # noqa: PLC0415

        try:
            if self.uses_fleet(self.store()):
                async with self.fleet_api() as fleet:
                    yield fleet
                return
            async with self.owner_api() as owner:
                yield owner
        except RateLimited as exc:
            raise click.ClickException(with_the_wait(exc)) from None

    @contextlib.asynccontextmanager
    async def fleet_api(self) -> AsyncIterator[FleetApi]:
        """The account's Fleet API session (`cloud.fleet.account.open_fleet`: the stored login, its
        region, the app's key for signed commands, the ledger and the cooldowns beside the token file)."""
        from ..cloud.fleet.account import open_fleet  # noqa: PLC0415

        store = self.store()
        async with open_fleet(store, self.identity(store)) as fleet:
            yield fleet

    @contextlib.asynccontextmanager
    async def owner_api(self) -> AsyncIterator[TeslaApi]:
        """An Owner API session for the chosen account (Auth and TeslaApi closed afterwards)."""
        from ..cloud.api import TeslaApi  # noqa: PLC0415
        from ..cloud.cooldowns import Cooldowns  # noqa: PLC0415

        async with (
            self.auth() as auth,
            TeslaApi(auth.urls, auth) as api,
            Cooldowns.beside(auth.store.target).kept(api),
        ):
            yield api


def with_the_wait(exc: RateLimited) -> str:
    """A 429 in one line that always says how long to wait (Tesla's body does not always)."""
    line = str(exc)
    if exc.retry_after is None or "retry in" in line.lower():
        return line
    return f"{line}; retry in {math.ceil(exc.retry_after)} s"


def cloud_options(command: F) -> F:
    """--email, --api-url/--sso-url/--streaming-url, --token-file and --api, gathered into `target`."""

    options = [
        click.option("--email", envvar="TESLALINK_EMAIL", default=None,
                     help="The account (env TESLALINK_EMAIL; default: the only one logged in)."),
        click.option("--api-url", default=None, help="Owner API base URL (env TESLALINK_API_URL)."),
        click.option("--sso-url", default=None, help="SSO base URL (env TESLALINK_SSO_URL)."),
        click.option("--streaming-url", default=None, help="Streaming URL (env TESLALINK_STREAMING_URL)."),
        click.option("--token-file", type=click.Path(dir_okay=False, path_type=Path), default=None,
                     help="Token file (env TESLALINK_TOKEN_FILE; default ~/.config/teslalink/tokens.json)."),
        click.option("--api", "api_mode", type=click.Choice(API_MODES), envvar=API_MODE_ENV, default="auto",
                     show_default=True,
                     help="fleet or owner (env TESLALINK_API_MODE); auto: the Fleet API for a Fleet login."),
    ]  # fmt: skip

    @functools.wraps(command)
    def wrapper(**kwargs: Any) -> Any:
        kwargs["target"] = CloudTarget(
            email=kwargs.pop("email"),
            api_url=kwargs.pop("api_url"),
            sso_url=kwargs.pop("sso_url"),
            streaming_url=kwargs.pop("streaming_url"),
            token_file=kwargs.pop("token_file"),
            api_mode=kwargs.pop("api_mode"),
        )
        return command(**kwargs)

    result: Any = wrapper
    for option in reversed(options):
        result = option(result)
    return result  # type: ignore[no-any-return]


vehicle_option = click.option(
    "--vehicle", "vehicle_key", default=None, help="The car: display name, VIN or id (default: the first)."
)


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
