"""Software updates, media (a user must be in the car), navigation and the car's name."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from ..state import Media
from .base import COMMANDS, EXTRAS, OK, Call, Handler, Result, command, get, guarded, number

if TYPE_CHECKING:
    from ...vehicle.car import Car


# --- software ---------------------------------------------------------------------------------


@command("schedule_software_update")
@guarded
def schedule_software_update(car: Car, call: Call) -> Result:
    offset = number(call, "offset_sec")
    sw = car.software
    if offset < 0:
        return False, "invalid_value"
    if sw.status not in ("available", "scheduled"):
        return False, "no_update_available"
    sw.status, sw.scheduled_at = "scheduled", call.t + offset
    return OK


def _schedule_extras(car: Car, t: float) -> dict[str, Any]:
    sw = car.software
    at = sw.scheduled_at if sw.scheduled_at is not None else t
    return {
        "expected_duration_sec": sw.expected_duration_s,
        "scheduled_time_ms": int(at * 1000),
        "status": sw.status,
        "warning_time_remaining_ms": int(min(sw.WARNING_S, max(0.0, at - t)) * 1000),
    }


EXTRAS["schedule_software_update"] = _schedule_extras


@command("cancel_software_update")
def cancel_software_update(car: Car, call: Call) -> Result:
    sw = car.software
    if sw.status != "scheduled":
        return False, "no_update_scheduled"
    sw.status, sw.scheduled_at = "available", None
    return OK


# --- media (a user must be in the car) --------------------------------------------------------


def _media(step: Callable[[Media], None]) -> Handler:
    def run(car: Car, call: Call) -> Result:
        if not car.is_user_present:
            return False, "user_not_present"
        step(car.media)
        return OK

    return run


def _toggle(m: Media) -> None:
    m.playing = not m.playing


def _next_track(m: Media) -> None:
    m.track = (m.track + 1) % len(Media.TRACKS)


def _prev_track(m: Media) -> None:
    m.track = (m.track - 1) % len(Media.TRACKS)


def _next_fav(m: Media) -> None:
    m.favorite = (m.favorite + 1) % len(Media.STATIONS)


def _prev_fav(m: Media) -> None:
    m.favorite = (m.favorite - 1) % len(Media.STATIONS)


def _volume_up(m: Media) -> None:
    m.volume = min(Media.VOLUME_MAX, m.volume + Media.VOLUME_STEP)


def _volume_down(m: Media) -> None:
    m.volume = max(0.0, m.volume - Media.VOLUME_STEP)


COMMANDS.update(
    media_toggle_playback=_media(_toggle),
    media_next_track=_media(_next_track),
    media_prev_track=_media(_prev_track),
    media_next_fav=_media(_next_fav),
    media_prev_fav=_media(_prev_fav),
    media_volume_up=_media(_volume_up),
    media_volume_down=_media(_volume_down),
)


@command("adjust_volume")
@guarded
def adjust_volume(car: Car, call: Call) -> Result:
    volume = number(call, "volume")
    if not car.is_user_present:
        return False, "user_not_present"
    if not 0 <= volume <= Media.VOLUME_MAX:
        return False, "invalid_value"
    car.media.volume = volume
    return OK


# --- navigation and naming --------------------------------------------------------------------


@command("navigation_request", "share")
@guarded
def navigation_request(car: Car, call: Call) -> Result:
    """Share a destination (the app's "share" of an address or a place)."""
    value = get(call, "value")
    if isinstance(value, Mapping):
        text = str(value.get("android.intent.extra.TEXT", "")).strip()
    else:
        text = str(value).strip()
    if not text:
        return False, "invalid_value"
    car.navigation = {"destination": text, "requested_at": call.t}
    return OK


@command("set_vehicle_name")
@guarded
def set_vehicle_name(car: Car, call: Call) -> Result:
    name = str(get(call, "vehicle_name")).strip()
    if not name:
        return False, "invalid_value"
    car.display_name = name
    return OK
