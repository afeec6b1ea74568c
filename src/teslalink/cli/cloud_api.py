"""`teslalink api NAME k=v`: any named endpoint of the catalogue, answer printed as JSON.

The path's `{vehicle_id}` is the chosen car (`--vehicle`), `{site_id}` the chosen site (`--site`);
nothing else is added, so an `online` endpoint on a sleeping car is an error, never a wake.
Risky commands (unlock, remote start, valet off...) ask first here too, unless --yes.
"""

from __future__ import annotations

from typing import Any

import click

from ._cloud import (
    CloudTarget,
    cloud_options,
    confirm_risky,
    parse_params,
    pick_site,
    pick_vehicle,
    risky_action,
    vehicle_option,
    yes_option,
)
from ._common import echo_json, run


@click.command("api")
@click.argument("name")
@click.argument("params", nargs=-1, metavar="[KEY=VALUE]...")
@vehicle_option
@click.option("--site", "site_key", default=None, help="The energy site for {site_id} (default: the first).")
@click.option("--json", "as_json", is_flag=True, hidden=True, help="The answer is always JSON.")
@yes_option
@cloud_options
def api(
    target: CloudTarget,
    name: str,
    params: tuple[str, ...],
    vehicle_key: str | None,
    site_key: str | None,
    as_json: bool,
    yes: bool,
) -> None:
    """Call a named endpoint, e.g. `teslalink api CHARGE_STATE` or `teslalink api HONK_HORN`."""
    values = parse_params(params)
    risky = risky_action(name, values)
    if risky is not None:
        confirm_risky(risky, yes)

    async def go() -> Any:
        from ..cloud.endpoints import endpoint  # noqa: PLC0415 - keep `--help` fast

        found = endpoint(name)
        async with target.api() as session:
            path_vars: dict[str, object] = {}
            if "vehicle_id" in found.placeholders:
                path_vars["vehicle_id"] = pick_vehicle(await session.vehicles(), vehicle_key).id_s
            if "site_id" in found.placeholders:
                path_vars["site_id"] = pick_site(await session.energy_sites(), site_key).energy_site_id
            return await session.api(found.name, path_vars=path_vars, **values)

    echo_json(run(go()))
