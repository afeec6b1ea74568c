"""Placeholder: being written."""

from typing import Any


class EnergySite:
    def __init__(self, world: Any, account: Any, *, energy_site_id: int, **options: Any) -> None:
        self.world, self.account, self.energy_site_id = world, account, energy_site_id
