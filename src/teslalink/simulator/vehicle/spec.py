"""What differs between car models, and the identity a car is born with (VIN, tokens, options).

Numbers are rounded public figures (usable pack, rated range, onboard charger, peak DC power,
mass); they only need to be plausible and consistent: rated Wh per mile is usable energy divided
by rated range, so range and state of charge always agree. Driving consumption is higher than
rated, as owners see it.

A VIN follows the North-American layout Tesla uses: WMI ``5YJ``, the model letter at position 4,
body, restraints, fuel ``E``, motor, a real check digit at position 9, the model-year code at
position 10, plant ``F`` (Fremont) at 11 and a six-digit serial.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

__all__ = ["MODELS", "ModelSpec", "make_vin", "model_spec", "vin_check_digit", "year_code"]


@dataclass(frozen=True, slots=True)
class ModelSpec:
    """The fixed characteristics of one model."""

    letter: str  # "3", "Y", "S", "X": VIN position 4 and the `model` option
    name: str
    car_type: str  # vehicle_config.car_type
    vin_body: str  # VIN positions 5-8 (body, restraints, fuel, motor)
    first_year: int
    capacity_kwh: float  # usable energy at 100 %
    rated_range_mi: float  # rated (EPA) range at 100 %
    drive_wh_per_km: float  # consumption when driving at moderate speed
    onboard_charger_a: int  # single/split-phase AC maximum; three-phase is 16 A per phase
    dc_peak_kw: float
    mass_kg: float
    wheel_type: str
    exterior_color: str
    sun_roof: bool
    option_codes: str

    @property
    def rated_wh_per_mi(self) -> float:
        return self.capacity_kwh * 1000.0 / self.rated_range_mi


MODELS: dict[str, ModelSpec] = {
    "3": ModelSpec(
        letter="3", name="Model 3", car_type="model3", vin_body="E1EA", first_year=2017,
        capacity_kwh=57.5, rated_range_mi=272.0, drive_wh_per_km=135.0, onboard_charger_a=32,
        dc_peak_kw=170.0, mass_kg=1760.0, wheel_type="Pinwheel18", exterior_color="MidnightSilver",
        sun_roof=False,
        option_codes="AD15,AF00,APF0,APH4,AU3P,BC3B,CDM0,CH15,COUS,DRLH,DV2W,FC3P,FG31,FM3B,GLFR,"
        "HL31,HM31,IL31,LTPB,MDL3,MI00,MR31,PMNG,PC30,RENA,RF3G,RS3H,S3PB,SA3P,SC04,STCP,SU3C,"
        "T3CA,TM00,TW00,UT3P,W39B,WR00,ZCST",
    ),
    "Y": ModelSpec(
        letter="Y", name="Model Y", car_type="modely", vin_body="GCEE", first_year=2020,
        capacity_kwh=75.0, rated_range_mi=310.0, drive_wh_per_km=155.0, onboard_charger_a=48,
        dc_peak_kw=250.0, mass_kg=1980.0, wheel_type="Apollo19", exterior_color="PearlWhite",
        sun_roof=False,
        option_codes="AD15,APF0,APH4,AU3P,BC3B,CDM0,CH15,COUS,DV4W,FG31,GLFR,HL31,HM31,IL31,LTPW,"
        "MDLY,MI00,MTY05,PPSW,PC30,RENA,RF3G,S3PW,SC04,STY5S,SU3C,T3MA,TM00,TW01,UTAW,WY19B,ZCST",
    ),
    "S": ModelSpec(
        letter="S", name="Model S", car_type="models", vin_body="A1E2", first_year=2012,
        capacity_kwh=95.0, rated_range_mi=405.0, drive_wh_per_km=170.0, onboard_charger_a=48,
        dc_peak_kw=250.0, mass_kg=2070.0, wheel_type="Tempest19", exterior_color="DeepBlue",
        sun_roof=True,
        option_codes="AD15,APF2,APH4,AU01,BC0R,BP02,BR05,BS00,CDM0,CH15,COUS,DA02,DCF0,DRLH,DSH7,"
        "DV4W,FG02,FR04,GLTL,HP01,ID3W,IL01,LLP1,LP01,MDLS,MI03,PF00,PI01,PK00,PMMB,PS01,PX00,"
        "QLWB,RFPX,SC05,SP01,SR07,ST01,SU01,TM00,TP03,TR00,UTAB,WT19,X001,YFFC",
    ),
    "X": ModelSpec(
        letter="X", name="Model X", car_type="modelx", vin_body="CAE2", first_year=2015,
        capacity_kwh=95.0, rated_range_mi=335.0, drive_wh_per_km=205.0, onboard_charger_a=48,
        dc_peak_kw=250.0, mass_kg=2450.0, wheel_type="Cyberstream20", exterior_color="SolidBlack",
        sun_roof=False,
        option_codes="AD15,APF2,APH4,AU01,BC0R,BP02,BR05,BS00,CDM0,CH15,COUS,DA02,DRLH,DSH7,DV4W,"
        "FG02,GLTL,HP01,ID3W,IL01,LLP1,MDLX,MI03,PMBL,PS01,QLWB,RFPX,SC05,SR07,ST01,SU01,TM00,"
        "TR00,UTAB,WX20,X001,YFFC",
    ),
}  # fmt: skip


def model_spec(model: str) -> ModelSpec:
    """The spec of a model given as "3", "model3", "Model 3", "y"... (ValueError if unknown)."""
    key = model.strip().upper().replace("MODEL", "").replace(" ", "")
    if key not in MODELS:
        raise ValueError(f"unknown model {model!r}; expected one of {', '.join(MODELS)}")
    return MODELS[key]


_YEAR_CODES = "ABCDEFGHJKLMNPRSTVWXY123456789"  # 2010, 2011, ... (no I, O, Q, U, Z, 0)
_TRANSLIT = {
    **{str(d): d for d in range(10)},
    **dict(zip("ABCDEFGH", range(1, 9), strict=True)),
    **dict(zip("JKLMN", range(1, 6), strict=True)),
    "P": 7,
    "R": 9,
    **dict(zip("STUVWXYZ", range(2, 10), strict=True)),
}
_WEIGHTS = (8, 7, 6, 5, 4, 3, 2, 10, 0, 9, 8, 7, 6, 5, 4, 3, 2)


def year_code(year: int) -> str:
    """The VIN model-year character (position 10) for `year` (2010-2039)."""
    if not 2010 <= year <= 2039:
        raise ValueError(f"no VIN year code for {year}")
    return _YEAR_CODES[year - 2010]


def vin_check_digit(vin: str) -> str:
    """The check digit (position 9) of a 17-character VIN; its own position is ignored."""
    if len(vin) != 17:
        raise ValueError(f"a VIN has 17 characters, got {len(vin)}")
    total = sum(_TRANSLIT[ch] * weight for ch, weight in zip(vin.upper(), _WEIGHTS, strict=True))
    remainder = total % 11
    return "X" if remainder == 10 else str(remainder)


def make_vin(spec: ModelSpec, year: int, rng: random.Random) -> str:
    """A plausible VIN for `spec` built in `year`, with a serial from `rng`."""
    serial = rng.randrange(100_000, 1_000_000)
    draft = f"5YJ{spec.letter}{spec.vin_body}0{year_code(year)}F{serial}"
    return draft[:8] + vin_check_digit(draft) + draft[9:]
