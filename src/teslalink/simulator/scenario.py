"""Scenario controls: what a test, the demo or a script may do to the twin's world, and its truth.

Intent-level functions over a `World`, one per thing a scenario does: move the clock, plug a car
in or unplug it, start and end a drive, put a car to sleep or offline and bring it back, set an
energy site's weather, house load and grid, set a Wall Connector's quirks or take it offline,
put Wall Connectors on a circuit with a breaker (its house load, a reset after a trip), and read
any device's true state (the ground truth a test compares the clients' view against).

They take plain JSON-like values and check them here, so the HTTP handlers of
`owner_api.scenario_app` (`/_twin/...`) only parse and format, and a test in the same process
calls the very same rules::

    from teslalink.simulator import World, scenario

    world = World(seed=1, speed=0.0)
    ...
    scenario.drive(world, car.id, route="loop_10km")
    scenario.advance(world, 600)
    assert scenario.vehicle_truth(world, car.id)["shift_state"] == "D"

Every function returns a JSON-ready dict (after a change: the device's truth). A refusal is a
`ScenarioError` with the HTTP status it answers with: 400 for bad input (a wrong type, a value
out of range, an unknown route or quirk), 404 for an unknown device, 409 when the device cannot
do it now (a car that is driving cannot be plugged in). Reading the truth never touches a car:
it does not keep it awake or wake it.

Devices are named as the cloud names them: a car by its id, vehicle_id or VIN; a Wall Connector
by its serial; an energy site by its energy_site_id; a circuit by the name a scenario gave it.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from ..errors import ConfigError
from .owner_api.products import linked_wall_connectors
from .quirks import Quirks
from .refusal import Refusal
from .vehicle.routes import DEMO_ROUTES
from .world import MAX_ADVANCE_S

if TYPE_CHECKING:
    from .circuit import Circuit
    from .site import EnergySite
    from .vehicle.car import Car
    from .wall_connector.unit import WallConnectorUnit
    from .world import World

__all__ = [
    "MAX_CIRCUIT_A",
    "MAX_DRIVE_KPH",
    "MAX_HOUSE_LOAD_W",
    "ScenarioError",
    "add_circuit",
    "advance",
    "circuit_truth",
    "come_online",
    "drive",
    "fall_asleep",
    "find_circuit",
    "find_site",
    "find_unit",
    "find_vehicle",
    "go_offline",
    "park",
    "plug_in",
    "reset_breaker",
    "set_circuit_load",
    "set_cloud_cover",
    "set_grid",
    "set_house_load",
    "set_outside_temp",
    "set_quirks",
    "set_storm_watch",
    "set_unit_alerts",
    "set_unit_online",
    "site_truth",
    "unit_truth",
    "unplug",
    "vehicle_truth",
    "world_truth",
]

MAX_DRIVE_KPH = 250.0
"""Our choice: the fastest a scenario drive may cruise (no Tesla goes much faster)."""

MAX_HOUSE_LOAD_W = 1e6
"""Our choice: a house load above a megawatt is a typo, not a home."""


MAX_CIRCUIT_A = 1000.0
"""Our choice: a circuit (or a house load on it) above 1000 A per phase is a typo, not a home."""

MAX_CIRCUIT_NAME = 64
"""Our choice: the longest circuit name a scenario may give."""


class ScenarioError(Refusal):
    """A scenario step the twin refuses: a `Refusal` answered `{"error": reason}` with `status`."""

    def __init__(self, reason: str, status: int = 400) -> None:
        super().__init__(reason, status)
        self.reason = reason

    def body(self) -> Any:
        return {"error": self.reason}


# --- input checks ---------------------------------------------------------------------------------


def _number(value: object, what: str, low: float, high: float) -> float:
    """A finite number within [low, high] (a bool is not a number here), else a 400."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ScenarioError(f"{what} must be a finite number")
    if not low <= value <= high:
        raise ScenarioError(f"{what} must be between {low:g} and {high:g}")
    return float(value)


def _flag(value: object, what: str) -> bool:
    if not isinstance(value, bool):
        raise ScenarioError(f"{what} must be true or false")
    return value


