"""A simulated Tesla car: sleep and wake, driving, charging, climate, commands and what the API shows.

The car is the model; the Owner API handlers and the streaming server only parse and format
around it. Like the Wall Connector it never ticks: every read or event first runs `_sync` (in
.core, the base class holding the state machine), an event loop that advances the state
from the last update to the world's present, stopping at each instant something happens by itself
(a wake-up completes, the idle timer runs out, an hourly check-in, arrival at the end of a route, a
DC session reaching the limit, an update downloading, starting or finishing, a charging edge
decided on a Wall Connector). Between events the
continuous state (position, battery, cabin temperature, awake time) integrates in closed form,
so a day of world time costs a few dozen steps, however often (or rarely) anyone reads the car.

Charging on a simulated Wall Connector is coupled through the unit (see .ac): the car is
the unit's `ChargeLoad`, and both sides are computed from one schedule, so the car's current and
energy equal the unit's at every instant and the car stops at its limit at the right time even
when nobody reads either.

Randomness is derived from (world seed, car id, purpose, occurrence), never from the world's
shared generator, so adding a car or reading one never changes what another draws.

The parts live beside it in vehicle/: spec (models, VIN), battery, ac (the Wall Connector coupling),
charging (the charge port), taper (DC), power (sleep), climate, routes, state (closures, modes,
update), commands (one function per command), render (the API's JSON), extras (small endpoints).

Scenario knobs (for tests and the demo) are plain methods and properties: `user_present`,
`set_outside_temp`, `go_offline`/`come_online`, `fall_asleep`, `plug_into`/`unplug`, `drive`/`park`,
`start_supercharging`, `offer_update`, `enter_service`/`leave_service`, `set_closure`.
"""

from __future__ import annotations

import random
import time
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Literal

from . import commands as _commands
from . import extras as _extras
from . import render as _render
from .battery import CHARGE_LIMIT_MAX, CHARGE_LIMIT_MIN, Battery
from .charging import ChargePort
from .climate import Cabin, ClimateSettings, Weather
from .core import CarCore, Drive, Trip
from .errors import (
    CommandSigningRequired,
    MobileAccessDisabled,
    UnknownCommand,
    VehicleInService,
    VehicleUnavailable,
)
from .power import Power, SleepMachine
from .routes import DEMO_ROUTES, DriveProfile, Path, distance_m, elevation_m
from .spec import ModelSpec, make_vin, model_spec
from .state import CLOSURES, WINDOWS, Closures, Media, SoftwareUpdate, SpeedLimit, Valet

if TYPE_CHECKING:
    from ..accounts import Account
    from ..wall_connector.unit import WallConnectorUnit
    from ..world import World

__all__ = ["UPDATE_IN_PROGRESS", "Car", "Trip"]

Point = tuple[float, float]

UPDATE_IN_PROGRESS = "software_update_in_progress"
"""The reason every command gets while an update installs (our choice; not a published string)."""

_NAMES = ("Sparky", "Blue Thunder", "Tessa", "Volt Runner", "Silent Storm", "Mercury", "Nikola", "Ampere")


