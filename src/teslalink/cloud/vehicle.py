"""One car of the account, the client: summary, vehicle_data, wake_up, every REST command, stream().

Sleep comes first (docs/reference.md §2.2): `summary()` and `state` never wake a car or keep it awake;
`vehicle_data()` and commands need it online and raise `VehicleUnavailable` (408) when it is not;
only `wake_up()` wakes it, and only when the caller asks. Command arguments are checked here,
before anything is sent, so a typo costs no request (and no Fleet API money); a command the car
refuses raises `CommandFailed` with the car's reason, unless the reason says the car is already
as asked (`already_set`, `is_charging` for a start...): that is a success, a `CommandResult`
with `already=True` and the car's `reason` (see `ALREADY_REASONS`).

The answer's model lives in `vehicle_data.py` and the VIN and option-code helpers in `vin.py`;
their names are re-exported here, where users have always imported them from.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Final

from .._convert import to_nearest_int
from ..errors import CommandFailed, ConfigError, VehicleUnavailable
from .vehicle_data import KM_PER_MILE, SoftwareUpdate, SpeedLimitMode, VehicleData
from .vin import (
    COMPOSITOR_URL,
    IMAGE_VIEWS,
    OPTION_CODES,
    DecodedVin,
    compose_image_url,
    decode_vin,
    describe_option_codes,
)

if TYPE_CHECKING:
    from ..transport import Clock, Sleep
    from .api import TeslaApi
    from .streaming import VehicleStream

__all__ = [
    "ALL_ENDPOINTS",
    "ALREADY_REASONS",
    "COMPOSITOR_URL",
    "IMAGE_VIEWS",
    "KM_PER_MILE",
    "OPTION_CODES",
    "CommandResult",
    "DecodedVin",
    "SoftwareUpdate",
    "SpeedLimitMode",
    "Vehicle",
    "VehicleData",
    "compose_image_url",
    "decode_vin",
    "describe_option_codes",
    "is_already",
]

ALL_ENDPOINTS: Final = (
    "charge_state",
    "climate_state",
    "closures_state",
    "drive_state",
    "gui_settings",
    "location_data",
    "vehicle_config",
    "vehicle_state",
)
"""Every block of vehicle_data; `location_data` is needed for the position since firmware 2023.38."""


Progress = Callable[[str, float], None]
"""wake_up's progress callback: (state the summary shows, seconds waited so far)."""


# --- argument checks (ConfigError before anything is sent) -------------------------------------------


def _check_number(
    what: str, value: Any, low: float, high: float, *, unit: str = "", integer: bool = False
) -> None:
    """`what` is the quantity in words ("the charge limit"), `unit` its unit ("%", " mph")."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ConfigError(f"{what} must be a number, got {value!r}")
    if integer and value != int(value):
        raise ConfigError(f"{what} must be a whole number, got {value:g}")
    if not low <= value <= high:
        raise ConfigError(f"{what} must be {low:g}-{high:g}{unit}, got {value:g}")


def _check_pin(what: str, pin: Any) -> str:
    if not isinstance(pin, str):  # an int would lose a leading 0
        raise ConfigError(f"{what} must be 4 digits in a str, not {type(pin).__name__}")
    if not (len(pin) == 4 and pin.isascii() and pin.isdigit()):
        raise ConfigError(f"{what} must be 4 digits")  # the value is a secret: never in the message
    return pin


def _check_choice(name: str, value: Any, choices: tuple[str, ...]) -> None:
    if value not in choices:
        raise ConfigError(f"{name} must be one of {', '.join(choices)}, got {value!r}")


def _check_bool(name: str, value: Any) -> None:
    if not isinstance(value, bool):
        raise ConfigError(f"{name} must be true or false, got {value!r}")


def _check_lat_lon(lat: Any, lon: Any) -> None:
    _check_number("the latitude", lat, -90.0, 90.0, unit="°")
    _check_number("the longitude", lon, -180.0, 180.0, unit="°")


TEMP_MIN_C: Final = 15.0
TEMP_MAX_C: Final = 28.0


# --- command results -------------------------------------------------------------------------------

ALREADY_REASONS: Final[Mapping[str, frozenset[str]]] = {
    "*": frozenset({"already_set"}),
    "START_CHARGE": frozenset({"is_charging"}),
    "STOP_CHARGE": frozenset({"not_charging", "complete"}),
    "SPEED_LIMIT_DEACTIVATE": frozenset({"not_active"}),
    "CANCEL_SOFTWARE_UPDATE": frozenset({"no_update_scheduled"}),
}
"""The refusals that mean "the car is already as you asked", by command ("*": any command).

