"""The simulated Tesla energy site: solar and/or Powerwalls behind a gateway, on the grid.

Modules: `energy_site` (`EnergySite`: the reads and commands of `api/1/energy_sites/{id}/...`),
`power` (the controller's rules and the lazily integrated battery), `solar` (sun, weather, house
load), `history` (15-minute and daily records, calendar history), `tariff` (time-of-use plans),
`render` (the JSON bodies), `errors` (what the site refuses, with its status).
"""

from __future__ import annotations

from .energy_site import EnergySite
from .errors import SiteCommandError, SiteError, SiteRequestError

__all__ = ["EnergySite", "SiteCommandError", "SiteError", "SiteRequestError"]
