"""The physics of one Wall Connector: EVSE states, contactor, current, energy, heat, sensors.

State integrates lazily: nothing ticks. Every event (plug-in, a new current request...) and every
read first calls `integrate(t)`, which advances the state in closed form from the last update to
`t`. So a day of world time costs the same as a second, and the energy counted does not depend on
how often anyone polls: the current ramps linearly and is integrated exactly.

The EVSE sequence is the one users see on real units: 1 (not connected) -> on plug-in a short 7
-> 9 (waiting, a few seconds) -> 11 (charging); 9 when the car asks for 0 A, 8 when it is full,
1 again after unplugging. The contactor is closed only in 11.

Randomness comes from the `random.Random` handed in (events: a unit's own history, the handshake
timing) and, for sensor noise, from the draws of the current sample period (see ..noise), so a
unit replays identically however often it is read.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from enum import IntEnum

from ..grid import GRIDS, Wiring
from ..noise import SampleDraws

__all__ = [
    "MEASURE_NORMALS",
    "MEASURE_UNIFORMS",
    "ChargerPhysics",
    "EvseState",
    "LifetimeCounters",
    "Measurement",
    "ThermalSensor",
]

RAMP_A_PER_S = 10.0
"""How fast the current follows a new target (the car ramps over a few seconds)."""

ERROR_TRANSIENT_S = (1.0, 2.0)
"""How long the unit shows state 7 right after a plug-in."""

WAITING_S = (3.0, 5.0)
"""How long it then shows 9 while the car and the unit agree on a current."""

MEASURE_NORMALS = 22
MEASURE_UNIFORMS = 5
"""How many standard normals and uniforms one `ChargerPhysics.measure` reads from its draws."""


class EvseState(IntEnum):
    """evse_state codes as the firmware reports them (not documented by Tesla)."""

    BOOTING = 0
    NOT_CONNECTED = 1
    CONNECTED = 2
    READY = 4
    NEGOTIATING = 6
    ERROR = 7
    CHARGING_FINISHED = 8
    WAITING_FOR_CAR = 9
    CHARGING_REDUCED = 10
    CHARGING = 11


@dataclass(slots=True)
class ThermalSensor:
    """A first-order thermal model: relaxes toward ambient + offset + coeff * I^2."""

    offset_c: float
    coeff_c_per_a2: float
    tau_s: float
    value_c: float = 0.0

    def steady(self, ambient_c: float, current_a: float) -> float:
        return ambient_c + self.offset_c + self.coeff_c_per_a2 * current_a * current_a

    def relax(self, ambient_c: float, current_a: float, dt: float) -> None:
        target = self.steady(ambient_c, current_a)
        self.value_c += (target - self.value_c) * -math.expm1(-dt / self.tau_s)


@dataclass(slots=True)
class LifetimeCounters:
    """What /api/1/lifetime counts. energy_wh and charging_time_s are kept as floats here."""

    contactor_cycles: int
    contactor_cycles_loaded: int
    alert_count: int
    thermal_foldbacks: int
    avg_startup_temp: float
    charge_starts: int
    energy_wh: float
    connector_cycles: int
    charging_time_s: float


@dataclass(frozen=True, slots=True)
class Measurement:
    """One noisy reading of every sensor the vitals report (not yet rounded)."""

    grid_v: float
    grid_hz: float
    vehicle_current_a: float
    current_a_a: float
    current_b_a: float
    current_c_a: float
    current_n_a: float
    voltage_a_v: float
    voltage_b_v: float
    voltage_c_v: float
    relay_k1_v: float
    relay_k2_v: float
    pcba_temp_c: float
    handle_temp_c: float
    mcu_temp_c: float
    input_thermopile_uv: int
    prox_v: float
    pilot_high_v: float
    pilot_low_v: float


class ChargerPhysics:
    """The electrical and thermal state of one unit and the car plugged into it."""

    def __init__(self, wiring: Wiring, max_current_a: float, rng: random.Random, t0: float) -> None:
        if not max_current_a > 0:
            raise ValueError(f"max_current_a must be positive, got {max_current_a!r}")
        self.wiring = wiring
        self.max_current_a = float(max_current_a)
        self._rng = rng
        grid = GRIDS[wiring]
        self.grid_hz = grid.frequency_hz
        self.grid_v = grid.nominal_v + rng.uniform(-grid.spread_v, grid.spread_v)
        # Per-phase offsets (three-phase) and the share of current on leg A (split-phase).
        self.phase_offsets_v = (0.0, rng.uniform(-1.5, 1.5), rng.uniform(-1.5, 1.5))
        self.leg_a_share = rng.uniform(0.46, 0.50)
        self.ambient_c = rng.uniform(8.0, 24.0)
        self.pcba = ThermalSensor(offset_c=5.0, coeff_c_per_a2=0.010, tau_s=600.0)
        self.handle = ThermalSensor(offset_c=0.5, coeff_c_per_a2=0.008, tau_s=900.0)
        self.mcu = ThermalSensor(offset_c=12.0, coeff_c_per_a2=0.004, tau_s=600.0)
        for sensor in self._sensors:
            sensor.value_c = sensor.steady(self.ambient_c, 0.0)
        if wiring is Wiring.THREE_PHASE:
            self.volts_per_amp = sum(self.grid_v + off for off in self.phase_offsets_v)
        else:
            self.volts_per_amp = self.grid_v
        self.lifetime = self._history(rng)
        self.boot_t = t0 - rng.uniform(3_600.0, 30 * 86_400.0)
        self._fit_history_to_uptime(t0 - self.boot_t)

        self._t = t0
        self.plugged = False
        self.requested_a = 0.0
        self.finished = False
        self.contactor_closed = False
        self.current_a = 0.0
        self.session_start_t: float | None = None
        self.session_energy_wh = 0.0
        self._error_until = t0
        self._ready_at = t0
        self._ready = True
        self.supply_cut = False  # a tripped breaker upstream (see ..circuit)

    # --- time -------------------------------------------------------------------------------

    @property
    def t(self) -> float:
        """World time the state was last integrated to."""
        return self._t

    def integrate(self, t: float) -> None:
        """Advance the state to world time `t` (never backwards)."""
        if t <= self._t:
            return
        if self.plugged and not self._ready and self._ready_at <= t:
            self._advance(self._ready_at - self._t)
            self._t = self._ready_at
            self._ready = True
            self._apply_car_wish()
        self._advance(t - self._t)
        self._t = t

    # --- what the car and the owner do ---------------------------------------------------------

    def plug_in(self, t: float, requested_current_a: float) -> None:
        self.integrate(t)
        if self.plugged:
            raise RuntimeError("a car is already plugged in; unplug() first")
        self.plugged = True
        self.requested_a = max(0.0, float(requested_current_a))
        self.finished = False
        self.session_start_t = self._t
        self.session_energy_wh = 0.0
        self.lifetime.connector_cycles += 1
        self.lifetime.alert_count += 1
        self._start_handshake()

    def set_requested_current(self, t: float, amps: float) -> None:
        self.integrate(t)
        self.requested_a = max(0.0, float(amps))
        if self.requested_a > 0:
            self.finished = False
        self._apply_car_wish()

    def finish_charging(self, t: float) -> None:
        self.integrate(t)
        if not self.plugged:
            return
        self.finished = True
        self._apply_car_wish()

    def unplug(self, t: float) -> None:
        self.integrate(t)
        if not self.plugged:
            return
        if self.contactor_closed:
            self._open_contactor(loaded=True)
        self.plugged = False
        self.finished = False
        self.requested_a = 0.0
        self.session_start_t = None
        self._ready = True

    def reboot(self, t: float) -> None:
        """Power-cycle the unit: uptime and session energy restart; a plugged car re-handshakes."""
        self.integrate(t)
        if self.contactor_closed:
            self._open_contactor(loaded=True)
        self.boot_t = self._t
        self.session_energy_wh = 0.0
        if self.plugged:
            self.session_start_t = self._t
            self._start_handshake()

    def cut_supply(self, t: float, cut: bool) -> None:
        """The breaker upstream trips (cut) or is reset: no current while cut.

        Our choice: the unit's electronics keep answering (as if fed apart from the car's supply),
        so a controller sees the cut as contactor open and no current; a real unit behind a
        tripped breaker goes dark. When the supply returns, a plugged car handshakes again (7, 9,
        then 11), as after a power cut.
        """
        self.integrate(t)
        if cut == self.supply_cut:
            return
        self.supply_cut = cut
        if cut:
            if self.contactor_closed:
                self._open_contactor(loaded=True)
        elif self.plugged:
            self._start_handshake()

    def next_change(self) -> float | None:
        """The next instant the current changes by itself (a ramp's end, a handshake's end)."""
        if self.contactor_closed:
            target = min(self.requested_a, self.max_current_a)
            if target != self.current_a:
                return self._t + abs(target - self.current_a) / RAMP_A_PER_S
        elif self.plugged and not self._ready:
            return max(self._ready_at, self._t)
        return None

    # --- derived state -------------------------------------------------------------------------

    @property
    def evse_state(self) -> EvseState:
        if not self.plugged:
            return EvseState.NOT_CONNECTED
        if self._t < self._error_until:
            return EvseState.ERROR
        if not self._ready:
            return EvseState.WAITING_FOR_CAR
        if self.contactor_closed:
            return EvseState.CHARGING
        if self.finished:
            return EvseState.CHARGING_FINISHED
        return EvseState.WAITING_FOR_CAR

    @property
    def target_current_a(self) -> float:
        """What the unit lets through: the car's request capped at the unit's maximum."""
        return min(self.requested_a, self.max_current_a) if self.contactor_closed else 0.0

    @property
    def power_w(self) -> float:
        """Real power to the car now (0 with the contactor open)."""
        return self.volts_per_amp * self.current_a if self.contactor_closed else 0.0

    @property
    def session_s(self) -> float:
        return 0.0 if self.session_start_t is None else self._t - self.session_start_t

    @property
    def uptime_s(self) -> float:
        return self._t - self.boot_t

    def time_to_deliver(self, energy_wh: float) -> float | None:
        """The world time at which the session will have delivered `energy_wh` more, or None.

        Assumes nothing changes meanwhile and mirrors `integrate` exactly: a pending handshake
        closes the contactor at its end with no current, then the current ramps at RAMP_A_PER_S
        to its target and holds. A car uses this to stop at its charge limit at the right instant
        without anyone polling (None: the unit will not deliver that, e.g. nobody asks for current).
        """
        if energy_wh <= 0:
            return self._t
        if not self.plugged or self.finished or self.requested_a <= 0 or self.supply_cut:
            return None
        if self.contactor_closed:
            t0, i0 = self._t, self.current_a
        elif not self._ready:
            t0, i0 = max(self._ready_at, self._t), 0.0
        else:
            return None
        target = min(self.requested_a, self.max_current_a)
        need = energy_wh * 3600.0 / self.volts_per_amp  # amp-seconds
        ramp_s = abs(target - i0) / RAMP_A_PER_S
        ramp_as = (i0 + target) / 2.0 * ramp_s
        if need > ramp_as:
            return t0 + ramp_s + (need - ramp_as) / target if target > 0 else None
        if target > i0:  # i0 tau + R tau^2 / 2 = need
            tau = (math.sqrt(i0 * i0 + 2.0 * RAMP_A_PER_S * need) - i0) / RAMP_A_PER_S
        elif target < i0:  # i0 tau - R tau^2 / 2 = need
            tau = (i0 - math.sqrt(max(0.0, i0 * i0 - 2.0 * RAMP_A_PER_S * need))) / RAMP_A_PER_S
        else:
            tau = need / i0
        return t0 + tau

    # --- sensors -------------------------------------------------------------------------------

    def measure(self, draws: SampleDraws) -> Measurement:
        """Read every sensor once: the true state now plus this sample period's noise.

        `draws` holds MEASURE_NORMALS standard normals and MEASURE_UNIFORMS uniforms; each slot
        feeds one sensor, whatever the state, so the reading is a pure function of the state and
        the period (the same instant always reads the same, however often it is read).
        """
        z, u = draws.z, draws.u
        closed = self.contactor_closed
        amps = max(0.0, self.current_a + 0.08 * z[0]) if closed else 0.3 + 0.3 * u[0]
        grid_v = self.grid_v + 0.4 * z[1]
        if not closed:
            va, vb, vc = abs(2.0 * z[2]), abs(2.0 * z[3]), abs(2.0 * z[4])
            ia, ib, ic = 0.1 + 0.4 * u[1], 0.1 + 0.4 * u[2], 0.1 + 0.4 * u[3]
            i_n = 0.2 + 0.8 * u[4]
        elif self.wiring is Wiring.SPLIT_PHASE:
            va = grid_v + 2.0 + 0.3 * z[5]
            vb = grid_v + 2.0 + 0.3 * z[6]
            vc = grid_v / 2.0 + 0.4 * z[7]
            ia = amps * (self.leg_a_share + 0.004 * z[8])
            ib = amps - ia
            ic = 0.5 * amps + 0.1 * z[9]
            i_n = 0.38 * amps + 0.1 * z[10]
        elif self.wiring is Wiring.THREE_PHASE:
            off_a, off_b, off_c = self.phase_offsets_v
            va = self.grid_v + off_a + 0.4 * z[5]
            vb = self.grid_v + off_b + 0.4 * z[6]
            vc = self.grid_v + off_c + 0.4 * z[7]
            ia, ib, ic = amps + 0.08 * z[8], amps + 0.08 * z[9], amps + 0.08 * z[10]
            i_n = abs(0.3 * z[11])
        else:
            va = grid_v + 0.3 * z[5]
            vb, vc = abs(2.0 * z[3]), abs(2.0 * z[4])
            ia = amps
            ib, ic = 0.1 + 0.4 * u[2], 0.1 + 0.4 * u[3]
            i_n = amps + 0.1 * z[10]
        if not self.plugged:
            pilot_high, pilot_low, prox = 11.9 + 0.02 * z[12], 11.9 + 0.02 * z[13], abs(0.004 * z[14])
        elif closed:
            pilot_high, pilot_low, prox = abs(0.01 * z[12]), -abs(0.01 * z[13]), 1.5 + 0.02 * z[14]
        else:
            pilot_high, pilot_low, prox = 8.9 + 0.03 * z[12], -11.7 + 0.03 * z[13], 1.5 + 0.02 * z[14]
        relay_k1 = 6.1 + 0.04 * z[15] if closed else 11.95 + 0.03 * z[15]
        relay_k2 = 6.1 + 0.04 * z[16] if closed else abs(0.02 * z[16])
        return Measurement(
            grid_v=grid_v,
            grid_hz=self.grid_hz + 0.03 * z[17],
            vehicle_current_a=amps,
            current_a_a=max(0.0, ia),
            current_b_a=max(0.0, ib),
            current_c_a=max(0.0, ic),
            current_n_a=max(0.0, i_n),
            voltage_a_v=max(0.0, va),
            voltage_b_v=max(0.0, vb),
            voltage_c_v=max(0.0, vc),
            relay_k1_v=relay_k1,
            relay_k2_v=relay_k2,
            pcba_temp_c=self.pcba.value_c + 0.1 * z[18],
            handle_temp_c=self.handle.value_c + 0.1 * z[19],
            mcu_temp_c=self.mcu.value_c + 0.1 * z[20],
            input_thermopile_uv=round(-180.0 + 40.0 * z[21]),
            prox_v=prox,
            pilot_high_v=pilot_high,
            pilot_low_v=pilot_low,
        )

    # --- internals -----------------------------------------------------------------------------

    @property
    def _sensors(self) -> tuple[ThermalSensor, ThermalSensor, ThermalSensor]:
        return (self.pcba, self.handle, self.mcu)

    def _start_handshake(self) -> None:
        self._error_until = self._t + self._rng.uniform(*ERROR_TRANSIENT_S)
        self._ready_at = self._error_until + self._rng.uniform(*WAITING_S)
        self._ready = False

    def _apply_car_wish(self) -> None:
        """Open or close the contactor to match what the car wants, once the handshake is done."""
        powered = not self.supply_cut
        wants = self.plugged and self._ready and not self.finished and self.requested_a > 0 and powered
        if wants and not self.contactor_closed:
            self._close_contactor()
        elif not wants and self.contactor_closed:
            self._open_contactor(loaded=False)

    def _close_contactor(self) -> None:
        life = self.lifetime
        life.avg_startup_temp = (life.avg_startup_temp * life.charge_starts + self.pcba.value_c) / (
            life.charge_starts + 1
        )
        life.charge_starts += 1
        life.contactor_cycles += 1
        self.contactor_closed = True
        self.current_a = 0.0

    def _open_contactor(self, *, loaded: bool) -> None:
        if loaded and self.current_a > 1.0:
            self.lifetime.contactor_cycles_loaded += 1
        self.contactor_closed = False
        self.current_a = 0.0

    def _advance(self, dt: float) -> None:
        if dt <= 0:
            return
        steady_a = 0.0
        if self.contactor_closed:
            target = min(self.requested_a, self.max_current_a)
            i0 = self.current_a
            ramp_s = abs(target - i0) / RAMP_A_PER_S
            if ramp_s >= dt:
                i1 = i0 + math.copysign(RAMP_A_PER_S * dt, target - i0)
                amp_seconds = (i0 + i1) / 2.0 * dt
            else:
                i1 = target
                amp_seconds = (i0 + target) / 2.0 * ramp_s + target * (dt - ramp_s)
            self.current_a = i1
            energy_wh = self.volts_per_amp * amp_seconds / 3600.0
            self.session_energy_wh += energy_wh
            self.lifetime.energy_wh += energy_wh
            self.lifetime.charging_time_s += dt
            steady_a = target
        for sensor in self._sensors:
            sensor.relax(self.ambient_c, steady_a, dt)

    def _fit_history_to_uptime(self, uptime_s: float) -> None:
        """Real units charge a few percent of their uptime (published samples: 5-10 %). Scale a
        history that would have charged more than 8 % of the uptime down to that, keeping its
        proportions (no new random draws, so seeded replays are unchanged elsewhere)."""
        life = self.lifetime
        scale = min(1.0, 0.08 * uptime_s / life.charging_time_s) if life.charging_time_s > 0 else 1.0
        if scale < 1.0:
            starts = max(1, round(life.charge_starts * scale))
            life.charging_time_s *= scale
            life.energy_wh *= scale
            life.charge_starts = life.contactor_cycles = starts
            life.connector_cycles = max(1, min(life.connector_cycles, starts))
            life.contactor_cycles_loaded = min(life.contactor_cycles_loaded, starts)

    def _history(self, rng: random.Random) -> LifetimeCounters:
        """Plausible counters for a unit that has been in service for a while."""
        starts = rng.randint(20, 600)
        energy_wh = starts * rng.uniform(5_000.0, 15_000.0)
        return LifetimeCounters(
            contactor_cycles=starts,
            contactor_cycles_loaded=rng.randint(0, 5),
            alert_count=rng.randint(40, 2_000),
            thermal_foldbacks=0,
            avg_startup_temp=rng.uniform(8.0, 28.0),
            charge_starts=starts,
            energy_wh=energy_wh,
            connector_cycles=max(1, round(starts * rng.uniform(0.15, 0.9))),
            charging_time_s=energy_wh / rng.uniform(5_000.0, 9_000.0) * 3600.0,
        )
