"""`teslalink api NAME k=v`: any named endpoint of the catalogue, answer printed as JSON.

`teslalink api --list [FILTER]` lists the names. A command's answer of result false is exit 1,
as on `teslalink command` (unless the car is already as asked: `is_already`).

The path's `{vehicle_id}` is the chosen car (`--vehicle`), `{site_id}` the chosen site (`--site`);
nothing else is added, so an `online` endpoint on a sleeping car is an error, never a wake.
Risky commands (unlock, remote start, valet off...) ask first here too, unless --yes.
A car's command goes through the session's command seam (`vehicle_command`), so over the Fleet
API it is signed where the car needs it, as on `teslalink command`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import click

from ._cloud import (
    CloudTarget,
    cloud_options,
    confirm_risky,
    parse_params,
    risky_action,
    vehicle_option,
    yes_option,
)
from ._common import echo_json, run
from .vehicles import not_online, refused, scopes_missing, signing_needed

if TYPE_CHECKING:
    from ..cloud.endpoints import Endpoint


@click.command("api")
@click.argument("name", required=False)
@click.argument("params", nargs=-1, metavar="[KEY=VALUE]...")
@click.option(
    "--list",
    "list_names",
    is_flag=True,
    help="List the endpoint names (with method and kind); NAME, if given, filters them.",
)
@vehicle_option
@click.option("--site", "site_key", default=None, help="The energy site for {site_id} (default: the first).")
@click.option("--json", "as_json", is_flag=True, help="JSON (the answer always is; for --list, a list).")
@yes_option
@cloud_options
def api(
    target: CloudTarget,
    name: str | None,
    params: tuple[str, ...],
    list_names: bool,
    vehicle_key: str | None,
    site_key: str | None,
    as_json: bool,
    yes: bool,
) -> None:
    """Call a named endpoint and print its answer as JSON.

    A command the car refuses prints its answer and exits 1 (0 when the car is already as
    asked, e.g. already_set), as the `command` command does.

    Examples:

    \b
      `teslalink api VEHICLE_DATA endpoints=charge_state`
      `teslalink api --list charge`
      `teslalink api CHANGE_CHARGE_LIMIT percent=80`
    """
    if list_names:
        _list_endpoints(name or "", as_json)
        return
    if name is None:
        raise click.ClickException("which endpoint? `teslalink api --list` lists them")
    values = parse_params(params)
    risky = risky_action(name, values)
    if risky is not None:
        confirm_risky(risky, yes)

    async def go() -> tuple[Endpoint, Any]:
        from ..cloud.endpoints import endpoint  # noqa: PLC0415 - keep `--help` fast
        from ..cloud.energy import select_site  # noqa: PLC0415
        from ..errors import CommandSigningRequired, MissingScopes, VehicleUnavailable  # noqa: PLC0415

        found = endpoint(name)
        async with target.api() as session:
            path_vars: dict[str, object] = {}
            car = None
            if "vehicle_id" in found.placeholders:
                car = await session.vehicle(vehicle_key)
                path_vars["vehicle_id"] = car.id_s
            if "site_id" in found.placeholders:
                site = await select_site(await session.energy_sites(), site_key)
                path_vars["site_id"] = site.energy_site_id
            try:
                if car is not None and found.kind == "command":
                    return found, dict(await session.vehicle_command(car, found.name, values))
                return found, await session.api(found.name, path_vars=path_vars, **values)
            except VehicleUnavailable:
                if car is None:
                    raise
                raise click.ClickException(not_online(car)) from None
            except CommandSigningRequired:
                raise click.ClickException(signing_needed(session, found.name)) from None
            except MissingScopes as exc:
                raise click.ClickException(scopes_missing(exc)) from None

    found, answer = run(go())
    echo_json(answer)
    _fail_if_refused(found.name, found.kind, answer)


def _fail_if_refused(name: str, kind: str, answer: Any) -> None:
    """A command answered result false is exit code 1, as on `teslalink command`, unless already so."""
    if kind != "command" or not isinstance(answer, Mapping) or answer.get("result") is not False:
        return
    from ..cloud.vehicle import is_already  # noqa: PLC0415

    reason = str(answer.get("reason") or "")
    if is_already(name, reason):
        click.echo(f"{name}: already so (the car says {reason})", err=True)
        return
    raise click.ClickException(refused(name, reason))


def _list_endpoints(pattern: str, as_json: bool) -> None:
    """The catalogue's names containing `pattern` (any case), with method, kind and whether online."""
    from ..cloud.endpoints import catalogue  # noqa: PLC0415

    wanted = pattern.upper()
    found = [e for e in catalogue().values() if wanted in e.name]
    if not found:
        raise click.ClickException(f"no endpoint name contains {pattern!r}")
    if as_json:
        echo_json([{"name": e.name, "method": e.method, "kind": e.kind, "online": e.online} for e in found])
        return
    width = max(len(e.name) for e in found)
    for e in sorted(found, key=lambda e: e.name):
        needs = "  needs the car online" if e.online else ""
        click.echo(f"{e.name:<{width}}  {e.method:<6} {e.kind}{needs}")
