"""Scenario knobs of the Fleet twin's cars: reboot, clock skew, pairing lag, unpairing, and their truth.

Functions over a `World`, as ..scenario's are (same checks, same `ScenarioError`: 400 bad input,
404 unknown car, 409 not possible now), so the HTTP controls of .scenario_app and a test in the
same process share the rules::

    from teslalink.simulator.fleet import scenario as fleet_scenario

    fleet_scenario.reboot(world, car.vin)              # new epochs in both domains
    fleet_scenario.skew_clock(world, car.vin, 300)     # the car's clock runs 5 minutes ahead
    fleet_scenario.set_pairing_lag(world, 30)          # fleet_status lists a new key 30 s late
    fleet_scenario.unpair(world, car.vin, point.hex()) # the owner removed the key
    fleet_scenario.security_truth(world, car.vin)      # epochs, clocks, keys, boots

Sleep and connectivity are the Owner API twin's knobs (`..scenario.fall_asleep`, `go_offline`,
`come_online`): the same car serves both APIs, and .scenario_app serves them on the Fleet hosts too.
The faults of the hosts themselves (429 storms, 5xx, drops, lost replies) are in .faults.

A car is named by VIN, id or vehicle_id; a key by the hex of its 65-byte uncompressed point.
"""

from __future__ import annotations

import math
import weakref
from typing import TYPE_CHECKING, Any, Final

from ..scenario import ScenarioError, find_vehicle
from .pairing import POINT_SIZE

if TYPE_CHECKING:
    from ..world import World
    from .car_security import CarSecurity

__all__ = [
    "MAX_CLOCK_SKEW_S",
    "MAX_PAIRING_LAG_S",
    "listed_keys",
    "pairing_lag",
    "reboot",
    "security_truth",
    "set_key_active",
    "set_pairing_lag",
    "skew_clock",
    "unpair",
]

MAX_CLOCK_SKEW_S: Final = 2**30
"""The longest a domain's clock can run (research/fleet.md 2.6: the epoch ends after 2^30 s)."""
MAX_PAIRING_LAG_S: Final = 7 * 86_400.0
"""Our choice: a week; fleet.md 7.6 asks for a configurable lag and knows no real figure."""
_DOMAIN_NAMES: Final = {2: "vcsec", 3: "infotainment"}

_LAGS: weakref.WeakKeyDictionary[World, float] = weakref.WeakKeyDictionary()


def _security(world: World, vehicle: object) -> CarSecurity:
    from .car_security import security_of  # noqa: PLC0415 - the fleet extra

    return security_of(find_vehicle(world, _ref(vehicle)))


def _ref(vehicle: object) -> int | str:
    if isinstance(vehicle, bool) or not isinstance(vehicle, int | str):
        raise ScenarioError("a car is named by its VIN, id or vehicle_id")
    return vehicle


def _point(public_key: object) -> bytes:
    try:
        if not isinstance(public_key, str):
            raise ValueError(public_key)
        point = bytes.fromhex(public_key)
    except ValueError:
        raise ScenarioError("public_key must be the hex of a 65-byte uncompressed P-256 point") from None
    if len(point) != POINT_SIZE or point[0] != 0x04:
        raise ScenarioError("public_key must be the hex of a 65-byte uncompressed P-256 point")
    return point


# --- the car's security ---------------------------------------------------------------------------


def reboot(world: World, vehicle: object) -> dict[str, Any]:
    """The car restarts: both domains get a new epoch, their clocks start at 0, counters reset.

    A client's cached sessions then meet INCORRECT_EPOCH (15) with fresh session info (fleet.md 2.6).
    """
    _security(world, vehicle).reboot()
    return security_truth(world, vehicle)


