"""The smaller read endpoints: nearby charging sites, service data, release notes, charge history.

Shapes follow what clients parse (TeslaPy's demo, loggers); values are generated from the car's
position, version and its own recorded charging sessions, so they are consistent with the rest
of the twin and replay identically.
"""

from __future__ import annotations

import hashlib
import time
from typing import TYPE_CHECKING, Any

from .routes import distance_m

if TYPE_CHECKING:
    from ..vehicle.car import Car

__all__ = ["charge_history", "nearby_charging_sites", "release_notes", "service_data"]

# (name, latitude offset, longitude offset, stalls) around the car; offsets in degrees.
_SUPERCHARGERS = (
    ("Simulated Plaza", 0.021, -0.018, 12),
    ("Loopback Center", -0.034, 0.027, 20),
    ("Seeded Station", 0.052, 0.044, 8),
    ("Twin Town Square", -0.071, -0.066, 16),
)
_DESTINATIONS = (
    ("Hotel Integration", 0.008, 0.011),
    ("Closed Form Cafe", -0.012, -0.006),
    ("Piecewise Mall", 0.017, -0.021),
    ("Lazy Library", -0.025, 0.019),
)
_MI_PER_M = 1 / 1609.344


def _stable(value: str, modulo: int) -> int:
    return int.from_bytes(hashlib.blake2b(value.encode(), digest_size=4).digest(), "big") % modulo


def nearby_charging_sites(car: Car, t: float) -> dict[str, Any]:
    lat, lon = car.location
    hour = int(t // 3600)
    superchargers = []
    for name, dlat, dlon, stalls in _SUPERCHARGERS:
        where = (lat + dlat, lon + dlon)
        busy = _stable(f"{car.vin}:{name}:{hour}", stalls + 1)
        superchargers.append(
            {
                "location": {"lat": round(where[0], 6), "long": round(where[1], 6)},
                "name": name,
                "type": "supercharger",
                "distance_miles": round(distance_m((lat, lon), where) * _MI_PER_M, 6),
                "available_stalls": stalls - busy,
                "total_stalls": stalls,
                "site_closed": False,
                "amenities": "restrooms,wifi,lodging",
                "billing_info": "",
            }
        )
    destinations = []
    for name, dlat, dlon in _DESTINATIONS:
        where = (lat + dlat, lon + dlon)
        destinations.append(
            {
                "location": {"lat": round(where[0], 6), "long": round(where[1], 6)},
                "name": name,
                "type": "destination",
                "distance_miles": round(distance_m((lat, lon), where) * _MI_PER_M, 6),
                "amenities": "restrooms,wifi",
            }
        )
    return {
        "congestion_sync_time_utc_secs": int(t) - int(t) % 300,
        "destination_charging": sorted(destinations, key=lambda s: s["distance_miles"]),
        "superchargers": sorted(superchargers, key=lambda s: s["distance_miles"]),
        "timestamp": int(t * 1000),
    }


def service_data(car: Car, t: float) -> dict[str, Any]:
    if not car.in_service:
        return {"service_status": "not_in_service"}
    done = time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime(t + 2 * 86_400))
    return {
        "service_status": "in_service",
        "service_etc": done,
        "service_visit_number": f"SV{_stable(car.vin, 10**8):08d}",
        "status_id": 8,
    }


def release_notes(car: Car, t: float) -> dict[str, Any]:
    version = car.car_version.split(" ", 1)[0]
    return {
        "release_notes": [
            {
                "title": "Simulated Improvements",
                "subtitle": "Smoother twin",
                "description": "This release makes the simulated car sleep, wake and charge like a real one.",
                "customer_version": version,
                "icon": "release_notes_icon",
                "image_url": "",
                "light_image_url": "",
            },
            {
                "title": "Minor Fixes",
                "subtitle": "",
                "description": "This release contains minor fixes and improvements.",
                "customer_version": version,
                "icon": "release_notes_icon",
                "image_url": "",
                "light_image_url": "",
            },
        ]
    }


def charge_history(car: Car, t: float) -> dict[str, Any]:
    """The car's recorded sessions as the app's history screen: totals and one point per session."""
    records = car.port.history
    home = sum(r.energy_kwh for r in records if r.kind == "home")
    supercharger = sum(r.energy_kwh for r in records if r.kind == "supercharger")
    points = [
        {
            "timestamp": {"timestamp": {"seconds": int(r.start)}, "display_value": ""},
            "values": [
                {"value": f"{r.energy_kwh:.0f}" if r.kind == "home" else "0", "after_adornment": "kWh"},
                {
                    "value": f"{r.energy_kwh:.0f}" if r.kind == "supercharger" else "0",
                    "after_adornment": "kWh",
                },
            ],
        }
        for r in records
    ]
    return {
        "screen_title": "Charging History",
        "total_charged": {
            "value": f"{home + supercharger:.0f}",
            "after_adornment": "kWh",
            "title": "Total Charged",
        },
        "total_charged_breakdown": {
            "home": {"value": f"{home:.0f}", "after_adornment": "kWh", "sub_title": "Home"},
            "supercharger": {
                "value": f"{supercharger:.0f}",
                "after_adornment": "kWh",
                "sub_title": "Supercharger",
            },
            "other": {"value": "0", "after_adornment": "kWh", "sub_title": "Other"},
        },
        "charging_history_graph": {
            "data_points": points,
            "period": {"start_timestamp": {"seconds": int(records[0].start) if records else int(t)}},
            "y_labels": [{"value": "kWh"}],
        },
        "charging_tips": [],
    }
