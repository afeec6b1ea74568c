"""Which public keys are paired with which car: the car's key whitelist, as the cloud sees it.

One set of uncompressed P-256 points (65 bytes, ``04 || X || Y``) per VIN, shared by the Fleet
API (`fleet_status`) and the car's signed-command side (the key whitelist it checks). Pairing
is what the owner does by tapping "approve" after opening ``https://tesla.com/_ak/<domain>``;
tests and scenarios call `pair` directly.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

from .state import fleet_state

if TYPE_CHECKING:
    from ..world import World

__all__ = ["POINT_SIZE", "pair", "paired_keys", "unpair"]

POINT_SIZE: Final = 65


def _checked(public_key: bytes) -> bytes:
    key = bytes(public_key)
    if len(key) != POINT_SIZE or key[0] != 0x04:
        raise ValueError("a paired key is an uncompressed P-256 point: 65 bytes starting with 0x04")
    return key


def paired_keys(world: World, vin: str) -> set[bytes]:
    """The public keys paired with the car `vin` (a copy: change it through `pair`/`unpair`)."""
    return set(fleet_state(world).paired.get(vin, ()))


def pair(world: World, vin: str, public_key: bytes) -> None:
    """Add `public_key` to the car's whitelist (idempotent)."""
    fleet_state(world).paired.setdefault(vin, set()).add(_checked(public_key))


def unpair(world: World, vin: str, public_key: bytes) -> None:
    """Remove `public_key` from the car's whitelist (idempotent)."""
    fleet_state(world).paired.get(vin, set()).discard(_checked(public_key))