Our choice: `complete` is "already" for a stop (nothing to stop) but a refusal for a start, since
the car will not charge, which is not what a start asked for; `disconnected` is always a refusal.
"""


def is_already(command: str, reason: str) -> bool:
    """Whether the car's `reason` for refusing `command` means it is already in the state asked for."""
    return reason in ALREADY_REASONS["*"] or reason in ALREADY_REASONS.get(command.upper(), frozenset())


@dataclass(frozen=True, slots=True)
class CommandResult(Mapping[str, Any]):
    """What a command the car took answered: done, or `already` so (then `reason` is the car's word).

    Reads as the answer itself (`result["result"]`, and any extra fields such as a software
    update's `scheduled_time_ms`), so code written when commands returned the answer still works;
    `answer["result"]` is False when `already` is True: the car did nothing, as nothing was needed.
    """

    command: str
    answer: Mapping[str, Any] = field(default_factory=dict)
    already: bool = False

    @property
    def reason(self) -> str:
        """The car's reason ("already_set"...) when `already`, else ""."""
        return str(self.answer.get("reason") or "") if self.already else ""

    def __getitem__(self, key: str) -> Any:
        return self.answer[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self.answer)

    def __len__(self) -> int:
        return len(self.answer)


# --- the car ---------------------------------------------------------------------------------------


