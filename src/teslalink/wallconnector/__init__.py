"""The Tesla Wall Connector Gen 3: local API client, models, power and energy."""

from __future__ import annotations

from .client import RetryPolicy, Timeouts, WallConnector, parse_host
from .energy import GEN3_MAX_POWER_W, ChargingSession, LifetimeEnergy, RejectedJump, SessionMonitor
from .models import EvseState, Lifetime, Version, Vitals, WifiStatus
from .monitor import UnitMonitor, UnitReading
from .power import ElectricalService, PowerCalculator, PowerReading, detect_service

__all__ = [
    "GEN3_MAX_POWER_W",
    "ChargingSession",
    "ElectricalService",
    "EvseState",
    "Lifetime",
    "LifetimeEnergy",
    "PowerCalculator",
    "PowerReading",
    "RejectedJump",
    "RetryPolicy",
    "SessionMonitor",
    "Timeouts",
    "UnitMonitor",
    "UnitReading",
    "Version",
    "Vitals",
    "WallConnector",
    "WifiStatus",
    "detect_service",
    "parse_host",
]
