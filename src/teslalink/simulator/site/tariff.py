"""Time-of-use tariffs of an energy site: the default plan, validation, and which period is when.

A tariff is kept exactly as the owner sent it (the JSON `tariff_content` inside
`time_of_use_settings`), because `tariff_rate` answers it back. Its shape is the one the apps and
clients (TeslaPy's `create_tariff`) build: `seasons` maps a season name to its months
(`fromMonth`/`fromDay`/`toMonth`/`toDay`) and `tou_periods`, each period name (ON_PEAK,
PARTIAL_PEAK, OFF_PEAK, SUPER_OFF_PEAK) to a list of weekly windows
`{fromDayOfWeek, fromHour, fromMinute, toDayOfWeek, toHour, toMinute}`; prices are in
`energy_charges[season][period]`. A window whose end is 0:00 ends at midnight, and one whose end
is before its start wraps past midnight. Days of the week count from Monday = 0 in tariffs, while
the `tou_settings.schedule` in site_info counts from Sunday = 0 (as the apps show it).

Validation is deliberately rough, like the server's: the structure and the ranges, not the prices.
"""

from __future__ import annotations

import copy
import datetime as dt
import math
from typing import Any

__all__ = [
    "OPTIMIZATION_STRATEGIES",
    "PEAK_PERIODS",
    "PERIOD_NAMES",
    "TariffError",
    "default_tariff",
    "period_slots",
    "schedule",
    "validate_tou_settings",
]

PERIOD_NAMES = ("ON_PEAK", "PARTIAL_PEAK", "OFF_PEAK", "SUPER_OFF_PEAK")
PEAK_PERIODS = frozenset({"ON_PEAK", "PARTIAL_PEAK"})
"""Periods in which time-based control discharges the battery."""

OPTIMIZATION_STRATEGIES = ("economics", "balanced")
SLOTS_PER_DAY = 96  # quarter hours

_WINDOW_KEYS = ("fromDayOfWeek", "fromHour", "fromMinute", "toDayOfWeek", "toHour", "toMinute")
_LIMITS = {
    "fromDayOfWeek": 6,
    "toDayOfWeek": 6,
    "fromHour": 23,
    "toHour": 23,
    "fromMinute": 59,
    "toMinute": 59,
}
_TARGETS = {
    "ON_PEAK": "peak",
    "PARTIAL_PEAK": "partial_peak",
    "OFF_PEAK": "off_peak",
    "SUPER_OFF_PEAK": "super_off_peak",
}


class TariffError(ValueError):
    """The tou_settings sent are malformed; the message says where."""


def _window(from_h: int, to_h: int) -> dict[str, int]:
    return {
        "fromDayOfWeek": 0,
        "fromHour": from_h,
        "fromMinute": 0,
        "toDayOfWeek": 6,
        "toHour": to_h,
        "toMinute": 0,
    }


def default_tariff(utility: str = "Pacific Gas & Electric", plan: str = "E-TOU-C") -> dict[str, Any]:
    """A plain evening-peak plan (16:00-21:00 every day), what a new site starts with."""
    periods = {"ON_PEAK": [_window(16, 21)], "OFF_PEAK": [_window(21, 16)]}
    seasons = {
        "Summer": {"fromMonth": 6, "fromDay": 1, "toMonth": 9, "toDay": 30, "tou_periods": periods},
        "Winter": {"fromMonth": 10, "fromDay": 1, "toMonth": 5, "toDay": 31, "tou_periods": periods},
    }
    daily = [{"name": "Charge", "amount": 0}]
    demand = {"ALL": {"ALL": 0}, "Summer": {}, "Winter": {}}

    def charges(peak: float, off: float) -> dict[str, Any]:
        prices = {"ON_PEAK": peak, "OFF_PEAK": off}
        return {"ALL": {"ALL": 0}, "Summer": dict(prices), "Winter": dict(prices)}

    sell = {
        "name": plan,
        "utility": utility,
        "daily_charges": daily,
        "demand_charges": demand,
        "energy_charges": charges(0.08, 0.05),
        "seasons": copy.deepcopy(seasons),
    }
    return {
        "name": plan,
        "utility": utility,
        "daily_charges": copy.deepcopy(daily),
        "demand_charges": copy.deepcopy(demand),
        "energy_charges": charges(0.49, 0.38),
        "seasons": seasons,
        "sell_tariff": sell,
    }


# --- validation ---------------------------------------------------------------------------------


