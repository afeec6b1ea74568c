"""A car's readings: its state spans and sleep/online/offline events, its plug and charging as the
car sees them, its drives, its software updates.

The states are TeslaMate's (research/loggers.md 1.2): the summary's online, asleep and offline,
and, while online, driving (in gear), charging (charge_state Charging or Starting) and updating
(an update installing); one `StateSpan` is open per car and the next closes it. A car resting
(awake, left alone so it can sleep: its data is not read) keeps the span it had.

Events on the summary's edges: `car_asleep`, `car_offline`, `car_online` (from asleep or offline).
The first reading after a start without saved state opens the spans and sessions it finds but
tells nothing: the service did not see those edges happen.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Final

from ..._convert import to_nearest_int
from ...cloud.watcher import CarActivity
from ..events import EventKind
from ..records import CarState, ChargeSample, StateSpan
from . import sessions
from .context import Context
from .drives import OFFLINE_TIMEOUT_MS, Fix, end_drive, start_drive, take
from .figures import km, ms, one_line, wh
from .plugs import check_grace, plug_in, unplug
from .tracks import CarTrack, OpenCharge, Span, UnitTrack

if TYPE_CHECKING:
    from ...cloud.stream_models import StreamUpdate
    from ...cloud.vehicle_data import VehicleData
    from ...cloud.watcher import CarWatcher, PollResult

__all__ = ["ACTIVE_CHARGING", "car_polled", "car_streamed", "car_tick", "track_of"]

ACTIVE_CHARGING: Final = frozenset({"Charging", "Starting"})
STOP_REASONS: Final = {"Complete": "complete", "Stopped": "stopped", "NoPower": "no_power"}
_SUMMARY_EVENTS: Final = {
    "asleep": (EventKind.CAR_ASLEEP, "fell asleep"),
    "offline": (EventKind.CAR_OFFLINE, "is offline"),
    "online": (EventKind.CAR_ONLINE, "is online"),
}


def track_of(ctx: Context, watcher: CarWatcher) -> CarTrack:
    """The car's track, made at first sight; keyed by VIN (the API id when a summary lacks one)."""
    vin = watcher.vehicle.vin or watcher.vehicle.id_s
    car = ctx.cars.get(vin)
    if car is None:
        car = ctx.cars[vin] = CarTrack(vin=vin, name=watcher.vehicle.display_name)
        ctx.cars_changed()
    elif watcher.vehicle.display_name and watcher.vehicle.display_name != car.name:
        car.name = watcher.vehicle.display_name
        ctx.cars_changed()
    return car


def car_polled(ctx: Context, watcher: CarWatcher, result: PollResult, at: float) -> CarTrack:
    at_ms = ms(at)
    car = track_of(ctx, watcher)
    status = ctx.state.device(car.ref)
    if result.error is not None:
        status.error = one_line(result.error)
        return car
    status.error = None
    status.last_reading_ms = at_ms
    data = watcher.data if result.read_data else None
    fix = None if data is None else Fix.of_data(data, at_ms)
    activity = result.activity
    if data is not None:
        if data.battery_level is not None:
            car.battery_level = float(data.battery_level)
        _software(ctx, car, data, at_ms)
        _charging(ctx, car, data, at_ms)
    woke = watcher.online_since
    _driving(ctx, car, activity, fix, at_ms, None if woke is None else ms(woke))
    if fix is not None and activity is not CarActivity.DRIVING and car.drive is None:
        car.parked = fix.parked()
    new_state = _span_state(ctx, car, activity, data)
    if new_state is not None:
        set_span(ctx, car, new_state, at_ms)
    _summary(ctx, car, watcher.state, at_ms)
    check_grace(ctx, car.ref, car.plug, at_ms)
    _show(ctx, car, activity, data)
    return car


def car_streamed(ctx: Context, watcher: CarWatcher, update: StreamUpdate) -> None:
    """A streamed update (the runner passes this as `CarWatcher.on_update`): a drive's positions."""
    car = ctx.cars.get(watcher.vehicle.vin or watcher.vehicle.id_s)
    if car is not None and car.drive is not None:
        take(ctx, car, Fix.of_update(update))


def car_tick(ctx: Context, car: CarTrack, at_ms: int) -> None:
    check_grace(ctx, car.ref, car.plug, at_ms)
    drive = car.drive
    if (
        drive is not None
        and drive.offline_since_ms is not None
        and at_ms - drive.offline_since_ms >= OFFLINE_TIMEOUT_MS
    ):
        end_drive(ctx, car, drive.last_ms or drive.offline_since_ms, why="offline")


# --- state spans and summary events -----------------------------------------------------------


