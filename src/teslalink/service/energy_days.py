"""An energy site's days: the site's calendar, and one `calendar_history` answer as a record.

Tesla counts a site's days in the site's own time zone (site_info's `installation_time_zone`),
and labels each day's `energy` entry with a local time on that day and the site's offset
(`2026-06-14T01:00:00-07:00`). So the service asks for one day by its last second in that zone
(`end_date` 23:59:59 with the day's offset, as Tesla's app sends it) and keeps only the entries
whose label is on that date: an answer that holds another day (a zone we guessed wrong, a
server that groups otherwise) is never recorded under the wrong date.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any, Final
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from .._convert import to_float
from .records import SiteEnergyDay

__all__ = ["FIELDS", "date_of", "day_end", "day_start", "energy_day", "local_date", "zone_named"]

FIELDS: Final[Mapping[str, tuple[str, ...]]] = {
    "solar_wh": ("solar_energy_exported",),
    "home_wh": (
        "consumer_energy_imported_from_grid",
        "consumer_energy_imported_from_solar",
        "consumer_energy_imported_from_battery",
        "consumer_energy_imported_from_generator",
    ),
    "grid_import_wh": ("grid_energy_imported",),
    "grid_export_wh": (
        "grid_energy_exported_from_solar",
        "grid_energy_exported_from_battery",
        "grid_energy_exported_from_generator",
    ),
    "battery_charge_wh": (
        "battery_energy_imported_from_grid",
        "battery_energy_imported_from_solar",
        "battery_energy_imported_from_generator",
    ),
    "battery_discharge_wh": ("battery_energy_exported",),
}
"""Each `SiteEnergyDay` figure and the `energy` entry's fields (Tesla's names) it sums. The
grid-services fields (energy a virtual power plant moved) are not the home's and are left out."""

UTC: Final = ZoneInfo("UTC")


def zone_named(name: str | None) -> ZoneInfo | None:
    """The IANA zone `name`, None when there is none or it is not a zone this machine knows."""
    if not name:
        return None
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return None


def local_date(t: float, zone: ZoneInfo) -> dt.date:
    """The date in `zone` at epoch seconds `t`."""
    return dt.datetime.fromtimestamp(t, zone).date()


def date_of(text: str | None, zone: ZoneInfo) -> dt.date | None:
    """The date in `zone` of an ISO time (site_info's installation_date; a time without an offset
    is the zone's), None when it is not one."""
    if not text:
        return None
    try:
        moment = dt.datetime.fromisoformat(text.strip())
    except ValueError:
        return None
    return (moment if moment.tzinfo else moment.replace(tzinfo=zone)).astimezone(zone).date()


def day_start(day: dt.date, zone: ZoneInfo) -> float:
    """Epoch seconds of local midnight starting `day` (a midnight a clock change skips is the
    instant after it, as zoneinfo reads a time that does not exist)."""
    return dt.datetime.combine(day, dt.time(0), tzinfo=zone).timestamp()


def day_end(day: dt.date, zone: ZoneInfo) -> str:
    """`day`'s last second in `zone` with its offset: `calendar_history`'s end_date for that day."""
    return dt.datetime.combine(day, dt.time(23, 59, 59), tzinfo=zone).isoformat()


def _label_date(entry: Mapping[str, Any]) -> dt.date | None:
    """The date an entry is labelled with, in the label's own offset (Tesla's: the site's)."""
    stamp = entry.get("timestamp")
    if not isinstance(stamp, str):
        return None
    try:
        return dt.datetime.fromisoformat(stamp.strip()).date()
    except ValueError:
        return None


def energy_day(
    site_id: str, day: dt.date, answer: Mapping[str, Any], site_name: str = ""
) -> SiteEnergyDay | None:
    """The day's record from a `calendar_history` kind `energy` answer, None when the answer has
    no entry labelled on `day` (the site had no data then, or the answer is of another day).

    Several entries on the day are added up; a figure none of whose fields is given is None."""
    series = answer.get("time_series")
    listed = series if isinstance(series, list) else []
    entries = [e for e in listed if isinstance(e, Mapping) and _label_date(e) == day]
    if not entries:
        return None
    totals: dict[str, float | None] = {}
    for name, sources in FIELDS.items():
        values = [to_float(entry.get(source)) for entry in entries for source in sources]
        given = [v for v in values if v is not None]
        totals[name] = sum(given) if given else None
    return SiteEnergyDay(site_id=site_id, day=day.isoformat(), site_name=site_name, **totals)
