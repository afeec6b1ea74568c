"""An energy site's live status: one `SiteSample` per read (about a minute apart, the rate Tesla's
own app and Home Assistant use), and the site's status for /status.

No event is made from a site (none is in the issue's list); a failed read is the site's error
in /status and the next good one clears it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..events import DeviceKind, DeviceRef
from ..records import SiteSample
from .context import Context
from .figures import ms, one_line

if TYPE_CHECKING:
    from ...cloud.energy import EnergySite, LiveStatus

__all__ = ["site_read"]


def site_read(
    ctx: Context, site: EnergySite, status: LiveStatus | None, error: str | None, at: float
) -> None:
    at_ms = ms(at)
    ref = DeviceRef(DeviceKind.SITE, str(site.energy_site_id), site.label)
    shown = ctx.state.device(ref)
    if error is not None or status is None:
        shown.error = one_line(error or "no live status in the answer")
        shown.state = "offline"
        return
    shown.error = None
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
    shown.reading = {
        "solar_w": sample.solar_w,
        "load_w": sample.load_w,
        "grid_w": sample.grid_w,
        "battery_w": sample.battery_w,
        "battery_level": None if sample.battery_level is None else round(sample.battery_level, 1),
        "grid_status": sample.grid_status,
    }
