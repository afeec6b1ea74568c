"""The command registry and parameter parsing shared by the command modules."""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..routes import distance_m

if TYPE_CHECKING:
    from ...vehicle.car import Car

__all__ = ["COMMANDS", "EXTRAS", "OK", "Call", "Handler", "Invalid", "Result", "command", "guarded"]

Result = tuple[bool, str]
OK: Result = (True, "")
NEAR_VEHICLE_M = 1_000.0
_PIN = re.compile(r"^\d{4}$")


@dataclass(frozen=True, slots=True)
class Call:
    """One command request: the world time it runs at and its parameters."""

    t: float
    params: Mapping[str, Any]


Handler = Callable[["Car", Call], Result]
COMMANDS: dict[str, Handler] = {}
"""Every command the car knows, by the path name after command/."""

EXTRAS: dict[str, Callable[[Car, float], dict[str, Any]]] = {}
"""Fields some commands add to their response besides result and reason."""


def command(*names: str) -> Callable[[Handler], Handler]:
    """Register the decorated function as the handler of these command names."""

    def register(fn: Handler) -> Handler:
        for name in names:
            COMMANDS[name] = fn
        return fn

    return register


class Invalid(Exception):
    """A parameter is missing or malformed: the command answers invalid_value."""


def get(call: Call, key: str) -> Any:
    if key not in call.params or call.params[key] is None:
        raise Invalid(key)
    return call.params[key]


def boolean(call: Call, key: str, default: bool | None = None) -> bool:
    if default is not None and call.params.get(key) is None:
        return default
    value = get(call, key)
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("true", "1", "on", "yes"):
        return True
    if text in ("false", "0", "off", "no"):
        return False
    raise Invalid(key)


def number(call: Call, key: str) -> float:
    value = get(call, key)
    try:
        result = float(value)
    except (TypeError, ValueError):
        raise Invalid(key) from None
    if not math.isfinite(result):
        raise Invalid(key)
    return result


def integer(call: Call, key: str) -> int:
    value = number(call, key)
    if value != int(value):
        raise Invalid(key)
    return int(value)


def pin_param(call: Call, key: str = "pin") -> str:
    value = call.params.get(key)
    text = str(value).strip() if value is not None else ""
    if not _PIN.match(text):
        raise Invalid(key)
    return text


def guarded(fn: Handler) -> Handler:
    """Turn a missing or malformed parameter (Invalid) into the answer (False, "invalid_value")."""

    def run(car: Car, call: Call) -> Result:
        try:
            return fn(car, call)
        except Invalid:
            return False, "invalid_value"

    run.__doc__ = fn.__doc__
    run.__name__ = fn.__name__
    return run


def near(car: Car, call: Call) -> bool:
    """The lat/lon in the call is within ~1 km of the car."""
    return distance_m((number(call, "lat"), number(call, "lon")), car.location) <= NEAR_VEHICLE_M