def _point(value: object, what: str) -> tuple[float, float]:
    if not isinstance(value, list | tuple) or len(value) != 2:
        raise ScenarioError(f"{what} must be [latitude, longitude]")
    latitude = _number(value[0], f"{what} latitude", -90.0, 90.0)
    return latitude, _number(value[1], f"{what} longitude", -180.0, 180.0)


@contextmanager
def _refusals() -> Iterator[None]:
    """The model's own refusals of a knob (RuntimeError: not now; ValueError/ConfigError: bad value)."""
    try:
        yield
    except RuntimeError as exc:
        raise ScenarioError(str(exc), 409) from None
    except (ValueError, ConfigError) as exc:
        raise ScenarioError(str(exc)) from None


# --- lookups --------------------------------------------------------------------------------------


def find_vehicle(world: World, ref: int | str) -> Car:
    """The car with this id, vehicle_id or VIN (404 if none)."""
    text = str(ref).strip()
    for car in world.vehicles:
        if text in (car.id_s, str(car.vehicle_id)) or text.upper() == car.vin:
            return car
    raise ScenarioError(f"no vehicle {text!r} in this world", 404)


def find_unit(world: World, serial: str) -> WallConnectorUnit:
    """The Wall Connector with this serial (404 if none)."""
    try:
        return world.wall_connector(str(serial).strip())
    except KeyError:
        raise ScenarioError(f"no Wall Connector {serial!r} in this world", 404) from None


def find_site(world: World, ref: int | str) -> EnergySite:
    """The energy site with this energy_site_id (404 if none)."""
    text = str(ref).strip()
    for site in world.energy_sites:
        if str(site.energy_site_id) == text:
            return site
    raise ScenarioError(f"no energy site {text!r} in this world", 404)


def find_circuit(world: World, name: object) -> Circuit:
    """The circuit with this name (404 if none)."""
    try:
        return world.circuit(str(name))
    except KeyError:
        raise ScenarioError(f"no circuit {name!r} in this world", 404) from None


# --- the clock ------------------------------------------------------------------------------------


def advance(world: World, seconds: object) -> dict[str, Any]:
    """Move the world clock forward by `seconds` (0 to ten years); devices catch up when read."""
    if isinstance(seconds, bool) or not isinstance(seconds, int | float) or not math.isfinite(seconds):
        raise ScenarioError("seconds must be a finite number")
    if seconds < 0:
        raise ScenarioError("seconds must be >= 0")
    if seconds > MAX_ADVANCE_S:
        raise ScenarioError(f"seconds must be <= {MAX_ADVANCE_S:.0f} (ten years)")
    world.advance(float(seconds))
    return {"now": world.now()}


# --- cars -----------------------------------------------------------------------------------------


def plug_in(world: World, vehicle: int | str, wall_connector: object = None) -> dict[str, Any]:
    """Plug the car into `wall_connector` (a serial), by default its account's first paired one."""
    car = find_vehicle(world, vehicle)
    if wall_connector is None:
        links = linked_wall_connectors(world, car.account)
        if not links:
            raise ScenarioError(
                "no Wall Connector is paired with this car's account; name one (wall_connector)"
            )
        unit = links[0].unit
    elif isinstance(wall_connector, str):
        unit = find_unit(world, wall_connector)
    else:
        raise ScenarioError("wall_connector must be a serial number (a string)")
    if unit.vehicle_connected and car.plugged_unit is not unit:
        raise ScenarioError(f"a car is already plugged into {unit.serial}", 409)
    with _refusals():
        car.plug_into(unit)
    return vehicle_truth(world, vehicle)


def unplug(world: World, vehicle: int | str) -> dict[str, Any]:
    """Pull the car's cable (AC or DC); a car that is not plugged in stays as it is."""
    car = find_vehicle(world, vehicle)
    car.unplug()
    return vehicle_truth(world, vehicle)


