"""An energy site's records and the history endpoints that read them.

The site's integrator adds every energy flow into the open 15-minute bucket (`EnergyLedger.acc`);
when the clock moves into the next bucket it is closed: kept as is for the last `retain_days`
(what the power graphs and the `power` kind need, at the 15-minute resolution Tesla answers with)
and added into its local day's totals, which are kept forever (a few hundred floats a year).
Weeks, months, years and the lifetime are sums of days at query time. Memory grows by ten floats
a world day, and a year of world time costs one bucket close per 15 minutes.

The queries follow what clients see from Tesla:

* `calendar_history` kind `energy` answers one entry per constituent sub-period (periods day, week
  and month: days; year: months; lifetime: years) of the calendar period that contains `end_date`
  (weeks run Sunday to Saturday), or of `start_date`..`end_date` when a start is given; a day
  counts whole (today: so far), and nothing is later than now. Entries are labelled 01:00 local
  time of their first day, as the real service labels them; `time_zone` is checked but, as
  there, changes nothing.
* kind `power`: the average power of each 15-minute bucket from the start of the day of
  `end_date` (or of `start_date`) to `end_date`, labelled at the bucket start; the period is
  ignored, as by the real service. Buckets older than `retain_days` are gone.
* kind `self_consumption`: per sub-period, the share of the home's energy that came from solar and
  from the battery, in percent.
* kind `backup`: the grid outages overlapping the period, `duration` in seconds.
* the older `history` endpoint: power from yesterday's midnight to now; energy for yesterday and
  today (day), the 7 days before today (week), the 4 Sunday-to-Saturday weeks before this one,
  labelled by their Saturday (month), the 12 months before this one (year).

All values are watt-hours (energy) and watts (power), as floats.
"""

from __future__ import annotations

import datetime as dt
import math
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from operator import add
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from .errors import SiteRequestError
from .solar import Environment, local_date

__all__ = [
    "BUCKET_S",
    "ENERGY_FIELDS",
    "HISTORY_KINDS",
    "PERIODS",
    "BackupEvent",
    "EnergyLedger",
    "HistoryQuery",
    "energy_by_name",
]

BUCKET_S = 900
"""Resolution of the kept records and of the `power` history (15 minutes)."""

# Indexes into a record; every record is a list or tuple of these ten energies in Wh.
SOLAR, GRID_IN, GRID_OUT_SOLAR, GRID_OUT_BATTERY, BATTERY_OUT = 0, 1, 2, 3, 4
BATTERY_IN_GRID, BATTERY_IN_SOLAR, HOME_GRID, HOME_SOLAR, HOME_BATTERY = 5, 6, 7, 8, 9
N_FIELDS = 10

ENERGY_FIELDS = (
    "solar_energy_exported",
    "generator_energy_exported",
    "grid_energy_imported",
    "grid_services_energy_imported",
    "grid_services_energy_exported",
    "grid_energy_exported_from_solar",
    "grid_energy_exported_from_generator",
    "grid_energy_exported_from_battery",
    "battery_energy_exported",
    "battery_energy_imported_from_grid",
    "battery_energy_imported_from_solar",
    "battery_energy_imported_from_generator",
    "consumer_energy_imported_from_grid",
    "consumer_energy_imported_from_solar",
    "consumer_energy_imported_from_battery",
    "consumer_energy_imported_from_generator",
)
"""The fields of one `energy` entry, in the order Tesla sends them."""

_FIELD_SOURCE = {
    "solar_energy_exported": SOLAR,
    "grid_energy_imported": GRID_IN,
    "grid_energy_exported_from_solar": GRID_OUT_SOLAR,
    "grid_energy_exported_from_battery": GRID_OUT_BATTERY,
    "battery_energy_exported": BATTERY_OUT,
    "battery_energy_imported_from_grid": BATTERY_IN_GRID,
    "battery_energy_imported_from_solar": BATTERY_IN_SOLAR,
    "consumer_energy_imported_from_grid": HOME_GRID,
    "consumer_energy_imported_from_solar": HOME_SOLAR,
    "consumer_energy_imported_from_battery": HOME_BATTERY,
}
_ENERGY_LAYOUT = tuple((name, _FIELD_SOURCE.get(name)) for name in ENERGY_FIELDS)

