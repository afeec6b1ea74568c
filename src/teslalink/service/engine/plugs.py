"""Plugged in, unplugged, and plugged in but not charging: told once, whoever sees it first.

A plug-in has two witnesses. The Wall Connector's `vehicle_connected` is free, local and read
every minute or faster; the car's `charging_state` costs a billed read and only an awake car
answers. The first to see it tells `plugged_in` (with `source` saying which); the other
confirming it is no news. The state is kept on the car when the config names the car of the unit
(so both witnesses share it), else on the unit itself.

`plugged_in_not_charging` fires once per plug-in, when `EngineSettings.plugged_in_grace_s` has
passed since the plug-in and charging was never seen; not when the car says Complete (nothing
left to charge). Our choice: once per plug-in, like TeslaWatch's one reminder per arrival
(research/control.md 5.3); a stop later in the session is `charging_stopped`'s news.
"""

from __future__ import annotations

from collections.abc import Mapping

from ..events import DeviceRef, EventKind, Figure
from .context import Context
from .tracks import PlugState

__all__ = ["check_grace", "plug_in", "unplug"]


def plug_in(
    ctx: Context,
    device: DeviceRef,
    plug: PlugState,
    at_ms: int,
    source: str,
    *,
    unit: str | None = None,
    tell: bool = True,
    figures: Mapping[str, Figure] | None = None,
) -> None:
    """A plug-in seen by `source` ("car" or "wallconnector"); told unless `tell` is False (first sight)."""
    plug.open(at_ms, source, unit)
    if not tell:
        return
    where = f" at {unit}" if unit else ""
    ctx.event(
        EventKind.PLUGGED_IN,
        at_ms,
        device,
        f"{device.label} plugged in{where}",
        {"source": source, "wallconnector": unit, **(figures or {})},
    )


def unplug(
    ctx: Context,
    device: DeviceRef,
    plug: PlugState,
    at_ms: int,
    source: str,
    *,
    figures: Mapping[str, Figure] | None = None,
) -> None:
    """The cable is out (seen by `source`); told once: the other side's later view is no news."""
    if not plug.plugged:
        plug.plugged = False
        return
    since, unit = plug.since_ms, plug.unit
    plug.close()
    where = f" from {unit}" if unit else ""
    ctx.event(
        EventKind.UNPLUGGED,
        at_ms,
        device,
        f"{device.label} unplugged{where}",
        {
            "source": source,
            "wallconnector": unit,
            "plugged_s": None if since is None else round((at_ms - since) / 1000.0, 1),
            **(figures or {}),
        },
    )


def check_grace(ctx: Context, device: DeviceRef, plug: PlugState, at_ms: int) -> None:
    """Tell `plugged_in_not_charging` once the grace has passed without charging (from a reading
    or from the runner's `tick`, so it fires even while nothing is read)."""
    if not plug.plugged or plug.charged or plug.complete or plug.grace_fired or plug.since_ms is None:
        return
    waited_s = (at_ms - plug.since_ms) / 1000.0
    if waited_s < ctx.settings.plugged_in_grace_s:
        return
    plug.grace_fired = True
    where = f" at {plug.unit}" if plug.unit else ""
    ctx.event(
        EventKind.PLUGGED_IN_NOT_CHARGING,
        at_ms,
        device,
        f"{device.label} is plugged in{where} but not charging ({waited_s / 60.0:.0f} min)",
        {"plugged_s": round(waited_s, 1), "source": plug.source, "wallconnector": plug.unit},
    )