def _int_in(value: object, low: int, high: int, where: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise TariffError(f"{where} must be a number")
    if value != int(value) or not low <= value <= high:
        raise TariffError(f"{where} must be a whole number from {low} to {high}")
    return int(value)


def _check_tariff_content(content: object) -> None:
    if not isinstance(content, dict):
        raise TariffError("tariff_content must be an object")
    seasons = content.get("seasons")
    if not isinstance(seasons, dict) or not seasons:
        raise TariffError("tariff_content.seasons must be a non-empty object")
    if not isinstance(content.get("energy_charges"), dict):
        raise TariffError("tariff_content.energy_charges must be an object")
    usable = 0
    for name, season in seasons.items():
        where = f"tariff_content.seasons.{name}"
        if not isinstance(season, dict):
            raise TariffError(f"{where} must be an object")
        periods = season.get("tou_periods", {})
        if not isinstance(periods, dict):
            raise TariffError(f"{where}.tou_periods must be an object")
        if not periods:
            continue  # an unused season (TeslaPy sends an empty Winter)
        usable += 1
        _int_in(season.get("fromMonth"), 1, 12, f"{where}.fromMonth")
        _int_in(season.get("toMonth"), 1, 12, f"{where}.toMonth")
        _int_in(season.get("fromDay", 1), 1, 31, f"{where}.fromDay")
        _int_in(season.get("toDay", 31), 1, 31, f"{where}.toDay")
        for period, windows in periods.items():
            if period not in PERIOD_NAMES:
                raise TariffError(f"{where}.tou_periods: unknown period {period!r}")
            if not isinstance(windows, list):
                raise TariffError(f"{where}.tou_periods.{period} must be a list")
            for i, window in enumerate(windows):
                if not isinstance(window, dict):
                    raise TariffError(f"{where}.tou_periods.{period}[{i}] must be an object")
                for key in _WINDOW_KEYS:
                    _int_in(window.get(key), 0, _LIMITS[key], f"{where}.tou_periods.{period}[{i}].{key}")
    if not usable:
        raise TariffError("tariff_content needs at least one season with tou_periods")


def validate_tou_settings(tou_settings: object) -> tuple[dict[str, Any] | None, str | None]:
    """Check a `tou_settings` body; return (tariff_content or None, optimization_strategy or None).

    At least one of the two must be present. Raises TariffError with a message for the answer.
    """
    if not isinstance(tou_settings, dict):
        raise TariffError("tou_settings must be an object")
    content = tou_settings.get("tariff_content")
    strategy = tou_settings.get("optimization_strategy")
    if content is None and strategy is None:
        raise TariffError("tou_settings needs tariff_content or optimization_strategy")
    if strategy is not None and strategy not in OPTIMIZATION_STRATEGIES:
        raise TariffError(f"optimization_strategy must be one of {', '.join(OPTIMIZATION_STRATEGIES)}")
    tariff: dict[str, Any] | None = None
    if content is not None:
        _check_tariff_content(content)
        tariff = copy.deepcopy(dict(content))
    return tariff, None if strategy is None else str(strategy)


# --- which period is when -----------------------------------------------------------------------


def _season_of(tariff: dict[str, Any], date: dt.date) -> dict[str, Any] | None:
    key = (date.month, date.day)
    for season in tariff.get("seasons", {}).values():
        periods = season.get("tou_periods") if isinstance(season, dict) else None
        if not periods:
            continue
        start = (int(season["fromMonth"]), int(season.get("fromDay", 1)))
        end = (int(season["toMonth"]), int(season.get("toDay", 31)))
        inside = start <= key <= end if start <= end else (key >= start or key <= end)
        if inside:
            return dict(season)
    return None


def _day_in(weekday: int, first: int, last: int) -> bool:
    return first <= weekday <= last if first <= last else (weekday >= first or weekday <= last)


def _windows(season: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    return [(name, w) for name, windows in season["tou_periods"].items() for w in windows]


def period_slots(tariff: dict[str, Any], date: dt.date) -> list[str]:
    """The period name of each quarter hour of local `date` (OFF_PEAK where nothing matches)."""
    slots = ["OFF_PEAK"] * SLOTS_PER_DAY
    season = _season_of(tariff, date)
    if season is None:
        return slots
    weekday = date.weekday()  # Monday = 0, as tariffs count
    for name, w in _windows(season):
        if not _day_in(weekday, int(w["fromDayOfWeek"]), int(w["toDayOfWeek"])):
            continue
        start = (int(w["fromHour"]) * 60 + int(w["fromMinute"])) // 15
        end = (int(w["toHour"]) * 60 + int(w["toMinute"])) // 15 or SLOTS_PER_DAY
        span = range(start, end) if start < end else [*range(start, SLOTS_PER_DAY), *range(end)]
        for slot in span:
            slots[slot] = name
    return slots


def schedule(tariff: dict[str, Any], date: dt.date) -> list[dict[str, Any]]:
    """The `tou_settings.schedule` of site_info for the season `date` is in (Sunday = 0 there)."""
    season = _season_of(tariff, date)
    if season is None:
        return []
    out: list[dict[str, Any]] = []
    for name, w in _windows(season):
        first, last = int(w["fromDayOfWeek"]), int(w["toDayOfWeek"])
        days = [d for d in range(7) if _day_in(d, first, last)]
        out.append(
            {
                "target": _TARGETS[name],
                "week_days": sorted((d + 1) % 7 for d in days),
                "start_seconds": int(w["fromHour"]) * 3600 + int(w["fromMinute"]) * 60,
                "end_seconds": int(w["toHour"]) * 3600 + int(w["toMinute"]) * 60,
            }
        )
    return out
