"""One simulated Wall Connector Gen 3: identity, firmware, physics and quirks behind one object.

The unit is the model. It decides what every endpoint answers (fields, values, order, faults);
the HTTP layer only routes to `render` and writes the bytes. Randomness comes from streams derived
from the world's seed and the unit's serial, one stream per concern (physics, faults, energy
glitches, identity), so that adding a read in one place does not shift what another concern draws.

Sensor noise (vitals, Wi-Fi signal) is no stream at all: it is a function of world time, drawn per
sample period from (seed, serial, purpose, sample index) (see ..noise). Reads at one instant are
identical, and how often anyone reads never changes what is read later. Per-request decisions
(drop the connection, cut the final brace) stay on the seeded `faults` stream: they are about
requests, not about the world.
"""

from __future__ import annotations

import base64
import math
import random
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol

from ..grid import GRIDS, Wiring
from ..noise import SampledNoise
from ..quirks import EnergyGlitches, Quirks
from ..wall_connector.charger import MEASURE_NORMALS, MEASURE_UNIFORMS, ChargerPhysics, EvseState
from .firmware import FirmwareProfile
from .render import render_object, strip_final_brace

if TYPE_CHECKING:
    from ..circuit import Circuit
    from ..world import World

__all__ = ["ENDPOINTS", "ChargeLoad", "WallConnectorUnit", "derive_noise", "derive_rng"]

ENDPOINTS = ("vitals", "lifetime", "version", "wifi_status")
"""The endpoint names of the local API, served under /api/1/<name>."""

_NAN = math.nan
_SSIDS = ("HomeNetwork", "Garage", "TheShed", "MyWiFi", "Casa", "Zuhause", "Maison", "Thuis")
_TESLA_OUI = "98:ED:5C"


class ChargeLoad(Protocol):
    """The car side of a charging session (see ..vehicle.ac): it decides when to stop asking.

    The unit calls `settle` before every integration to a new time, so a car that reaches its
    charge limit at some instant opens the contactor at that instant, whichever side is read
    first and even if nobody reads anything in between. The load integrates `physics` to `t`
    itself, acting on it (never through the unit) at each of its own event times.
    """

    def settle(self, physics: ChargerPhysics, t: float) -> None: ...

    def next_event_at(self, physics: ChargerPhysics, t: float) -> float | None:
        """When the car next acts by itself (full, a scheduled start) at or before `t`, or None."""
        ...

    def unplugged(self, t: float) -> None: ...


def derive_rng(seed: int | str, serial: str, purpose: str) -> random.Random:
    """A random stream that depends only on the world seed, the unit and the purpose."""
    return random.Random(_derive_key(seed, serial, purpose))


def derive_noise(
    seed: int | str, serial: str, purpose: str, *, normals: int, uniforms: int = 0
) -> SampledNoise:
    """Sensor noise that depends only on the world seed, the unit, the purpose and world time."""
    return SampledNoise(_derive_key(seed, serial, purpose), normals=normals, uniforms=uniforms)


def _derive_key(seed: int | str, serial: str, purpose: str) -> str:
    return f"teslalink:wall_connector:{seed}:{serial}:{purpose}"


