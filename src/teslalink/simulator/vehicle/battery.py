"""The traction battery: stored energy, the charge limit, and what range they mean.

Energy is the one state; the percentages and ranges the API shows are derived from it, so they
can never disagree. Range is rated range (the API's `battery_range` and `ideal_battery_range`,
always in miles) scaled by the state of charge; the estimated range applies the car's recent
efficiency against rated, as the car's own estimate does.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

__all__ = ["CHARGE_LIMIT_MAX", "CHARGE_LIMIT_MIN", "CHARGE_LIMIT_STD", "Battery"]

CHARGE_LIMIT_MIN = 50
CHARGE_LIMIT_MAX = 100
CHARGE_LIMIT_STD = 90
EST_RANGE_FACTOR = 0.8
"""Estimated over rated range: the car's estimate from recent driving."""


@dataclass(slots=True)
class Battery:
    capacity_kwh: float
    energy_kwh: float
    limit_soc: int
    rated_range_mi: float

    @property
    def soc(self) -> float:
        """State of charge in percent (not rounded)."""
        return 100.0 * self.energy_kwh / self.capacity_kwh

    @soc.setter
    def soc(self, percent: float) -> None:
        self.energy_kwh = min(max(percent, 0.0), 100.0) * self.capacity_kwh / 100.0

    @property
    def level(self) -> int:
        """battery_level as the API shows it: whole percent, halves rounded up."""
        return max(0, min(100, math.floor(self.soc + 0.5)))

    @property
    def limit_kwh(self) -> float:
        return self.limit_soc * self.capacity_kwh / 100.0

    @property
    def at_limit(self) -> bool:
        """Full to the charge limit (within a rounding error of the integration)."""
        return self.energy_kwh >= self.limit_kwh - 1e-6

    @property
    def range_mi(self) -> float:
        return self.rated_range_mi * self.soc / 100.0

    @property
    def est_range_mi(self) -> float:
        return self.range_mi * EST_RANGE_FACTOR

    @property
    def wh_per_mi(self) -> float:
        """Rated consumption: the energy one mile of `range_mi` stands for."""
        return self.capacity_kwh * 1000.0 / self.rated_range_mi

    def add(self, kwh: float) -> None:
        """Add (or with a negative value, take) energy, within [0, capacity]."""
        self.energy_kwh = min(max(self.energy_kwh + kwh, 0.0), self.capacity_kwh)
