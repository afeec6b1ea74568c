"""What an energy site lives in: the sun, the weather and the household's load.

These are the inputs of the site's physics, not its state: pure functions of the location, the
world time and seeded draws, so they cost nothing to keep and replay identically. The site asks
for one UTC hour at a time (`Environment.hour`) and gets the raw solar power and the house load of
each `STEP_S` step in it, constant within the step, which is what lets the battery be integrated
exactly (see .energy_site).

* Sun: elevation from the latitude, the declination and the equation of time of the local day
  (the usual textbook approximations, good to a fraction of a degree), so the output is zero at
  night, peaks around solar noon and is lower in winter.
* Weather: one cloud cover per local day, a moving average of seeded draws (so bad weather lasts
  a day or two), cloudier in winter; each hour and each step wobble around it. A few days a year
  are storms (overcast, and what the Storm Watch forecast looks for).
* Load: a typical daily profile (low at night, a morning bump, an evening peak), scaled per site
  and per day (season, weekend, random), with seeded noise per step and short appliance spikes.

Draws come from `..noise.SampledNoise` keyed by purpose and indexed by the local day or the UTC
hour, never from a shared stream: reading any hour in any order gives the same numbers.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from ..noise import SampledNoise

__all__ = ["STEPS_PER_HOUR", "STEP_S", "DayWeather", "Environment", "local_date"]

STEP_S = 300
"""Solar power and load are constant within each step of this many world seconds (UTC-aligned)."""

STEPS_PER_HOUR = 3600 // STEP_S

_EPOCH_ORDINAL = dt.date(1970, 1, 1).toordinal()
_DEG = math.pi / 180.0
_YEAR_D = 365.2422

# Relative household load by local hour (interpolated linearly in between), normalised to mean 1.
_PROFILE_RAW = (
    0.55, 0.50, 0.48, 0.47, 0.48, 0.55, 0.80, 1.15, 1.10, 0.90, 0.80, 0.78,
    0.80, 0.80, 0.82, 0.90, 1.10, 1.45, 1.75, 1.80, 1.65, 1.40, 1.05, 0.75,
)  # fmt: skip
_PROFILE = tuple(v * len(_PROFILE_RAW) / sum(_PROFILE_RAW) for v in _PROFILE_RAW)
# Chance per step of an appliance spike (kettle, oven, dryer) by local hour.
_SPIKE_CHANCE = (
    0.01, 0.01, 0.01, 0.01, 0.01, 0.02, 0.06, 0.10, 0.08, 0.06, 0.05, 0.06,
    0.08, 0.05, 0.05, 0.05, 0.06, 0.10, 0.14, 0.14, 0.10, 0.07, 0.04, 0.02,
)  # fmt: skip
_SPIKE_MEAN_W = 2_200.0
# A tilted array under a clear sky: this share of nameplate (inverter, heat, soiling losses), falling
# off slowly at low sun: about 1,600 kWh per kWp a year in the Bay Area with its weather.
_PV_DERATE = 0.80
_PV_SHAPE = 0.42
_STEPS_PER_DAY = 86_400 // STEP_S


def _step_table() -> tuple[tuple[float, float], ...]:
    """(profile, spike chance) at the middle of each step of a local day."""
    table = []
    for step in range(_STEPS_PER_DAY):
        local_h = (step + 0.5) * STEP_S / 3600.0
        i = int(local_h)
        profile = _PROFILE[i] + (_PROFILE[(i + 1) % 24] - _PROFILE[i]) * (local_h - i)
        table.append((profile, _SPIKE_CHANCE[i]))
    return tuple(table)


_STEP_TABLE = _step_table()
_SPIKE_ENERGY_PER_DAY_WH = sum(_SPIKE_CHANCE) * STEPS_PER_HOUR * _SPIKE_MEAN_W * STEP_S / 3600.0


def local_date(day: int) -> dt.date:
    """The calendar date of local day number `day` (days since 1970-01-01 in local time)."""
    return dt.date.fromordinal(_EPOCH_ORDINAL + day)


@dataclass(frozen=True, slots=True)
class DayWeather:
    """One local day's weather and household habits."""

    day: int
    cloud_cover: float  # 0 clear .. 1 overcast
    storm: bool
    load_factor: float  # multiplies the site's typical load (season, weekend, chance)
    sin_decl: float
    cos_decl: float
    eot_h: float  # equation of time, hours