HISTORY_KINDS = ("energy", "power", "self_consumption", "backup")
PERIODS = ("day", "week", "month", "year", "lifetime")


@dataclass(slots=True)
class BackupEvent:
    """One grid outage: `end` is None while it lasts."""

    start: float
    end: float | None = None


class EnergyLedger:
    """15-minute buckets for the recent past, daily totals forever, and the outages."""

    __slots__ = ("_day_of", "acc", "day", "days", "events", "index", "lifetime", "recent", "start_t")

    def __init__(self, day_of: Callable[[float], int], t0: float, retain_days: int = 35) -> None:
        self._day_of = day_of
        self.start_t = t0
        self.index = math.floor(t0 / BUCKET_S)
        self.day = day_of(self.index * BUCKET_S)
        self.acc = [0.0] * N_FIELDS
        self.recent: deque[tuple[int, tuple[float, ...]]] = deque(maxlen=retain_days * 96)
        self.days: dict[int, list[float]] = {}
        self.lifetime = [0.0] * N_FIELDS
        self.events: list[BackupEvent] = []

    def roll(self, index: int, day: int) -> None:
        """Close the open bucket and open bucket `index` of local day `day` (the integrator's call)."""
        values = tuple(self.acc)
        self.recent.append((self.index, values))
        total = self.days.get(self.day)
        self.days[self.day] = list(values) if total is None else list(map(add, total, values))
        self.lifetime = list(map(add, self.lifetime, values))
        self.index = index
        self.day = day
        self.acc = [0.0] * N_FIELDS

    @property
    def first_day(self) -> int:
        return self._day_of(self.start_t)

    def day_total(self, day: int) -> list[float]:
        """Energies of local day `day` so far (the open bucket included)."""
        total = list(self.days.get(day, (0.0,) * N_FIELDS))
        if self.day == day:
            for i, v in enumerate(self.acc):
                total[i] += v
        return total

    def lifetime_total(self) -> list[float]:
        """Every energy since the site's records began (the open bucket included)."""
        return [a + b for a, b in zip(self.lifetime, self.acc, strict=True)]

    def buckets(self, first: int, last: int) -> Iterable[tuple[int, tuple[float, ...]]]:
        """Kept buckets with first <= index <= last, the open one included, oldest first."""
        for index, values in self.recent:
            if first <= index <= last:
                yield index, values
        if first <= self.index <= last:
            yield self.index, tuple(self.acc)


# --- queries ----------------------------------------------------------------------------------------


def _check_zone(name: str | None) -> None:
    if name is None or name == "":
        return
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise SiteRequestError(400, f"invalid time_zone {name!r}") from exc


def energy_by_name(values: list[float]) -> dict[str, float]:
    """A record's energies under their calendar_history names (Wh, unrounded; generator 0)."""
    return {name: 0.0 if source is None else values[source] for name, source in _ENERGY_LAYOUT}


def _energy_entry(timestamp: str, values: list[float]) -> dict[str, Any]:
    entry: dict[str, Any] = {"timestamp": timestamp}
    for name, source in _ENERGY_LAYOUT:
        entry[name] = 0 if source is None else round(values[source], 3)
    return entry


def _self_consumption_entry(timestamp: str, values: list[float]) -> dict[str, Any]:
    home = values[HOME_GRID] + values[HOME_SOLAR] + values[HOME_BATTERY]
    if home <= 0.0:
        return {"timestamp": timestamp, "solar": 0, "battery": 0}
    return {
        "timestamp": timestamp,
        "solar": round(100.0 * values[HOME_SOLAR] / home, 2),
        "battery": round(100.0 * values[HOME_BATTERY] / home, 2),
    }


def _add(into: list[float], values: Iterable[float]) -> None:
    for i, v in enumerate(values):
        into[i] += v