class WallConnectorUnit:
    """A Wall Connector Gen 3 in a `World`. Create it with `World.add_wall_connector`."""

    def __init__(
        self,
        world: World,
        *,
        serial: str,
        wiring: Wiring,
        firmware: str,
        max_current_a: float,
        quirks: Quirks,
        index: int = 0,
    ) -> None:
        self._world = world
        self._serial = serial
        self._wiring = wiring
        self._profile = FirmwareProfile.parse(firmware)
        seed = world.seed
        self._vitals_noise = derive_noise(
            seed, serial, "noise:vitals", normals=MEASURE_NORMALS, uniforms=MEASURE_UNIFORMS
        )
        self._wifi_noise = derive_noise(seed, serial, "noise:wifi_status", normals=2)
        self._faults = derive_rng(seed, serial, "faults")
        self._glitch_seed = derive_rng(seed, serial, "glitch").random()
        self._physics = ChargerPhysics(
            wiring, max_current_a, derive_rng(seed, serial, "physics"), world.now()
        )
        identity = derive_rng(seed, serial, "identity")
        self._ssid = identity.choice(_SSIDS)
        self._mac = _TESLA_OUI + "".join(f":{identity.randrange(256):02X}" for _ in range(3))
        self._ip = f"192.168.{1 + index // 200}.{20 + index % 200}"
        self._signal_quality = identity.uniform(35.0, 85.0)
        self._part_number = GRIDS[wiring].part_number
        self._quirks = quirks
        self._glitches: EnergyGlitches | None = None
        self._start_glitches()
        self._offline = False
        self._offline_listeners: list[Callable[[bool], None]] = []
        self._load: ChargeLoad | None = None
        self._alerts: tuple[str | int, ...] = ()
        self._circuit: Circuit | None = None

    def __repr__(self) -> str:
        return (
            f"WallConnectorUnit(serial={self._serial!r}, wiring={self._wiring.value!r}, "
            f"firmware={self._profile.version!r}, evse_state={self.evse_state.value})"
        )

    # --- identity ------------------------------------------------------------------------------

    @property
    def world(self) -> World:
        return self._world

    @property
    def serial(self) -> str:
        return self._serial

    @property
    def firmware(self) -> str:
        return self._profile.version

    @property
    def firmware_profile(self) -> FirmwareProfile:
        return self._profile

    @property
    def wiring(self) -> Wiring:
        return self._wiring

    @property
    def part_number(self) -> str:
        return self._part_number

    @property
    def max_current_a(self) -> float:
        return self._physics.max_current_a

    @property
    def physics(self) -> ChargerPhysics:
        """The physical state, integrated to the world's present."""
        return self._sync()

    # --- faults --------------------------------------------------------------------------------

    @property
    def quirks(self) -> Quirks:
        return self._quirks

    @quirks.setter
    def quirks(self, quirks: Quirks) -> None:
        physics = self._sync()
        glitches = self._glitches
        self._quirks = quirks
        if quirks.energy_glitch == (glitches is not None):
            return
        if glitches is not None:
            # Jumps that already happened stay in the counter, as they do on a real unit.
            physics.lifetime.energy_wh += glitches.offset_wh(physics.t)
        self._start_glitches()

    @property
    def alerts(self) -> tuple[str | int, ...]:
        """What vitals' `current_alerts` lists (empty unless a scenario raised some).

        The element type is not settled in the field (strings in one library, integers in another:
        docs/reference.md), so both are allowed.
        """
        return self._alerts

    @alerts.setter
    def alerts(self, alerts: tuple[str | int, ...]) -> None:
        self._alerts = tuple(alerts)

    @property
    def offline(self) -> bool:
        """A Wi-Fi drop-out: while True, servers of this unit refuse and drop connections."""
        return self._offline

    @offline.setter
    def offline(self, value: bool) -> None:
        value = bool(value)
        if value == self._offline:
            return
        self._offline = value
        for listener in list(self._offline_listeners):
            listener(value)

    def add_offline_listener(self, listener: Callable[[bool], None]) -> None:
        """Call `listener(offline)` whenever `offline` changes (servers use this)."""
        self._offline_listeners.append(listener)

    def remove_offline_listener(self, listener: Callable[[bool], None]) -> None:
        if listener in self._offline_listeners:
            self._offline_listeners.remove(listener)

    def should_drop(self) -> bool:
        """Decide (seeded) whether the next request is dropped without an answer."""
        rate = self._quirks.drop_rate
        return rate > 0.0 and self._faults.random() < rate

    # --- the car -------------------------------------------------------------------------------

    def plug_in(self, requested_current_a: float = 32.0) -> None:
        """A car is plugged in and asks for this current (the unit caps it at its maximum)."""
        self._physics.plug_in(self._sync().t, requested_current_a)

    def set_requested_current(self, amps: float) -> None:
        """The car changes its request; 0 means it stops asking (evse 9, contactor open)."""
        self._physics.set_requested_current(self._sync().t, amps)

    def finish_charging(self) -> None:
        """The car is full: evse 8, contactor open, no current."""
        self._physics.finish_charging(self._sync().t)

    def unplug(self) -> None:
        t = self._sync().t
        self._physics.unplug(t)
        load, self._load = self._load, None
        if load is not None:
            load.unplugged(t)

    def reboot(self) -> None:
        """Power-cycle the unit: uptime restarts, session_energy_wh is 0 again."""
        self._physics.reboot(self._sync().t)

    @property
    def load(self) -> ChargeLoad | None:
        """The simulated car plugged in, if it is one that decides for itself (else None)."""
        return self._load

    def attach_load(self, load: ChargeLoad) -> None:
        """Let a plugged-in car settle its own events before every integration of the unit."""
        if self._load is not None and self._load is not load:
            raise RuntimeError("another car is attached to this unit")
        self._load = load

    def detach_load(self, load: ChargeLoad) -> None:
        if self._load is load:
            self._load = None

    # --- true state (no sensor noise) ----------------------------------------------------------

    @property
    def evse_state(self) -> EvseState:
        return self._sync().evse_state

    @property
    def contactor_closed(self) -> bool:
        return self._sync().contactor_closed

    @property
    def vehicle_connected(self) -> bool:
        return self._sync().plugged

    @property
    def current_a(self) -> float:
        """The current actually flowing to the car."""
        return self._sync().current_a

    @property
    def power_w(self) -> float:
        """The real power flowing to the car."""
        return self._sync().power_w

    @property
    def session_energy_wh(self) -> float:
        return self._sync().session_energy_wh

    @property
    def lifetime_energy_wh(self) -> float:
        """What lifetime energy_wh reports: real energy plus any glitch jumps."""
        return self._lifetime_energy_wh(self._sync())

    # --- the four endpoints ----------------------------------------------------------------------

    def vitals(self) -> dict[str, Any]:
        """/api/1/vitals as a dict, in the device's field order, values as printed."""
        p = self._sync()
        m = p.measure(self._vitals_noise.at(p.t))
        closed = p.contactor_closed
        body: dict[str, Any] = {
            "contactor_closed": closed,
            "vehicle_connected": p.plugged,
            "session_s": int(p.session_s),
            "grid_v": round(m.grid_v, 1),
            "grid_hz": round(m.grid_hz, 3),
            "vehicle_current_a": round(m.vehicle_current_a, 1),
            "currentA_a": round(m.current_a_a, 1),
            "currentB_a": round(m.current_b_a, 1),
            "currentC_a": round(m.current_c_a, 1),
            "currentN_a": round(m.current_n_a, 1),
            "voltageA_v": round(m.voltage_a_v, 1),
            "voltageB_v": round(m.voltage_b_v, 1),
            "voltageC_v": round(m.voltage_c_v, 1),
        }
        if self._profile.relay_k:
            body["relay_k1_v"] = round(m.relay_k1_v, 1)
            body["relay_k2_v"] = round(m.relay_k2_v, 1)
        else:
            body["relay_coil_v"] = round(m.relay_k1_v, 1)
        body["pcba_temp_c"] = round(m.pcba_temp_c, 1)
        body["handle_temp_c"] = round(m.handle_temp_c, 1)
        body["mcu_temp_c"] = round(m.mcu_temp_c, 1)
        body["uptime_s"] = int(p.uptime_s)
        body["input_thermopile_uv"] = m.input_thermopile_uv
        body["prox_v"] = round(m.prox_v, 1)
        body["pilot_high_v"] = round(m.pilot_high_v, 1)
        body["pilot_low_v"] = round(m.pilot_low_v, 1)
        body["session_energy_wh"] = round(p.session_energy_wh, 3)
        body["config_status"] = 5
        body["evse_state"] = int(p.evse_state)
        body["current_alerts"] = list(self._alerts)
        if self._profile.not_ready_reasons:
            body["evse_not_ready_reasons"] = [] if closed else [4, 8]
        return body

    def lifetime(self) -> dict[str, Any]:
        """/api/1/lifetime as a dict; with the `nan` quirk three fields are float('nan')."""
        p = self._sync()
        life = p.lifetime
        nan = self._quirks.nan_in_lifetime
        return {
            "contactor_cycles": life.contactor_cycles,
            "contactor_cycles_loaded": _NAN if nan else life.contactor_cycles_loaded,
            "alert_count": _NAN if nan else life.alert_count,
            "thermal_foldbacks": life.thermal_foldbacks,
            "avg_startup_temp": _NAN if nan else round(life.avg_startup_temp, 1),
            "charge_starts": life.charge_starts,
            "energy_wh": int(self._lifetime_energy_wh(p)),
            "connector_cycles": life.connector_cycles,
            "uptime_s": int(p.uptime_s),
            "charging_time_s": int(life.charging_time_s),
        }

    def version(self) -> dict[str, Any]:
        """/api/1/version as a dict."""
        body: dict[str, Any] = {"firmware_version": self._profile.version}
        if self._profile.version_has_branch:
            body["git_branch"] = "HEAD"
        body["part_number"] = self._part_number
        body["serial_number"] = self._serial
        if self._profile.version_has_branch:
            body["web_service"] = "h3-hermes-prd.sn.tesla.services"
        return body

    def wifi_status(self) -> dict[str, Any]:
        """/api/1/wifi_status as a dict (SSID base64-encoded on current firmware)."""
        z = self._wifi_noise.at(self._world.now()).z
        quality = max(0, min(100, round(self._signal_quality + 2.0 * z[0])))
        rssi = round(quality / 2.0 - 90.0)
        snr = max(0, round(rssi + 88.0 + 2.0 * z[1]))
        ssid = self._ssid
        if self._profile.ssid_base64:
            ssid = base64.b64encode(ssid.encode()).decode()
        online = not self._offline
        return {
            "wifi_ssid": ssid,
            "wifi_signal_strength": quality,
            "wifi_rssi": rssi,
            "wifi_snr": snr,
            "wifi_connected": online,
            "wifi_infra_ip": self._ip,
            "internet": online,
            "wifi_mac": self._mac,
        }

    def render(self, endpoint: str) -> bytes:
        """The exact body a real unit sends for `endpoint`, quirks applied."""
        profile = self._profile
        trim = not profile.fixed_decimals
        if endpoint == "vitals":
            body = render_object(self.vitals(), compact=profile.compact_vitals, trim=trim)
        elif endpoint == "lifetime":
            body = render_object(self.lifetime(), compact=profile.compact_lifetime, trim=trim)
        elif endpoint == "version":
            body = render_object(self.version(), compact=False, trim=trim)
        elif endpoint == "wifi_status":
            body = render_object(self.wifi_status(), compact=profile.compact_wifi, trim=trim)
        else:
            raise ValueError(f"unknown endpoint {endpoint!r}; expected one of {', '.join(ENDPOINTS)}")
        quirks = self._quirks
        if (
            quirks.missing_brace
            and self._physics.contactor_closed
            and self._faults.random() < quirks.missing_brace_rate
        ):
            body = strip_final_brace(body)
        return body

    # --- the circuit it is wired to -------------------------------------------------------------

    @property
    def circuit(self) -> Circuit | None:
        """The circuit (and breaker) this unit is wired to, if a scenario gave it one."""
        return self._circuit

    def wire_to(self, circuit: Circuit) -> None:
        """Put the unit on `circuit` (the circuit calls this; a unit is on at most one)."""
        if self._circuit is not None and self._circuit is not circuit:
            raise RuntimeError(f"{self._serial} is already on circuit {self._circuit.name!r}")
        self._circuit = circuit

    def cut_supply(self, t: float, cut: bool) -> None:
        """The circuit's breaker trips (cut) or is reset at `t` (the circuit calls this)."""
        self.integrate_to(t).cut_supply(t, cut)

    def integrate_to(self, t: float) -> ChargerPhysics:
        """Settle the car and integrate to `t`, without the circuit (the circuit steps with this)."""
        physics = self._physics
        if self._load is not None:
            self._load.settle(physics, t)
        physics.integrate(t)
        return physics

    def next_change(self, horizon: float) -> float | None:
        """The next instant at or before `horizon` the unit's current changes by itself, or None."""
        physics = self._physics
        times = [physics.next_change()]
        if self._load is not None:
            times.append(self._load.next_event_at(physics, horizon))
        found = [t for t in times if t is not None and t <= horizon]
        return min(found) if found else None

    # --- internals -----------------------------------------------------------------------------

    def _sync(self) -> ChargerPhysics:
        t = self._world.now()
        if self._circuit is not None:
            self._circuit.settle(t)
        return self.integrate_to(t)

    def _lifetime_energy_wh(self, physics: ChargerPhysics) -> float:
        extra = self._glitches.offset_wh(physics.t) if self._glitches is not None else 0.0
        return physics.lifetime.energy_wh + extra

    def _start_glitches(self) -> None:
        if not self._quirks.energy_glitch:
            self._glitches = None
            return
        rng = random.Random(f"{self._glitch_seed}:{self._physics.t}")
        self._glitches = EnergyGlitches(rng, self._physics.t, self._quirks.glitch_interval_s)