def set_span(ctx: Context, car: CarTrack, state: CarState, at_ms: int) -> None:
    span = car.span
    if span is not None and span.state == state.value:
        return
    if span is not None:
        ctx.record(StateSpan(span.key, car.vin, CarState(span.state), span.start_ms, at_ms))
    car.span = Span(f"{car.vin}:{at_ms}", state.value, at_ms)
    ctx.record(StateSpan(car.span.key, car.vin, state, at_ms))


def _span_state(
    ctx: Context, car: CarTrack, activity: CarActivity, data: VehicleData | None
) -> CarState | None:
    if activity is CarActivity.UNKNOWN:
        return None
    if activity in (CarActivity.ASLEEP, CarActivity.OFFLINE, CarActivity.DRIVING):
        return CarState(activity.value)
    if car.updating:
        return CarState.UPDATING
    if data is not None:
        charging = data.charging_state in ACTIVE_CHARGING
    else:  # resting: not read; a session a Wall Connector meters for it still counts
        charge = ctx.charges.get(car.charge_key or "")
        charging = charge is not None and charge.active
    return CarState.CHARGING if charging else CarState.ONLINE


def _summary(ctx: Context, car: CarTrack, summary: str, at_ms: int) -> None:
    if summary not in _SUMMARY_EVENTS:
        return
    before, since = car.summary, car.summary_since_ms
    if before == summary:
        return
    car.summary, car.summary_since_ms = summary, at_ms
    if before is None or (summary == "online" and before not in ("asleep", "offline")):
        return
    kind, words = _SUMMARY_EVENTS[summary]
    figures = {
        "previous": before,
        "previous_s": None if since is None else round((at_ms - since) / 1000.0, 1),
        "battery_level": car.battery_level,
    }
    ctx.event(kind, at_ms, car.ref, f"{car.ref.label} {words}", figures)


# --- software updates -------------------------------------------------------------------------


def _software(ctx: Context, car: CarTrack, data: VehicleData, at_ms: int) -> None:
    update = data.software_update
    status = None if update is None else update.status
    car.updating = status == "installing"
    if update is None or status not in ("available", "scheduled") or not update.version:
        return
    if update.version == car.update_told:
        return
    car.update_told = update.version
    ctx.event(
        EventKind.SOFTWARE_UPDATE,
        at_ms,
        car.ref,
        f"{car.ref.label}: software update {update.version} is {status}",
        {
            "version": update.version,
            "status": status,
            "expected_duration_s": update.expected_duration_sec,
            "current_version": data.car_version,
        },
    )


# --- plug and charging as the car sees them ---------------------------------------------------


def _charging(ctx: Context, car: CarTrack, data: VehicleData, at_ms: int) -> None:
    state = data.charging_state
    if state is None:
        return
    car.charging_state = state
    known = car.plug.plugged is not None
    plugged = state != "Disconnected"
    charging = state in ACTIVE_CHARGING
    _plug(ctx, car, data, at_ms, plugged=plugged, charging=charging, known=known)

    charge = ctx.charges.get(car.charge_key or "")
    if charge is not None and charge.car_seen and not charge.car_open and plugged:
        car.charge_key, charge = None, None  # the car left that session: this is a new plug-in
    if charging and charge is None:
        unit = next((u for u in ctx.units_of_car(car) if u.connected), None)
        joined = None if unit is None else ctx.charges.get(unit.charge_key or "")
        if (
            joined is not None
            and not joined.car_seen
            and data.charge_state.get("fast_charger_present") is not True
        ):
            charge = joined
        else:
            charge = sessions.open_charge(ctx, f"{car.vin}:{at_ms}", at_ms, car.vin)
        car.charge_key = charge.key
    if charge is None:
        return
    if plugged or charge.car_open:  # the Disconnected reading still holds the final energy added
        _car_figures(charge, data)
    joined_now = charge.vin != car.vin  # a session the unit opened before the car was known
    charge.vin = car.vin
    if charging:
        charge.car_seen = charge.car_open = True
        sessions.start(ctx, charge, at_ms, car.ref, tell=known)
        sessions.send(ctx, charge, at_ms)
        ctx.record(_sample(car, charge.key, data, at_ms))
    elif plugged:
        if not charge.car_seen and charge.unit_seen:
            charge.car_seen = charge.car_open = True
        sessions.stop(ctx, charge, at_ms, STOP_REASONS.get(state), car.ref)
        sessions.send(ctx, charge, at_ms)
    elif charge.car_seen and charge.car_open:
        sessions.side_unplugged(ctx, charge, "car", at_ms, car.ref)
    if joined_now:
        sessions.send(ctx, charge, at_ms, force=True)  # now the car's too: written at once


