"""Where a car drives: great-circle geometry, the speed profile of one drive, demo routes.

A drive follows a polyline of (latitude, longitude) points. Distances and headings are
great-circle (haversine on a sphere of mean Earth radius); points between vertices are
interpolated along the great circle. The speed profile is a trapezoid: accelerate at a constant
rate to the cruise speed, cruise, brake at the same rate to stop at the last point (a triangle
when the route is too short to reach cruise speed). Position, speed and acceleration are closed
functions of the time since departure, so a drive integrates lazily like everything else.

Elevation is a smooth made-up function of position: real enough for a stream, no map needed.
"""

from __future__ import annotations

import bisect
import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass

__all__ = [
    "DEMO_ROUTES",
    "EARTH_RADIUS_M",
    "DriveProfile",
    "Path",
    "bearing_deg",
    "distance_m",
    "elevation_m",
    "interpolate",
    "laps",
]

EARTH_RADIUS_M = 6_371_008.8
ACCEL_M_S2 = 2.0
"""Acceleration and braking of the simulated driver (a calm one)."""

Point = tuple[float, float]

DEMO_ROUTES: dict[str, tuple[Point, ...]] = {
    # A ~10 km loop around the default home in Fremont, CA, back to the start.
    "loop_10km": (
        (37.4925, -121.9447),
        (37.5150, -121.9447),
        (37.5150, -121.9730),
        (37.4925, -121.9730),
        (37.4925, -121.9447),
    ),
    # Home to the Tesla factory area and on to a Supercharger, ~14 km one way.
    "to_supercharger": (
        (37.4925, -121.9447),
        (37.5010, -121.9600),
        (37.5200, -121.9800),
        (37.5485, -121.9886),
    ),
    # A ~27 km commute north along the bay and back part of the way.
    "commute": (
        (37.4925, -121.9447),
        (37.5485, -121.9886),
        (37.6000, -122.0200),
        (37.6688, -122.0808),
    ),
}


def laps(route: Sequence[Point], count: int) -> tuple[Point, ...]:
    """`count` laps of a closed `route` (its last point is its first) as one polyline.

    A drive along it cruises through each lap's end rather than stopping there: this is how the
    demo's car keeps driving for as long as its battery lasts.
    """
    if count < 1:
        raise ValueError(f"laps needs a count of at least 1, got {count!r}")
    points = tuple(route)
    if len(points) < 2 or points[0] != points[-1]:
        raise ValueError("laps needs a closed route (its last point is its first)")
    return points + points[1:] * (count - 1)


def distance_m(a: Point, b: Point) -> float:
    """Great-circle distance between two points, in metres (haversine)."""
    lat1, lon1, lat2, lon2 = map(math.radians, (a[0], a[1], b[0], b[1]))
    h = math.sin((lat2 - lat1) / 2) ** 2
    h += math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(h)))


def bearing_deg(a: Point, b: Point) -> float:
    """Initial great-circle heading from `a` to `b`, degrees clockwise from north in [0, 360)."""
    lat1, lon1, lat2, lon2 = map(math.radians, (a[0], a[1], b[0], b[1]))
    y = math.sin(lon2 - lon1) * math.cos(lat2)
    x = math.cos(lat1) * math.sin(lat2) - math.sin(lat1) * math.cos(lat2) * math.cos(lon2 - lon1)
    return math.degrees(math.atan2(y, x)) % 360.0


def interpolate(a: Point, b: Point, fraction: float) -> Point:
    """The point `fraction` of the way from `a` to `b` along the great circle."""
    delta = distance_m(a, b) / EARTH_RADIUS_M
    if delta < 1e-12:
        return a
    lat1, lon1, lat2, lon2 = map(math.radians, (a[0], a[1], b[0], b[1]))
    wa = math.sin((1 - fraction) * delta) / math.sin(delta)
    wb = math.sin(fraction * delta) / math.sin(delta)
    x = wa * math.cos(lat1) * math.cos(lon1) + wb * math.cos(lat2) * math.cos(lon2)
    y = wa * math.cos(lat1) * math.sin(lon1) + wb * math.cos(lat2) * math.sin(lon2)
    z = wa * math.sin(lat1) + wb * math.sin(lat2)
    return math.degrees(math.atan2(z, math.hypot(x, y))), math.degrees(math.atan2(y, x))