def skew_clock(world: World, vehicle: object, seconds: object) -> dict[str, Any]:
    """Move both domains' clocks by `seconds` (ahead > 0, behind < 0), keeping the epochs.

    Our choice: a drift within the epoch, so a client's session clock is off and an expiry it
    computes is wrong (ahead: TIME_EXPIRED, 17, with fresh session info); a jump with a new
    epoch, which a real car also does (fleet.md 2.6), is `reboot`. A clock cannot go before its
    epoch's start (409).
    """
    if isinstance(seconds, bool) or not isinstance(seconds, int | float) or not math.isfinite(seconds):
        raise ScenarioError("seconds must be a finite number")
    if abs(seconds) > MAX_CLOCK_SKEW_S:
        raise ScenarioError(f"seconds must be between -{MAX_CLOCK_SKEW_S} and {MAX_CLOCK_SKEW_S}")
    security, now = _security(world, vehicle), world.now()
    if any(domain.clock_time(now) + seconds < 0 for domain in security.domains.values()):
        raise ScenarioError("the car's clock would go back before its epoch started; reboot it instead", 409)
    for domain in security.domains.values():
        domain.epoch_start -= float(seconds)
    return security_truth(world, vehicle)


def unpair(world: World, vehicle: object, public_key: object) -> dict[str, Any]:
    """The owner removes the key from the car (its sessions go too); 409 if it was not paired."""
    security, point = _security(world, vehicle), _point(public_key)
    if not security.unpair(point):
        raise ScenarioError("that key is not paired with this car", 409)
    return security_truth(world, vehicle)


def set_key_active(world: World, vehicle: object, public_key: object, active: object) -> dict[str, Any]:
    """Deactivate a paired key (its commands meet INACTIVE_KEY, 4) or reactivate it; 409 if unpaired."""
    if not isinstance(active, bool):
        raise ScenarioError("active must be true or false")
    security, point = _security(world, vehicle), _point(public_key)
    if point not in security.whitelist:
        raise ScenarioError("that key is not paired with this car", 409)
    security.set_active(point, active)
    return security_truth(world, vehicle)


# --- the pairing lag -----------------------------------------------------------------------------


def pairing_lag(world: World) -> float:
    """Seconds of world time between pairing a key and fleet_status listing it (0 at first)."""
    return _LAGS.get(world, 0.0)


def set_pairing_lag(world: World, seconds: object) -> dict[str, Any]:
    """Set the pairing lag (0 to a week). The car takes the key at once; only fleet_status lags.

    fleet.md 7.6 and 7.16 ask for a "configurable pairing lag" of fleet_status; no source gives a
    figure, and our choice is that the car itself knows a key as soon as it is paired.
    """
    if isinstance(seconds, bool) or not isinstance(seconds, int | float) or not math.isfinite(seconds):
        raise ScenarioError("seconds must be a finite number")
    if not 0 <= seconds <= MAX_PAIRING_LAG_S:
        raise ScenarioError(f"seconds must be between 0 and {MAX_PAIRING_LAG_S:.0f}")
    _LAGS[world] = float(seconds)
    return {"pairing_lag_s": float(seconds)}


def listed_keys(world: World, vin: str) -> set[bytes]:
    """The car's keys as fleet_status sees them: paired at least the pairing lag ago."""
    from .car_security import security_of  # noqa: PLC0415

    now, lag = world.now(), pairing_lag(world)
    security = security_of(find_vehicle(world, vin))
    return {key for key, entry in security.whitelist.items() if now - entry.paired_at >= lag}


# --- the truth -----------------------------------------------------------------------------------


def security_truth(world: World, vehicle: object) -> dict[str, Any]:
    """The car's protocol state now: boots, each domain's epoch and clock, its keys, reachability."""
    security, now = _security(world, vehicle), world.now()
    listed = listed_keys(world, security.vin)
    return {
        "vin": security.vin,
        "now": now,
        "state": security.car.state,
        "reachable": security.reachable(),
        "boots": security.boots,
        "domains": {
            _DOMAIN_NAMES.get(number, str(number)): {
                "epoch": domain.epoch.hex(),
                "clock_time": domain.clock_time(now),
            }
            for number, domain in security.domains.items()
        },
        "keys": [
            {
                "public_key": key.hex(),
                "role": entry.role,
                "form_factor": entry.form_factor,
                "active": entry.active,
                "paired_at": entry.paired_at,
                "listed": key in listed,
            }
            for key, entry in security.whitelist.items()
        ],
        "pairing_lag_s": pairing_lag(world),
    }