def _plug(
    ctx: Context, car: CarTrack, data: VehicleData, at_ms: int, *, plugged: bool, charging: bool, known: bool
) -> None:
    plug = car.plug
    if plugged:
        if plug.plugged:
            plug.car_confirmed = True
        else:
            unit = next((u for u in ctx.units_of_car(car) if u.connected), None)
            plug_in(
                ctx,
                car.ref,
                plug,
                at_ms,
                "car",
                unit=None if unit is None else unit.name,
                tell=known,
                figures={
                    "charging_state": data.charging_state,
                    "battery_level": car.battery_level,
                    "fast_charger": data.charge_state.get("fast_charger_present") is True,
                },
            )
        if charging:
            plug.charged = True
        if data.charging_state == "Complete":
            plug.complete = True
        return
    unit = ctx.units.get(plug.unit or "")
    if plug.plugged and plug.source == "wallconnector" and not plug.car_confirmed and unit and unit.connected:
        _foreign(ctx, car, unit)
        return
    added = data.charge_energy_added_kwh
    unplug(
        ctx,
        car.ref,
        plug,
        at_ms,
        "car",
        figures={"battery_level": car.battery_level, "energy_added_wh": wh(added)},
    )


def _foreign(ctx: Context, car: CarTrack, unit: UnitTrack) -> None:
    """The unit's configured car says it is not plugged in while the unit has a car: another car
    is at the unit (our choice: its plug-in becomes the unit's own, without a car)."""
    unit.foreign = True
    unit.plug = dataclasses.replace(car.plug)
    car.plug.close()
    charge = ctx.charges.get(unit.charge_key or "")
    if charge is not None and not charge.car_seen and charge.vin == car.vin:
        charge.vin = None
    if car.charge_key is not None and car.charge_key == unit.charge_key:
        car.charge_key = None
    if unit.session is not None and unit.session.vin == car.vin:
        unit.session.vin = None


def _car_figures(charge: OpenCharge, data: VehicleData) -> None:
    added = data.charge_energy_added_kwh
    if added is not None:
        charge.energy_added_wh = added * 1000.0
    level = data.battery_level
    if level is not None:
        if charge.start_battery_level is None:
            charge.start_battery_level = float(level)
        charge.end_battery_level = float(level)
    power = data.charger_power_kw
    charge.car_power(None if power is None else power * 1000.0)
    fast = data.charge_state.get("fast_charger_present")
    if isinstance(fast, bool):
        charge.fast_charger = fast or bool(charge.fast_charger)


def _sample(car: CarTrack, key: str, data: VehicleData, at_ms: int) -> ChargeSample:
    power = data.charger_power_kw
    return ChargeSample(
        vin=car.vin,
        at_ms=at_ms,
        session_key=key,
        charging_state=data.charging_state,
        battery_level=None if data.battery_level is None else float(data.battery_level),
        charge_limit_soc=None if data.charge_limit_soc is None else float(data.charge_limit_soc),
        energy_added_wh=wh(data.charge_energy_added_kwh),
        power_w=None if power is None else power * 1000.0,
        current_a=data.charger_actual_current_a,
        voltage_v=data.charger_voltage_v,
        phases=to_nearest_int(data.charge_state.get("charger_phases")),
    )


# --- drives -----------------------------------------------------------------------------------


def _driving(
    ctx: Context, car: CarTrack, activity: CarActivity, fix: Fix | None, at_ms: int, woke_ms: int | None
) -> None:
    drive = car.drive
    if activity is CarActivity.DRIVING:
        if fix is None:
            return
        if drive is None:
            start_drive(ctx, car, fix, woke_ms)
        else:
            take(ctx, car, fix)
        return
    if drive is None or activity is CarActivity.UNKNOWN:
        return
    if activity is CarActivity.OFFLINE:
        if drive.offline_since_ms is None:
            drive.offline_since_ms = at_ms
        return
    if activity is CarActivity.ASLEEP or fix is None:
        end_drive(ctx, car, drive.last_ms or at_ms, why=activity.value)
    else:
        end_drive(ctx, car, at_ms, fix)


# --- status -----------------------------------------------------------------------------------


def _show(ctx: Context, car: CarTrack, activity: CarActivity, data: VehicleData | None) -> None:
    status = ctx.state.device(car.ref)
    status.state = car.span.state if car.span is not None else activity.value
    reading = dict(status.reading)
    reading["activity"] = activity.value
    reading["plugged_in"] = car.plug.plugged
    if data is not None:
        power = data.charger_power_kw
        update = data.software_update
        reading.update(
            {
                "battery_level": data.battery_level,
                "range_km": _round(km(data.battery_range_mi)),
                "charging_state": data.charging_state,
                "charge_limit_soc": data.charge_limit_soc,
                "energy_added_wh": _round(wh(data.charge_energy_added_kwh)),
                "charger_power_w": None if power is None else round(power * 1000.0),
                "odometer_km": _round(km(data.odometer_mi)),
                "software_update": None if update is None or not update.status else update.status,
            }
        )
    status.reading = reading


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 1)
