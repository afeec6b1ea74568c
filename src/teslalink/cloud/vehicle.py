"""One car of the account: summary, vehicle_data, wake_up, every REST command, and small helpers.

Sleep comes first (REFERENCE 2.2): `summary()` and `state` never wake a car or keep it awake;
`vehicle_data()` and commands need it online and raise `VehicleUnavailable` (408) when it is not;
only `wake_up()` wakes it, and only when the caller asks. Command arguments are checked here,
before anything is sent, so a typo costs no request (and no Fleet API money); a command the car
refuses raises `CommandFailed` with the car's reason, unless the reason says the car is already
as asked (`already_set`, `is_charging` for a start...): that is a success, a `CommandResult`
with `already=True` and the car's `reason` (see `ALREADY_REASONS`).
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from importlib import resources
from typing import TYPE_CHECKING, Any, Final, TypedDict
from urllib.parse import urlencode

from ..errors import CommandFailed, ConfigError, VehicleUnavailable

if TYPE_CHECKING:
    from .api import Clock, Sleep, TeslaApi
    from .streaming import VehicleStream

__all__ = [
    "ALL_ENDPOINTS",
    "ALREADY_REASONS",
    "OPTION_CODES",
    "CommandResult",
    "DecodedVin",
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

KM_PER_MILE: Final = 1.609344
COMPOSITOR_URL: Final = "https://static-assets.tesla.com/v1/compositor/"
IMAGE_VIEWS: Final = ("STUD_3QTR", "STUD_SEAT", "STUD_SIDE", "STUD_REAR", "STUD_WHEEL")

Progress = Callable[[str, float], None]
"""wake_up's progress callback: (state the summary shows, seconds waited so far)."""


# --- typed views -----------------------------------------------------------------------------------


