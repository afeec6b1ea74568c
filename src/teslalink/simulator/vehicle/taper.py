"""DC fast charging: power as a function of state of charge, integrated in closed form.

A Supercharger session is limited by the car, not the stall: full power at low charge, then a
taper as the pack fills (the figures are a typical 250 kW car; a model with a lower peak scales
the curve). A stall or a V2 cabinet caps the power (``max_kw``), which flattens the top.

Power is piecewise linear in SOC, ``P(s) = P_i + k (s - s_i)`` on each band, and the pack follows
``ds/dt = 100 P / (3600 C)`` (s in %, P in kW, C in kWh, t in s). On a band with ``k != 0`` that
gives ``P(t) = P_a exp(k c t)``, so both the SOC after a time and the time to reach a SOC are
exact: a session of an hour costs a handful of operations however it is read.
"""

from __future__ import annotations

import itertools
import math

__all__ = ["TAPER_250_KW", "TaperCurve"]

TAPER_250_KW: tuple[tuple[float, float], ...] = (
    (0.0, 200.0),
    (10.0, 250.0),
    (28.0, 250.0),
    (40.0, 190.0),
    (50.0, 150.0),
    (60.0, 110.0),
    (70.0, 80.0),
    (80.0, 55.0),
    (90.0, 30.0),
    (100.0, 8.0),
)
"""(SOC %, kW) knots of a 250 kW car's charge curve."""


class TaperCurve:
    """The charge power of one car at one stall, by SOC."""

    def __init__(self, car_peak_kw: float, max_kw: float, capacity_kwh: float) -> None:
        if not (max_kw > 0 and car_peak_kw > 0 and capacity_kwh > 0):
            raise ValueError("peak power, stall power and capacity must be positive")
        scale = car_peak_kw / 250.0
        knots = [(s, p * scale) for s, p in TAPER_250_KW]
        self.knots = _clip(knots, max_kw)
        self.capacity_kwh = capacity_kwh
        self._c = 100.0 / (3600.0 * capacity_kwh)  # %/s per kW

    def power_kw(self, soc: float) -> float:
        """Charge power at `soc` percent."""
        soc = min(max(soc, 0.0), 100.0)
        for (s0, p0), (s1, p1) in zip(self.knots, self.knots[1:], strict=False):
            if soc <= s1:
                return p0 + (p1 - p0) * (soc - s0) / (s1 - s0)
        return self.knots[-1][1]

    def seconds_between(self, soc_from: float, soc_to: float) -> float:
        """How long charging from `soc_from` to `soc_to` takes (0 if already there)."""
        if soc_to <= soc_from:
            return 0.0
        total = 0.0
        for (s0, p0), (s1, p1) in zip(self.knots, self.knots[1:], strict=False):
            a, b = max(s0, soc_from), min(s1, soc_to)
            if b <= a:
                continue
            k = (p1 - p0) / (s1 - s0)
            pa, pb = p0 + k * (a - s0), p0 + k * (b - s0)
            total += (b - a) / (self._c * pa) if abs(k) < 1e-12 else math.log(pb / pa) / (k * self._c)
        return total

    def advance(self, soc: float, seconds: float) -> float:
        """The SOC after charging `seconds` from `soc` (never above 100)."""
        remaining = seconds
        for (s0, p0), (s1, p1) in zip(self.knots, self.knots[1:], strict=False):
            if soc >= s1 or remaining <= 0:
                continue
            k = (p1 - p0) / (s1 - s0)
            pa = p0 + k * (soc - s0)
            band_s = self.seconds_between(soc, s1)
            if band_s > remaining:
                if abs(k) < 1e-12:
                    return soc + self._c * pa * remaining
                return soc + (pa * math.exp(k * self._c * remaining) - pa) / k
            remaining -= band_s
            soc = s1
        return min(soc, 100.0)


def _clip(knots: list[tuple[float, float]], cap: float) -> list[tuple[float, float]]:
    """min(curve, cap) as knots, with a knot wherever the curve crosses the cap."""
    out: list[tuple[float, float]] = []
    for (s0, p0), (s1, p1) in itertools.pairwise(knots):
        out.append((s0, min(p0, cap)))
        if (p0 - cap) * (p1 - cap) < 0:
            s = s0 + (cap - p0) * (s1 - s0) / (p1 - p0)
            out.append((s, cap))
    out.append((knots[-1][0], min(knots[-1][1], cap)))
    return out