class HistoryQuery:
    """Answers `calendar_history` and `history` from one ledger, at world time `now`."""

    def __init__(self, ledger: EnergyLedger, env: Environment, now: float, serial: str, tz_name: str) -> None:
        self.ledger = ledger
        self.env = env
        self.now = now
        self.serial = serial
        self.tz_name = tz_name

    # --- helpers -----------------------------------------------------------------------------------

    def iso(self, t: float) -> str:
        return dt.datetime.fromtimestamp(t, self.env.time_zone).isoformat(timespec="seconds")

    def label(self, date: dt.date) -> str:
        """01:00 local on `date`, how Tesla labels energy entries."""
        return dt.datetime(date.year, date.month, date.day, 1, tzinfo=self.env.time_zone).isoformat(
            timespec="seconds"
        )

    def parse(self, text: str | None, what: str) -> float | None:
        if text is None or text == "":
            return None
        try:
            moment = dt.datetime.fromisoformat(text.strip())
        except (TypeError, ValueError) as exc:
            raise SiteRequestError(400, f"invalid {what} {text!r}") from exc
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=self.env.time_zone)
        return moment.timestamp()

    def day_of(self, t: float) -> int:
        return self.env.local_day(t)

    def _days(self, first: int, last: int) -> range:
        """Days with records (the site's first day to today), clipped to first..last."""
        return range(max(first, self.ledger.first_day), min(last, self.day_of(self.now)) + 1)

    def _first_day(self, period: str, end_day: int) -> int:
        """The first day of the calendar `period` that local day `end_day` is in."""
        date = local_date(end_day)
        if period == "day":
            return end_day
        if period == "week":  # Sunday to Saturday
            return end_day - (date.weekday() + 1) % 7
        if period == "month":
            return end_day - (date.day - 1)
        if period == "year":
            return end_day - (date.timetuple().tm_yday - 1)
        return self.ledger.first_day

    def _grouped(self, days: range, unit: str) -> list[tuple[dt.date, list[float]]]:
        """Energies summed per `unit` (day, month, year), keyed by the unit's first date."""
        groups: dict[dt.date, list[float]] = {}
        for day in days:
            date = local_date(day)
            if unit == "month":
                date = date.replace(day=1)
            elif unit == "year":
                date = date.replace(month=1, day=1)
            total = groups.get(date)
            if total is None:
                total = groups[date] = [0.0] * N_FIELDS
            _add(total, self.ledger.day_total(day))
        return list(groups.items())

    def _window(
        self, period: str | None, start_date: str | None, end_date: str | None
    ) -> tuple[float, float, int, int, str]:
        """(start time, end time, first day, last day, sub-unit) of a calendar request."""
        end = self.parse(end_date, "end_date")
        end = self.now if end is None else min(end, self.now)
        start = self.parse(start_date, "start_date")
        period = period or "day"
        if period not in PERIODS:
            raise SiteRequestError(400, f"invalid period {period!r}; expected one of {', '.join(PERIODS)}")
        end_day = self.day_of(end)
        if start is not None:
            if start > end:
                raise SiteRequestError(400, "start_date is after end_date")
            first_day = self.day_of(start)
        else:
            first_day = self._first_day(period, end_day)
            start = self.env.day_start(first_day)
        unit = {"year": "month", "lifetime": "year"}.get(period, "day")
        return start, end, first_day, end_day, unit

    # --- calendar_history ----------------------------------------------------------------------------

    def calendar_history(
        self,
        kind: str,
        period: str | None,
        start_date: str | None = None,
        end_date: str | None = None,
        time_zone: str | None = None,
    ) -> dict[str, Any]:
        if kind not in HISTORY_KINDS:
            raise SiteRequestError(400, f"invalid kind {kind!r}; expected one of {', '.join(HISTORY_KINDS)}")
        _check_zone(time_zone)
        if kind == "power":  # always a day, whatever the period says
            start, end, first_day, last_day, _ = self._window("day", start_date, end_date)
            return {
                "serial_number": self.serial,
                "installation_time_zone": self.tz_name,
                "time_series": self._power_series(self.env.day_start(first_day), end),
            }
        start, end, first_day, last_day, unit = self._window(period, start_date, end_date)
        if kind == "backup":
            return self._backup(start, end)
        groups = self._grouped(self._days(first_day, last_day), unit)
        if kind == "self_consumption":
            return {
                "period": period or "day",
                "time_series": [_self_consumption_entry(self.label(d), v) for d, v in groups],
            }
        return {
            "serial_number": self.serial,
            "period": period or "day",
            "installation_time_zone": self.tz_name,
            "time_zone_offset": self.env.utc_offset(end) // 60,
            "time_series": [_energy_entry(self.label(d), v) for d, v in groups],
        }

    def _power_series(self, start: float, end: float) -> list[dict[str, Any]]:
        first, last = math.floor(start / BUCKET_S), math.ceil(end / BUCKET_S) - 1
        series: list[dict[str, Any]] = []
        for index, v in self.ledger.buckets(first, last):
            t0 = index * BUCKET_S
            covered = min(self.now, t0 + BUCKET_S) - max(self.ledger.start_t, t0)
            if covered <= 0.0:
                continue
            k = 3600.0 / covered
            charge = v[BATTERY_IN_GRID] + v[BATTERY_IN_SOLAR]
            exported = v[GRID_OUT_SOLAR] + v[GRID_OUT_BATTERY]
            series.append(
                {
                    "timestamp": self.iso(t0),
                    "solar_power": round(v[SOLAR] * k, 3),
                    "battery_power": round((v[BATTERY_OUT] - charge) * k, 3),
                    "grid_power": round((v[GRID_IN] - exported) * k, 3),
                    "grid_services_power": 0,
                    "generator_power": 0,
                }
            )
        return series

    def _backup(self, start: float, end: float) -> dict[str, Any]:
        events = []
        for event in self.ledger.events:
            stop = self.now if event.end is None else event.end
            if stop >= start and event.start <= end:
                events.append({"timestamp": self.iso(event.start), "duration": round(stop - event.start)})
        return {"events": events, "total_events": len(events)}

    # --- the older history endpoint ----------------------------------------------------------------

    def history(self, kind: str, period: str | None) -> dict[str, Any]:
        if kind not in HISTORY_KINDS:
            raise SiteRequestError(400, f"invalid kind {kind!r}; expected one of {', '.join(HISTORY_KINDS)}")
        today = self.day_of(self.now)
        if kind == "power":
            series = self._power_series(self.env.day_start(today - 1), self.now)
            return {"serial_number": self.serial, "time_series": series}
        if period is None or period == "":
            raise SiteRequestError(400, "period is required")
        if period not in PERIODS:
            raise SiteRequestError(400, f"invalid period {period!r}; expected one of {', '.join(PERIODS)}")
        if kind == "backup":
            return self._backup(self.env.day_start(self._first_day(period, today)), self.now)
        groups = self._history_groups(period, today)
        make = _self_consumption_entry if kind == "self_consumption" else _energy_entry
        series = [make(self.label(date), values) for date, values in groups]
        if kind == "self_consumption":
            return {"period": period, "time_series": series}
        return {"serial_number": self.serial, "period": period, "time_series": series}

    def _history_groups(self, period: str, today: int) -> list[tuple[dt.date, list[float]]]:
        if period == "day":
            return self._grouped(self._days(today - 1, today), "day")
        if period == "week":
            return self._grouped(self._days(today - 7, today - 1), "day")
        if period == "month":  # four Sunday-to-Saturday weeks before this one, by their Saturday
            this_sunday = today - (local_date(today).weekday() + 1) % 7
            out: list[tuple[dt.date, list[float]]] = []
            for week in range(4, 0, -1):
                sunday = this_sunday - 7 * week
                total = [0.0] * N_FIELDS
                for _, values in self._grouped(self._days(sunday, sunday + 6), "day"):
                    _add(total, values)
                out.append((local_date(sunday + 6), total))
            return out
        if period == "year":
            date = local_date(today)
            months = date.year * 12 + date.month - 1 - 12
            first = dt.date(months // 12, months % 12 + 1, 1)
            first_day = first.toordinal() - local_date(0).toordinal()
            this_month = today - (date.day - 1)
            return self._grouped(self._days(first_day, this_month - 1), "month")
        return self._grouped(self._days(self.ledger.first_day, today), "year")
