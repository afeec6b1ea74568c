"""decode_vin by VIN position for each model, and the option code table read lazily from its file."""

from __future__ import annotations

import json
import random
from importlib import resources
from typing import Any, get_type_hints

import pytest

from teslalink.cloud import vin as vin_module
from teslalink.cloud.vin import (
    OPTION_CODES,
    DecodedVin,
    _OptionCodes,
    decode_vin,
    describe_option_codes,
)
from teslalink.errors import ConfigError
from teslalink.simulator.vehicle.spec import MODELS, make_vin

# --- decode_vin ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("vin", "expected"),
    [
        (
            "5YJ3E1EA1RF236449",
            {
                "make": "Tesla Model 3",
                "model": "Model 3",
                "body_type": "4-door sedan, left-hand drive",
                "battery_type": "electric (NMC)",
                "drive_unit": "single motor",
                "year": "2024",
                "plant": "Fremont, CA, USA",
                "serial": "236449",
            },
        ),
        (
            "5YJYGCEE1TF421459",
            {
                "make": "Tesla Model Y",
                "body_type": "5-door MPV (class D), left-hand drive",
                "battery_type": "electric (NMC)",
                "drive_unit": "dual motor",
                "year": "2026",
                "plant": "Fremont, CA, USA",
            },
        ),
        (
            "5YJSA1E21RF618786",
            {
                "make": "Tesla Model S",
                "body_type": "5-door hatchback, left-hand drive",
                "drive_unit": "dual motor",
                "year": "2024",
                "plant": "Fremont, CA, USA",
            },
        ),
        (
            "5YJXCAE26JF000000",
            {
                "make": "Tesla Model X",
                "body_type": "5-door MPV (class E), left-hand drive",
                "drive_unit": "dual motor",
                "year": "2018",
            },
        ),
        (
            "7SAYGDEE5PA000000",
            {"make": "Tesla Model Y", "drive_unit": "dual motor", "year": "2023", "plant": "Austin, TX, USA"},
        ),
        (
            "LRW3E7FS2NC000000",
            {
                "make": "Tesla Model 3",
                "battery_type": "lithium iron phosphate (LFP)",
                "year": "2022",
                "plant": "Shanghai, China",
            },
        ),
        (
            "XP7YGCEK5PB000000",
            {"make": "Tesla Model Y", "year": "2023", "plant": "Berlin, Germany"},
        ),
    ],
)
def test_decode_vin_of_each_model(vin: str, expected: dict[str, str]) -> None:
    decoded = decode_vin(vin)
    assert decoded["manufacturer"] == "Tesla"
    assert decoded["vin"] == vin
    for key, value in expected.items():
        assert decoded[key] == value, key  # type: ignore[literal-required]
    assert all(isinstance(value, str) and value for value in decoded.values())


def test_the_result_keeps_its_shape_and_has_every_field() -> None:
    decoded = decode_vin("5YJ3E1EA1RF236449")
    assert type(decoded) is dict  # a TypedDict: still the plain dict of strings it always was
    assert set(decoded) == set(get_type_hints(DecodedVin))
    assert {"manufacturer", "make", "body_type", "restraint_system", "battery_type"} <= set(decoded)
    assert {"drive_unit", "year", "plant", "model", "serial"} <= set(decoded)
    assert "airbags" in decoded["restraint_system"]


def test_input_is_normalised() -> None:
    assert decode_vin("  5yj3e1ea1rf236449 \n") == decode_vin("5YJ3E1EA1RF236449")


def test_unknown_position_values_read_unknown() -> None:
    # W maker, Z body, 9 restraints, Z battery, Z drive, U year (never a year letter), Z plant
    decoded = decode_vin("WWW3Z9ZZ1UZ000000")
    assert decoded["manufacturer"] == "unknown"
    assert decoded["make"] == "Tesla Model 3"  # position 4 alone says the model
    for key in ("body_type", "restraint_system", "battery_type", "drive_unit", "year", "plant"):
        assert decoded[key] == "unknown", key
    assert decode_vin("5YJ3E1EA10F236449")["year"] == "unknown"  # 0 is no year either


def test_a_model_outside_the_tables_is_unknown_not_misread() -> None:
    decoded = decode_vin("7G2CEHED5RA000000")  # a Cybertruck: its body letters mean other things
    assert decoded["manufacturer"] == "Tesla"
    assert decoded["model"] == decoded["make"] == "unknown"
    assert decoded["body_type"] == decoded["restraint_system"] == "unknown"
    assert decoded["year"] == "2024"
    assert decoded["plant"] == "Austin, TX, USA"


