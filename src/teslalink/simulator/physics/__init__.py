"""Physical models behind the twins: the rules live here, the HTTP layers only format them."""

from __future__ import annotations

from .charger import ChargerPhysics, EvseState, LifetimeCounters, Measurement
from .grid import GRIDS, GridSpec, Wiring

__all__ = ["GRIDS", "ChargerPhysics", "EvseState", "GridSpec", "LifetimeCounters", "Measurement", "Wiring"]