class Vehicle:
    """One car, bound to a `TeslaApi`. Made by `TeslaApi.vehicles()` from the products list."""

    def __init__(
        self,
        api: TeslaApi,
        summary: Mapping[str, Any],
        *,
        sleep: Sleep | None = None,
        clock: Clock | None = None,
    ) -> None:
        self.api = api
        self.raw: Mapping[str, Any] = dict(summary)
        self._sleep: Sleep = sleep or api.sleep
        self._clock: Clock = clock or api.clock
        self.id_s = str(summary.get("id_s") or summary.get("id"))
        if not self.id_s.isdigit():
            raise ConfigError(f"a vehicle summary needs a numeric id, got {self.id_s!r}")

    def __repr__(self) -> str:
        return f"Vehicle(id={self.id_s}, vin={self.vin!r}, state={self.state!r})"

    @property
    def vin(self) -> str:
        return str(self.raw.get("vin") or "")

    @property
    def vehicle_id(self) -> int | None:
        return to_nearest_int(self.raw.get("vehicle_id"))

    @property
    def display_name(self) -> str:
        return str(self.raw.get("display_name") or "")

    @property
    def state(self) -> str:
        """The state of the last summary (online, asleep, offline); `summary()` refreshes it."""
        return str(self.raw.get("state") or "unknown")

    @property
    def in_service(self) -> bool:
        return self.raw.get("in_service") is True

    @property
    def option_codes(self) -> str:
        return str(self.raw.get("option_codes") or "")

    async def _call(self, name: str, **params: Any) -> Any:
        return await self.api.api(name, path_vars={"vehicle_id": self.id_s}, **params)

    def stream(self, **options: Any) -> VehicleStream:
        """This car's streaming websocket, with the API's URLs and tokens (see `VehicleStream`).

        Opening it wakes nothing: a parked or sleeping car sends nothing until it moves or charges.
        `options` go to `VehicleStream` (columns, backoff, max_failures, session...).
        """
        from .streaming import VehicleStream  # noqa: PLC0415 - aiohttp's websocket only when streaming

        if self.api.streaming_refused is not None:
            raise ConfigError(f"{self.display_name or self.vin}: cannot stream: {self.api.streaming_refused}")
        if self.vehicle_id is None:
            raise ConfigError(f"{self.display_name or self.vin or self.id_s} has no vehicle_id to stream")
        options.setdefault("cooldowns", self.api)  # a handshake 429 is kept with the API's cooldowns
        return VehicleStream(self.api.urls, self.api.tokens, self.vehicle_id, **options)

    # --- reads ---------------------------------------------------------------------------------

    async def summary(self) -> Mapping[str, Any]:
        """GET vehicles/{id}: state and identity. Never wakes the car or keeps it awake."""
        found = await self._call("VEHICLE_SUMMARY")
        if isinstance(found, Mapping):
            self.raw = dict(found)
        return self.raw

    async def vehicle_data(self, endpoints: Iterable[str] | str | None = None) -> VehicleData:
        """GET vehicle_data for these blocks (default: all; location too unless the API says no:
        the Fleet API asks for `location_data` only when it is named).

        `endpoints`: names, or one string of them separated by `;` or `,` (TeslaPy's form).
        Needs the car online: VehicleUnavailable (408) otherwise; it never wakes the car.
        Keeps an awake car awake (its inactivity timer restarts).
        """
        if isinstance(endpoints, str):
            endpoints = [e.strip() for e in endpoints.replace(",", ";").split(";") if e.strip()]
        if endpoints is None:
            endpoints = [e for e in ALL_ENDPOINTS if self.api.location_by_default or e != "location_data"]
        chosen = list(endpoints)
        unknown = [e for e in chosen if e not in ALL_ENDPOINTS]
        if unknown:
            raise ConfigError(f"unknown vehicle_data endpoints: {', '.join(unknown)}")
        found = await self._call("VEHICLE_DATA", endpoints=";".join(chosen))
        data = VehicleData(found if isinstance(found, Mapping) else {})
        if data.state is not None:
            self.raw = {**self.raw, "state": data.state}
        return data

    async def nearby_charging_sites(self) -> Mapping[str, Any]:
        """Superchargers and destination chargers near the car (needs it online)."""
        found = await self._call("NEARBY_CHARGING_SITES")
        return found if isinstance(found, Mapping) else {}

    async def service_data(self) -> Mapping[str, Any]:
        found = await self._call("VEHICLE_SERVICE_DATA")
        return found if isinstance(found, Mapping) else {}

    async def mobile_enabled(self) -> bool:
        """Whether the owner allows mobile access (needs the car online)."""
        return bool(await self._call("VEHICLE_MOBILE_ENABLED"))

    async def release_notes(self) -> Mapping[str, Any]:
        found = await self._call("RELEASE_NOTES")
        return found if isinstance(found, Mapping) else {}

    async def charge_history(self) -> Mapping[str, Any]:
        """The car's charging history as the app shows it (answered by the cloud; wakes nothing)."""
        found = await self._call("VEHICLE_CHARGE_HISTORY")
        return found if isinstance(found, Mapping) else {}

    # --- helpers -------------------------------------------------------------------------------

    def decode_vin(self) -> DecodedVin:
        return decode_vin(self.vin)

    def option_code_descriptions(self) -> list[str]:
        return describe_option_codes(self.option_codes)

    def compose_image_url(self, *, view: str = "STUD_3QTR", size: int = 640) -> str:
        return compose_image_url(self.vin, self.option_codes, view=view, size=size)

    # --- wake ----------------------------------------------------------------------------------

    async def wake_up(
        self,
        timeout: float = 60.0,  # noqa: ASYNC109 - a deadline over many polls, not one await
        *,
        progress: Progress | None = None,
        interval: float = 2.0,
        backoff: float = 1.15,
        max_interval: float = 10.0,
    ) -> None:
        """Wake the car and wait until the summary says online (VehicleUnavailable after `timeout` s).

        One POST wake_up, then the summary (never vehicle_data) every `interval` seconds, growing
        by `backoff`; `progress(state, seconds_waited)` hears each poll. Waits use the sleep and
        clock given to the Vehicle (real time by default).
        """
        if not timeout > 0:
            raise ConfigError(f"timeout must be positive, got {timeout!r}")
        found = await self._call("WAKE_UP")
        if isinstance(found, Mapping):
            self.raw = dict(found)
        start = self._clock()
        if progress is not None:
            progress(self.state, 0.0)
        wait = interval
        while self.state != "online":
            waited = self._clock() - start
            if waited >= timeout:
                raise VehicleUnavailable(
                    408, f"{self.display_name or self.id_s} not online after {timeout:g} s"
                )
            await self._sleep(min(wait, max(0.0, timeout - waited)))
            wait = min(max_interval, wait * backoff)
            await self.summary()
            if progress is not None:
                progress(self.state, self._clock() - start)

    # --- commands ------------------------------------------------------------------------------

    async def command(self, name: str, **params: Any) -> CommandResult:
        """Send a named command; `CommandFailed(name, reason)` when the car refuses it.

        A refusal that means the car is already as asked (`is_already`) is no failure: the
        result says `already` and keeps the car's reason.
        """
        answer = await self.api.vehicle_command(self, name, params)
        if answer.get("result") is True:
            return CommandResult(name, answer)
        reason = str(answer.get("reason") or "")
        if is_already(name, reason):
            return CommandResult(name, answer, already=True)
        raise CommandFailed(name, reason)

    async def unlock(self) -> CommandResult:
        return await self.command("UNLOCK")

    async def lock(self) -> CommandResult:
        return await self.command("LOCK")

    async def honk_horn(self) -> CommandResult:
        return await self.command("HONK_HORN")

    async def flash_lights(self) -> CommandResult:
        return await self.command("FLASH_LIGHTS")

    async def climate_on(self) -> CommandResult:
        return await self.command("CLIMATE_ON")

    async def climate_off(self) -> CommandResult:
        return await self.command("CLIMATE_OFF")

    async def set_max_defrost(self, on: bool) -> CommandResult:
        _check_bool("on", on)
        return await self.command("MAX_DEFROST", on=on)

    async def set_temps(self, driver_temp: float, passenger_temp: float | None = None) -> CommandResult:
        """Cabin temperatures in Celsius (15-28); the passenger side follows the driver's if omitted."""
        passenger = driver_temp if passenger_temp is None else passenger_temp
        _check_number("the driver temperature", driver_temp, TEMP_MIN_C, TEMP_MAX_C, unit=" °C")
        _check_number("the passenger temperature", passenger, TEMP_MIN_C, TEMP_MAX_C, unit=" °C")
        return await self.command(
            "CHANGE_CLIMATE_TEMPERATURE_SETTING", driver_temp=driver_temp, passenger_temp=passenger
        )

    async def set_charge_limit(self, percent: int) -> CommandResult:
        _check_number("the charge limit", percent, 50, 100, unit=" %", integer=True)
        return await self.command("CHANGE_CHARGE_LIMIT", percent=int(percent))

    async def charge_max_range(self) -> CommandResult:
        return await self.command("CHANGE_CHARGE_MAX")

    async def charge_standard(self) -> CommandResult:
        return await self.command("CHANGE_CHARGE_STANDARD")

    async def set_charging_amps(self, charging_amps: int) -> CommandResult:
        """0-48 A (0-1 give 2 A and 2-3 give 3 A on the car; above its maximum gives the maximum)."""
        _check_number("the charging current", charging_amps, 0, 48, unit=" A", integer=True)
        return await self.command("CHARGING_AMPS", charging_amps=int(charging_amps))

    async def charge_start(self) -> CommandResult:
        return await self.command("START_CHARGE")

    async def charge_stop(self) -> CommandResult:
        return await self.command("STOP_CHARGE")

    async def charge_port_door_open(self) -> CommandResult:
        return await self.command("CHARGE_PORT_DOOR_OPEN")

    async def charge_port_door_close(self) -> CommandResult:
        return await self.command("CHARGE_PORT_DOOR_CLOSE")

    async def set_scheduled_charging(self, enable: bool, time_minutes: int | None = None) -> CommandResult:
        """Start charging at `time_minutes` after local midnight (0-1439); needed when enabling."""
        _check_bool("enable", enable)
        if enable or time_minutes is not None:
            _check_number(
                "the start time (minutes after midnight)", time_minutes, 0, 24 * 60 - 1, integer=True
            )
        return await self.command("SCHEDULED_CHARGING", enable=enable, time=time_minutes)

    async def set_scheduled_departure(
        self,
        enable: bool,
        departure_time: int | None = None,
        *,
        preconditioning_enabled: bool | None = None,
        preconditioning_weekdays_only: bool | None = None,
        off_peak_charging_enabled: bool | None = None,
        off_peak_charging_weekdays_only: bool | None = None,
        end_off_peak_time: int | None = None,
    ) -> CommandResult:
        _check_bool("enable", enable)
        for name, minutes in (("departure_time", departure_time), ("end_off_peak_time", end_off_peak_time)):
            if minutes is not None:
                _check_number(f"{name} (minutes after midnight)", minutes, 0, 24 * 60 - 1, integer=True)
        if enable and departure_time is None:
            raise ConfigError("departure_time is needed when enabling a scheduled departure")
        return await self.command(
            "SCHEDULED_DEPARTURE",
            enable=enable,
            departure_time=departure_time,
            preconditioning_enabled=preconditioning_enabled,
            preconditioning_weekdays_only=preconditioning_weekdays_only,
            off_peak_charging_enabled=off_peak_charging_enabled,
            off_peak_charging_weekdays_only=off_peak_charging_weekdays_only,
            end_off_peak_time=end_off_peak_time,
        )

    async def sun_roof_control(self, state: str) -> CommandResult:
        _check_choice("state", state, ("vent", "close", "comfort", "open"))
        return await self.command("CHANGE_SUNROOF_STATE", state=state)

    async def window_control(
        self, command: str, lat: float | None = None, lon: float | None = None
    ) -> CommandResult:
        """vent or close; close needs the phone's lat/lon near the car (Tesla checks the distance)."""
        _check_choice("command", command, ("vent", "close"))
        if command == "close" or lat is not None or lon is not None:
            if lat is None or lon is None:
                raise ConfigError("closing the windows needs lat and lon (near the car)")
            _check_lat_lon(lat, lon)
        return await self.command(
            "WINDOW_CONTROL",
            command=command,
            lat=lat if lat is not None else 0,
            lon=lon if lon is not None else 0,
        )

    async def actuate_trunk(self, which_trunk: str) -> CommandResult:
        _check_choice("which_trunk", which_trunk, ("front", "rear"))
        return await self.command("ACTUATE_TRUNK", which_trunk=which_trunk)

    async def remote_start_drive(self, password: str | None = None) -> CommandResult:
        """Keyless driving for two minutes (the password, if the car wants one, is never logged)."""
        return await self.command("REMOTE_START", password=password)

    async def trigger_homelink(self, lat: float, lon: float) -> CommandResult:
        _check_lat_lon(lat, lon)
        return await self.command("TRIGGER_HOMELINK", lat=lat, lon=lon)

    async def set_sentry_mode(self, on: bool) -> CommandResult:
        _check_bool("on", on)
        return await self.command("SET_SENTRY_MODE", on=on)

    async def set_valet_mode(self, on: bool, password: str | None = None) -> CommandResult:
        """Valet mode; a 4-digit PIN (`password`) is needed to switch it on when none is set."""
        _check_bool("on", on)
        if password is not None:
            _check_pin("the valet PIN", password)
        return await self.command("SET_VALET_MODE", on=on, password=password)

    async def reset_valet_pin(self) -> CommandResult:
        return await self.command("RESET_VALET_PIN")

    async def speed_limit_set_limit(self, limit_mph: float) -> CommandResult:
        """50-90 mph, only while the mode is inactive."""
        _check_number("the speed limit", limit_mph, 50, 90, unit=" mph")
        return await self.command("SPEED_LIMIT_SET_LIMIT", limit_mph=limit_mph)

    async def speed_limit_activate(self, pin: str) -> CommandResult:
        return await self.command("SPEED_LIMIT_ACTIVATE", pin=_check_pin("the PIN", pin))

    async def speed_limit_deactivate(self, pin: str) -> CommandResult:
        return await self.command("SPEED_LIMIT_DEACTIVATE", pin=_check_pin("the PIN", pin))

    async def speed_limit_clear_pin(self, pin: str) -> CommandResult:
        return await self.command("SPEED_LIMIT_CLEAR_PIN", pin=_check_pin("the PIN", pin))

    async def schedule_software_update(self, offset_sec: int = 0) -> CommandResult:
        _check_number("the delay", offset_sec, 0, 7 * 24 * 3600, unit=" s", integer=True)
        return await self.command("SCHEDULE_SOFTWARE_UPDATE", offset_sec=int(offset_sec))

    async def cancel_software_update(self) -> CommandResult:
        return await self.command("CANCEL_SOFTWARE_UPDATE")

    async def remote_seat_heater_request(self, heater: int, level: int) -> CommandResult:
        """heater 0 driver, 1 passenger, 2 rear left, 3 rear left back, 4 rear center, 5 rear right.

        level 0 (off) to 3.
        """
        _check_number("the seat heater", heater, 0, 5, integer=True)
        _check_number("the heater level", level, 0, 3, integer=True)
        return await self.command("REMOTE_SEAT_HEATER_REQUEST", heater=int(heater), level=int(level))

    async def remote_steering_wheel_heater_request(self, on: bool) -> CommandResult:
        _check_bool("on", on)
        return await self.command("REMOTE_STEERING_WHEEL_HEATER_REQUEST", on=on)

    async def set_climate_keeper_mode(self, mode: int) -> CommandResult:
        """0 off, 1 keep, 2 dog, 3 camp."""
        _check_number("the climate keeper mode", mode, 0, 3, integer=True)
        return await self.command("SET_CLIMATE_KEEPER_MODE", climate_keeper_mode=int(mode))

    async def set_cabin_overheat_protection(self, on: bool, *, fan_only: bool = False) -> CommandResult:
        _check_bool("on", on)
        _check_bool("fan_only", fan_only)
        return await self.command("SET_CABIN_OVERHEAT_PROTECTION", on=on, fan_only=fan_only)

    async def set_bioweapon_mode(self, on: bool) -> CommandResult:
        _check_bool("on", on)
        return await self.command("HVAC_BIOWEAPON_MODE", on=on)

    async def media_toggle_playback(self) -> CommandResult:
        return await self.command("MEDIA_TOGGLE_PLAYBACK")

    async def media_next_track(self) -> CommandResult:
        return await self.command("MEDIA_NEXT_TRACK")

    async def media_prev_track(self) -> CommandResult:
        return await self.command("MEDIA_PREVIOUS_TRACK")

    async def media_next_fav(self) -> CommandResult:
        return await self.command("MEDIA_NEXT_FAVORITE")

    async def media_prev_fav(self) -> CommandResult:
        return await self.command("MEDIA_PREVIOUS_FAVORITE")

    async def media_volume_up(self) -> CommandResult:
        return await self.command("MEDIA_VOLUME_UP")

    async def media_volume_down(self) -> CommandResult:
        return await self.command("MEDIA_VOLUME_DOWN")

    async def adjust_volume(self, volume: float) -> CommandResult:
        _check_number("the volume", volume, 0, 11)
        return await self.command("ADJUST_VOLUME", volume=volume)

    async def set_vehicle_name(self, vehicle_name: str) -> CommandResult:
        if not isinstance(vehicle_name, str) or not vehicle_name.strip():
            raise ConfigError("vehicle_name must be a non-empty string")
        return await self.command("SET_VEHICLE_NAME", vehicle_name=vehicle_name)
