"""What a car's identity strings tell: the VIN decoded, option codes described, the compositor's image URL.

Pure functions over strings the products list gives (`vin`, `option_codes`): nothing is sent, so
they serve a `Vehicle`, the CLI and anyone's own list of VINs alike. The option code table is our
own wording in option_codes.json, read on first use.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping
from importlib import resources
from typing import Final, TypedDict
from urllib.parse import urlencode

from ..errors import ConfigError

__all__ = [
    "COMPOSITOR_URL",
    "IMAGE_VIEWS",
    "OPTION_CODES",
    "DecodedVin",
    "compose_image_url",
    "decode_vin",
    "describe_option_codes",
]

COMPOSITOR_URL: Final = "https://static-assets.tesla.com/v1/compositor/"
IMAGE_VIEWS: Final = ("STUD_3QTR", "STUD_SEAT", "STUD_SIDE", "STUD_REAR", "STUD_WHEEL")

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
