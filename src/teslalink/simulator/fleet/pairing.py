"""Which public keys are paired with which car: the car's key whitelist, as the cloud sees it.

One set of uncompressed P-256 points (65 bytes, ``04 || X || Y``) per VIN: the whitelist of the
car's signed-command side (`security_of(car)`), which the Fleet API reads for `fleet_status`, so
the two never disagree. Pairing is what the owner does by tapping "approve" after opening
``https://tesla.com/_ak/<domain>``; tests and scenarios call `pair` directly.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:
    from ..vehicle.car import Car
    from ..world import World

__all__ = ["POINT_SIZE", "pair", "paired_keys", "unpair"]

POINT_SIZE: Final = 65


def _checked(public_key: bytes) -> bytes:
    key = bytes(public_key)
    if len(key) != POINT_SIZE or key[0] != 0x04:
        raise ValueError("a paired key is an uncompressed P-256 point: 65 bytes starting with 0x04")
    return key


def _car(world: World, vin: str) -> Car:
    for car in world.vehicles:
        if car.vin == vin:
            return car
    raise KeyError(f"no car with VIN {vin!r} in this world")


def paired_keys(world: World, vin: str) -> set[bytes]:
    """The public keys paired with the car `vin` (a copy: change it through `pair`/`unpair`)."""
    from .car_security import security_of  # noqa: PLC0415 - the protocol needs the fleet extra

    return set(security_of(_car(world, vin)).whitelist)


def pair(world: World, vin: str, public_key: bytes) -> None:
    """Add `public_key` to the car's whitelist (idempotent; a fleet-manager key, see car_security)."""
    from .car_security import security_of  # noqa: PLC0415

    security = security_of(_car(world, vin))
    if _checked(public_key) not in security.whitelist:
        security.pair(public_key)


def unpair(world: World, vin: str, public_key: bytes) -> None:
    """Remove `public_key` from the car's whitelist (idempotent)."""
    from .car_security import security_of  # noqa: PLC0415

    security_of(_car(world, vin)).unpair(_checked(public_key))
