"""The Tesla Wall Connector Gen 3: local API client, models, power and energy."""

from __future__ import annotations

from .client import RetryPolicy, WallConnector, parse_host
from .models import EvseState, Lifetime, Version, Vitals, WifiStatus
from .power import ElectricalService, PowerCalculator, PowerReading, detect_service

__all__ = [
    "ElectricalService",
    "EvseState",
    "Lifetime",
    "PowerCalculator",
    "PowerReading",
    "RetryPolicy",
    "Version",
    "Vitals",
    "WallConnector",
    "WifiStatus",
    "detect_service",
    "parse_host",
]