def elevation_m(point: Point) -> float:
    """A smooth, made-up terrain height in metres (gentle hills a few km across)."""
    lat, lon = point
    return 40.0 + 25.0 * math.sin(lat * 90.0) * math.cos(lon * 70.0) + 12.0 * math.sin((lat + lon) * 230.0)


class Path:
    """A polyline with cumulative distances, for position and heading at a distance along it."""

    def __init__(self, points: Sequence[Point]) -> None:
        pts = [(float(lat), float(lon)) for lat, lon in points]
        if len(pts) < 2:
            raise ValueError("a route needs at least two points")
        for lat, lon in pts:
            if not (-90.0 <= lat <= 90.0 and -180.0 <= lon <= 180.0):
                raise ValueError(f"not a latitude/longitude pair: {(lat, lon)!r}")
        self.points = tuple(pts)
        cumulative = [0.0]
        for a, b in itertools.pairwise(pts):
            cumulative.append(cumulative[-1] + distance_m(a, b))
        self._cumulative = cumulative
        self.length_m = cumulative[-1]

    def _segment(self, s: float) -> tuple[int, float]:
        s = min(max(s, 0.0), self.length_m)
        i = min(bisect.bisect_right(self._cumulative, s) - 1, len(self.points) - 2)
        while i < len(self.points) - 2 and self._cumulative[i + 1] - self._cumulative[i] <= 0.0:
            i += 1
        seg = self._cumulative[i + 1] - self._cumulative[i]
        return i, (s - self._cumulative[i]) / seg if seg > 0 else 1.0

    def point_at(self, s: float) -> Point:
        """The position `s` metres along the path (clamped to its ends)."""
        i, f = self._segment(s)
        return interpolate(self.points[i], self.points[i + 1], f)

    def heading_at(self, s: float) -> float:
        """The heading of travel `s` metres along the path."""
        return self.pose_at(s)[1]

    def pose_at(self, s: float) -> tuple[Point, float]:
        """`point_at(s)` and `heading_at(s)` together, locating the segment once."""
        i, f = self._segment(s)
        start, end = self.points[i], self.points[i + 1]
        here = interpolate(start, end, f)
        if distance_m(here, end) < 0.5:
            return here, bearing_deg(start, end)
        return here, bearing_deg(here, end)


@dataclass(frozen=True, slots=True)
class DriveProfile:
    """A trapezoidal speed profile over `length_m`: accelerate, cruise, brake to a stop."""

    length_m: float
    cruise_m_s: float
    accel_m_s2: float = ACCEL_M_S2

    @property
    def peak_m_s(self) -> float:
        """The highest speed reached (below cruise when the route is short)."""
        return min(self.cruise_m_s, math.sqrt(self.accel_m_s2 * self.length_m))

    @property
    def _ramp_s(self) -> float:
        return self.peak_m_s / self.accel_m_s2

    @property
    def _cruise_s(self) -> float:
        peak = self.peak_m_s
        if peak <= 0:
            return 0.0
        ramp_m = peak * peak / self.accel_m_s2  # both ramps together
        return max(0.0, self.length_m - ramp_m) / peak

    @property
    def duration_s(self) -> float:
        return 2 * self._ramp_s + self._cruise_s

    def state(self, tau: float) -> tuple[float, float, float]:
        """(distance m, speed m/s, acceleration m/s²) `tau` seconds after departure."""
        a, peak, ramp, cruise = self.accel_m_s2, self.peak_m_s, self._ramp_s, self._cruise_s
        if tau <= 0:
            return 0.0, 0.0, 0.0
        if tau < ramp:
            return 0.5 * a * tau * tau, a * tau, a
        s_ramp = 0.5 * a * ramp * ramp
        if tau < ramp + cruise:
            return s_ramp + peak * (tau - ramp), peak, 0.0
        if tau < 2 * ramp + cruise:
            u = tau - ramp - cruise
            return s_ramp + peak * cruise + peak * u - 0.5 * a * u * u, peak - a * u, -a
        return self.length_m, 0.0, 0.0