def drive(
    world: World, vehicle: int | str, *, route: object = None, to: object = None, speed_kph: object = 60.0
) -> dict[str, Any]:
    """Start a drive along a named demo route (`route`) or straight to a coordinate (`to`)."""
    car = find_vehicle(world, vehicle)
    if (route is None) == (to is None):
        raise ScenarioError("give either route (a demo route's name) or to ([latitude, longitude])")
    if route is not None:
        if not isinstance(route, str) or route not in DEMO_ROUTES:
            raise ScenarioError(f"unknown route {route!r}; known: {', '.join(sorted(DEMO_ROUTES))}")
        path: str | list[tuple[float, float]] = route
    else:
        path = [_point(to, "to")]
    kph = _number(speed_kph, "speed_kph", 1.0, MAX_DRIVE_KPH)
    with _refusals():
        car.drive(path, speed_kph=kph)
    return vehicle_truth(world, vehicle)


def park(world: World, vehicle: int | str) -> dict[str, Any]:
    """End the car's drive where it is now (a car that is not driving stays as it is)."""
    car = find_vehicle(world, vehicle)
    car.park()
    return vehicle_truth(world, vehicle)


def fall_asleep(world: World, vehicle: int | str) -> dict[str, Any]:
    """Put the car to sleep now (409 while driving, charging or anything else keeps it awake)."""
    car = find_vehicle(world, vehicle)
    with _refusals():
        car.fall_asleep()
    return vehicle_truth(world, vehicle)


def set_outside_temp(world: World, vehicle: int | str, celsius: object) -> dict[str, Any]:
    """Fix the temperature outside the car (-60 to 60 °C); None: back to its latitude's daily curve."""
    car = find_vehicle(world, vehicle)
    car.set_outside_temp(None if celsius is None else _number(celsius, "outside_temp_c", -60.0, 60.0))
    return vehicle_truth(world, vehicle)


def go_offline(world: World, vehicle: int | str) -> dict[str, Any]:
    """The car loses connectivity: the cloud shows it offline and cannot reach or wake it."""
    find_vehicle(world, vehicle).go_offline()
    return vehicle_truth(world, vehicle)


def come_online(world: World, vehicle: int | str) -> dict[str, Any]:
    """Connectivity is back: the cloud sees the car's own state (asleep or online) again."""
    find_vehicle(world, vehicle).come_online()
    return vehicle_truth(world, vehicle)


# --- energy sites ---------------------------------------------------------------------------------


def set_cloud_cover(world: World, site: int | str, cloud_cover: object) -> dict[str, Any]:
    """Fix the site's cloud cover, 0 (clear) to 1 (overcast); None: back to the seeded weather."""
    found = find_site(world, site)
    found.set_cloud_cover(None if cloud_cover is None else _number(cloud_cover, "cloud_cover", 0.0, 1.0))
    return site_truth(world, site)


def set_storm_watch(world: World, site: int | str, storm: object) -> dict[str, Any]:
    """Force a storm forecast on or off; None: back to the forecast of the site's weather."""
    found = find_site(world, site)
    found.storm_watch(None if storm is None else _flag(storm, "storm"))
    return site_truth(world, site)


def set_house_load(world: World, site: int | str, watts: object) -> dict[str, Any]:
    """Fix the home's load in W; None: back to the household's daily habits."""
    found = find_site(world, site)
    found.set_house_load(None if watts is None else _number(watts, "watts", 0.0, MAX_HOUSE_LOAD_W))
    return site_truth(world, site)


def set_grid(world: World, site: int | str, up: object) -> dict[str, Any]:
    """The grid goes down (an outage, recorded as a backup event) or comes back."""
    found = find_site(world, site)
    found.grid_outage(not _flag(up, "up"))
    return site_truth(world, site)


# --- Wall Connectors ------------------------------------------------------------------------------


def set_quirks(world: World, serial: str, spec: object) -> dict[str, Any]:
    """Replace the unit's quirks by a `--quirks` spec ("nan,drops=0.1"; "" switches all off)."""
    unit = find_unit(world, serial)
    if not isinstance(spec, str):
        raise ScenarioError('spec must be a string of quirks, e.g. "nan,drops=0.1"')
    with _refusals():
        unit.quirks = Quirks.parse(spec)
    return unit_truth(world, serial)


