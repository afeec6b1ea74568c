"""The engine's arithmetic: times in ms, the API's miles in km, a drive's energy, distances.

The cloud sends distances in miles whatever the car's display shows (`VehicleData`), and the
service's records are metric (`_km`, `_kmh`, `_wh`); every conversion happens here, once.
"""

from __future__ import annotations

import math
from typing import Final

from ...cloud.vehicle_data import KM_PER_MILE
from .._lines import one_line

__all__ = [
    "DEFAULT_RATED_WH_PER_KM",
    "RATED_WH_PER_KM",
    "distance_m",
    "drive_energy_wh",
    "km",
    "kmh",
    "model_of",
    "ms",
    "one_line",
    "wh",
]

RATED_WH_PER_KM: Final = {"3": 130.0, "Y": 141.0, "S": 146.0, "X": 170.0}
"""Battery energy per km of *rated* range, by the model letter of the VIN (position 4).

The API gives no pack energy, only the rated range left (`battery_range`, two decimals of a
mile), so a drive's energy is its rated range drop times this. Our choice: each model's usable
pack divided by its EPA rated range, from the makers' published figures of the long-range
versions (Model 3 75 kWh / 358 mi, Y 75 / 330, S 95 / 405, X 95 / 348). TeslaMate learns the
figure from the car's charges instead (research/loggers.md 1.3); a table is right to a few per
cent for the common trims and needs no history.
"""

DEFAULT_RATED_WH_PER_KM: Final = 140.0
"""For a VIN whose model letter is not in the table (our choice: the middle of the table)."""


def ms(at: float) -> int:
    """Epoch seconds (a float) as the records' integer epoch milliseconds."""
    return round(at * 1000.0)


def km(miles: float | None) -> float | None:
    return None if miles is None else miles * KM_PER_MILE


def kmh(mph: float | None) -> float | None:
    return None if mph is None else mph * KM_PER_MILE


def wh(kwh: float | None) -> float | None:
    return None if kwh is None else kwh * 1000.0


def model_of(vin: str) -> str | None:
    """The model letter of a 17-character VIN ("3", "Y", "S", "X"), else None."""
    return vin[3].upper() if len(vin) == 17 else None


def drive_energy_wh(
    vin: str,
    start_range_km: float | None,
    end_range_km: float | None,
) -> float | None:
    """The battery energy a drive used, estimated from its rated range drop (our choice, see
    `RATED_WH_PER_KM`); None when a range is unknown. A rise (regeneration downhill) reads 0."""
    if start_range_km is None or end_range_km is None:
        return None
    per_km = RATED_WH_PER_KM.get(model_of(vin) or "", DEFAULT_RATED_WH_PER_KM)
    return max(0.0, start_range_km - end_range_km) * per_km


_EARTH_RADIUS_M: Final = 6_371_008.8


def distance_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance (haversine), in metres."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2.0) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2.0) ** 2
    return 2.0 * _EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(a)))
