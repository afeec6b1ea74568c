"""The simulated Tesla car's parts: specs, batteries, charging, sleep, climate, routes, commands,
rendering. `vehicle.car.Car` puts them together; the HTTP layers use the car only."""

from __future__ import annotations

from .commands import COMMANDS
from .errors import (
    CarError,
    CommandSigningRequired,
    MobileAccessDisabled,
    UnknownCommand,
    VehicleInService,
    VehicleUnavailable,
)
from .power import Power
from .render import BLOCKS, DEFAULT_ENDPOINTS, STREAM_COLUMNS
from .routes import DEMO_ROUTES

__all__ = [
    "BLOCKS",
    "COMMANDS",
    "DEFAULT_ENDPOINTS",
    "DEMO_ROUTES",
    "STREAM_COLUMNS",
    "CarError",
    "CommandSigningRequired",
    "MobileAccessDisabled",
    "Power",
    "UnknownCommand",
    "VehicleInService",
    "VehicleUnavailable",
]
