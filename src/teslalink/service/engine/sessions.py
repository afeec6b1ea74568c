"""Charging sessions, and the join of what the car and the Wall Connector saw of one.

A Wall Connector meters the grid side of a session for free and to the watt-hour (its session
counter, trusted through `SessionMonitor`); the car knows what went into the battery
(`charge_energy_added`), its levels, and why charging ended (Complete, Stopped). When the config
says car X charges at unit U (`UnitSettings.car`) and both saw charging during the same plug-in,
they are one `ChargingSession` with source BOTH: `energy_grid_wh` from the unit,
`energy_added_wh` from the car, their difference the charging losses.

The join, step by step:

* whichever side sees charging first opens the session and gives its key (`<VIN>:<ms>` from the
  car, `<serial>:<ms>` from the unit); the key never changes, the source grows to BOTH when the
  other side joins, and the recorder's upsert keeps one row;
* a car's charge joins the unit's open session when the unit configured for that car is
  connected; a unit's charge joins the car's open session unless the car is on a fast charger
  (a Supercharger is not the unit at home);
* charging events are told once per edge, by the first witness. A stop the unit sees (the
  contactor opens, the cable still in) is held up to `STOP_WAIT_MS` while the car's job is asked
  for a read, so that the event can say why (`charge_complete`, or `charging_stopped` with the
  reason); without an answer it is told without a reason;
* the session ends when every side that saw it has seen the unplug, or `FINAL_WAIT_MS` after the
  first did (the other side's last figures are awaited: the car's final `charge_energy_added`).
"""

from __future__ import annotations

from ..events import DeviceKind, DeviceRef, EventKind
from .context import FINAL_WAIT_MS, RESEND_MS, STOP_WAIT_MS, Context
from .tracks import OpenCharge

__all__ = [
    "close",
    "defer_stop",
    "device_of",
    "open_charge",
    "send",
    "side_unplugged",
    "start",
    "stop",
    "tick",
]

_REASON_WORDS = {
    "complete": "charge complete",
    "stopped": "charging stopped",
    "unplugged": "charging ended: unplugged",
    "no_power": "charging stopped: no power",
}


def open_charge(ctx: Context, key: str, at_ms: int, vin: str | None) -> OpenCharge:
    charge = OpenCharge(key=key, start_ms=at_ms, vin=vin)
    ctx.charges[key] = charge
    return charge


def send(ctx: Context, charge: OpenCharge, at_ms: int, *, force: bool = False) -> None:
    """Hand the session on: at every change (`force`) and at most every `RESEND_MS` as it grows."""
    if force or charge.emitted_ms is None or at_ms - charge.emitted_ms >= RESEND_MS:
        charge.emitted_ms = at_ms
        ctx.record(charge.record())


def _figures(charge: OpenCharge, at_ms: int) -> dict[str, float | str | bool | None]:
    return {
        "source": charge.source.value,
        "wallconnector": charge.unit,
        "energy_added_wh": _round(charge.energy_added_wh),
        "energy_grid_wh": _round(charge.energy_grid_wh),
        "battery_level": charge.end_battery_level,
        "max_power_w": _round(charge.peak_w),
        "fast_charger": charge.fast_charger,
        "duration_s": round((at_ms - charge.start_ms) / 1000.0, 1),
    }


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 1)


def start(ctx: Context, charge: OpenCharge, at_ms: int, device: DeviceRef, *, tell: bool = True) -> None:
    """Charging runs (a car reading, or the unit's contactor closed)."""
    if charge.pending_stop_ms is not None:  # a stop the car never explained, and it runs again
        charge.pending_stop_ms = None
        charge.active = True
        send(ctx, charge, at_ms, force=True)
        return
    if charge.active:
        return
    resumed = charge.end_ms is not None
    charge.active, charge.end_ms, charge.stop_reason = True, None, None
    if tell:
        figures = _figures(charge, at_ms)
        del figures["duration_s"]
        figures["resumed"] = resumed
        ctx.event(EventKind.CHARGING_STARTED, at_ms, device, f"{device.label} started charging", figures)
    send(ctx, charge, at_ms, force=True)


