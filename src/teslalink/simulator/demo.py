"""The demo population of `teslalink sim all` and `teslalink demo`: accounts and what they own.

world = World(seed=1)
for account in populate_demo(world):      # demo1@teslalink.test (na), demo2 (MFA), demo3 (cn)
    print(account.email, account.password, [car.vin for car in account.vehicles])
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Final

from .accounts import Region
from .owner_api import WallConnectorLink, link_wall_connector

if TYPE_CHECKING:
    from .site.energy_site import EnergySite
    from .vehicle.car import Car
    from .world import World

__all__ = ["DEMO_DOMAIN", "DemoAccount", "populate_demo"]

DEMO_DOMAIN: Final = "teslalink.test"
_DEMO_MODELS: Final = ("3", "Y", "S", "X")


@dataclass(frozen=True)
class DemoAccount:
    """An account of `populate_demo` and what it owns (the password is printed on purpose: a demo)."""

    email: str
    password: str = field(repr=False)
    region: Region
    totp_secret: str | None = field(repr=False)
    vehicles: list[Car]
    sites: list[EnergySite]
    chargers: list[WallConnectorLink]


def populate_demo(
    world: World,
    *,
    accounts: int = 3,
    cars_per_account: int = 1,
    sites: int = 1,
    chargers: int = 1,
) -> list[DemoAccount]:
    """Fill `world` with demo accounts demo1@teslalink.test, demo2@... and what they own.

    The second account has TOTP MFA and the third lives in the cn region (so `accounts=3`, the
    default, shows every login flavour). Each account gets `cars_per_account` cars (models
    cycling 3, Y, S, X), `sites` energy sites (the first with a Powerwall, others solar only) and
    `chargers` Wall Connectors paired with it; its first car is plugged into its first charger
    and charging, its other cars are asleep.
    """
    made: list[DemoAccount] = []
    for i in range(1, accounts + 1):
        account = world.add_account(
            f"demo{i}@{DEMO_DOMAIN}",
            f"teslalink-demo-{i}",
            mfa=i == 2,
            region="cn" if i == 3 else "na",
            full_name=f"Demo Owner {i}",
        )
        cars = [
            world.add_vehicle(
                account,
                model=_DEMO_MODELS[(i - 1 + k) % len(_DEMO_MODELS)],
                battery_level=55.0 if k == 0 else 70.0,
                asleep=k > 0,
            )
            for k in range(cars_per_account)
        ]
        owned_sites = [
            world.add_energy_site(account, site_name=f"Demo Home {i}.{j + 1}", powerwalls=1 if j == 0 else 0)
            for j in range(sites)
        ]
        links = [link_wall_connector(world, account, world.add_wall_connector()) for _ in range(chargers)]
        if cars and links:
            cars[0].plug_into(links[0].unit)
        made.append(
            DemoAccount(
                account.email, account.password, account.region, account.mfa_secret, cars, owned_sites, links
            )
        )
    return made