class Car(CarCore):
    """One car in a `World`. Create it with `World.add_vehicle(account, **options)`.

    Properties and methods sync the car to the world's present first. The state records
    (`battery`, `port`, `climate`, `closures`, `speed_limit`, `valet`, `media`, `software`,
    `sentry_mode`) are the model itself, as of the last sync: commands and knobs change them;
    read them after a property or method call, or through the rendered answers.
    """

    def __init__(
        self,
        world: World,
        account: Account,
        *,
        id: int,
        vehicle_id: int,
        model: str = "3",
        display_name: str | None = None,
        vin: str | None = None,
        battery_level: float = 70.0,
        charge_limit_soc: int = 80,
        location: Point = (37.4925, -121.9447),
        heading: float = 0.0,
        newer_computer: bool = True,
        signed_commands_required: bool = False,
        idle_sleep_s: float = 900.0,
        units: Literal["mi", "km"] = "mi",
        temperature_units: Literal["F", "C"] = "F",
        firmware: str = "2026.38.4 abc123",
        onboard_charger_a: int | None = None,
        eu_vehicle: bool = False,
        odometer_mi: float | None = None,
        asleep: bool = False,
        api_version: int | None = None,
        utc_offset_s: float | None = None,
        homelink: bool = True,
    ) -> None:
        if units not in ("mi", "km"):
            raise ValueError(f"units must be 'mi' or 'km', got {units!r}")
        if temperature_units not in ("F", "C"):
            raise ValueError(f"temperature_units must be 'F' or 'C', got {temperature_units!r}")
        if not CHARGE_LIMIT_MIN <= charge_limit_soc <= CHARGE_LIMIT_MAX:
            raise ValueError(f"charge_limit_soc must be 50-100, got {charge_limit_soc!r}")
        if not 0.0 <= battery_level <= 100.0:
            raise ValueError(f"battery_level must be 0-100, got {battery_level!r}")
        self._world = world
        self.account = account
        self.id = id
        self.vehicle_id = vehicle_id
        self.spec: ModelSpec = model_spec(model)
        self._key = f"teslalink:car:{world.seed}:{id}"
        identity = random.Random(f"{self._key}:identity")
        t0 = world.now()
        year = max(self.spec.first_year, time.gmtime(t0).tm_year - identity.randint(0, 3))
        self.vin = vin if vin is not None else make_vin(self.spec, year, identity)
        if len(self.vin) != 17:
            raise ValueError(f"a VIN has 17 characters, got {self.vin!r}")
        self.display_name = display_name if display_name is not None else identity.choice(_NAMES)
        self.option_codes = self.spec.option_codes
        self.tokens = [f"{identity.getrandbits(64):016x}", f"{identity.getrandbits(64):016x}"]
        self.tpms_bar = tuple(round(identity.uniform(2.85, 3.0), 3) for _ in range(4))
        self.units = units
        self.temperature_units = temperature_units
        self.eu_vehicle = eu_vehicle
        self.car_version = firmware
        fw_year = _firmware_year(firmware)
        self.api_version = api_version if api_version is not None else max(6, 7 + 10 * (fw_year - 2019))
        self.signed_commands_required = signed_commands_required
        self.homelink = homelink
        self.home: Point = (float(location[0]), float(location[1]))
        self.local_offset_s = (
            float(utc_offset_s) if utc_offset_s is not None else round(location[1] / 15.0) * 3600.0
        )

        self.battery = Battery(
            capacity_kwh=self.spec.capacity_kwh,
            energy_kwh=self.spec.capacity_kwh * battery_level / 100.0,
            limit_soc=int(charge_limit_soc),
            rated_range_mi=self.spec.rated_range_mi,
        )
        onboard = onboard_charger_a if onboard_charger_a is not None else self.spec.onboard_charger_a
        self.port = ChargePort(
            self.battery, self.spec, onboard_a=onboard, eu=eu_vehicle, local_offset_s=self.local_offset_s
        )
        self._weather = Weather(latitude=location[0], local_offset_s=self.local_offset_s)
        self.climate = ClimateSettings()
        self._cabin = Cabin(self._weather.outside_c(t0))
        self.closures = Closures()
        self.speed_limit = SpeedLimit()
        self.valet = Valet()
        self.media = Media()
        self.software = SoftwareUpdate(expected_duration_s=identity.choice((1_500, 1_800, 2_100, 2_700)))
        self.sentry_mode = False
        self.remote_start_until = 0.0
        self.navigation: dict[str, Any] | None = None
        self._trips: list[Trip] = []

        self._sleep = SleepMachine(
            t0, idle_sleep_s=idle_sleep_s, newer_computer=newer_computer, draw=self._draw, asleep=asleep
        )
        self._t = t0
        self._connected = True
        self._in_service = False
        self._user_present = False
        self._position: Point = self.home
        self._heading = float(heading) % 360.0
        self._odometer_mi = odometer_mi if odometer_mi is not None else identity.uniform(1_000.0, 40_000.0)
        self._drive: Drive | None = None
        self._shift_p = False
        self._charge_keeper = False
        self._kept = False
        self._telemetry_mark = t0

    def __repr__(self) -> str:
        return (
            f"Car(id={self.id}, vin={self.vin!r}, model={self.spec.letter!r}, state={self.state!r}, "
            f"battery_level={self.battery.soc:.1f})"
        )

    # --- identity ------------------------------------------------------------------------------

    @property
    def world(self) -> World:
        return self._world

    @property
    def id_s(self) -> str:
        return str(self.id)

    @property
    def user_id(self) -> int:
        return self.account.user_id

    @property
    def in_service(self) -> bool:
        return self._in_service

    @property
    def newer_computer(self) -> bool:
        return self._sleep.newer_computer

    @property
    def idle_sleep_s(self) -> float:
        return self._sleep.idle_sleep_s

    # --- state as the cloud sees it (reads never keep the car awake) -----------------------------

    @property
    def is_online(self) -> bool:
        return self.state == "online"

    @property
    def power_state(self) -> Power:
        """The computer's own state (AWAKE, WAKING, ASLEEP), whatever the connectivity."""
        self._sync()
        return self._sleep.state

    @property
    def wake_count(self) -> int:
        """How often the car woke, for any reason (see `wake_reasons`)."""
        self._sync()
        return self._sleep.wake_count

    @property
    def wake_reasons(self) -> dict[str, int]:
        """Wakes by reason: wake_up, periodic, user, charging, plug_in, software_update, ..."""
        self._sync()
        return dict(self._sleep.wake_reasons)

    @property
    def awake_seconds(self) -> float:
        """World seconds spent awake or waking since the car was delivered."""
        self._sync()
        return self._sleep.awake_seconds

    @property
    def sleep_count(self) -> int:
        self._sync()
        return self._sleep.sleep_count

    def touch(self) -> bool:
        """A call that keeps the car awake (vehicle_data, a command, streaming); False if not online."""
        t = self._sync()
        return self._connected and self._sleep.touch(t)

    def reach(self, *, mobile_access: bool = True) -> None:
        """Refuse a call that goes to the car as the car would (see `_reach`), else keep it awake.

        For the cloud's endpoints that ask the car without being its own reads (mobile_enabled,
        with `mobile_access` False: it is the question itself; nearby_charging_sites).
        """
        self._reach(self._sync(), mobile_access=mobile_access)

    def _reach(self, t: float, *, mobile_access: bool = True, signed: bool = False) -> None:
        """The rules of every call that goes to the car, in the order Tesla answers them.

        405 while in service; 403 when the call must be signed (`signed`: a command to a car that
        requires signing); 405 with mobile access off (unless `mobile_access` is False: the call
        that asks about it); 408 unless online. A call that gets through keeps the car awake.
        """
        if self._in_service:
            raise VehicleInService
        if signed:
            raise CommandSigningRequired(self.account.region)
        if mobile_access and not self.account.mobile_access:
            raise MobileAccessDisabled
        if not (self._connected and self._sleep.touch(t)):
            raise VehicleUnavailable

    def wake_up(self) -> None:
        """The cloud's wake_up: an asleep car starts booting and is online 10-30 s later."""
        t = self._sync()
        if self._connected:
            self._sleep.wake_up(t)

    # --- physical state ------------------------------------------------------------------------

    @property
    def now(self) -> float:
        """The world time the car is synced to (syncs first)."""
        return self._sync()

    @property
    def location(self) -> Point:
        self._sync()
        return self._position

    @property
    def heading(self) -> float:
        self._sync()
        return self._heading

    @property
    def odometer_mi(self) -> float:
        self._sync()
        return self._odometer_mi

    @property
    def battery_level(self) -> float:
        """State of charge in percent (not rounded)."""
        self._sync()
        return self.battery.soc

    @property
    def charge_limit_soc(self) -> int:
        return self.battery.limit_soc

    @property
    def charging_state(self) -> str:
        self._sync()
        return self.port.charging_state

    @property
    def plugged_unit(self) -> WallConnectorUnit | None:
        self._sync()
        return self.port.ac.unit if self.port.ac is not None else None

    @property
    def trips(self) -> list[Trip]:
        """Finished drives, oldest first (a copy)."""
        self._sync()
        return list(self._trips)

    @property
    def is_driving(self) -> bool:
        self._sync()
        return self._drive is not None

    @property
    def is_updating(self) -> bool:
        self._sync()
        return self.software.status == "installing"

    @property
    def shift_state(self) -> str | None:
        """ "D" while driving, "P" after a drive until the car sleeps or plugs in, else None."""
        self._sync()
        if self._drive is not None:
            return "D"
        return "P" if self._shift_p else None

    def motion(self) -> tuple[float, float, float]:
        """(speed km/h, acceleration m/s², power kW) now; power is negative when charging or braking."""
        t = self._sync()
        drive = self._drive
        if drive is None:
            return 0.0, 0.0, -self.port.power_kw()
        _, v, a = drive.profile.state(t - drive.t0)
        cruise_kw = drive.wh_per_km * v * 3.6 / 1000.0
        return v * 3.6, a, cruise_kw + self.spec.mass_kg * a * v / 1000.0

    @property
    def elevation_m(self) -> float:
        return elevation_m(self.location)

    @property
    def outside_temp_c(self) -> float:
        return self._weather.outside_c(self._sync())

    @property
    def inside_temp_c(self) -> float:
        self._sync()
        return self._cabin.inside_c

    @property
    def is_user_present(self) -> bool:
        self._sync()
        return self._user_present or self._drive is not None

    @property
    def user_present(self) -> bool:
        return self._user_present

    @user_present.setter
    def user_present(self, present: bool) -> None:
        """Someone gets in (wakes the car and keeps it awake) or leaves."""
        t = self._sync()
        self._user_present = bool(present)
        if present:
            self._sleep.wake_now(t, "user")
        self._refresh(t, "user")

    @property
    def homelink_nearby(self) -> bool:
        """A HomeLink device (the garage door at home) is within range."""
        return self.homelink and distance_m(self.location, self.home) < 150.0

    @property
    def remote_start(self) -> bool:
        return self._sync() < self.remote_start_until

    # --- scenario knobs ------------------------------------------------------------------------

    def set_outside_temp(self, celsius: float | None) -> None:
        """Fix the outside temperature (None: back to the daily curve of the car's latitude)."""
        self._sync()
        self._weather.fixed_c = None if celsius is None else float(celsius)

    def go_offline(self) -> None:
        """Lose connectivity: the cloud shows offline and cannot reach or wake the car."""
        self._sync()
        self._connected = False

    def come_online(self) -> None:
        """Connectivity is back; the cloud sees the car's own state again."""
        self._sync()
        self._connected = True

    @property
    def connected(self) -> bool:
        return self._connected

    def fall_asleep(self) -> None:
        """Fall asleep now, skipping the idle wait; refused while anything keeps the car awake."""
        t = self._sync()
        if self._keepers():
            raise RuntimeError(
                "something keeps the car awake (driving, charging, climate, sentry, a person, "
                "an open door or an update)"
            )
        if self._sleep.state is not Power.ASLEEP:
            self._sleep.fall_asleep(t)
            self._shift_p = False
            self._telemetry_mark = t

    def enter_service(self) -> None:
        """The car is at a service center: in_service true, commands refused (HTTP 405)."""
        self._sync()
        self._in_service = True

    def leave_service(self) -> None:
        self._sync()
        self._in_service = False

    def set_closure(self, name: str, is_open: bool) -> None:
        """Open or close a door/trunk (df, dr, pf, pr, ft, rt) or window (fd_window...) by hand."""
        t = self._sync()
        if name in CLOSURES:
            self.closures.open[name] = 1 if is_open else 0
            if is_open:
                self._sleep.wake_now(t, "door")
        elif name in WINDOWS:
            self.closures.windows[name] = 2 if is_open else 0
        else:
            raise ValueError(f"unknown closure {name!r}; expected one of {', '.join(CLOSURES + WINDOWS)}")
        self._refresh(t, "door")

    def drive(self, route: Sequence[Point] | str, speed_kph: float = 60.0) -> None:
        """Drive along `route` (points, or a DEMO_ROUTES name) from where the car is.

        The car accelerates to `speed_kph`, follows the polyline and stops at its end; arrival ends
        the drive (shift P). A route that does not start at the car is driven from the car's
        position to its first point. If the battery runs out, the car stops where it is empty.
        """
        t = self._sync()
        if self._drive is not None:
            raise RuntimeError("the car is already driving; park() first")
        if self.port.plugged:
            raise RuntimeError("the car is plugged in; unplug() first")
        if self.software.status == "installing":
            raise RuntimeError("a software update is installing")
        if not speed_kph > 0:
            raise ValueError(f"speed_kph must be positive, got {speed_kph!r}")
        points = list(DEMO_ROUTES[route]) if isinstance(route, str) else [tuple(p) for p in route]
        path = Path([self._position, *points])
        wh_per_km = self.spec.drive_wh_per_km
        reach_m = self.battery.energy_kwh * 1e6 / wh_per_km
        profile = DriveProfile(min(path.length_m, reach_m), speed_kph / 3.6)
        self._drive = Drive(path, profile, t, self._odometer_mi, self.battery.energy_kwh, wh_per_km)
        self._sleep.wake_now(t, "user")
        self._shift_p = False
        self._telemetry_mark = t
        self._refresh(t, "user")

    def park(self) -> None:
        """Stop where the car is now (ends the drive early)."""
        t = self._sync()
        if self._drive is not None:
            self._arrive(t)

    def plug_into(self, unit: WallConnectorUnit) -> None:
        """Plug into a simulated Wall Connector: the car asks for min(request, onboard, unit) amps."""
        t = self._sync()
        if self._drive is not None:
            raise RuntimeError("the car is driving; park() first")
        self._sleep.wake_now(t, "plug_in")
        self.port.plug_into(unit, t)
        self._shift_p = False
        self._telemetry_mark = t
        self._refresh(t, "plug_in")

    def start_supercharging(self, max_kw: float = 250.0) -> None:
        """Plug into a Supercharger stall of `max_kw` (DC, taper by state of charge)."""
        t = self._sync()
        if self._drive is not None:
            raise RuntimeError("the car is driving; park() first")
        self._sleep.wake_now(t, "plug_in")
        self.port.start_supercharging(t, max_kw)
        self._shift_p = False
        self._telemetry_mark = t
        self._refresh(t, "plug_in")

    def unplug(self) -> None:
        """Pull the cable (AC or DC). charge_energy_added keeps the session's value."""
        t = self._sync()
        self.port.unplug(t)
        self._telemetry_mark = t
        self._refresh(t)

    def offer_update(self, version: str, *, download_s: float = 600.0) -> None:
        """Tesla pushes an update: the car wakes, downloads it (kept awake), then shows available."""
        t = self._sync()
        if self.software.status in ("scheduled", "installing"):
            raise RuntimeError(f"an update is already {self.software.status}")
        sw = self.software
        sw.version, sw.download_started, sw.download_s = version, t, float(download_s)
        sw.status = "downloading" if download_s > 0 else "available"
        sw.scheduled_at = sw.install_started = None
        if sw.status == "downloading":
            self._sleep.wake_now(t, "software_update")
        self._refresh(t, "software_update")

    # --- what the API answers ------------------------------------------------------------------

    def summary(self) -> dict[str, Any]:
        """The vehicle object of GET api/1/vehicles/{id} and products; never keeps the car awake."""
        return self._at_one_instant(lambda t: _render.summary(self, t))

    def vehicle_data(self, endpoints: Iterable[str] | None = None) -> dict[str, Any]:
        """The `response` of vehicle_data for these endpoints (None: all blocks but location).

        `endpoints` is an iterable of names or the query parameter's string ("a;b").

        Keeps the car awake. Refuses like every call that reaches the car (`_reach`). Every block
        is of the same instant (one sync).
        """

        def render(t: float) -> dict[str, Any]:
            self._reach(t)
            return _render.vehicle_data(self, t, endpoints)

        return self._at_one_instant(render)

    def telemetry(self) -> dict[str, Any]:
        """The streaming columns now: timestamp (ms) and docs/reference.md §2.5's twelve values.

        All of one instant (one sync), which `timestamp` is.
        """
        return self._at_one_instant(lambda t: _render.telemetry(self, t))

    def telemetry_changed_at(self) -> float:
        """World time of the last change of any streamed value (now while moving or charging).

        The streaming server sends an update about once a second while this is recent and stops
        when it is more than ~10 s old.
        """
        t = self._sync()
        if self._drive is not None or self.port.power_kw() != 0.0:
            return t
        return self._telemetry_mark

    def telemetry_changed_since(self, t: float) -> bool:
        """Did any streamed value change after world time `t`? (see `telemetry_changed_at`)"""
        return self.telemetry_changed_at() > t

    def nearby_charging_sites(self) -> dict[str, Any]:
        return self._at_one_instant(lambda t: _extras.nearby_charging_sites(self, t))

    def service_data(self) -> dict[str, Any]:
        return self._at_one_instant(lambda t: _extras.service_data(self, t))

    def release_notes(self) -> dict[str, Any]:
        return self._at_one_instant(lambda t: _extras.release_notes(self, t))

    def mobile_enabled(self) -> bool:
        """Whether the owner allows mobile access (the account's setting)."""
        return self.account.mobile_access

    def charge_history(self) -> dict[str, Any]:
        return self._at_one_instant(lambda t: _extras.charge_history(self, t))

    def command(self, name: str, params: Mapping[str, Any] | None = None) -> tuple[bool, str]:
        """Run POST command/<name>: (result, reason), reason "" on success. Keeps the car awake.

        Raises UnknownCommand (404), VehicleInService (405), MobileAccessDisabled (405),
        CommandSigningRequired (403) or VehicleUnavailable (408) before the car judges anything.
        """
        response = self.command_response(name, params)
        return bool(response["result"]), str(response["reason"])

    def command_response(
        self,
        name: str,
        params: Mapping[str, Any] | None = None,
        *,
        require_signed: bool = False,
        signed: bool = False,
    ) -> dict[str, Any]:
        """Like `command`, as the full `response` object (some commands add fields).

        `require_signed` is the cloud's world-level mode: refused as unsigned like a car whose
        `signed_commands_required` is set. `signed`: the command came verified through the
        Vehicle Command Protocol (simulator.fleet), so it is never refused as unsigned.
        """
        handler = _commands.COMMANDS.get(name)
        if handler is None:
            raise UnknownCommand(name)
        t = self._sync()
        self._reach(t, signed=not signed and (require_signed or self.signed_commands_required))
        if self.software.status == "installing":
            return {"result": False, "reason": UPDATE_IN_PROGRESS}
        ok, reason = handler(self, _commands.Call(t, params or {}))
        self._refresh(t)
        response: dict[str, Any] = {"result": ok, "reason": reason}
        extra = _commands.EXTRAS.get(name)
        if extra is not None and ok:
            response.update(extra(self, t))
        return response


def _firmware_year(firmware: str) -> int:
    try:
        return int(firmware.split(".", 1)[0])
    except ValueError:
        return 2026