def set_unit_online(world: World, serial: str, online: object) -> dict[str, Any]:
    """A Wi-Fi drop-out (online false: the unit's port refuses) or its end (online true)."""
    unit = find_unit(world, serial)
    unit.offline = not _flag(online, "online")
    return unit_truth(world, serial)


def set_unit_alerts(world: World, serial: str, alerts: object) -> dict[str, Any]:
    """Replace what the unit's vitals list in `current_alerts` (strings or integers; [] clears)."""
    unit = find_unit(world, serial)
    if not isinstance(alerts, list | tuple) or not all(
        isinstance(a, str | int) and not isinstance(a, bool) for a in alerts
    ):
        raise ScenarioError("alerts must be a list of strings or integers")
    if len(alerts) > 64:
        raise ScenarioError("alerts must hold at most 64 entries")
    unit.alerts = tuple(alerts)
    return unit_truth(world, serial)


# --- circuits and breakers -------------------------------------------------------------------------


def add_circuit(
    world: World, name: object, limit_a: object, curve: object = "C", serials: object = ()
) -> dict[str, Any]:
    """Put Wall Connectors (`serials`) on a new circuit of `limit_a` per phase behind a B or C breaker."""
    if not isinstance(name, str) or not name.strip() or len(name) > MAX_CIRCUIT_NAME:
        raise ScenarioError(f"name must be a non-empty string of at most {MAX_CIRCUIT_NAME} characters")
    limit = _number(limit_a, "limit_a", 1.0, MAX_CIRCUIT_A)
    if not isinstance(curve, str) or curve.upper() not in ("B", "C"):
        raise ScenarioError('curve must be "B" or "C"')
    if not isinstance(serials, list | tuple) or not all(isinstance(s, str) for s in serials):
        raise ScenarioError("serials must be a list of Wall Connector serial numbers")
    if len(set(serials)) != len(serials):
        raise ScenarioError("serials must not repeat a Wall Connector")
    units = [find_unit(world, serial) for serial in serials]
    if name in {c.name for c in world.circuits}:
        raise ScenarioError(f"a circuit named {name!r} already exists", 409)
    for unit in units:
        if unit.circuit is not None:
            raise ScenarioError(f"{unit.serial} is already on circuit {unit.circuit.name!r}", 409)
    with _refusals():
        world.add_circuit(name, limit, curve.upper(), units)
    return circuit_truth(world, name)


def set_circuit_load(world: World, name: object, amps: object) -> dict[str, Any]:
    """The other loads the circuit carries, in A on each phase (0: only the Wall Connectors)."""
    circuit = find_circuit(world, name)
    circuit.set_house_load(world.now(), _number(amps, "amps", 0.0, MAX_CIRCUIT_A))
    return circuit_truth(world, name)


def reset_breaker(world: World, name: object) -> dict[str, Any]:
    """Close a tripped breaker again (409 if it has not tripped); the units get power back."""
    circuit = find_circuit(world, name)
    with _refusals():
        circuit.reset(world.now())
    return circuit_truth(world, name)


# --- the truth ------------------------------------------------------------------------------------


def vehicle_truth(world: World, vehicle: int | str) -> dict[str, Any]:
    """The car's true state now (no rounding, no noise); reading it does not touch the car."""
    return _car_truth(find_vehicle(world, vehicle))


def _car_truth(car: Car) -> dict[str, Any]:
    speed_kph, _, power_kw = car.motion()
    unit = car.plugged_unit
    latitude, longitude = car.location
    return {
        "id": car.id,
        "vehicle_id": car.vehicle_id,
        "vin": car.vin,
        "display_name": car.display_name,
        "now": car.now,
        "state": car.state,
        "power_state": car.power_state.value,
        "connected": car.connected,
        "in_service": car.in_service,
        "battery_level": car.battery_level,
        "battery_kwh": car.battery.energy_kwh,
        "charge_limit_soc": car.charge_limit_soc,
        "charging_state": car.charging_state,
        "charge_power_kw": car.port.power_kw(),
        "wall_connector": None if unit is None else unit.serial,
        "driving": car.is_driving,
        "shift_state": car.shift_state,
        "speed_kph": speed_kph,
        "power_kw": power_kw,
        "latitude": latitude,
        "longitude": longitude,
        "heading": car.heading,
        "odometer_mi": car.odometer_mi,
        "trips": len(car.trips),
        "inside_temp_c": car.inside_temp_c,
        "outside_temp_c": car.outside_temp_c,
        "wake_count": car.wake_count,
        "awake_seconds": car.awake_seconds,
    }