class Environment:
    """Sun, weather and load at one place; deterministic in (keys, time)."""

    def __init__(
        self,
        *,
        latitude: float,
        longitude: float,
        time_zone: ZoneInfo,
        solar_w: float,
        daily_load_wh: float,
        weather_key: str,
        load_key: str,
    ) -> None:
        if not -90.0 <= latitude <= 90.0 or not -180.0 <= longitude <= 180.0:
            raise ValueError(f"not a location: ({latitude!r}, {longitude!r})")
        self.latitude = latitude
        self.longitude = longitude
        self.time_zone = time_zone
        self.solar_w = float(solar_w)
        self._sin_lat = math.sin(latitude * _DEG)
        self._cos_lat = math.cos(latitude * _DEG)
        self._season_shift = 182.6 if latitude < 0 else 0.0  # the southern winter is in July
        # The spikes add energy of their own; the smooth profile carries the rest.
        self._base_w = max(daily_load_wh - _SPIKE_ENERGY_PER_DAY_WH, 0.3 * daily_load_wh) / 24.0
        self._weather_noise = SampledNoise(weather_key, normals=0, uniforms=5)
        self._hour_noise = SampledNoise(load_key, normals=0, uniforms=1 + 3 * STEPS_PER_HOUR)
        self._offsets: dict[int, int] = {}
        self._days: dict[int, DayWeather] = {}
        # Scenario overrides (None: the seeded weather and habits). Our choice: an override is
        # exact (no hourly or per-step wobble, no appliance spikes), so a test gets what it set.
        self.cloud_cover_override: float | None = None
        self.load_override_w: float | None = None

    # --- local time ------------------------------------------------------------------------------

    def utc_offset(self, t: float) -> int:
        """The site's UTC offset in seconds at world time `t` (cached per UTC hour)."""
        hour = math.floor(t / 3600.0)
        offset = self._offsets.get(hour)
        if offset is None:
            if len(self._offsets) > 4096:
                self._offsets.clear()
            moment = dt.datetime.fromtimestamp(hour * 3600.0, dt.UTC).astimezone(self.time_zone)
            delta = moment.utcoffset()
            offset = self._offsets[hour] = int(delta.total_seconds()) if delta is not None else 0
        return offset

    def local_day(self, t: float) -> int:
        """The local day number (days since 1970-01-01, local time) world time `t` falls in."""
        return math.floor((t + self.utc_offset(t)) / 86_400.0)

    def day_start(self, day: int) -> float:
        """World time of local midnight starting local day `day`."""
        date = local_date(day)
        return dt.datetime(date.year, date.month, date.day, tzinfo=self.time_zone).timestamp()

    # --- weather ---------------------------------------------------------------------------------

    def day_weather(self, day: int) -> DayWeather:
        """The weather of local day `day` (cached)."""
        weather = self._days.get(day)
        if weather is None:
            if len(self._days) > 64:
                self._days.clear()
            weather = self._days[day] = self._make_day(day)
        return weather

    def _make_day(self, day: int) -> DayWeather:
        u0 = self._weather_noise.draw(day).u
        u1 = self._weather_noise.draw(day - 1).u[0]
        u2 = self._weather_noise.draw(day - 2).u[0]
        date = local_date(day)
        doy = date.timetuple().tm_yday
        season_doy = doy + self._season_shift
        winter = 0.5 * (1.0 + math.cos(2.0 * math.pi * (season_doy - 15.0) / _YEAR_D))
        mean_cloud = 0.15 + 0.35 * winter
        raw = 0.5 * u0[0] + 0.3 * u1 + 0.2 * u2
        cloud = min(1.0, max(0.0, mean_cloud + (raw - 0.5) * 1.6))
        storm = u0[1] < 0.004 + 0.03 * winter
        if storm:
            cloud = max(cloud, 0.92)
        hvac = 1.0 + 0.15 * math.cos(4.0 * math.pi * (season_doy - 20.0) / _YEAR_D)
        weekend = 1.08 if date.weekday() >= 5 else 1.0
        load_factor = hvac * weekend * (0.88 + 0.24 * u0[2])
        # Declination (Cooper) and equation of time (Spencer-style, minutes), per local day.
        decl = 23.44 * _DEG * math.sin(2.0 * math.pi * (284 + doy) / 365.0)
        b = 2.0 * math.pi * (doy - 81) / 364.0
        eot_min = 9.87 * math.sin(2.0 * b) - 7.53 * math.cos(b) - 1.5 * math.sin(b)
        return DayWeather(
            day=day,
            cloud_cover=cloud,
            storm=storm,
            load_factor=load_factor,
            sin_decl=math.sin(decl),
            cos_decl=math.cos(decl),
            eot_h=eot_min / 60.0,
        )

    # --- the sun -----------------------------------------------------------------------------------

    def sun_elevation_sin(self, t: float, weather: DayWeather | None = None) -> float:
        """sin(elevation) of the sun at world time `t` (negative at night)."""
        if weather is None:
            weather = self.day_weather(self.local_day(t))
        solar_hour = (t % 86_400.0) / 3600.0 + self.longitude / 15.0 + weather.eot_h
        hour_angle = (solar_hour - 12.0) * 15.0 * _DEG
        return self._sin_lat * weather.sin_decl + self._cos_lat * weather.cos_decl * math.cos(hour_angle)

    @staticmethod
    def clear_sky_fraction(sin_elevation: float) -> float:
        """Share of nameplate a tilted array makes under a clear sky (inverter losses included)."""
        if sin_elevation <= 0.0:
            return 0.0
        return _PV_DERATE * -math.expm1(-sin_elevation / _PV_SHAPE)

    # --- one hour of inputs ------------------------------------------------------------------------

    def hour(self, hour: int) -> tuple[list[float], list[float]]:
        """Raw solar power and house load (W) of each step of UTC hour `hour` (epoch hours).

        Each step's value is taken at its middle, so the step-wise integral tracks the smooth curve.
        This runs once per world hour integrated, so it avoids per-step lookups it can hoist.
        """
        start = hour * 3600
        offset = self.utc_offset(start)
        u = self._hour_noise.draw(hour).u
        weather = self.day_weather((start + offset) // 86_400)
        n = STEPS_PER_HOUR
        solar = [0.0] * n
        if self.solar_w > 0.0:
            a = self._sin_lat * weather.sin_decl
            b = self._cos_lat * weather.cos_decl
            angle0 = ((start % 86_400) / 3600.0 + self.longitude / 15.0 + weather.eot_h - 12.0) * 15.0 * _DEG
            # Within half an hour of the middle, cos(hour angle) moves by less than sin(7.5°) < 0.131.
            if a + b * math.cos(angle0 + 7.5 * _DEG) > -0.131 * b:
                cloud_hour = min(1.0, max(0.0, weather.cloud_cover + 0.3 * (u[0] - 0.5)))
                fixed_cloud = self.cloud_cover_override
                peak = self.solar_w * _PV_DERATE
                step_angle = STEP_S / 240.0 * _DEG  # 15° per hour
                for j in range(n):
                    sin_el = a + b * math.cos(angle0 + (j + 0.5) * step_angle)
                    if sin_el > 0.0:
                        cloud = cloud_hour * (0.75 + 0.5 * u[1 + j])
                        cloud = 1.0 if cloud > 1.0 else cloud
                        cloud = cloud if fixed_cloud is None else fixed_cloud
                        solar[j] = peak * -math.expm1(-sin_el / _PV_SHAPE) * (1.0 - 0.78 * cloud)
        if self.load_override_w is not None:
            return solar, [self.load_override_w] * n
        base_w = self._base_w * weather.load_factor
        first = ((start + offset) % 86_400) // STEP_S
        load = []
        for j in range(n):
            profile, chance = _STEP_TABLE[(first + j) % _STEPS_PER_DAY]
            watts = base_w * profile * (0.85 + 0.3 * u[1 + n + j])
            trigger = u[1 + 2 * n + j]
            if trigger < chance:  # the trigger, rescaled, is a fresh uniform for the spike's size
                watts += _SPIKE_MEAN_W * (0.4 + 1.2 * trigger / chance)
            load.append(watts if watts > 80.0 else 80.0)
        return solar, load
