"""Choosing one car of an account by what a person types: its name, VIN, id or vehicle_id.

`TeslaApi.vehicle(key)` uses it; every command's `--vehicle` and the service's configuration
name cars the same way, so one rule holds everywhere.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from ..errors import ConfigError

if TYPE_CHECKING:
    from .vehicle import Vehicle

__all__ = ["pick_vehicle"]


def pick_vehicle(vehicles: Sequence[Vehicle], key: str | None) -> Vehicle:
    """The car named by `key` (display name or VIN in any case, id or vehicle_id), or the first one.

    ConfigError when there is no car, or none matches (naming the cars there are).
    """
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
