"""Account-level bodies: Wall Connectors as products, orders, service scheduling.

Wall Connectors and accounts: the world knows the units and the accounts but not who owns which
unit (the local API has no owner). `link_wall_connector(world, account, unit)` records it here,
and gives the unit an `energy_site_id`, as the app's pairing does; a linked unit appears in the
account's `GET api/1/products` with `resource_type` "wall_connector" (what TeslaPy's
`wall_connector_list` filters on), and its site answers `live_status` and `site_info` with the
unit's present state.
"""

from __future__ import annotations

import hashlib
import time
import uuid
import weakref
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ..accounts import Account
    from ..vehicle.car import Car
    from ..wall_connector.unit import WallConnectorUnit
    from ..world import World

__all__ = [
    "WallConnectorLink",
    "link_wall_connector",
    "linked_wall_connectors",
    "orders",
    "service_scheduling_data",
]


@dataclass(frozen=True, slots=True)
class WallConnectorLink:
    """A Wall Connector paired with an account, under its own energy site id."""

    account: Account
    unit: WallConnectorUnit
    energy_site_id: int

    @property
    def din(self) -> str:
        return f"{self.unit.part_number}--{self.unit.serial}"

    def _uuid(self, purpose: str) -> str:
        digest = hashlib.blake2b(f"{purpose}:{self.unit.serial}".encode(), digest_size=16).digest()
        return str(uuid.UUID(bytes=digest, version=4))

    def product(self) -> dict[str, Any]:
        """The unit's entry in `GET api/1/products`."""
        return {
            "energy_site_id": self.energy_site_id,
            "resource_type": "wall_connector",
            "id": self._uuid("site"),
            "asset_site_id": self._uuid("asset"),
            "warp_site_number": self.unit.serial,
            "go_off_grid_test_banner_enabled": None,
            "storm_mode_enabled": None,
            "powerwall_onboarding_settings_set": None,
            "powerwall_tesla_electric_interested_in": None,
            "vpp_tour_enabled": None,
            "sync_grid_alert_enabled": False,
            "breaker_alert_enabled": False,
            "components": self._components(),
        }

    def live_status(self, now: float) -> dict[str, Any]:
        unit = self.unit
        return {
            "wall_connectors": [
                {
                    "din": self.din,
                    "wall_connector_state": int(unit.evse_state),
                    "wall_connector_fault_state": 2,
                    "wall_connector_power": round(unit.power_w, 1),
                    "vin": "",
                }
            ],
            "timestamp": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now)),
        }

    def site_info(self) -> dict[str, Any]:
        return {
            "id": self._uuid("site"),
            "site_name": f"Wall Connector {self.unit.serial[-4:]}",
            "installation_date": "",
            "components": self._components(),
            "version": self.unit.firmware,
            "max_current_a": self.unit.max_current_a,
        }

    def _components(self) -> dict[str, Any]:
        return {
            "battery": False,
            "solar": False,
            "grid": True,
            "load_meter": True,
            "market_type": "residential",
            "wall_connectors": [{"device_id": self._uuid("device"), "din": self.din, "is_active": True}],
        }


_LINKS: weakref.WeakKeyDictionary[World, dict[str, WallConnectorLink]] = weakref.WeakKeyDictionary()


def link_wall_connector(world: World, account: Account, unit: WallConnectorUnit) -> WallConnectorLink:
    """Pair `unit` with `account` (again: the same link); a unit has one owner at a time."""
    links = _LINKS.setdefault(world, {})
    link = links.get(unit.serial)
    if link is not None and link.account is account:
        return link
    site_id = link.energy_site_id if link is not None else world.new_id(13)
    link = WallConnectorLink(account, unit, site_id)
    links[unit.serial] = link
    return link


def linked_wall_connectors(world: World, account: Account | None = None) -> list[WallConnectorLink]:
    """The links of `account` (None: all), in the order the units were linked."""
    links = _LINKS.get(world, {})
    return [link for link in links.values() if account is None or link.account is account]


def _stable(text: str, modulo: int) -> int:
    return int.from_bytes(hashlib.blake2b(text.encode(), digest_size=8).digest(), "big") % modulo


_MODEL_CODES = {"S": "ms", "3": "m3", "X": "mx", "Y": "my"}


def orders(cars: list[Car]) -> list[dict[str, Any]]:
    """`GET api/1/users/orders`: one delivered order per car (TeslaPy matches them by `vin`)."""
    return [
        {
            "vehicleMapId": car.id,
            "referenceNumber": f"RN{_stable(car.vin, 10**9):09d}",
            "vin": car.vin,
            "modelCode": _MODEL_CODES.get(car.spec.letter, "m3"),
            "orderStatus": "DELIVERED",
            "orderSubstatus": "_Z",
            "countryCode": "CN" if car.account.region == "cn" else "US",
            "locale": "zh_CN" if car.account.region == "cn" else "en_US",
            "mktOptions": car.option_codes,
            "isB2b": False,
            "isUsed": False,
        }
        for car in cars
    ]


def service_scheduling_data(cars: list[Car], now: float) -> dict[str, Any]:
    """`GET api/1/users/service_scheduling_data` in the fixture's shape; cars in service have a visit."""
    enabled = []
    for car in cars:
        appointment = None
        if car.in_service:
            appointment = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(now - now % 900))
        enabled.append(
            {
                "vin": car.vin,
                "next_appt_timestamp": appointment,
                "next_appt_end_timestamp": None,
                "show_badge": car.in_service,
            }
        )
    return {"enabled_vins": enabled}