def _num(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    number = float(value)
    return number if math.isfinite(number) else None


def _int(value: Any) -> int | None:
    number = _num(value)
    return None if number is None else round(number)


def _bool(value: Any) -> bool | None:
    return value if isinstance(value, bool) else None


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _block(raw: Mapping[str, Any], name: str) -> Mapping[str, Any]:
    value = raw.get(name)
    return value if isinstance(value, Mapping) else {}


@dataclass(frozen=True, slots=True)
class SpeedLimitMode:
    active: bool | None
    pin_code_set: bool | None
    current_limit_mph: float | None
    min_limit_mph: float | None
    max_limit_mph: float | None


@dataclass(frozen=True, slots=True)
class SoftwareUpdate:
    status: str | None
    version: str | None
    download_perc: int | None
    install_perc: int | None
    expected_duration_sec: int | None
    scheduled_time_ms: int | None


@dataclass(frozen=True, slots=True)
class VehicleData:
    """The answer of vehicle_data: typed accessors for the common fields, the answer on `.raw`.

    A block that was not asked for (or a field a firmware lacks) reads as None, never KeyError.
    Distances are miles and temperatures Celsius, as the API sends them whatever the GUI shows;
    `format_distance` and `format_temperature` give them in the car's GUI units.
    """

    raw: Mapping[str, Any] = field(repr=False)

    @property
    def charge_state(self) -> Mapping[str, Any]:
        return _block(self.raw, "charge_state")

    @property
    def climate_state(self) -> Mapping[str, Any]:
        return _block(self.raw, "climate_state")

    @property
    def drive_state(self) -> Mapping[str, Any]:
        return _block(self.raw, "drive_state")

    @property
    def vehicle_state(self) -> Mapping[str, Any]:
        return _block(self.raw, "vehicle_state")

    @property
    def gui_settings(self) -> Mapping[str, Any]:
        return _block(self.raw, "gui_settings")

    @property
    def vehicle_config(self) -> Mapping[str, Any]:
        return _block(self.raw, "vehicle_config")

    # identity
    @property
    def vin(self) -> str | None:
        return _str(self.raw.get("vin"))

    @property
    def state(self) -> str | None:
        return _str(self.raw.get("state"))

    # charge
    @property
    def battery_level(self) -> int | None:
        return _int(self.charge_state.get("battery_level"))

    @property
    def charging_state(self) -> str | None:
        return _str(self.charge_state.get("charging_state"))

    @property
    def charge_limit_soc(self) -> int | None:
        return _int(self.charge_state.get("charge_limit_soc"))

    @property
    def charger_power_kw(self) -> float | None:
        return _num(self.charge_state.get("charger_power"))

    @property
    def charger_actual_current_a(self) -> float | None:
        return _num(self.charge_state.get("charger_actual_current"))

    @property
    def charger_voltage_v(self) -> float | None:
        return _num(self.charge_state.get("charger_voltage"))

    @property
    def charge_current_request_a(self) -> float | None:
        return _num(self.charge_state.get("charge_current_request"))

    @property
    def charge_energy_added_kwh(self) -> float | None:
        return _num(self.charge_state.get("charge_energy_added"))

    @property
    def est_battery_range_mi(self) -> float | None:
        return _num(self.charge_state.get("est_battery_range"))

    @property
    def battery_range_mi(self) -> float | None:
        return _num(self.charge_state.get("battery_range"))

    @property
    def minutes_to_full_charge(self) -> int | None:
        return _int(self.charge_state.get("minutes_to_full_charge"))

    # climate
    @property
    def inside_temp_c(self) -> float | None:
        return _num(self.climate_state.get("inside_temp"))

    @property
    def outside_temp_c(self) -> float | None:
        return _num(self.climate_state.get("outside_temp"))

    @property
    def is_climate_on(self) -> bool | None:
        return _bool(self.climate_state.get("is_climate_on"))

    @property
    def driver_temp_setting_c(self) -> float | None:
        return _num(self.climate_state.get("driver_temp_setting"))

    # vehicle state
    @property
    def locked(self) -> bool | None:
        return _bool(self.vehicle_state.get("locked"))

    @property
    def odometer_mi(self) -> float | None:
        return _num(self.vehicle_state.get("odometer"))

    @property
    def sentry_mode(self) -> bool | None:
        return _bool(self.vehicle_state.get("sentry_mode"))

    @property
    def car_version(self) -> str | None:
        return _str(self.vehicle_state.get("car_version"))

    @property
    def speed_limit_mode(self) -> SpeedLimitMode | None:
        mode = self.vehicle_state.get("speed_limit_mode")
        if not isinstance(mode, Mapping):
            return None
        return SpeedLimitMode(
            active=_bool(mode.get("active")),
            pin_code_set=_bool(mode.get("pin_code_set")),
            current_limit_mph=_num(mode.get("current_limit_mph")),
            min_limit_mph=_num(mode.get("min_limit_mph")),
            max_limit_mph=_num(mode.get("max_limit_mph")),
        )

    @property
    def software_update(self) -> SoftwareUpdate | None:
        update = self.vehicle_state.get("software_update")
        if not isinstance(update, Mapping):
            return None
        return SoftwareUpdate(
            status=_str(update.get("status")),
            version=_str(update.get("version")),
            download_perc=_int(update.get("download_perc")),
            install_perc=_int(update.get("install_perc")),
            expected_duration_sec=_int(update.get("expected_duration_sec")),
            scheduled_time_ms=_int(update.get("scheduled_time_ms")),
        )

    # drive (the position needs the location_data block)
    @property
    def latitude(self) -> float | None:
        return _num(self.drive_state.get("latitude"))

    @property
    def longitude(self) -> float | None:
        return _num(self.drive_state.get("longitude"))

    @property
    def heading(self) -> float | None:
        return _num(self.drive_state.get("heading"))

    @property
    def speed_mph(self) -> float | None:
        return _num(self.drive_state.get("speed"))

    @property
    def shift_state(self) -> str | None:
        return _str(self.drive_state.get("shift_state"))

    @property
    def power_kw(self) -> float | None:
        return _num(self.drive_state.get("power"))

    # GUI units
    @property
    def gui_distance_units(self) -> str | None:
        return _str(self.gui_settings.get("gui_distance_units"))

    @property
    def gui_temperature_units(self) -> str | None:
        return _str(self.gui_settings.get("gui_temperature_units"))

    @property
    def gui_24_hour_time(self) -> bool | None:
        return _bool(self.gui_settings.get("gui_24_hour_time"))

    @property
    def uses_km(self) -> bool:
        return "km" in (self.gui_distance_units or "")

    @property
    def uses_fahrenheit(self) -> bool:
        return (self.gui_temperature_units or "F").upper().startswith("F")

    def format_distance(self, miles: float | None, *, speed: bool = False) -> str | None:
        """Miles (or mph) as the car's GUI shows them: "12.3 km" or "7.6 mi" ("km/h", "mph")."""
        if miles is None:
            return None
        if self.uses_km:
            return f"{miles * KM_PER_MILE:.1f} {'km/h' if speed else 'km'}"
        return f"{miles:.1f} {'mph' if speed else 'mi'}"

    def format_temperature(self, celsius: float | None) -> str | None:
        """Celsius as the car's GUI shows it: "70.2 F" or "21.2 C"."""
        if celsius is None:
            return None
        if self.uses_fahrenheit:
            return f"{celsius * 1.8 + 32:.1f} F"
        return f"{celsius:.1f} C"

    def gui_time(self, timestamp_ms: float, *, utc_offset_s: float | None = None) -> str:
        """A time in the GUI's 12 or 24 hour style, in the car's zone (vehicle_config.utc_offset)."""
        offset = utc_offset_s if utc_offset_s is not None else _num(self.vehicle_config.get("utc_offset"))
        moment = time.gmtime(timestamp_ms / 1000.0 + (offset or 0.0))
        return time.strftime("%H:%M:%S" if self.gui_24_hour_time else "%I:%M:%S %p", moment)

    @property
    def timestamp_ms(self) -> int | None:
        """When the car produced this data (charge_state's timestamp, else any block's)."""
        for block in ("charge_state", "climate_state", "drive_state", "vehicle_state", "gui_settings"):
            stamp = _int(_block(self.raw, block).get("timestamp"))
            if stamp is not None:
                return stamp
        return None

    def last_seen(self, now: float | None = None) -> str:
        """How long ago the data was produced, in words ("just now", "5 minutes ago", "2 days ago")."""
        stamp = self.timestamp_ms
        if stamp is None:
            return "unknown"
        return _ago((time.time() if now is None else now) - stamp / 1000.0)


_AGO_STEPS: Final = ((60.0, "second"), (60.0, "minute"), (24.0, "hour"), (7.0, "day"), (4.35, "week"))


def _ago(seconds: float) -> str:
    if seconds < 1.0:
        return "just now"
    value = seconds
    unit = "second"
    for size, name in _AGO_STEPS:
        unit = name
        if value < size:
            break
        value /= size
    else:
        unit = "month"
        if value >= 12.0:
            value, unit = value / 12.0, "year"
    count = round(value)
    return f"{count} {unit}{'' if count == 1 else 's'} ago"


# --- VIN and option codes --------------------------------------------------------------------------

_VIN_CHARS: Final = frozenset("ABCDEFGHJKLMNPRSTUVWXYZ0123456789")  # no I, O, Q
_VIN_YEARS: Final = "ABCDEFGHJKLMNPRSTVWXY123456789"  # position 10: A = 2010, then 30-year cycle
_VIN_MAKERS: Final = {  # positions 1-3, the world manufacturer identifier
    "5YJ": "Tesla",  # Fremont and Austin
    "7SA": "Tesla",  # Fremont and Austin, newer cars
    "7G2": "Tesla",  # Cybertruck and Semi
    "LRW": "Tesla",  # Shanghai
    "XP7": "Tesla",  # Berlin
    "SFZ": "Tesla",  # Roadster, built in Hethel
}
_VIN_MODELS: Final = {  # position 4; the tables below are those of these four models
    "S": "Model S",
    "3": "Model 3",
    "X": "Model X",
    "Y": "Model Y",
}
_VIN_BODY: Final = {  # position 5
    "A": "5-door hatchback, left-hand drive",
    "B": "5-door hatchback, right-hand drive",
    "C": "5-door MPV (class E), left-hand drive",
    "D": "5-door MPV (class E), right-hand drive",
    "E": "4-door sedan, left-hand drive",
    "F": "4-door sedan, right-hand drive",
    "G": "5-door MPV (class D), left-hand drive",
    "H": "5-door MPV (class D), right-hand drive",
}
_FRONT_SIDE: Final = "front and side airbags"
_VIN_RESTRAINTS: Final = {  # position 6: seat belts (front, second row, third row) and airbags
    "1": f"belts 2+3, {_FRONT_SIDE}, front knee airbags, passenger detection",
    "3": f"belts 2+2, {_FRONT_SIDE}, front knee airbags",
    "4": f"belts 2+2, {_FRONT_SIDE}, front knee airbags",
    "5": f"belts 2+2, {_FRONT_SIDE}",
    "6": f"belts 2+3, {_FRONT_SIDE}",
    "7": f"belts 2+3, {_FRONT_SIDE}, active hood",
    "8": f"belts 2+2, {_FRONT_SIDE}, active hood",
    "A": f"belts 2+3+2, {_FRONT_SIDE}, front knee airbags, passenger detection",
    "B": f"belts 2+2+2, {_FRONT_SIDE}, front knee airbags, passenger detection",
    "C": f"belts 2+2+2, {_FRONT_SIDE}, front knee airbags, passenger detection",
    "D": f"belts 2+3, {_FRONT_SIDE}, front knee airbags, passenger detection",
}
_VIN_BATTERY: Final = {  # position 7
    "E": "electric (NMC)",
    "F": "lithium iron phosphate (LFP)",
    "H": "high capacity (NMC)",
    "S": "standard (NMC)",
    "V": "ultra capacity (NMC)",
}
_VIN_DRIVE: Final = {  # position 8
    "1": "single motor",
    "2": "dual motor",
    "3": "single motor, performance",
    "4": "dual motor, performance",
    "5": "dual motor (P2)",
    "6": "tri motor (P2)",
    "A": "single motor",
    "B": "dual motor",
    "C": "dual motor, performance",
    "D": "single motor",
    "E": "dual motor",
    "F": "dual motor, performance",
    "G": "base (tier 4)",
    "N": "base (tier 7)",
    "P": "performance (tier 7)",
}
_VIN_PLANTS: Final = {  # position 11
    "F": "Fremont, CA, USA",
    "A": "Austin, TX, USA",
    "B": "Berlin, Germany",
    "C": "Shanghai, China",
    "P": "Palo Alto, CA, USA",
    "N": "Reno, NV, USA",
    "1": "Menlo Park, CA, USA",
    "3": "Hethel, UK",
    "R": "research",
}


class DecodedVin(TypedDict):
    """What `decode_vin` returns: a plain dict of strings; a position it does not know is "unknown"."""

    vin: str
    manufacturer: str
    make: str
    model: str
    body_type: str
    restraint_system: str
    battery_type: str
    drive_unit: str
    year: str
    plant: str
    serial: str


def decode_vin(vin: str) -> DecodedVin:
    """What a Tesla VIN tells: maker, model, body, restraints, battery, motors, model year, plant.

    The position tables are those of the Model S, 3, X and Y; another model (Roadster, Cybertruck,
    Semi) decodes as model "unknown" with body and restraints "unknown".

    A value this table does not know reads "unknown" (never KeyError); a string that cannot be a
    VIN (not 17 characters, or a character outside A-Z and 0-9, or I, O, Q) raises ConfigError.
    The check digit (position 9) is not verified: some test and pre-production VINs lack one.
    """
    if not isinstance(vin, str):
        raise ConfigError(f"a VIN is a string, got {type(vin).__name__}")
    text = vin.strip().upper()
    if len(text) != 17:
        raise ConfigError(f"a VIN has 17 characters, got {len(text)}")
    bad = sorted({c for c in text if c not in _VIN_CHARS})
    if bad:
        raise ConfigError(f"a VIN has only A-Z (no I, O, Q) and 0-9, got {''.join(bad)!r} in {text!r}")
    model = _VIN_MODELS.get(text[3], "unknown")
    passenger_car = model != "unknown"  # body and restraint letters mean other things elsewhere
    year_index = _VIN_YEARS.find(text[9])
    year = "unknown" if year_index < 0 else str(2010 + year_index)
    return DecodedVin(
        vin=text,
        manufacturer=_VIN_MAKERS.get(text[:3], "unknown"),
        make="unknown" if model == "unknown" else f"Tesla {model}",
        model=model,
        body_type=_VIN_BODY.get(text[4], "unknown") if passenger_car else "unknown",
        restraint_system=_VIN_RESTRAINTS.get(text[5], "unknown") if passenger_car else "unknown",
        battery_type=_VIN_BATTERY.get(text[6], "unknown"),
        drive_unit=_VIN_DRIVE.get(text[7], "unknown"),
        year=year,
        plant=_VIN_PLANTS.get(text[10], "unknown"),
        serial=text[11:],
    )


class _OptionCodes(Mapping[str, str]):
    """The option code table of option_codes.json (our own wording), read on first use, then kept."""

    __slots__ = ("_table",)

    def __init__(self) -> None:
        self._table: dict[str, str] | None = None

    def _load(self) -> dict[str, str]:
        if self._table is None:
            text = (
                resources.files(__package__ or "teslalink.cloud")
                .joinpath("option_codes.json")
                .read_text("utf-8")
            )
            raw = json.loads(text)
            self._table = {str(code): str(description) for code, description in raw.items()}
        return self._table

    @property
    def loaded(self) -> bool:
        return self._table is not None

    def __getitem__(self, code: str) -> str:
        return self._load()[code]

    def __iter__(self) -> Iterator[str]:
        return iter(self._load())

    def __len__(self) -> int:
        return len(self._load())

    def __contains__(self, code: object) -> bool:
        return code in self._load()

    def __repr__(self) -> str:
        return f"<option codes: {len(self)} known>" if self.loaded else "<option codes: not read yet>"


OPTION_CODES: Final = _OptionCodes()
"""Option code -> a short description (our own wording), read from option_codes.json on first use."""


def describe_option_codes(codes: str | Iterable[str]) -> list[str]:
    """Descriptions of the known codes among `codes` ("MDL3,PMNG,..." or a list), in order.

    Codes this table does not know (Tesla adds new ones often) are skipped, as are blanks.
    """
    items = codes.split(",") if isinstance(codes, str) else list(codes)
    known = (code.strip().upper() for code in items if isinstance(code, str))
    return [OPTION_CODES[code] for code in known if code in OPTION_CODES]


def compose_image_url(
    vin: str, option_codes: str, *, view: str = "STUD_3QTR", size: int = 640, model: str | None = None
) -> str:
    """The URL of Tesla's compositor for a picture of this car (PNG); nothing is fetched."""
    if view not in IMAGE_VIEWS:
        raise ConfigError(f"unknown view {view!r}; expected one of {', '.join(IMAGE_VIEWS)}")
    if not option_codes:
        raise ConfigError("compose_image_url needs the car's option codes")
    if isinstance(size, bool) or not isinstance(size, int) or size <= 0:
        raise ConfigError(f"size must be a positive number of pixels, got {size!r}")
    model_code = model or ("m" + vin.strip()[3:4].lower())
    query = {"model": model_code, "bkba_opt": 1, "view": view, "size": size, "options": option_codes}
    return COMPOSITOR_URL + "?" + urlencode(query)


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
        return _int(self.raw.get("vehicle_id"))

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
        """GET vehicle_data for these blocks (default: all, location included).

        `endpoints`: names, or one string of them separated by `;` or `,` (TeslaPy's form).
        Needs the car online: VehicleUnavailable (408) otherwise; it never wakes the car.
        Keeps an awake car awake (its inactivity timer restarts).
        """
        if isinstance(endpoints, str):
            endpoints = [e.strip() for e in endpoints.replace(",", ";").split(";") if e.strip()]
        chosen = list(ALL_ENDPOINTS if endpoints is None else endpoints)
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
        found = await self._call(name, **params)
        answer: Mapping[str, Any] = found if isinstance(found, Mapping) else {}
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
