"""Energy site endpoints: `api/1/energy_sites/{site_id}/...`. The site model decides everything.

A refusal is the model's `SiteError` (a `Refusal`), answered by the app's outermost layer with
its status and the usual error body; an unknown site is `NotFound`. Command
answers are the model's (`{"code": 201, "message": "Updated"}` or the capitalised style, and
`{}` for grid_import_export), wrapped in `{"response": ...}`.

calendar_history takes the zone as `time_zone` (Tesla's app) or `timezone` (what TeslaPy sends);
parameters TeslaPy adds that the model has no use for (installation_timezone, tariff) are ignored.

A paired Wall Connector's site answers `live_status` and `site_info`; anything else on it is 404.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from ..refusal import NotFound
from ..site.energy_site import EnergySite
from .bodies import ok
from .context import ACCOUNT, OWNER_API, read_params
from .products import WallConnectorLink

__all__ = ["COMMANDS", "READS", "command_handler", "read_handler"]

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def _site(request: web.Request) -> EnergySite | WallConnectorLink:
    """The path's site (or paired Wall Connector) if the request's account owns it; else NotFound."""
    site = request.app[OWNER_API].site(request[ACCOUNT], request.match_info["site_id"])
    if site is None:
        raise NotFound
    return site


def _query(request: web.Request, *names: str) -> str | None:
    for name in names:
        value = request.query.get(name)
        if value is not None:
            return value
    return None


def _calendar_history(site: EnergySite, request: web.Request) -> dict[str, Any]:
    return site.calendar_history(
        _query(request, "kind") or "",
        _query(request, "period"),
        _query(request, "start_date"),
        _query(request, "end_date"),
        _query(request, "time_zone", "timezone"),
    )


def _arg(params: dict[str, Any], name: str) -> Any:
    """A body parameter as the model gets it (None when absent: the model answers 400)."""
    return params.get(name)


READS: dict[str, Callable[[EnergySite, web.Request], dict[str, Any]]] = {
    "site_status": lambda site, _: site.site_status(),
    "live_status": lambda site, _: site.live_status(),
    "site_info": lambda site, _: site.site_info(),
    "tariff_rate": lambda site, _: site.tariff_rate(),
    "backup_time_remaining": lambda site, _: site.backup_time_remaining(),
    "history": lambda site, request: site.history(_query(request, "kind") or "", _query(request, "period")),
    "calendar_history": _calendar_history,
}
"""GET endpoints: path name -> how to ask the site."""


COMMANDS: dict[str, Callable[[EnergySite, dict[str, Any]], dict[str, Any]]] = {
    "backup": lambda site, p: site.set_backup_reserve(_arg(p, "backup_reserve_percent")),
    "operation": lambda site, p: site.set_operation(_arg(p, "default_real_mode")),
    "grid_import_export": lambda site, p: site.set_grid_import_export(
        _arg(p, "disallow_charge_from_grid_with_solar_installed"), _arg(p, "customer_preferred_export_rule")
    ),
    "storm_mode": lambda site, p: site.set_storm_mode(_arg(p, "enabled")),
    "time_of_use_settings": lambda site, p: site.set_time_of_use_settings(_arg(p, "tou_settings")),
    "off_grid_vehicle_charging_reserve": lambda site, p: site.set_off_grid_vehicle_charging_reserve(
        _arg(p, "off_grid_vehicle_charging_reserve_percent")
    ),
}
"""POST endpoints: path name -> the site's command with the body's parameters."""


def read_handler(name: str) -> Handler:
    ask = READS[name]

    async def handler(request: web.Request) -> web.StreamResponse:
        site = _site(request)
        if isinstance(site, WallConnectorLink):
            return _wall_connector_read(request, site, name)
        return ok(ask(site, request))

    handler.__name__ = f"energy_{name}"
    return handler


def command_handler(name: str) -> Handler:
    run = COMMANDS[name]

    async def handler(request: web.Request) -> web.StreamResponse:
        site = _site(request)
        if isinstance(site, WallConnectorLink):
            raise NotFound
        return ok(run(site, await read_params(request, coerce=True)))

    handler.__name__ = f"energy_{name}"
    return handler


def _wall_connector_read(request: web.Request, link: WallConnectorLink, name: str) -> web.Response:
    if name == "live_status":
        return ok(link.live_status(request.app[OWNER_API].world.now()))
    if name == "site_info":
        return ok(link.site_info())
    raise NotFound