def defer_stop(ctx: Context, charge: OpenCharge, at_ms: int, ask: str | None) -> None:
    """The unit saw charging end with the cable in: ask the car why before telling."""
    if not charge.active:
        return
    charge.active = False
    charge.pending_stop_ms = at_ms
    ctx.ask_car(ask)


def stop(ctx: Context, charge: OpenCharge, at_ms: int, reason: str | None, device: DeviceRef) -> None:
    """Charging ended (`reason` None: not known); told once, at the time it ended."""
    if charge.pending_stop_ms is None and not charge.active:
        if reason is not None and charge.stop_reason is None:
            charge.stop_reason = reason  # told already without one; the record learns it
            send(ctx, charge, at_ms, force=True)
        return
    ended = charge.pending_stop_ms if charge.pending_stop_ms is not None else at_ms
    charge.active, charge.pending_stop_ms = False, None
    charge.end_ms, charge.stop_reason = ended, reason
    kind = EventKind.CHARGE_COMPLETE if reason == "complete" else EventKind.CHARGING_STOPPED
    words = _REASON_WORDS.get(reason or "", "charging stopped")
    figures = _figures(charge, ended)
    figures["reason"] = reason
    ctx.event(kind, ended, device, f"{device.label}: {words}", figures)
    send(ctx, charge, at_ms, force=True)


def side_unplugged(
    ctx: Context, charge: OpenCharge, side: str, at_ms: int, device: DeviceRef, ask: str | None = None
) -> None:
    """The car (`side` "car") or the unit ("wallconnector") saw the cable out."""
    if side == "car":
        charge.car_open = False
    else:
        charge.unit_open = False
    if charge.active:
        stop(ctx, charge, at_ms, "unplugged", device)
    elif charge.pending_stop_ms is not None:
        stop(ctx, charge, at_ms, None, device)
    if not (charge.car_open or charge.unit_open):
        close(ctx, charge, at_ms)
        return
    if charge.unplugged_ms is None:
        charge.unplugged_ms = at_ms
    send(ctx, charge, at_ms, force=True)
    if charge.car_open:
        ctx.ask_car(ask)  # its last figures: the final charge_energy_added


def close(ctx: Context, charge: OpenCharge, at_ms: int) -> None:
    """The session is over: its last record, and the tracks let go of it."""
    if charge.active or charge.pending_stop_ms is not None:
        charge.end_ms = charge.pending_stop_ms if charge.pending_stop_ms is not None else at_ms
        charge.active, charge.pending_stop_ms = False, None
    if charge.end_ms is None:
        charge.end_ms = at_ms
    charge.car_open = charge.unit_open = False
    ctx.charges.pop(charge.key, None)
    for car in ctx.cars.values():
        if car.charge_key == charge.key:
            car.charge_key = None
    for unit in ctx.units.values():
        if unit.charge_key == charge.key:
            unit.charge_key = None
    send(ctx, charge, at_ms, force=True)


def device_of(ctx: Context, charge: OpenCharge) -> DeviceRef:
    """Who a session's events are about: its car when known, else its unit."""
    car = ctx.cars.get(charge.vin or "")
    if car is not None:
        return car.ref
    unit = ctx.units.get(charge.unit or "")
    if unit is not None:
        return unit.ref
    if charge.vin is not None:
        return DeviceRef(DeviceKind.CAR, charge.vin)
    return DeviceRef(DeviceKind.WALL_CONNECTOR, charge.serial or charge.key)


def tick(ctx: Context, at_ms: int) -> None:
    """Deadlines: a stop the car never explained, a session whose other side never answered."""
    for charge in list(ctx.charges.values()):
        if charge.pending_stop_ms is not None and at_ms - charge.pending_stop_ms >= STOP_WAIT_MS:
            stop(ctx, charge, at_ms, None, device_of(ctx, charge))
        if charge.unplugged_ms is not None and at_ms - charge.unplugged_ms >= FINAL_WAIT_MS:
            close(ctx, charge, at_ms)