@pytest.mark.parametrize(
    "vin",
    [
        "",
        "5YJ3E1EA1RF23644",  # 16
        "5YJ3E1EA1RF2364490",  # 18
        "5YJ3E1EA1RF23644I",  # I, O and Q are never in a VIN
        "5YJ3E1EO1RF236449",
        "5YJ3E1EA1RF2364Q9",
        "5YJ3E1EA1RF23644-",
        "5YJ3E1EA1RF23644é",
    ],
)
def test_an_invalid_vin_is_a_config_error(vin: str) -> None:
    with pytest.raises(ConfigError):
        decode_vin(vin)


def test_a_vin_that_is_not_a_string_is_a_config_error() -> None:
    not_a_vin: Any = 5
    with pytest.raises(ConfigError, match="string"):
        decode_vin(not_a_vin)


def test_the_twins_vins_decode_to_their_model() -> None:
    rng = random.Random(7)
    for spec in MODELS.values():
        decoded = decode_vin(make_vin(spec, 2024, rng))
        assert decoded["model"] == spec.name
        assert decoded["manufacturer"] == "Tesla"
        assert decoded["year"] == "2024"


# --- option codes ---------------------------------------------------------------------------------------


def test_the_data_file_is_ours_and_well_formed() -> None:
    text = resources.files("teslalink.cloud").joinpath("option_codes.json").read_text("utf-8")
    table = json.loads(text)
    assert isinstance(table, dict)
    assert len(table) >= 200
    for code, description in table.items():
        assert code.isalnum(), code
        assert code == code.upper(), code
        assert 4 <= len(code) <= 5, code
        assert isinstance(description, str), code
        assert description, code
        assert description.strip() == description, code


def test_the_table_is_read_once_on_first_use(monkeypatch: pytest.MonkeyPatch) -> None:
    fresh = _OptionCodes()
    assert not fresh.loaded
    assert "not read yet" in repr(fresh)
    reads: list[str] = []
    real_loads = json.loads

    def counting_loads(text: str) -> Any:
        reads.append("read")
        return real_loads(text)

    monkeypatch.setattr(json, "loads", counting_loads)  # the one json module vin.py uses
    monkeypatch.setattr(vin_module, "OPTION_CODES", fresh)
    assert describe_option_codes("MDL3") == ["Model 3"]
    assert fresh.loaded
    assert describe_option_codes("MDLY,PPSW") == ["Model Y", "Paint: Pearl White Multi-Coat"]
    assert len(fresh) == len(dict(fresh.items()))
    assert reads == ["read"]
    assert "known" in repr(fresh)


def test_common_codes_of_each_kind() -> None:
    assert OPTION_CODES["MDL3"] == "Model 3"
    assert OPTION_CODES["PMNG"] == "Paint: Midnight Silver Metallic"
    assert OPTION_CODES["W39B"] == "Wheels: 19-inch Sport"
    assert OPTION_CODES["MTY05"] == "Trim: Model Y Performance, AWD"
    assert OPTION_CODES["BTX6"] == "Battery: 100 kWh"
    assert OPTION_CODES["DV4W"] == "All-wheel drive"
    assert OPTION_CODES["APH4"] == "Autopilot: hardware 3"
    assert OPTION_CODES["IN3PB"] == "Interior: all black, premium"
    assert OPTION_CODES["AD15"] == "Charging adapter: J1772"
    assert OPTION_CODES["REEU"] == "Region: Europe"
    assert "ZZZZ" not in OPTION_CODES
    not_a_code: Any = 5
    assert not_a_code not in OPTION_CODES


def test_describe_skips_unknown_codes_and_keeps_the_order() -> None:
    assert describe_option_codes("ZZZZ,MDLS,,QQQQ,WT19") == ["Model S", "Wheels: 19-inch"]
    assert describe_option_codes([" mdlx ", "XXXX", "DRRH"]) == ["Model X", "Right-hand drive"]
    assert describe_option_codes("") == []
    assert describe_option_codes([]) == []


@pytest.mark.parametrize("letter", sorted(MODELS))
def test_the_twins_option_codes_are_mostly_known(letter: str) -> None:
    codes = MODELS[letter].option_codes.split(",")
    described = describe_option_codes(codes)
    assert MODELS[letter].name in described
    assert len(described) >= len(codes) // 3
