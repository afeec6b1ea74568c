"""An energy site: its live status (one `SiteSample` per read, every few minutes) and its daily
energies (one `SiteEnergyDay` per day, read once a day), and the site's status for /status.

No event is made from a site (none is in the issue's list). The status shows both jobs' figures
side by side: the live flows, and the newest whole day's totals under `day_...` keys. Each job's
problem is its own: a failed live read is the site's error and state `offline` until the next
good one; a failed history read is the site's error (prefixed "energy history:") until the next
history read that works.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from ..events import DeviceKind, DeviceRef
from ..records import SiteEnergyDay, SiteSample
from .context import Context
from .figures import ms, one_line
from .tracks import SiteTrack

if TYPE_CHECKING:
    from ...cloud.energy import EnergySite, LiveStatus

__all__ = ["site_history", "site_read"]


def _ref(site: EnergySite) -> DeviceRef:
    return DeviceRef(DeviceKind.SITE, str(site.energy_site_id), site.label)


def _track(ctx: Context, ref: DeviceRef) -> SiteTrack:
    track = ctx.sites.get(ref.id)
    if track is None:
        track = ctx.sites[ref.id] = SiteTrack()
    return track


def _show(ctx: Context, ref: DeviceRef, track: SiteTrack) -> None:
    shown = ctx.state.device(ref)
    shown.reading = {**track.live, **track.day}
    problems = [track.live_error] if track.live_error else []
    if track.history_error:
        problems.append(f"energy history: {track.history_error}")
    shown.error = "; ".join(problems) if problems else None


def site_read(
    ctx: Context, site: EnergySite, status: LiveStatus | None, error: str | None, at: float
) -> None:
    at_ms = ms(at)
    ref = _ref(site)
    track = _track(ctx, ref)
    shown = ctx.state.device(ref)
    if error is not None or status is None:
        track.live_error = one_line(error or "no live status in the answer")
        shown.state = "offline"
        _show(ctx, ref, track)
        return
    track.live_error = None
    shown.state = "online"
    shown.last_reading_ms = at_ms
    sample = SiteSample(
        site_id=ref.id,
        at_ms=at_ms,
        solar_w=status.solar_power_w,
        load_w=status.load_power_w,
        grid_w=status.grid_power_w,
        battery_w=status.battery_power_w,
        battery_level=status.percentage_charged,
        grid_status=status.grid_status,
    )
    ctx.record(sample)
    track.live = {
        "solar_w": sample.solar_w,
        "load_w": sample.load_w,
        "grid_w": sample.grid_w,
        "battery_w": sample.battery_w,
        "battery_level": None if sample.battery_level is None else round(sample.battery_level, 1),
        "grid_status": sample.grid_status,
    }
    _show(ctx, ref, track)


def site_history(ctx: Context, site: EnergySite, days: Sequence[SiteEnergyDay], error: str | None) -> None:
    """Hand on each day (the recorder upserts it by site and day) and show the newest one's
    totals; `error` is the history's problem until its next read that works."""
    ref = _ref(site)
    track = _track(ctx, ref)
    for day in days:
        ctx.record(day)
    newest = max(days, key=lambda d: d.day, default=None)
    if newest is not None and newest.day >= str(track.day.get("day", "")):
        track.day = {
            "day": newest.day,
            "day_solar_wh": _rounded(newest.solar_wh),
            "day_home_wh": _rounded(newest.home_wh),
            "day_grid_import_wh": _rounded(newest.grid_import_wh),
            "day_grid_export_wh": _rounded(newest.grid_export_wh),
            "day_battery_charge_wh": _rounded(newest.battery_charge_wh),
            "day_battery_discharge_wh": _rounded(newest.battery_discharge_wh),
        }
    track.history_error = None if error is None else one_line(error)
    _show(ctx, ref, track)


def _rounded(wh: float | None) -> float | None:
    return None if wh is None else round(wh, 1)