def unit_truth(world: World, serial: str) -> dict[str, Any]:
    """The unit's true state now: what its sensors would read without noise, and its counters."""
    unit = find_unit(world, serial)
    physics = unit.physics
    car = next((c for c in world.vehicles if c.plugged_unit is unit), None)
    return {
        "serial": unit.serial,
        "now": physics.t,
        "wiring": unit.wiring.value,
        "firmware": unit.firmware,
        "online": not unit.offline,
        "alerts": list(unit.alerts),
        "quirks": unit.quirks.to_spec(),
        "evse_state": int(physics.evse_state),
        "vehicle_connected": physics.plugged,
        "vehicle": None if car is None else car.id,
        "contactor_closed": physics.contactor_closed,
        "max_current_a": physics.max_current_a,
        "requested_current_a": physics.requested_a,
        "current_a": physics.current_a,
        "grid_v": physics.grid_v,
        "grid_hz": physics.grid_hz,
        "power_w": physics.power_w,
        "handle_temp_c": physics.handle.value_c,
        "pcba_temp_c": physics.pcba.value_c,
        "mcu_temp_c": physics.mcu.value_c,
        "session_s": physics.session_s,
        "session_energy_wh": physics.session_energy_wh,
        "lifetime_energy_wh": physics.lifetime.energy_wh,
        "reported_lifetime_energy_wh": unit.lifetime_energy_wh,
        "uptime_s": physics.uptime_s,
    }


def site_truth(world: World, site: int | str) -> dict[str, Any]:
    """The site's true power flows (W, before the meters' jitter), battery and grid now."""
    found = find_site(world, site)
    flows = found.power()
    env = found.env
    return {
        "energy_site_id": found.energy_site_id,
        "site_name": found.site_name,
        "now": found.physics.t,
        "solar_w": flows.solar_w,
        "load_w": flows.load_w,
        "battery_w": flows.battery_w,
        "grid_w": flows.grid_w,
        "energy_left_wh": found.energy_left_wh,
        "total_pack_energy_wh": found.capacity_wh,
        "percentage_charged": found.percentage_charged,
        "grid_up": found.grid_up,
        "dark": found.dark,
        "cloud_cover": found.cloud_cover(),
        "cloud_cover_fixed": env.cloud_cover_override is not None,
        "house_load_fixed_w": env.load_override_w,
        "storm_watch_active": found.storm_watch_active(),
        "operation": found.settings.operation,
        "backup_reserve_percent": found.settings.backup_reserve_percent,
    }


def circuit_truth(world: World, name: object) -> dict[str, Any]:
    """The circuit's limit, current per phase now, breaker state, overload seconds and trips."""
    circuit = find_circuit(world, name)
    circuit.settle(world.now())
    return {
        "name": circuit.name,
        "now": circuit.t,
        "limit_a": circuit.limit_a,
        "curve": circuit.curve,
        "wall_connectors": [unit.serial for unit in circuit.units],
        "house_load_a": circuit.house_load_a,
        "current_a": circuit.phase_currents(),
        "heat": circuit.heat(),
        "tripped": circuit.tripped,
        "overload_s": circuit.overload_s,
        "trips": [trip.to_json() for trip in circuit.trips],
    }


def world_truth(world: World) -> dict[str, Any]:
    """The clock and every device's truth, keyed by how the endpoints name them."""
    return {
        "seed": world.seed,
        "speed": world.speed,
        "now": world.now(),
        "vehicles": {car.id_s: _car_truth(car) for car in world.vehicles},
        "wall_connectors": {unit.serial: unit_truth(world, unit.serial) for unit in world.wall_connectors},
        "energy_sites": {
            str(site.energy_site_id): site_truth(world, site.energy_site_id) for site in world.energy_sites
        },
        "circuits": {circuit.name: circuit_truth(world, circuit.name) for circuit in world.circuits},
    }
