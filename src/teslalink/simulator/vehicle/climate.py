"""Outside weather and the cabin: temperatures as closed functions of world time.

Outside temperature follows the local solar day: a mean that depends on latitude, a swing of a
few degrees, warmest mid-afternoon (or a fixed value set by a scenario). The cabin is a
first-order thermal mass: with climate on it approaches the setpoint within minutes; with climate
off it soaks toward the outside plus some solar gain by day, over about half an hour. A
first-order lag toward a sinusoid has an exact solution, so a day of world time is integrated in
one step, however the car is read.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

__all__ = ["Cabin", "ClimateSettings", "Weather"]

_DAY_S = 86_400.0
_OMEGA = 2.0 * math.pi / _DAY_S
TAU_ON_S = 300.0
TAU_DEFROST_S = 200.0
TAU_OFF_S = 1_800.0
MIN_TEMP_C = 15.0
MAX_TEMP_C = 28.0
SOLAR_GAIN_MEAN_C = 3.0
SOLAR_GAIN_SWING_C = 4.0


@dataclass(slots=True)
class Weather:
    """Outside temperature at a place; `fixed_c` (a scenario knob) overrides the daily curve."""

    latitude: float
    local_offset_s: float
    swing_c: float = 6.0
    peak_hour: float = 15.0
    fixed_c: float | None = None

    @property
    def mean_c(self) -> float:
        return 27.0 - 0.35 * abs(self.latitude)

    def _phase(self) -> float:
        # cos(OMEGA * t + phase) peaks at local peak_hour
        return _OMEGA * (self.local_offset_s - self.peak_hour * 3600.0)

    def outside_c(self, t: float) -> float:
        if self.fixed_c is not None:
            return self.fixed_c
        return self.mean_c + self.swing_c * math.cos(_OMEGA * t + self._phase())

    def soak_target(self) -> tuple[float, float, float]:
        """(A, B, phase): the cabin's resting temperature A + B cos(OMEGA t + phase)."""
        if self.fixed_c is not None:
            return self.fixed_c, 0.0, 0.0
        return self.mean_c + SOLAR_GAIN_MEAN_C, self.swing_c + SOLAR_GAIN_SWING_C, self._phase()


@dataclass(slots=True)
class ClimateSettings:
    """What the driver set: the climate_state block's inputs."""

    on: bool = False
    preconditioning: bool = False
    defrost: bool = False
    driver_c: float = 21.0
    passenger_c: float = 21.0
    keeper_mode: str = "off"  # off, on, dog, camp
    seat_heaters: dict[int, int] = field(default_factory=lambda: dict.fromkeys(range(6), 0))
    steering_wheel_heater: bool = False
    cabin_overheat_protection: str = "On"  # On, Off, FanOnly
    bioweapon_mode: bool = False


@dataclass(slots=True)
class Cabin:
    """The inside temperature, relaxed exactly between events."""

    inside_c: float

    def integrate(self, t0: float, t1: float, settings: ClimateSettings, weather: Weather) -> None:
        dt = t1 - t0
        if dt <= 0:
            return
        if settings.on:
            target = MAX_TEMP_C if settings.defrost else settings.driver_c
            tau = TAU_DEFROST_S if settings.defrost else TAU_ON_S
            self.inside_c = target + (self.inside_c - target) * math.exp(-dt / tau)
            return
        a, b, phase = weather.soak_target()
        self.inside_c = _relax_to_sinusoid(self.inside_c, t0, t1, a, b, phase, TAU_OFF_S)


def _relax_to_sinusoid(
    x0: float, t0: float, t1: float, a: float, b: float, phase: float, tau: float
) -> float:
    """x' = (a + b cos(w t + phase) - x) / tau from x(t0) = x0, evaluated at t1 (exact)."""
    wt = _OMEGA * tau
    gain = b / (1.0 + wt * wt)

    def particular(t: float) -> float:
        angle = _OMEGA * t + phase
        return a + gain * (math.cos(angle) + wt * math.sin(angle))

    return particular(t1) + (x0 - particular(t0)) * math.exp(-(t1 - t0) / tau)
