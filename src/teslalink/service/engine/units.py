"""A Wall Connector's readings: plug and charging edges, its sessions, samples, alerts, outages and
its lifetime counter's rejected jumps.

`vehicle_connected` is the free, instant plug-in signal (research/control.md 5.1): an edge tells
`plugged_in` for the unit's configured car at once (`source` "wallconnector") and asks the
runner to read that car (`on_plug_edge`), which its job does only if the car is awake; the car
confirming it later is not a second event. The contactor's edges are charging's; the unit's
`SessionMonitor` (the library's, trusted) gives each plug-in's energy.

Samples (our choice, for the storage target): a `WallConnectorSample` at every change of
(vehicle_connected, contactor_closed, evse_state) and at most one a minute while the contactor
is closed; none while idle but for changes. A four-hour charge is ~240 rows (~20 KB in SQLite).

Offline: a unit is `wallconnector_offline` after `OFFLINE_AFTER_FAILURES` failed reads in a row
(research/control.md 9.15: "more than 3 failed polls"; 3-4 minutes at the idle rate), and
`wallconnector_online` at its next good reading; what changed meanwhile (a plug-in, an unplug)
is told at that reading.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Final

from ..events import DeviceRef, EventKind
from ..records import WallConnectorSample
from . import sessions
from .context import Context
from .figures import ms, one_line
from .plugs import check_grace, plug_in, unplug
from .tracks import PlugState, UnitTrack, WcSession

if TYPE_CHECKING:
    from ...wallconnector.energy import ChargingSession as UnitSession
    from ...wallconnector.models import Vitals
    from ...wallconnector.monitor import UnitMonitor, UnitReading

__all__ = ["OFFLINE_AFTER_FAILURES", "SAMPLE_EVERY_MS", "lifetime_read", "subject", "unit_read", "unit_tick"]

OFFLINE_AFTER_FAILURES: Final = 4
SAMPLE_EVERY_MS: Final = 60_000


def track_of(ctx: Context, name: str) -> UnitTrack:
    unit = ctx.units.get(name)
    if unit is None:
        settings = ctx.unit_settings.get(name)
        unit = ctx.units[name] = UnitTrack(name=name, car=None if settings is None else settings.car)
    return unit


def subject(ctx: Context, unit: UnitTrack) -> tuple[DeviceRef, PlugState]:
    """Whose plug the unit's edges are: its configured car's (shared with the car's own view),
    else the unit's own."""
    car = ctx.car_of_unit(unit)
    return (unit.ref, unit.plug) if car is None else (car.ref, car.plug)


def unit_read(ctx: Context, name: str, monitor: UnitMonitor, reading: UnitReading) -> UnitTrack:
    unit = track_of(ctx, name)
    at_ms = ms(reading.ts)
    vitals = reading.vitals
    if reading.error is not None or vitals is None:
        _failed(ctx, unit, at_ms, reading.error or "no vitals in the answer")
        return unit
    _back(ctx, unit, at_ms)
    _alerts(ctx, unit, vitals, at_ms)
    power = reading.power.total_w if reading.power is not None else None
    power_w = power if power is not None and math.isfinite(power) and power >= 0 else None

    was_connected, was_charging = unit.connected, unit.charging
    connected = vitals.vehicle_connected if vitals.vehicle_connected is not None else bool(was_connected)
    closed = vitals.contactor_closed if vitals.contactor_closed is not None else bool(was_charging)
    ended = reading.session_ended
    replugged = ended is not None and connected and bool(was_connected)
    progress = monitor.sessions.in_progress
    _plug_session(ctx, unit, ended, progress, at_ms, connected, closed and bool(was_charging))

    if was_connected is None:
        _first_sight(ctx, unit, connected, at_ms)
    else:
        if was_connected and (not connected or replugged):
            _unplugged(ctx, unit, at_ms, ended)
            was_charging = False
        if connected and (not was_connected or replugged):
            _plugged(ctx, unit, at_ms)
    if connected and closed and not was_charging:
        _charge_started(ctx, unit, at_ms, tell=was_connected is not None)
    elif connected and not closed and was_charging:
        _charge_paused(ctx, unit, at_ms)

    unit.connected, unit.charging, unit.evse_state = connected, closed, vitals.evse_state_code
    unit.last_ms = at_ms
    charge = ctx.charges.get(unit.charge_key or "")
    if charge is not None and progress is not None:
        if progress.energy_wh is not None:
            charge.energy_grid_wh = progress.energy_wh
        charge.power(power_w)
    _sample(ctx, unit, vitals, power_w, at_ms)
    ref, plug = subject(ctx, unit)
    check_grace(ctx, ref, plug, at_ms)
    _show(ctx, unit, vitals, power_w, at_ms)
    return unit


def lifetime_read(ctx: Context, name: str, monitor: UnitMonitor, at: float) -> None:
    """After a lifetime read: a newly rejected jump of the counter is an event (the library's
    `LifetimeEnergy` judged it impossible for the time elapsed)."""
    unit = track_of(ctx, name)
    life = monitor.lifetime
    count = life.rejected_jumps
    status = ctx.state.device(unit.ref)
    status.reading = {
        **status.reading,
        "lifetime_wh": round(life.total_wh),
        "rejected_wh": round(life.rejected_wh),
    }
    if unit.rejected_seen is None or count < unit.rejected_seen:
        unit.rejected_seen = count  # first sight, or a monitor that lost its state: a new baseline
        return
    if count == unit.rejected_seen:
        return
    unit.rejected_seen = count
    jump = life.last_rejected
    if jump is None:
        return
    ctx.event(
        EventKind.LIFETIME_JUMP_REJECTED,
        ms(jump.ts),
        unit.ref,
        f"{unit.name}: lifetime energy jumped by {jump.increase_wh / 1000.0:.1f} kWh; not counted",
        {
            "increase_wh": round(jump.increase_wh, 1),
            "allowed_wh": round(jump.allowed_wh, 1),
            "previous_wh": jump.previous_wh,
            "raw_wh": jump.raw_wh,
            "elapsed_s": round(jump.elapsed_s, 1),
            "rejected_total_wh": round(life.rejected_wh, 1),
            "rejected_jumps": count,
        },
    )


def unit_tick(ctx: Context, unit: UnitTrack, at_ms: int) -> None:
    if unit.car is None or ctx.car_of_unit(unit) is None:
        check_grace(ctx, unit.ref, unit.plug, at_ms)


# --- plug edges -------------------------------------------------------------------------------


def _first_sight(ctx: Context, unit: UnitTrack, connected: bool, at_ms: int) -> None:
    """The first reading since a start without saved state: what is plugged in is set, not told."""
    ref, plug = subject(ctx, unit)
    if connected and not plug.plugged:
        plug_in(ctx, ref, plug, at_ms, "wallconnector", unit=unit.name, tell=False)
    elif connected:
        plug.unit = plug.unit or unit.name
    elif plug.plugged is None:
        plug.plugged = False


def _plugged(ctx: Context, unit: UnitTrack, at_ms: int) -> None:
    car = ctx.car_of_unit(unit)
    ref, plug = subject(ctx, unit)
    if plug.plugged:  # the car said so first: no second event, and it needs no read
        plug.unit = unit.name
        return
    figures = {"serial": unit.serial, "car": unit.car if car is None else None}
    plug_in(ctx, ref, plug, at_ms, "wallconnector", unit=unit.name, figures=figures)
    ctx.ask_car(car.vin if car is not None else unit.car)


def _unplugged(ctx: Context, unit: UnitTrack, at_ms: int, ended: UnitSession | None) -> None:
    charge = ctx.charges.get(unit.charge_key or "")
    car = ctx.car_of_unit(unit)
    if charge is not None:
        if ended is not None and ended.energy_wh is not None:
            charge.energy_grid_wh = ended.energy_wh
        if ended is not None:
            charge.power(ended.peak_w)
        unit.charge_key = None
        sessions.side_unplugged(
            ctx, charge, "wallconnector", at_ms, sessions.device_of(ctx, charge), car.vin if car else None
        )
    ref, plug = subject(ctx, unit)
    if plug.plugged and (plug is unit.plug or plug.unit == unit.name):
        energy = None if ended is None or ended.energy_wh is None else round(ended.energy_wh, 1)
        unplug(ctx, ref, plug, at_ms, "wallconnector", figures={"serial": unit.serial, "energy_wh": energy})
    unit.foreign = False
    unit.plug = PlugState(plugged=False)


# --- charging edges ---------------------------------------------------------------------------


def _charge_started(ctx: Context, unit: UnitTrack, at_ms: int, *, tell: bool) -> None:
    car = ctx.car_of_unit(unit)
    _, plug = subject(ctx, unit)
    plug.charged = True
    charge = ctx.charges.get(unit.charge_key or "")
    if charge is None and car is not None:
        theirs = ctx.charges.get(car.charge_key or "")
        if theirs is not None and theirs.unit is None and not theirs.fast_charger and theirs.car_open:
            charge = theirs  # the car saw this session first: join it
    if charge is None:
        charge = sessions.open_charge(ctx, f"{unit.id}:{at_ms}", at_ms, None if car is None else car.vin)
        if car is not None:
            theirs = ctx.charges.get(car.charge_key or "")
            if theirs is None or not theirs.car_open:
                car.charge_key = charge.key
    charge.start_ms = min(charge.start_ms, at_ms)
    charge.unit, charge.serial = unit.name, unit.serial
    charge.unit_seen = charge.unit_open = True
    unit.charge_key = charge.key
    sessions.start(ctx, charge, at_ms, sessions.device_of(ctx, charge), tell=tell)


def _charge_paused(ctx: Context, unit: UnitTrack, at_ms: int) -> None:
    """The contactor opened with the cable in: complete, stopped or paused; the car knows which."""
    charge = ctx.charges.get(unit.charge_key or "")
    if charge is None:
        return
    car = ctx.car_of_unit(unit)
    if car is not None and charge.vin == car.vin:
        sessions.defer_stop(ctx, charge, at_ms, car.vin)
    else:
        sessions.stop(ctx, charge, at_ms, None, sessions.device_of(ctx, charge))


# --- the unit's own sessions and samples ------------------------------------------------------


def _plug_session(
    ctx: Context,
    unit: UnitTrack,
    ended: UnitSession | None,
    progress: UnitSession | None,
    at_ms: int,
    connected: bool,
    charged_since_last: bool,
) -> None:
    """The `WallConnectorSession` records: one per plug-in, keyed at first sight."""
    open_session = unit.session
    if ended is not None and open_session is not None:
        if ended.energy_wh is not None:
            open_session.energy_wh = ended.energy_wh
        if charged_since_last and unit.last_ms is not None:
            open_session.charging_s += max(0.0, (at_ms - unit.last_ms) / 1000.0)
        ctx.record(open_session.record(unit.id, end_ms=ms(ended.end) if ended.end is not None else at_ms))
        unit.session = open_session = None
    if progress is None:
        if open_session is not None and not connected:  # unplugged while nobody watched
            ctx.record(open_session.record(unit.id, end_ms=open_session.last_ms))
            unit.session = None
        return
    start_ms = ms(progress.start)
    if open_session is not None and start_ms > open_session.last_ms:  # unplugged and back meanwhile
        ctx.record(open_session.record(unit.id, end_ms=open_session.last_ms))
        unit.session = open_session = None
    car = ctx.car_of_unit(unit)
    if open_session is None:
        open_session = unit.session = WcSession(key=f"{unit.id}:{start_ms}", start_ms=start_ms, last_ms=at_ms)
        open_session.vin = None if car is None else car.vin
        open_session.energy_wh = progress.energy_wh
        ctx.record(open_session.record(unit.id))
    elif charged_since_last:
        open_session.charging_s += max(0.0, (at_ms - open_session.last_ms) / 1000.0)
    if progress.energy_wh is not None:
        open_session.energy_wh = progress.energy_wh
    open_session.last_ms = at_ms
    if car is not None:
        open_session.vin = car.vin


def _sample(ctx: Context, unit: UnitTrack, vitals: Vitals, power_w: float | None, at_ms: int) -> None:
    signature = [unit.connected, unit.charging, unit.evse_state]
    due = unit.charging and (unit.sample_ms is None or at_ms - unit.sample_ms >= SAMPLE_EVERY_MS)
    if signature == unit.sample_sig and not due:
        return
    unit.sample_ms, unit.sample_sig = at_ms, signature
    ctx.record(
        WallConnectorSample(
            serial=unit.id,
            at_ms=at_ms,
            vehicle_connected=unit.connected,
            contactor_closed=unit.charging,
            evse_state=unit.evse_state,
            power_w=power_w,
            vehicle_current_a=vitals.vehicle_current_a,
            grid_v=vitals.grid_voltage_v,
            grid_hz=vitals.grid_frequency_hz,
            session_energy_wh=vitals.session_energy_wh,
            handle_temp_c=vitals.handle_temp_c,
            pcba_temp_c=vitals.pcba_temp_c,
            mcu_temp_c=vitals.mcu_temp_c,
        )
    )
    if unit.session is not None:
        ctx.record(unit.session.record(unit.id))
    charge = ctx.charges.get(unit.charge_key or "")
    if charge is not None:
        sessions.send(ctx, charge, at_ms)


# --- alerts and outages -----------------------------------------------------------------------


def _alerts(ctx: Context, unit: UnitTrack, vitals: Vitals, at_ms: int) -> None:
    if vitals.current_alerts is None:  # a firmware that does not say: nothing is known to change
        return
    current = [str(alert) for alert in vitals.current_alerts]
    for alert in current:
        if alert not in unit.alerts:
            ctx.event(
                EventKind.WALLCONNECTOR_ALERT,
                at_ms,
                unit.ref,
                f"{unit.name}: alert {alert}",
                {"alert": alert, "alerts": len(current)},
            )
    unit.alerts = current


def _failed(ctx: Context, unit: UnitTrack, at_ms: int, error: str) -> None:
    unit.failures += 1
    if unit.failing_since_ms is None:
        unit.failing_since_ms = at_ms
    status = ctx.state.device(unit.ref)
    status.error = one_line(error)
    if unit.failures >= OFFLINE_AFTER_FAILURES and unit.offline_told_ms is None:
        unit.online = False
        unit.offline_told_ms = at_ms
        status.state = "offline"
        ctx.event(
            EventKind.WALLCONNECTOR_OFFLINE,
            at_ms,
            unit.ref,
            f"{unit.name} is offline ({unit.failures} failed reads)",
            {"failures": unit.failures, "since_ms": unit.failing_since_ms, "error": status.error},
        )


def _back(ctx: Context, unit: UnitTrack, at_ms: int) -> None:
    if unit.offline_told_ms is not None:
        since = unit.failing_since_ms if unit.failing_since_ms is not None else unit.offline_told_ms
        ctx.event(
            EventKind.WALLCONNECTOR_ONLINE,
            at_ms,
            unit.ref,
            f"{unit.name} is back online",
            {"offline_s": round((at_ms - since) / 1000.0, 1), "failures": unit.failures},
        )
    unit.online = True
    unit.failures = 0
    unit.failing_since_ms = unit.offline_told_ms = None
    ctx.state.device(unit.ref).error = None


def _show(ctx: Context, unit: UnitTrack, vitals: Vitals, power_w: float | None, at_ms: int) -> None:
    status = ctx.state.device(unit.ref)
    status.state = "online"
    status.last_reading_ms = at_ms
    status.reading = {
        **status.reading,
        "vehicle_connected": unit.connected,
        "contactor_closed": unit.charging,
        "evse_state": vitals.evse_state.name.lower() if vitals.evse_state_code is not None else None,
        "power_w": None if power_w is None else round(power_w),
        "session_energy_wh": vitals.session_energy_wh,
        "grid_v": vitals.grid_voltage_v,
        "alerts": list(unit.alerts),
    }
